"""`skillship graph`: the workspace's wiring as a drawing (Mermaid or DOT)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skillship.cli._common import Exit, fail, json_mode, print_json, workspace_folder
from skillship.output.graph import GraphFormat, render_graph, workspace_graph
from skillship.stack.stackfiles import StackFileError, find_project, load_stack

# The --json document's version: it changes only when a key changes meaning or disappears.
JSON_VERSION = 1


def graph(
    workspace_argument: Annotated[
        Path | None,
        typer.Argument(metavar="[WORKSPACE]", help="The workspace root (default: here, or the project's above)."),
    ] = None,
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack",
            "-s",
            help="Draw what this stack deploys, its workspace and, for a sharded one, each skill's shard.",
        ),
    ] = None,
    form: Annotated[GraphFormat, typer.Option("--format", help="Mermaid (for Markdown) or Graphviz DOT.")] = (
        "mermaid"
    ),
    skills: Annotated[
        list[str] | None,
        typer.Option("--skill", help="Only this skill and what is wired to it (repeat for several)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the drawing and its parts as JSON.")] = False,
) -> None:
    """Draw the agents' wiring: which job feeds which daemon, which jobs run after which (dashed),
    and shards. Exit 1 when the workspace is invalid, 2 on a usage error."""
    from skillship.checks.validation import load_workspace
    from skillship.stack.shards import assign_shards

    json_mode(json_output)
    deployed = None
    shard_of = None
    if stack is not None:
        try:
            config = load_stack(find_project(Path.cwd()), stack)
        except StackFileError as exc:
            fail(str(exc), Exit.USAGE)
    given = workspace_argument or (config.project_dir / config.settings.workspace_dir if stack is not None else None)
    root = workspace_folder(given, "graph")
    workspace, diagnostics = load_workspace(root)
    if not diagnostics.ok:
        fail(f"the workspace is invalid ({len(diagnostics.errors)} error(s)): see `skillship validate`", Exit.FAILED)
    if stack is not None:
        settings = config.settings
        deployed = {s.skill.name for s in workspace.skills if settings.deploys(s.skill.name)}
        if settings.shards is not None:
            shard_of = {k: v for k, v in assign_shards(workspace, settings.shards).items() if k in deployed}
    unknown = sorted(set(skills or ()) - {s.skill.name for s in workspace.skills})
    if unknown:
        fail(f"no skill named {', '.join(unknown)} in the workspace", Exit.USAGE)
    only = set(skills) if skills else deployed
    drawn = workspace_graph(workspace, shard_of, only)
    text = render_graph(drawn, form)
    if json_output:
        print_json({"version": JSON_VERSION, "format": form, "graph": text, **drawn.to_json()})
    else:
        typer.echo(text, nl=False)
    raise typer.Exit(int(Exit.OK))
