"""`skillship render` of one generated project by two checkouts, alternated in pairs: what a change
costs the command people run, measured against the code before it in the same run.

    python -m bench.revisions OTHER_CHECKOUT [--skills 1000] [--pairs 11]

OTHER_CHECKOUT is a folder holding another revision's `skillship` package (`git worktree add
/tmp/before REV`); it is put first on PYTHONPATH for its renders, so both run with this
virtualenv's dependencies. Each pair renders once with each (which first alternates), each into a
new folder and with a digest cache of its own, warmed by one render before the pairs; the figure
is the median of the pairs' ratios, this checkout's time over the other's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.commands import project


def _render(root: Path, out: Path, cache: Path, other: Path | None) -> float:
    env = {**os.environ, "SKILLSHIP_CACHE_DIR": str(cache)}
    if other is not None:
        env["PYTHONPATH"] = str(other)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "skillship", "render", "--stack", "local", "--out", str(out)],
        cwd=root,
        env=env,
        capture_output=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"render failed ({'other' if other else 'this'} checkout): {done.stderr[-2000:]!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", type=Path)
    parser.add_argument("--skills", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=11)
    args = parser.parse_args()
    if not (args.other / "skillship" / "__init__.py").is_file():
        raise SystemExit(f"{args.other} holds no skillship package")
    base = Path(tempfile.mkdtemp(prefix="skillship-revisions-"))
    try:
        root = project(base, args.skills)
        runs = iter(range(10**6))

        def this() -> float:
            return _render(root, base / f"this-{next(runs)}", base / "cache-this", None)

        def other() -> float:
            return _render(root, base / f"other-{next(runs)}", base / "cache-other", args.other.resolve())

        this(), other()  # warm both digest caches
        ratios = []
        for pair in range(args.pairs):
            if pair % 2:
                mine, theirs = this(), other()
            else:
                theirs, mine = other(), this()
            ratios.append(mine / theirs)
            print(f"pair {pair + 1}: this {mine:.3f} s, other {theirs:.3f} s, ratio {mine / theirs:.3f}", flush=True)
        print(f"median ratio (this / other): {statistics.median(ratios):.3f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
