"""Problems found in a workspace, each with the file, line and field it concerns."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from skillship.source.yamlsource import FieldPath


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


def format_field(path: FieldPath) -> str:
    """`('actions', 0, 'name')` -> `actions[0].name`, the way users read their YAML."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def json_key_line(text: str, key: str) -> int:
    """The line of a top-level key in JSON text (the first line that names it), else 1."""
    if key:
        needle = json.dumps(key) + ":"
        for number, line in enumerate(text.splitlines(), start=1):
            if needle in line.replace('" :', '":'):
                return number
    return 1


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem. Errors block a deployment; warnings are doubtful but deployable."""

    file: str
    line: int | None
    field: str | None
    severity: Severity
    code: str
    message: str

    def render(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.severity.value}: {self.message} [{self.code}]"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


class Diagnostics:
    """Collects every problem of one pass, so a user sees them all at once."""

    def __init__(self, items: Iterable[Diagnostic] = ()) -> None:
        self._items: list[Diagnostic] = list(items)

    def error(self, file: str, line: int | None, field: FieldPath | str | None, code: str, message: str) -> None:
        self._add(Severity.ERROR, file, line, field, code, message)

    def warning(self, file: str, line: int | None, field: FieldPath | str | None, code: str, message: str) -> None:
        self._add(Severity.WARNING, file, line, field, code, message)

    def extend(self, items: Iterable[Diagnostic]) -> None:
        self._items.extend(items)

    def _add(
        self, severity: Severity, file: str, line: int | None, field: FieldPath | str | None, code: str, message: str
    ) -> None:
        if isinstance(field, tuple):
            field = format_field(field) or None
        self._items.append(Diagnostic(file, line, field, severity, code, message))

    @property
    def items(self) -> list[Diagnostic]:
        """Sorted by file and line, so output is stable and reads top to bottom."""
        return sorted(self._items, key=lambda d: (d.file, d.line or 0, d.field or "", d.code, d.message))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self._items)
