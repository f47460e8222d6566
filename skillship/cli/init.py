"""`skillship init`: start a project (Pulumi project, program, stacks, one example skill, a CI file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from skillship.cli._common import Exit, fail, stderr
from skillship.paths import display_path
from skillship.scaffold import CI_FILES, EXAMPLE_SKILL, CiChoice, ScaffoldError, create_project, requirement


def init(
    directory: Annotated[Path, typer.Argument(help="The project folder (made if missing; default: here).")] = Path("."),
    ci: Annotated[
        CiChoice,
        typer.Option(
            "--ci",
            help="The CI file to write: GitHub Actions, GitLab CI, or none. With one, the project also gets "
            "the staging and prod stacks its promote stages deploy.",
        ),
    ] = "none",
) -> None:
    """Start a Skillship project in DIRECTORY: Pulumi.yaml, __main__.py, requirements.txt, stacks,
    an example skill, a README and .gitignore (a repository's own are kept), and a CI file."""
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} is a file, not a folder", Exit.USAGE)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        started = create_project(directory, ci)
    except ScaffoldError as exc:
        fail(str(exc), Exit.FAILED)
    except OSError as exc:
        fail(f"could not make {directory}: {exc.strerror or exc}", Exit.USAGE)
    where = display_path(directory)
    stacks = ", ".join(Path(p).stem.removeprefix("Pulumi.") for p in started.written if p.startswith("stacks/"))
    stderr.print(f"started a Skillship project in {where}, with the example job skill [bold]{EXAMPLE_SKILL}[/]")
    stderr.print(f"stacks: {stacks}" + (f"; CI file: {CI_FILES[ci]}" if ci != "none" else ""))
    if started.kept:
        stderr.print(f"kept the repository's own {' and '.join(started.kept)}")
    stderr.print(
        f"requirements.txt asks for {escape(requirement())}: until your package index has it, name the wheel "
        "or a git URL there (its comment says how)"
    )
    step = "" if where == "." else f"cd {where} && "
    stderr.print(
        f"next: {step}python3 -m venv .venv && .venv/bin/pip install -r requirements.txt "
        "&& .venv/bin/skillship validate && .venv/bin/skillship render --stack local"
    )
