"""`skillship new`: scaffold a skill that validates and runs locally."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skillship.cli._common import Exit, fail, stderr
from skillship.paths import display_path
from skillship.scaffold import ScaffoldError, SkillType, check_name, create_skill
from skillship.source.workspace import resolve_layout


def new(
    name: Annotated[str, typer.Argument(help="The skill's name: letters, digits, '-' and '_', at most 20 characters.")],
    kind: Annotated[SkillType, typer.Option("--type", help="A batch job, or a daemon that serves requests.")] = "job",
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help="The workspace root, or its skills/ directory.")
    ] = Path("."),
) -> None:
    """Create skills/NAME with skill.yaml, one action and an example message."""
    try:
        check_name(name)
    except ScaffoldError as exc:
        fail(str(exc), Exit.USAGE)
    _, skills_dir, _ = resolve_layout(workspace)
    if not skills_dir.is_dir():
        fail(f"{skills_dir}: no such directory", Exit.USAGE)
    if skills_dir.resolve().name != "skills":
        # Outside a workspace, `new x` once wrote ./x: a skill nothing would ever find.
        fail(
            f"{display_path(workspace)} is not a workspace (it has no skills/ folder): run it in one, give "
            "--workspace, or start a project with `skillship init`",
            Exit.USAGE,
        )
    try:
        target = create_skill(skills_dir=skills_dir, name=name, kind=kind)
    except ScaffoldError as exc:
        fail(str(exc), Exit.FAILED)
    where = display_path(target)
    stderr.print(f"created {kind} skill [bold]{name}[/] in {where}")
    stderr.print(f'try it: python {where}/actions/{name}/main.py "$(cat {where}/invoke/request/message.json)"')
