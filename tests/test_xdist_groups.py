"""`--dist loadgroup` keeps each `xdist_group` on one worker, as the end-to-end suites need: one
control plane per group, and one real node at a time (its host readings must see no other).
pytest 9.2 stores node ids where pytest-xdist 3.8 cannot add the group, which split every group
across workers without a word; this runs a small suite the way the README runs ours."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_each_group_runs_on_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(
        textwrap.dedent("""
        import os, time, pytest
        pytestmark = pytest.mark.xdist_group("together")

        @pytest.mark.parametrize("n", range(6))
        def test_member(n):
            time.sleep(0.2)  # long enough that a second worker would take some
            print("WORKER", os.environ["PYTEST_XDIST_WORKER"])
    """)
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-rP",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    workers = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("WORKER ")}
    assert len(workers) == 1, done.stdout[-3000:]
