"""How the shard count trades a full deploy against a change (#41, item 3): one workspace deployed
by `skillship-pipeline deploy` as one stack and in several shard counts, against the e2e suite's
control plane and fake node.

    python -m bench.shards [--skills 300] [--counts 1,2,4,8] [--parallel 2] [--rounds 2]
                           [--skip-checkpoints] [--json FILE]

One project per count, from the same generator and seed (so the same skills), each on a control
plane of its own, one count after the other; count 1 is one stack, no shards. For each: the first
deploy (every stack), then in rounds one job's code changed (the same job for every count, a
comment more in its main.py: its shard deploys alone, its Job is replaced), then the environment
unchanged (the stage's time to "nothing to deploy" and to its end) and `deploy --all` (the nightly
run). Each time is a whole stage, from its start to its end.

Each stage deploys at most PARALLEL shards at once (`--parallel`; give it the runner's cores).
Nothing is destroyed: the cluster goes with the bench's folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.engine import fake_node_cluster, project
from bench.pipeline import change, stage
from harness.stacks import make_stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=300)
    parser.add_argument("--counts", default="1,2,4,8", help="shard counts, comma-separated (1: one stack)")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-checkpoints", action="store_true", help="PULUMI_SKIP_CHECKPOINTS=true (scale.md)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    seen: dict = {"skills": args.skills, "parallel": args.parallel, "checkpoints": not args.skip_checkpoints}
    seen["counts"] = {}
    for count in (int(c) for c in args.counts.split(",")):
        seen["counts"][count] = figures = _one_count(args, count)
        seen["skill"] = figures.pop("skill")
        print(json.dumps({count: figures}), file=sys.stderr, flush=True)
    text = json.dumps(seen, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    print(_table(seen), file=sys.stderr)


def _one_count(args: argparse.Namespace, count: int) -> dict:
    """Every step for one shard count, on a cluster of its own: the counts' objects together would
    outgrow one cluster's Service addresses (a /24 of them)."""
    name = f"s{count}"
    with tempfile.TemporaryDirectory(prefix="skillship-bench-shards-") as folder, ExitStack() as running:
        base = Path(folder)
        cluster = fake_node_cluster(base, running)
        root = project(base / name, args.skills, {name: f"bench-{name}"})
        if count > 1:
            stack_file = root / "stacks" / f"Pulumi.{name}.yaml"
            stack_file.write_text(stack_file.read_text() + f"  skillship:shards: {{count: {count}}}\n")
        backend = base / "backend"
        backend.mkdir()
        env = {**os.environ, **make_stack(name, root, cluster.bin_dir, cluster, backend).env}
        if args.skip_checkpoints:
            env["PULUMI_SKIP_CHECKPOINTS"] = "true"
        jobs = sorted(p.name for p in (root / "skills").iterdir() if p.name.startswith("job-"))
        skill = jobs[len(jobs) // 2]  # the same job for every count: one generator, one seed

        def deploy(*extra: str) -> dict:
            return stage(root, env, name, *extra, parallel=args.parallel)

        figures: dict = {"skill": skill, "full_deploy": deploy(), "one_change": []}
        for index in range(args.rounds):
            change(root, skill, index)
            figures["one_change"].append(deploy())
        figures["one_change_median"] = statistics.median(step["seconds"] for step in figures["one_change"])
        figures["unchanged"] = deploy()
        figures["nightly_all"] = deploy("--all")
        return figures


def _table(seen: dict) -> str:
    """The figures as bench/README.md shows them: one row per count."""
    lines = [
        "| shards | first deploy | one job changed (median) | unchanged: nothing to deploy / end | `--all` |",
        "|---|---|---|---|---|",
    ]
    for count, figures in seen["counts"].items():
        unchanged = figures["unchanged"]
        lines.append(
            f"| {count if count > 1 else 'one stack'} | {figures['full_deploy']['seconds']:.0f} s "
            f"| {figures['one_change_median']:.1f} s | {unchanged['nothing_to_deploy_seconds']} s / "
            f"{unchanged['seconds']:.1f} s | {figures['nightly_all']['seconds']:.0f} s |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
