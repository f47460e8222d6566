"""The one JSON reader, and the check that a value from elsewhere (a YAML stack file) is one JSON
can carry.

Python's `json` reads `NaN`, `Infinity` and `1e999` (as infinity), and writes them back as tokens
no other JSON parser accepts; a job's message would carry them to a runtime that cannot read it.
An integer of thousands of digits costs quadratic time to convert and, past 4,300 digits, is a
ValueError from deep inside the parser. Both are refused here, located.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_INT_DIGITS = 100  # far beyond any id or count; 128-bit integers have 39
_MAX_INT_BITS = int(MAX_INT_DIGITS * math.log2(10)) + 1


class JsonRefused(ValueError):
    """Not JSON, or JSON Skillship does not pass on; `line` and `column` are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def located(self) -> str:
        """The message, with the line and column when known."""
        where = ", ".join(f"{name} {value}" for name, value in (("line", self.line), ("column", self.column)) if value)
        return f"{self.message} ({where})" if where else self.message


class _Refused(Exception):
    def __init__(self, token: str, problem: str) -> None:
        super().__init__(problem)
        self.token = token
        self.problem = problem


def _constant(token: str) -> Any:
    raise _Refused(token, f"{token} is not a JSON number")


def _float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _Refused(token, f"{token[:40]} is beyond the numbers JSON can carry")
    return value


def _int(token: str) -> int:
    if len(token.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(token, f"an integer of {len(token.lstrip('-'))} digits; at most {MAX_INT_DIGITS} are read")
    return int(token)


def parse_json(text: str) -> Any:
    """The value of a JSON text. Raises JsonRefused."""
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except _Refused as exc:
        at = text.find(exc.token)
        line, column = (text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)) if at >= 0 else (None, None)
        raise JsonRefused(exc.problem, line, column) from None
    except RecursionError:
        raise JsonRefused("nested too deeply to read") from None


def unfit_for_json(value: Any) -> str | None:
    """Why `value` (read from YAML, say) cannot travel as JSON, or None: a number that is not
    finite, or an integer past MAX_INT_DIGITS. Walks without recursion: a value may nest deeply."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            return f"{item} is beyond the numbers JSON can carry"
        if isinstance(item, int) and item.bit_length() > _MAX_INT_BITS:
            return f"an integer of more than {MAX_INT_DIGITS} digits"
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None
