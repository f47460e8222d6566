"""The commands as people run them, each against a floor of the same work, in one run, alternated:

- `skillship render --stack local` of an N-skill project, against its I/O floor as a process of
  its own (start Python, parse the same YAML with libyaml, hash the same build-context files,
  write as many files of the same mean size), each into a new folder: the whole command, start-up
  and the summary it prints included;
- `skillship validate` of the example workspace, against the frameworks' floor (start Python,
  import PyYAML, typer and rich's console, build and use one pydantic model of one field: what any
  command line on the frameworks Skillship is built on pays before doing anything; #21's target),
  and against starting Python and importing pydantic and PyYAML (#21's first floor, which no
  validator built on a pydantic model can come within 1.6x of: one model alone costs 1.85x it).

    python -m bench.commands [--skills 1000] [--pairs 7] [--instructions] [--json FILE]

With `--instructions`, `validate` and its floors also run once under valgrind's callgrind, which
counts the instructions a process executes in user space: the same count for the same work
whatever else the machine does, where this machine's seconds swing twofold. Both sides of that pair
do the same kind of work (start Python, import and build), so the count's ratio follows the time's
(3.94 against 4.1 on 2026-12-05, against the import floor). Not for `render`: its floor hashes
files, a few fast machine instructions per byte, where render interprets Python, so equal counts
are unequal seconds (render counted 0.79x its floor's instructions and took 1.4x its time), and
neither counts kernel work. The
stages of start-up are counted the same way (`startup`): what Python, pydantic, the format's models
and the CLI each add.

Each pair runs the command and its floor back to back (which first alternates), and the ratio is
the median of the pairs' ratios: on a machine whose speed changes from minute to minute, a ratio
taken within one pair is steadier than two best times taken apart.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate_workspace

REPO = Path(__file__).resolve().parent.parent
SKILLSHIP = [sys.executable, "-m", "skillship"]
IMPORT_FLOOR = "import pydantic, yaml"  # what any validator in Python built on them must start with
VALGRIND = "valgrind"


def _wall(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    os.sync()  # no run pays for the writeback of the one before
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr.decode()[-3000:]}")
    return seconds


def instructions(command: list[str], cwd: Path) -> int:
    """The instructions `command` executes in user space, counted by callgrind."""
    counted = [VALGRIND, "--tool=callgrind", "--callgrind-out-file=/dev/null", *command]
    done = subprocess.run(counted, cwd=cwd, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{' '.join(counted)} failed:\n{done.stderr[-3000:]}")
    return int(found.group(1))


ONE_MODEL = "from pydantic import BaseModel\nclass M(BaseModel):\n    x: int\nM(x=1)"
FRAMEWORKS_FLOOR = f"import yaml, typer, rich.console\n{ONE_MODEL}"
# What starting `skillship validate` costs, stage by stage: each line imports one more layer.
STARTUP_STAGES = {
    "python": "pass",
    "pydantic and yaml imported (the import floor)": IMPORT_FLOOR,
    "pydantic's BaseModel": "import yaml; from pydantic import BaseModel",
    "one model of one field, built and used": f"import yaml\n{ONE_MODEL}",
    "that model with typer and rich's console imported (the frameworks' floor)": FRAMEWORKS_FLOOR,
    "the format's models": "import skillship.source.models",
    "the CLI's shell (commands load when looked up)": "import skillship.cli",
    "the CLI with validate's modules": "import skillship.cli, skillship.cli.validate",
    "the CLI with every command's modules": (
        "import skillship.cli\nfor name in skillship.cli.COMMANDS: __import__(f'skillship.cli.{name}')"
    ),
}


def measure_startup() -> dict:
    return {stage: instructions([sys.executable, "-c", code], REPO) for stage, code in STARTUP_STAGES.items()}


def _pairs(pairs: int, command, floor) -> dict:
    ratios, commands, floors = [], [], []
    for index in range(pairs):
        first, second = (command, floor) if index % 2 == 0 else (floor, command)
        a, b = first(), second()
        c, f = (a, b) if first is command else (b, a)
        commands.append(c)
        floors.append(f)
        ratios.append(c / f)
    return {
        "command_best": min(commands),
        "floor_best": min(floors),
        "ratio_median": statistics.median(ratios),
        "ratios": [round(r, 2) for r in ratios],
    }


def project(base: Path, skills: int) -> Path:
    root = generate_workspace(base / f"project-{skills}", skills)
    (root / "Pulumi.yaml").write_text("name: bench\nruntime: python\nstackConfigDir: stacks\n")
    (root / "stacks").mkdir(exist_ok=True)
    (root / "stacks/Pulumi.local.yaml").write_text(
        "config:\n  skillship:target: render\n  skillship:buildImages: false\n"
    )
    return root


def measure_render(base: Path, skills: int, pairs: int) -> dict:
    root = project(base, skills)
    cache = base / "cache"  # the digest cache warm, as on a second render of the same checkout
    env = {"SKILLSHIP_CACHE_DIR": str(cache)}
    runs = itertools.count()

    def render() -> float:
        # A new folder each time, as in a fresh CI clone and as the floor writes: deleting the last
        # run's thousands of files just before made the filesystem decide (a render following a
        # render took 1.2x one following the floor).
        return _wall([*SKILLSHIP, "render", "--stack", "local", "--out", str(base / f"out-{next(runs)}")], root, env)

    render()
    files = list((base / "out-0").glob("*.yaml"))
    objects, size = len(files), sum(f.stat().st_size for f in files) // len(files)
    sizes = [str(objects), str(size)]

    def floor() -> float:
        return _wall(
            [sys.executable, "-m", "bench.children", "render-floor", str(root), str(base / "floor"), *sizes], REPO
        )

    return {"skills": skills, "objects": objects, "bytes_per_object": size, **_pairs(pairs, render, floor)}


def measure_validate(pairs: int, count: bool = False) -> dict:
    """`validate` in pairs with each floor; with `count`, the three counted by callgrind too."""
    command = [*SKILLSHIP, "validate"]
    floors = {"frameworks": FRAMEWORKS_FLOOR, "imports": IMPORT_FLOOR}
    result: dict = {"workspace": "the example (3 skills, 1 agent)"}
    for name, code in floors.items():
        floor = [sys.executable, "-c", code]
        result[f"against_{name}_floor"] = _pairs(
            pairs, lambda: _wall(command, REPO), lambda floor=floor: _wall(floor, REPO)
        )
    if count:
        ours = instructions(command, REPO)
        result["command_instructions"] = ours
        for name, code in floors.items():
            theirs = instructions([sys.executable, "-c", code], REPO)
            result[f"{name}_floor_instructions"] = theirs
            result[f"instruction_ratio_{name}"] = round(ours / theirs, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.instructions and shutil.which(VALGRIND) is None:
        parser.error("--instructions needs valgrind (Debian's package valgrind)")
    with tempfile.TemporaryDirectory(prefix="skillship-bench-") as folder:
        results = {
            "render": measure_render(Path(folder), args.skills, args.pairs),
            "validate": measure_validate(args.pairs, args.instructions),
        }
        if args.instructions:
            results["startup"] = measure_startup()
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
