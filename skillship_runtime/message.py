"""The message a task was started with: the last argv element, or `@path` of a mounted file."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from skillship_runtime.contract import MESSAGE_FILE_MARK


def read_message(argv: Sequence[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv if argv is None else argv)
    raw = argv[-1] if len(argv) > 1 else "{}"
    if raw.startswith(MESSAGE_FILE_MARK):
        with open(raw[len(MESSAGE_FILE_MARK) :], encoding="utf-8") as handle:
            raw = handle.read()
    message = json.loads(raw)
    if not isinstance(message, dict):
        raise ValueError("the message is not a JSON object")
    return message
