"""How the shard count trades a full deploy against a change (#41, item 3): one workspace deployed
by `skillship-pipeline deploy` as one stack and in several shard counts, against the e2e suite's
control plane and fake node.

    python -m bench.shards [--skills 300] [--counts 1,2,4,8] [--parallel 2] [--rounds 2] [--json FILE]

One project per count, from the same generator and seed (so the same skills), each its own
namespace and backend; count 1 is one stack, no shards. For each: the first deploy (every stack),
then in rounds one job's code changed (the same job in every project, a comment more in its
main.py: its shard deploys alone, its Job is replaced), the counts taken in a rotated order each
round; then the environment unchanged (the stage's time to "nothing to deploy" and to its end) and
`deploy --all` (the nightly run). Each time is a whole stage, from its start to its end.

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
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    with tempfile.TemporaryDirectory(prefix="skillship-bench-shards-") as folder, ExitStack() as running:
        base = Path(folder)
        cluster = fake_node_cluster(base, running)
        roots: dict[int, Path] = {}
        envs: dict[int, dict[str, str]] = {}
        for count in counts:
            name = f"s{count}"
            root = roots[count] = project(base / name, args.skills, {name: f"bench-{name}"})
            if count > 1:
                stack_file = root / "stacks" / f"Pulumi.{name}.yaml"
                stack_file.write_text(stack_file.read_text() + f"  skillship:shards: {{count: {count}}}\n")
            backend = base / f"backend-{name}"
            backend.mkdir()
            envs[count] = {**os.environ, **make_stack(name, root, cluster.bin_dir, cluster, backend).env}
        jobs = sorted(p.name for p in (roots[counts[0]] / "skills").iterdir() if p.name.startswith("job-"))
        skill = jobs[len(jobs) // 2]

        def deploy(count: int, *extra: str) -> dict:
            return stage(roots[count], envs[count], f"s{count}", *extra, parallel=args.parallel)

        seen: dict = {"skills": args.skills, "parallel": args.parallel, "skill": skill, "counts": {}}
        for count in counts:
            seen["counts"][count] = {"full_deploy": deploy(count), "one_change": []}
            print(json.dumps({count: seen["counts"][count]["full_deploy"]}), file=sys.stderr, flush=True)
        for index in range(args.rounds):
            for count in counts[index % len(counts) :] + counts[: index % len(counts)]:
                change(roots[count], skill, index)
                seen["counts"][count]["one_change"].append(deploy(count))
        for count in counts:
            figures = seen["counts"][count]
            figures["one_change_median"] = statistics.median(step["seconds"] for step in figures["one_change"])
            figures["unchanged"] = deploy(count)
            figures["nightly_all"] = deploy(count, "--all")
            print(json.dumps({count: {k: figures[k] for k in ("one_change_median", "unchanged")}}), file=sys.stderr)
    text = json.dumps(seen, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    print(_table(seen), file=sys.stderr)


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
