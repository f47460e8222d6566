"""What every command shares: exit codes, consoles and the one-line failure."""

from __future__ import annotations

import json
import sys
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from skillship.about import installed_version


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # the workspace is invalid, a task failed, ...
    USAGE = 2  # bad arguments, unknown stack, unreachable cluster, ...
    STILL_RUNNING = 3


# Results go to stdout, so `--json` can be piped; messages for people go to stderr.
stdout = Console(soft_wrap=True, highlight=False)
stderr = Console(stderr=True, soft_wrap=True, highlight=False)


def print_table(table: Table) -> None:
    """Tables for people: the terminal's width, else (CI logs, pipes) wide enough not to fold
    every cell at Rich's 80-column default."""
    console = stdout if stdout.is_terminal else Console(soft_wrap=True, highlight=False, width=240)
    console.print(table)


class _Mode:
    json = False  # set by a command given --json: then every failure is a JSON document on stdout


def json_mode(enabled: bool) -> None:
    """Commands with --json call this first, so whoever parses stdout gets a JSON document
    whatever goes wrong, not an empty stream."""
    _Mode.json = enabled


def fail(message: str, code: Exit = Exit.USAGE) -> NoReturn:
    """An expected failure: one clear line, no traceback (and, under --json, its JSON document)."""
    stderr.print(f"[bold red]error:[/] {message}", markup=True)
    if _Mode.json:
        print_json({"error": message, "exitCode": int(code)})
    raise typer.Exit(int(code))


def workspace_folder(given: Path | None, command: str) -> Path:
    """The workspace a command was given, or the one it stands in (this folder's `skills/`, or the
    project's above: skillship.source.workspace.find_workspace). A usage error when there is none, or when
    the one given is no folder: never a walk of whatever lies here."""
    from skillship.source.workspace import find_workspace  # the workspace's models load only when needed

    found = given or find_workspace(Path("."))
    if found is None:
        fail(
            "no workspace here: no skills/ folder in this folder, nor a Skillship project above it; "
            f"run this in a workspace, or name one: skillship {command} PATH",
            Exit.USAGE,
        )
    if not found.is_dir():
        fail(f"{found}: no such directory", Exit.USAGE)
    return found


def print_json(data: Any) -> None:
    """A command's one JSON document on standard output, saying which Skillship made it."""
    if isinstance(data, dict):
        data = {**data, "skillshipVersion": installed_version()}
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
