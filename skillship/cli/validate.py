"""`skillship validate`: every problem of a workspace, with file, line and field."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from skillship.checks.validation import load_workspace, validation_summary
from skillship.cli._common import Exit, fail, json_mode, print_json, stderr, stdout, workspace_folder
from skillship.source.diagnostics import Diagnostics, Severity
from skillship.source.workspace import AgentSource, SkillSource, Workspace

JSON_VERSION = 1


def validate(
    workspace_argument: Annotated[
        Path | None,
        typer.Argument(metavar="[WORKSPACE]", help="The workspace root, or its skills/ directory (default: .)."),
    ] = None,
    workspace_option: Annotated[Path | None, typer.Option("--workspace", "-w", help="The same, as an option.")] = None,
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack", "-s", help="Also check what this stack would deploy: its settings, messages, properties."
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON report on stdout.")] = False,
) -> None:
    """Check every skill and agent; exit 0 if valid, 1 if not."""
    json_mode(json_output)
    if workspace_argument is not None and workspace_option is not None and workspace_argument != workspace_option:
        fail("give the workspace once: as an argument or with --workspace", Exit.USAGE)
    workspace = workspace_folder(workspace_argument or workspace_option, "validate")
    loaded, diagnostics = load_workspace(workspace)
    if stack is not None and diagnostics.ok:
        check_stack(loaded, stack, diagnostics)
    if json_output:
        print_json(report(loaded.skills, loaded.agents, diagnostics))
    else:
        print_human(len(loaded.skills), len(loaded.agents), diagnostics)
    raise typer.Exit(int(Exit.OK if diagnostics.ok else Exit.FAILED))


def check_stack(loaded: Workspace, stack: str, diagnostics: Diagnostics) -> None:
    """What `render` and `pulumi up` of this stack would refuse, as diagnostics of the stack file."""
    # the stack's settings and the planner, only when a stack is asked about
    from skillship.compose import checked_plan
    from skillship.stack.stackfiles import StackFileError, find_project, load_stack

    try:
        config = load_stack(find_project(Path.cwd()), stack)
    except StackFileError as exc:
        fail(str(exc), Exit.USAGE)
    checked_plan(
        loaded, diagnostics, config.settings, project_dir=config.project_dir, secret_properties=config.secret_properties
    )


def report(skills: Sequence[SkillSource], agents: Sequence[AgentSource], diagnostics: Diagnostics) -> dict[str, Any]:
    """The `--json` document (documented in docs/cli.md; keep it stable)."""
    return {
        "version": JSON_VERSION,
        "valid": diagnostics.ok,
        "skills": sorted(s.skill.name for s in skills),
        "agents": sorted(a.agent.name for a in agents),
        "errors": len(diagnostics.errors),
        "warnings": len(diagnostics.warnings),
        "diagnostics": [d.to_json() for d in diagnostics.items],
    }


def print_human(skill_count: int, agent_count: int, diagnostics: Diagnostics) -> None:
    for item in diagnostics.items:
        colour = "red" if item.severity is Severity.ERROR else "yellow"
        stdout.print(f"[{colour}]{escape(item.render())}[/]")
    verdict, rest = validation_summary(skill_count, agent_count, diagnostics)
    stderr.print(f"[{'green' if diagnostics.ok else 'bold red'}]{verdict}[/]{escape(rest)}")
