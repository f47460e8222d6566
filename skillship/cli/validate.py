"""`skillship validate`: every problem of a workspace, with file, line and field."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from skillship.cli._common import Exit, fail, print_json, stderr, stdout
from skillship.diagnostics import Diagnostics, Severity
from skillship.validation import load_workspace

JSON_SCHEMA_VERSION = 1


def validate(
    workspace: Path = typer.Argument(Path("."), help="The workspace root, or its skills/ directory."),
    json_output: bool = typer.Option(False, "--json", help="Print a JSON report on stdout."),
) -> None:
    """Check every skill and agent; exit 0 if valid, 1 if not."""
    if not workspace.is_dir():
        fail(f"{workspace}: no such directory")
    loaded, diagnostics = load_workspace(workspace)
    if json_output:
        print_json(report(loaded.skills, loaded.agents, diagnostics))
    else:
        print_human(len(loaded.skills), len(loaded.agents), diagnostics)
    raise typer.Exit(int(Exit.OK if diagnostics.ok else Exit.FAILED))


def report(skills, agents, diagnostics: Diagnostics) -> dict:
    """The `--json` document (documented in README.md; keep it stable)."""
    return {
        "version": JSON_SCHEMA_VERSION,
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
    summary = f"{skill_count} skill(s), {agent_count} agent(s): "
    summary += f"{len(diagnostics.errors)} error(s), {len(diagnostics.warnings)} warning(s)"
    if diagnostics.ok:
        stderr.print(f"[green]valid[/] - {summary}")
    else:
        stderr.print(f"[bold red]invalid[/] - {summary}; nothing can be deployed until the errors are fixed")
