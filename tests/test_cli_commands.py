"""The CLI's command table: every command listed, each module imported only when its command is
looked up, and the usual answers to a command that does not exist."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from skillship.cli import COMMANDS, CommandsOnDemand, app
from tests.conftest import REPO

runner = CliRunner()


def test_help_lists_every_command_in_the_tables_order():
    done = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0
    listed = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("│ ") and "─" not in line]
    assert [name for name in listed if name in COMMANDS] == list(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_each_name_is_the_function_of_that_name_in_its_module(name):
    command = typer.main.get_command(app).commands[name]
    assert command.name == name
    assert command.callback.__wrapped__ is getattr(importlib.import_module(f"skillship.cli.{name}"), name)


def test_a_mistyped_command_is_a_usage_error_that_suggests_the_right_one():
    done = runner.invoke(app, ["valdate"])
    assert done.exit_code == 2
    assert "No such command 'valdate'" in done.stderr and "Did you mean 'validate'?" in done.stderr


def test_the_table_builds_a_command_once_and_knows_every_name_before_building_any():
    built: list[str] = []

    class Counting(CommandsOnDemand):
        def __getitem__(self, name):
            if name not in self._built:
                built.append(name)
            return super().__getitem__(name)

    table = Counting(("validate", "render"))
    assert list(table) == ["validate", "render"] and len(table) == 2 and built == []
    assert table["validate"] is table["validate"] and built == ["validate"]
    assert table.get("nothing") is None and "nothing" not in table
    with pytest.raises(KeyError):
        table["nothing"]
    del table["render"]
    assert list(table) == ["validate"]
    with pytest.raises(KeyError):
        del table["render"]


def _imported_after(args: list[str], watched: tuple[str, ...]) -> list[str]:
    """The watched modules a fresh process has imported after running `skillship ARGS`."""
    code = (
        "import json, sys; from skillship.cli import app; from typer.testing import CliRunner; "
        f"CliRunner().invoke(app, {args!r}); print(json.dumps(sorted(m for m in {watched!r} if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_validate_imports_no_cluster_client_no_planner_no_stack_settings_and_no_other_command():
    """Start-up is most of what `validate` costs (bench/commands.py). Of a workspace, with no
    stack, it loads no Kubernetes client, no sender thread, no planner and no builders (once two
    thirds of its time), and, reading no stack file, neither their settings nor the other commands.
    One process answers both questions."""
    cluster_and_planner = (
        "kubernetes",
        "urllib3",
        "skillship_runtime.sender",
        "skillship.plan.deployment",
        "skillship.manifests.assemble",
        "skillship.compose",
    )
    other_commands = tuple(f"skillship.cli.{name}" for name in COMMANDS if name != "validate")
    stack_files = ("skillship.stack.settings", "skillship.stack.stackfiles", "skillship.scaffold")
    assert _imported_after(["validate", "."], (*cluster_and_planner, *other_commands, *stack_files)) == []


@pytest.mark.parametrize("name", ["status", "logs", "run"])
def test_commands_that_read_no_workspace_never_import_its_models(name):
    assert (
        _imported_after(
            [name, "--help"],
            ("skillship.source.models", "skillship.source.workspace", "skillship.checks.validation"),
        )
        == []
    )


def test_the_floors_check_runs_every_commands_help():
    """tools/lowest-versions.sh runs each command's --help at the dependencies' floors, where a
    command's options have crashed before (typer 0.12 on `Path | None`)."""
    script = (REPO / "tools/lowest-versions.sh").read_text()
    [listed] = [line for line in script.splitlines() if line.startswith("for command in ")]
    assert listed.removeprefix("for command in ").removesuffix("; do").split() == list(COMMANDS)
