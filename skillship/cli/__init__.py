"""The `skillship` command line: a thin shell over the core."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from skillship.cli._common import json_mode
from skillship.gcpolicy import tune_for_batch_run

if TYPE_CHECKING:
    from typer._click import Command  # typer vendors click; its groups hold these

# Each command is the function of its name in skillship/cli/<name>.py, in the order `--help` lists
# them. A command's module is imported when the command is looked up, so `validate` loads no
# cluster client, no stack settings and no scaffold (bench/commands.py counts what it costs).
COMMANDS = ("init", "validate", "new", "render", "graph", "status", "logs", "run", "shards", "builder")


class CommandsOnDemand(MutableMapping[str, "Command"]):
    """The group's commands by name. Every name is known at once (for `--help` and "did you
    mean"); a command is built, its module imported, the first time it is looked up."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = list(names)
        self._built: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            if name not in self._names:
                raise KeyError(name)
            self._built[name] = _build(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._names:
            raise KeyError(name)
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _build(name: str) -> Command:
    one = typer.Typer(add_completion=False)
    one.command(name)(getattr(import_module(f"skillship.cli.{name}"), name))
    return typer.main.get_command(one)


class _Skillship(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = CommandsOnDemand(COMMANDS)


app = typer.Typer(
    name="skillship",
    cls=_Skillship,
    help="Ship batch job skills to Kubernetes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(asked: bool) -> None:
    if asked:
        from skillship.about import installed_version

        found = installed_version()
        typer.echo(f"skillship {found}" if found else "skillship (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _every_command(
    _version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Before each command: failures are text until the command says it was given --json (the
    mode is process state, and tests run many commands in one process)."""
    json_mode(False)


def main() -> None:
    tune_for_batch_run()  # `validate` and `render` build every skill's objects at once
    app()
