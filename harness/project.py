"""Copies of the project to change freely, and the CLI run from inside one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from typer.testing import CliRunner

from harness import REPO

WORKSPACE_FILES = ("Pulumi.yaml", "stacks", "skills", "agents")
PROGRAM_FILES = ("__main__.py", "skillship_components")


def copy_project(target: Path, items: tuple[str, ...] = WORKSPACE_FILES + PROGRAM_FILES) -> Path:
    """`target` made and filled with the named files and folders of this repository."""
    target.mkdir(parents=True, exist_ok=True)
    for item in items:
        source = REPO / item
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target / item)
    return target


def cli_in(folder: Path, *args: str):
    """`skillship ARGS` as a user types it standing in `folder`."""
    from skillship.cli import app

    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        os.chdir(cwd)
