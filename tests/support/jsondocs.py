"""What every `--json` document promises: one key casing (camelCase, as the stack outputs and
Kubernetes use), the Skillship that made it (`skillshipVersion`), and a `version` on every
document but the failure one (`{"error", "exitCode", "skillshipVersion"}`)."""

from __future__ import annotations

import re
from typing import Any

from skillship.about import installed_version

_CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def miscased_keys(value: Any, path: str = "") -> list[str]:
    """Every key below `value` that is not camelCase, by its path."""
    if isinstance(value, dict):
        found = [f"{path}.{key}" for key in value if not _CAMEL.match(str(key))]
        return found + [bad for key, item in value.items() for bad in miscased_keys(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [bad for index, item in enumerate(value) for bad in miscased_keys(item, f"{path}[{index}]")]
    return []


def check_document(document: Any) -> Any:
    """The document, after asserting the promises above."""
    assert isinstance(document, dict), document
    assert miscased_keys(document) == [], miscased_keys(document)
    assert document.get("skillshipVersion") == installed_version(), document
    if set(document) != {"error", "exitCode", "skillshipVersion"}:
        assert isinstance(document.get("version"), int), document
    return document
