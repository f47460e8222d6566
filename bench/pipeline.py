"""Deploys as the pipeline runs them (#41): `skillship-pipeline deploy`, the real engine and provider
against the e2e suite's control plane and fake node, timed as a CI job feels them.

    python -m bench.pipeline [--skills 1000] [--shards 16] [--parallel 4] [--pairs 2] [--json FILE]

Two projects from the same generator (bench/generate.py, one seed, so the small one's skills are
the big one's first): an environment of SKILLS skills in SHARDS shards, and one stack of about
SKILLS/SHARDS skills alone. Both are deployed once (the big one's full deploy is reported). Then,
in alternated pairs, one job skill's code changes in each (the same job, a comment more in its
main.py: its image's content tag moves, its Job is replaced) and the stage deploys it: from the
stage's start to its end, which includes the gate, so to the changed task's result. Then the big
environment unchanged: the stage's time to its "nothing to deploy" line (the engine is never
started), and to its end (the gate reads every task). Last, `deploy --all` of the unchanged
environment: what the nightly run costs.

Each stage deploys at most PARALLEL shards at once (`--parallel`): sixteen engines at once overload a
runner of two cores and the control plane beside them (requests to the API server time out).

Targets (#41): the changed skill deploys within 1.5x its stack-alone time; "nothing to deploy"
within 5 s. Nothing is destroyed: the cluster goes with the bench's folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from bench.engine import fake_node_cluster, project
from harness.stacks import make_stack

NOTHING_TO_DEPLOY = "nothing to deploy"
STAGE_TIMEOUT = 4 * 3600


def stage(root: Path, env: dict[str, str], stack: str, *extra: str, parallel: int = 4) -> dict:
    """`skillship-pipeline deploy --stack STACK`, timed: to its end, and to its "nothing to deploy"
    line if it says one; with the report's engine steps (skipped or not) per stack."""
    command = [sys.executable, "-m", "skillship_pipeline", "deploy", "--stack", stack, "--json", *extra]
    command += ["--parallel", str(parallel)]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stderr is not None
    said: dict[str, float] = {}
    document: list[str] = []
    stdout = child.stdout
    reader = threading.Thread(target=lambda: document.append(stdout.read()))
    reader.start()
    log = []
    for line in child.stderr:
        log.append(line)
        if NOTHING_TO_DEPLOY in line and "nothing" not in said:
            said["nothing"] = time.perf_counter() - start
    reader.join()
    code = child.wait(timeout=STAGE_TIMEOUT)
    seconds = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"deploy --stack {stack} {' '.join(extra)} exited {code}:\n{''.join(log)[-6000:]}")
    report = json.loads(document[0])
    ups = [step for step in report["steps"] if step["step"] == "up"]
    return {
        "seconds": round(seconds, 2),
        "nothing_to_deploy_seconds": round(said["nothing"], 2) if "nothing" in said else None,
        "engine_started": "$ pulumi up" in "".join(log),
        "stacks_run": {step["stack"]: step.get("reason") for step in ups if not step.get("skipped")},
        "stacks_skipped": sum(1 for step in ups if step.get("skipped")),
    }


def change(root: Path, skill: str, round_: int) -> None:
    for main in sorted((root / "skills" / skill / "actions").glob("*/main.py")):
        main.write_text(main.read_text() + f"\n# change {round_}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=1000)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    alone_size = round(args.skills / args.shards)
    with tempfile.TemporaryDirectory(prefix="skillship-bench-pipeline-") as folder, ExitStack() as running:
        base = Path(folder)
        cluster = fake_node_cluster(base, running)

        big = project(base / "big", args.skills, {"env": "bench-env"})
        stack_file = big / "stacks" / "Pulumi.env.yaml"
        stack_file.write_text(stack_file.read_text() + f"  skillship:shards: {{count: {args.shards}}}\n")
        alone = project(base / "alone", alone_size, {"alone": "bench-alone"})
        jobs = sorted(p.name for p in (alone / "skills").iterdir() if p.name.startswith("job-"))
        skill = jobs[len(jobs) // 2]  # a job of both projects, inside its agent's chain
        assert (big / "skills" / skill).is_dir(), "the generator's skills differ: the same job is not in both"
        envs = {
            name: {**os.environ, **make_stack(name, root, cluster.bin_dir, cluster, base / f"backend-{name}").env}
            for name, root in (("env", big), ("alone", alone))
        }
        for name in ("env", "alone"):
            (base / f"backend-{name}").mkdir(exist_ok=True)

        seen: dict = {
            "skills": args.skills,
            "shards": args.shards,
            "parallel": args.parallel,
            "alone_skills": alone_size,
            "skill": skill,
        }
        seen["full_deploy"] = stage(big, envs["env"], "env", parallel=args.parallel)
        seen["alone_deploy"] = stage(alone, envs["alone"], "alone")
        print(json.dumps({k: seen[k] for k in ("full_deploy", "alone_deploy")}), file=sys.stderr, flush=True)
        pairs = []
        for index in range(args.pairs):
            order = [("env", big), ("alone", alone)] if index % 2 == 0 else [("alone", alone), ("env", big)]
            pair = {}
            for name, root in order:
                change(root, skill, index)
                pair[name] = stage(root, envs[name], name, parallel=args.parallel)
            pairs.append(pair)
            print(json.dumps(pair), file=sys.stderr, flush=True)
        seen["one_change"] = pairs
        ratios = [pair["env"]["seconds"] / pair["alone"]["seconds"] for pair in pairs]
        seen["one_change_ratio"] = round(statistics.median(ratios), 2)
        seen["unchanged"] = stage(big, envs["env"], "env", parallel=args.parallel)
        seen["nightly_all"] = stage(big, envs["env"], "env", "--all", parallel=args.parallel)
    text = json.dumps(seen, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
