"""`skillship shards`: which stack deploys each skill of a sharded environment (docs/scale.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from skillship.cli._common import Exit, fail, json_mode, print_json, print_table, stderr
from skillship.stack.stackfiles import StackFileError, find_project, load_stack, stack_files

# The --json document's version: it changes only when a key changes meaning or disappears.
JSON_VERSION = 1


def shards(
    stack: Annotated[
        str, typer.Option("--stack", "-s", envvar="SKILLSHIP_STACK", help="The sharded environment (e.g. dev).")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print the shards as JSON on stdout.")] = False,
) -> None:
    """The environment's stacks in the order they deploy, and each shard's skills. Exit 1 when the
    workspace or the stack is invalid, 2 when the stack is unknown or not sharded."""
    from skillship.compose import InvalidStack, InvalidWorkspace, plan_stack  # the planner, when asked

    json_mode(json_output)
    try:
        project = find_project(Path.cwd())
        config = load_stack(project, stack)
    except StackFileError as exc:
        fail(str(exc), Exit.USAGE)
    settings = config.settings
    if settings.shards is None:
        fail(f"stack {stack!r} has no skillship:shards: one stack deploys all of it", Exit.USAGE)
    if settings.shard is not None:
        fail(f"stack {stack!r} is a shard of {settings.stack!r}: ask about {settings.stack!r}", Exit.USAGE)
    try:
        plan = plan_stack(
            project / settings.workspace_dir,
            settings,
            project_dir=project,
            secret_properties=config.secret_properties,
        )
    except (InvalidWorkspace, InvalidStack) as exc:
        fail(f"stack {stack!r} cannot be planned:\n{exc}", Exit.FAILED)
    files = stack_files(project)
    rows = [
        (name, index, sorted(skill for skill, shard in plan.shard_of.items() if shard == index) if index else [])
        for index, name in enumerate(config.stacks)
    ]
    if json_output:
        stacks = [
            {"stack": name, "shard": index or None, "skills": skills, "stackFile": name in files}
            for name, index, skills in rows
        ]
        print_json({"version": JSON_VERSION, "environment": stack, "by": settings.shards.by, "stacks": stacks})
        raise typer.Exit(int(Exit.OK))
    table = Table(title=f"environment {stack}: {settings.shards.count} shards by {settings.shards.by}")
    for column in ("stack", "deploys", "skills"):
        table.add_column(column, overflow="fold")
    for name, index, skills in rows:
        shown = ", ".join(skills[:8]) + (f", ... ({len(skills) - 8} more)" if len(skills) > 8 else "")
        table.add_row(name, f"{len(skills)} skill(s)" if index else "the namespace", shown)
    print_table(table)
    stderr.print(
        f"deploy {stack} first, then its shards (in parallel); destroy the shards first, then {stack}. "
        "skillship-pipeline does both in that order"
    )
