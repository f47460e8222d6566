"""How paths read in messages. A module of its own: the stack-file reader and every command print
paths, and most of them never read a workspace, so they need not import its models."""

from __future__ import annotations

import os
from pathlib import Path


def display_path(path: Path) -> str:
    """Paths in messages: relative to where the user stands when below it (no symlinks resolved:
    the path reads as the user would type it)."""
    absolute = os.path.abspath(path)
    here = os.getcwd()
    if absolute == here or absolute.startswith(here.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, here)
    return str(path)
