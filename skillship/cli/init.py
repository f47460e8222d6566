"""`skillship init`: start a project (Pulumi project, program, stacks, one example skill)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skillship.cli._common import Exit, fail, stderr
from skillship.paths import display_path
from skillship.scaffold import EXAMPLE_SKILL, ScaffoldError, create_project


def init(
    directory: Annotated[Path, typer.Argument(help="The project folder (made if missing; default: here).")] = Path("."),
) -> None:
    """Start a Skillship project in DIRECTORY: Pulumi.yaml, __main__.py, stacks, an example skill."""
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} is a file, not a folder", Exit.USAGE)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        create_project(directory)
    except ScaffoldError as exc:
        fail(str(exc), Exit.FAILED)
    except OSError as exc:
        fail(f"could not make {directory}: {exc.strerror or exc}", Exit.USAGE)
    where = display_path(directory)
    stderr.print(f"started a Skillship project in {where}, with the example job skill [bold]{EXAMPLE_SKILL}[/]")
    step = "" if where == "." else f"cd {where} && "
    stderr.print(f"next: {step}skillship validate && skillship render --stack local")
