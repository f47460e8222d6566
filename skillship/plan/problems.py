"""What is wrong with a stack, each problem where it is: a key of the stack file, or a file of the
workspace. Collected over the whole plan, so a user sees every problem at once, in the same shape
as `skillship validate` reports a workspace's."""

from __future__ import annotations

from skillship.source.diagnostics import Diagnostic, Diagnostics
from skillship.stack.stackfiles import StackFileLines


class StackProblems:
    def __init__(self, stack_file: StackFileLines, found: list[Diagnostic] | None = None) -> None:
        self.stack_file = stack_file
        self._found = Diagnostics(found or [])

    def setting(self, code: str, message: str, key: str, *path: str | int) -> None:
        """An error at `skillship:<key>` (and `path` below it) in the stack file."""
        self._found.error(*self.stack_file.at(key, *path), code, message)

    def setting_warning(self, code: str, message: str, key: str, *path: str | int) -> None:
        self._found.warning(*self.stack_file.at(key, *path), code, message)

    def file(self, code: str, message: str, file: str, line: int | None = None, field: str | None = None) -> None:
        """An error in a file of the workspace or the project."""
        self._found.error(file, line, field, code, message)

    def file_warning(self, code: str, message: str, file: str, line: int | None = None) -> None:
        self._found.warning(file, line, None, code, message)

    @property
    def errors(self) -> list[Diagnostic]:
        return self._found.errors

    @property
    def warnings(self) -> list[Diagnostic]:
        return self._found.warnings
