"""Writing Kubernetes objects as block YAML, fast.

Why not PyYAML's dumper: its representer and resolver are pure Python and took most of the time
of `render` (about 0.3 ms an object, even with libyaml's emitter). Our objects use a small fixed
subset (mappings, lists, str, int, bool, None), which this module writes directly: a string is
written plain only when no YAML 1.1 reader could take it for anything else, and otherwise in
double quotes with JSON escapes, which YAML reads the same way. A round-trip property test
through PyYAML's loader holds it to that.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Plain only: starts with a letter or '/', then letters, digits and . _ / - (no spaces, no
# ': ', no '#', no leading indicator), and not one of YAML 1.1's words for booleans and null.
_PLAIN = re.compile(r"[A-Za-z/][A-Za-z0-9._/-]*\Z")
_WORDS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
# Characters a YAML reader refuses or folds inside double quotes: escape them by code point.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


_STRINGS: dict[str, str] = {}  # how each string is written: objects repeat their keys and values
_STRINGS_MAX = 100_000


def _string(value: str) -> str:
    written = _STRINGS.get(value)
    if written is None:
        if _PLAIN.match(value) and value.lower() not in _WORDS:
            written = value
        else:
            written = _UNSAFE.sub(_escape, json.dumps(value, ensure_ascii=False))
        if len(_STRINGS) < _STRINGS_MAX:
            _STRINGS[value] = written
    return written


def scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} values")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def _mapping(value: dict[str, Any], indent: str, lead: str, out: list[str]) -> None:
    """`lead` starts the first line in place of `indent`: `- ` when the mapping is a list item."""
    deeper = indent + "  "
    for key in sorted(value):
        item = value[key]
        head = f"{lead}{scalar(key)}:"
        lead = indent
        if item and isinstance(item, dict):
            out.append(head)
            _mapping(item, deeper, deeper, out)
        elif item and isinstance(item, list):
            out.append(head)
            _sequence(item, indent, indent, out)
        else:
            out.append(f"{head} {_inline(item)}")


def _sequence(value: list[Any], indent: str, lead: str, out: list[str]) -> None:
    deeper = indent + "  "
    for item in value:
        if item and isinstance(item, dict):
            _mapping(item, deeper, lead + "- ", out)
        elif item and isinstance(item, list):
            _sequence(item, deeper, lead + "- ", out)
        else:
            out.append(f"{lead}- {_inline(item)}")
        lead = indent


def to_yaml(obj: dict[str, Any]) -> str:
    """One YAML document, keys sorted, two-space block indentation."""
    if not obj:
        return "{}\n"
    out: list[str] = []
    _mapping(obj, "", "", out)
    return "\n".join(out) + "\n"
