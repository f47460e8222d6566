"""One meaning per flag across the CLI, old spellings kept with a deprecation message, and
`validate` checking what a stack would refuse."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from harness.project import cli_in, copy_project
from skillship.cli import app
from tests.conftest import REPO

runner = CliRunner()


def test_every_short_flag_means_one_long_option_in_every_command():
    command = typer.main.get_command(app)
    meanings: dict[str, set[str]] = {}
    for sub in command.commands.values():
        for param in sub.params:
            if getattr(param, "param_type_name", "") != "option" or param.hidden:
                continue
            longs = [o for o in param.opts if o.startswith("--")]
            for short in (o for o in param.opts if not o.startswith("--")):
                meanings.setdefault(short, set()).update(longs)
    assert {short: long for short, long in meanings.items() if len(long) != 1} == {}
    assert meanings["-w"] == {"--workspace"}


def test_validate_takes_the_workspace_as_an_argument_or_with_w(example_copy):
    by_argument = runner.invoke(app, ["validate", "--json", str(example_copy)])
    by_option = runner.invoke(app, ["validate", "--json", "-w", str(example_copy)])
    assert by_argument.exit_code == by_option.exit_code == 0
    assert json.loads(by_argument.stdout) == json.loads(by_option.stdout)
    both = runner.invoke(app, ["validate", str(example_copy), "--workspace", str(example_copy / "skills")])
    assert both.exit_code == 2 and "give the workspace once" in both.stderr


def test_the_old_w_for_wait_still_works_and_says_what_to_write(tmp_path):
    for command in (["status"], ["run", "hello"]):
        result = cli_in(REPO, *command, "--stack", "local", "-w")
        assert "-w for --wait is deprecated" in result.stderr, result.output
        assert result.exit_code == 2 and "renders manifests and deploys nothing" in result.stderr


def test_validate_with_a_stack_reports_what_render_would_refuse(tmp_path):
    project = copy_project(tmp_path / "project", ("Pulumi.yaml", "stacks", "skills", "agents"))
    (project / "skills/hello/invoke/request/message.json").unlink()
    plain = cli_in(project, "validate", "--json")
    assert plain.exit_code == 0  # the workspace alone is valid: a stack may give the message
    assert [d["code"] for d in json.loads(plain.stdout)["diagnostics"]] == ["no-message"]
    with_stack = cli_in(project, "validate", "--json", "--stack", "local")
    assert with_stack.exit_code == 1
    [error] = [d for d in json.loads(with_stack.stdout)["diagnostics"] if d["severity"] == "error"]
    # At the skill, beside validate's own warning: the fix is a message file there, or one in the stack.
    assert (error["code"], error["file"], error["line"]) == ("message-missing", "skills/hello/skill.yaml", 2)
    assert "skill 'hello' has no message" in error["message"]
    rendered = cli_in(project, "render", "--stack", "local", "--out", str(tmp_path / "out"))
    assert rendered.exit_code == 1 and "skill 'hello' has no message" in rendered.stdout
    rendered_json = cli_in(project, "render", "--stack", "local", "--json", "--out", str(tmp_path / "out"))
    assert rendered_json.exit_code == 1 and json.loads(rendered_json.stdout) == json.loads(with_stack.stdout)
    # dev gives hello its message: valid for that stack
    assert cli_in(project, "validate", "--stack", "dev").exit_code == 0


def test_version_prints_the_installed_packages_version_and_exits_0():
    from importlib.metadata import version

    shown = runner.invoke(app, ["--version"])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == f"skillship {version('skillship')}\n"
    # Eager: it wins over a command, which then never runs.
    assert runner.invoke(app, ["--version", "validate", "/nowhere"]).stdout == shown.stdout


def test_every_json_document_names_the_skillship_that_made_it(tmp_path):
    """A CI log keeps the JSON; the version in it says which release to compare with."""
    from importlib.metadata import version

    made = version("skillship")
    valid = runner.invoke(app, ["validate", str(REPO / "skills"), "--json"])
    assert valid.exit_code == 0 and json.loads(valid.stdout)["skillshipVersion"] == made
    failed = runner.invoke(app, ["validate", str(tmp_path / "nowhere"), "--json"])
    assert failed.exit_code == 2 and json.loads(failed.stdout) == {
        "error": json.loads(failed.stdout)["error"],
        "exitCode": 2,
        "skillshipVersion": made,
    }
