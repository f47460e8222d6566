"""bench/commands.py's instruction counts: they grow with the work done, repeat for the same work,
and a command that fails is an error, not a count."""

from __future__ import annotations

import shutil
import sys

import pytest

from bench.commands import REPO, instructions

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")

WORK = "import json\nfor _ in range(300): json.dumps(list(range(1000)))"


def test_counts_grow_with_the_work_and_repeat_for_the_same_work():
    idle = instructions([sys.executable, "-c", "pass"], REPO)
    busy = instructions([sys.executable, "-c", WORK], REPO)
    again = instructions([sys.executable, "-c", WORK], REPO)
    assert busy > idle * 1.5
    assert abs(busy - again) < busy * 0.01


def test_a_failing_command_is_an_error():
    with pytest.raises(RuntimeError, match="failed"):
        instructions([sys.executable, "-c", "raise SystemExit(3)"], REPO)
