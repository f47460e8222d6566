"""Shared fixtures: the repository, and fresh copies of the example workspace to break."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Digest caches of test runs go to a throwaway folder, never into the user's ~/.cache, and the
# folder goes with the process (each xdist worker makes its own).
if "SKILLSHIP_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="skillship-test-cache-")
    os.environ["SKILLSHIP_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A writable copy of the example workspace (skills/ and agents/)."""
    root = tmp_path / "ws"
    shutil.copytree(REPO / "skills", root / "skills")
    shutil.copytree(REPO / "agents", root / "agents")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's stacks and example workspace (no program), to change freely."""
    from harness.project import WORKSPACE_FILES, copy_project

    return copy_project(tmp_path / "project", WORKSPACE_FILES)


def line_of(path: Path, needle: str, occurrence: int = 0) -> int:
    """1-based line of the `occurrence`-th line of `path` containing `needle` (-1: the last)."""
    found = [n for n, text in enumerate(path.read_text().splitlines(), start=1) if needle in text]
    if not found:
        raise AssertionError(f"{needle!r} not in {path}")
    return found[occurrence]
