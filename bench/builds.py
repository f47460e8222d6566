"""Image builds as `pulumi up` runs them, against BuildKit building the same contexts directly.

    python -m bench.builds [--actions 20] [--pairs 3] [--json FILE]

Inside the real-node suite's sandbox (harness/realnode: a TLS registry with basic auth, BuildKit over
Debian's runc, the control plane; no node, so Jobs are created and never run, `skillship:wait:
false`), for the example workspace and for a generated one of ACTIONS actions (bench/generate.py,
its requirements emptied: the sandbox has no package index):

- **cold**: `pulumi up` of a new stack that builds and pushes every image, with BuildKit's cache
  emptied first and a registry repository no run has pushed to; against the floor, `buildctl
  build` of the very build contexts Skillship's planner names (same Dockerfile, same named
  context), all at once, cache emptied and a fresh repository too. Pairs alternate which goes
  first; the ratio is the median of the pairs' ratios.
- **prebuilt**: the same cold `up` with `buildImages: false`: the Kubernetes part alone, so
  cold minus prebuilt is what the builds cost inside `up`, against the floor.
- **unchanged**: a second `up` of the cold stack with buildkitd stopped: it must build nothing and
  contact no builder (it would fail if it did).
- **one edit**: a line appended to one action's `main.py`: one image built, against `buildctl`
  building that one context again (cache warm on both sides).

Wall times only: the builds' CPU is buildkitd's, which no `getrusage` of ours counts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from bench.engine import engine_bin
from bench.generate import generate_workspace
from harness.project import PROGRAM_FILES, copy_project
from harness.realnode.buildkit import BUILDER
from harness.realnode.environment import RealNode, prepare
from harness.stacks import Stack, make_stack

IMAGE = "docker-build:index:Image"
EMPTY_REQUIREMENTS = "# nothing to install: the sandbox has no package index\n"
# One image the stack builds, as Skillship's planner names it: action key, build context, named contexts.
Context = tuple[str, Path, dict[str, Path]]


class Run:
    """One workspace's stacks and floors in one sandbox; every repository and namespace new."""

    def __init__(self, env: RealNode, engine: Path, project: Path, base: Path, label: str) -> None:
        self.env, self.engine, self.project, self.base, self.label = env, engine, project, base, label
        self.count = 0

    def _fresh(self, what: str) -> str:
        """A name no stack, namespace or repository of this sandbox has had."""
        self.count += 1
        return f"{self.label}-{what}-{self.count}"

    def stack(self, *, build: bool) -> Stack:
        name = self._fresh("build" if build else "prebuilt")
        registry = self.env.registry
        config = {
            "kubernetes:context": "e2e",
            "skillship:namespace": f"bench-{name}",
            "skillship:registry": f"{registry.host}/{name}",
            "skillship:registryUsername": registry.USERNAME,
            "skillship:builder": BUILDER,
            "skillship:buildImages": build,
            "skillship:istioMode": "none",
            "skillship:wait": False,
        }
        (self.project / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
        stack = make_stack(
            name, self.project, self.engine, self.env.cluster, self.base / f"backend-{name}", self.env.pulumi_env()
        )
        stack.timeout = 1800
        return stack

    def secrets(self) -> dict[str, str]:
        return {"skillship:registryPassword": self.env.registry.password}

    def empty_cache(self) -> None:
        self.env.buildkit.buildctl(["prune", "--all"])

    def contexts(self, stack_name: str) -> list[Context]:
        """What the stack builds, as Skillship's planner names it."""
        from skillship.compose import plan_stack
        from skillship.stack.stackfiles import load_stack

        config = load_stack(self.project, stack_name)
        plan = plan_stack(self.project / config.settings.workspace_dir, config.settings, project_dir=self.project)
        return [
            (w.key, w.context, dict(w.named_contexts)) for w in (*plan.daemons, *plan.tasks) if w.prebuilt_image is None
        ]

    def floor(self, contexts: list[Context]) -> float:
        """`buildctl build` of every context at once, each pushed to a repository of this run."""
        repository = f"{self.env.registry.host}/{self._fresh('floor')}"

        def build(item: Context) -> None:
            key, context, named = item
            self.env.buildkit.build(context, f"{repository}/{key.replace('/', '-')}:floor", named)

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(contexts)) as pool:
            list(pool.map(build, contexts))
        return time.perf_counter() - start


def _wall(step) -> tuple[float, dict]:
    start = time.perf_counter()
    result = step()
    return time.perf_counter() - start, result


def _images(result: dict) -> Counter:
    return Counter(op for op, type_ in result.get("steps", []) if type_ == IMAGE)


def _generated_project(base: Path, actions: int) -> Path:
    root = generate_workspace(base / f"workspace-{actions}", actions)
    for requirements in (root / "skills").glob("*/actions/*/requirements.txt"):
        requirements.write_text(EMPTY_REQUIREMENTS)
    copy_project(root, ("Pulumi.yaml", *PROGRAM_FILES))
    (root / "stacks").mkdir(exist_ok=True)
    return root


def _example_project(base: Path) -> Path:
    root = copy_project(base / "example", ("Pulumi.yaml", "skills", "agents", *PROGRAM_FILES))
    (root / "stacks").mkdir()  # the bench's stacks only
    return root


def cold_pair(run: Run, stack: Stack, contexts: list[Context], up_first: bool) -> tuple:
    """A cold `up` that builds every image and the floor building the same contexts, in the order
    given, each after emptying BuildKit's cache: (up's seconds, the floor's)."""

    def up() -> float:
        run.empty_cache()
        seconds, result = _wall(lambda: stack.up(secrets=run.secrets()))
        assert _images(result) == Counter(create=len(contexts)), result["steps"]
        return seconds

    def floor() -> float:
        run.empty_cache()
        return run.floor(contexts)

    if up_first:
        return up(), floor()
    floor_seconds = floor()
    return up(), floor_seconds


def measure(run: Run, pairs: int) -> dict:
    cold, floors, prebuilt = [], [], []
    for index in range(pairs):
        stack = run.stack(build=True)
        contexts = run.contexts(stack.name)
        up_seconds, floor_seconds = cold_pair(run, stack, contexts, up_first=index % 2 == 0)
        cold.append(up_seconds)
        floors.append(floor_seconds)
        k8s = run.stack(build=False)
        prebuilt.append(_wall(lambda k8s=k8s: k8s.up(secrets=run.secrets()))[0])

    # An unchanged `up` with the builder down: it must need none.
    with run.env.buildkit.down() as reachable:
        builder_down = not reachable
        unchanged_seconds, unchanged = _wall(stack.up)

    # One edit each: the floor's first (BuildKit must not find `up`'s layer cached), then `up`'s.
    key, context, named = contexts[0]
    with (context / "main.py").open("a") as source:
        source.write("\n# an edit the floor builds\n")
    start = time.perf_counter()
    run.env.buildkit.build(context, f"{run.env.registry.host}/{run._fresh('edit')}/one:floor", named)
    edit_floor = time.perf_counter() - start
    with (context / "main.py").open("a") as source:
        source.write("\n# an edit up builds\n")
    edit_seconds, edited = _wall(stack.up)

    builds_in_up = [c - p for c, p in zip(cold, prebuilt, strict=True)]
    return {
        "images": len(contexts),
        "cold_up_best": round(min(cold), 2),
        "floor_best": round(min(floors), 2),
        "ratio_median": round(statistics.median(c / f for c, f in zip(cold, floors, strict=True)), 2),
        "ratios": [round(c / f, 2) for c, f in zip(cold, floors, strict=True)],
        "prebuilt_up_best": round(min(prebuilt), 2),
        "builds_in_up_best": round(min(builds_in_up), 2),
        "builds_in_up_ratio_median": round(
            statistics.median(b / f for b, f in zip(builds_in_up, floors, strict=True)), 2
        ),
        "unchanged": {
            "seconds": round(unchanged_seconds, 2),
            "builder_down": builder_down,
            "images": dict(_images(unchanged)),
        },
        "one_edit": {
            "seconds": round(edit_seconds, 2),
            "images": dict(_images(edited)),
            "edited": key,
            "over_unchanged_seconds": round(edit_seconds - unchanged_seconds, 2),
            "floor_seconds": round(edit_floor, 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args()
    if arguments.pairs < 1 or arguments.actions < 1:
        parser.error("--pairs and --actions must be at least 1")
    scratch = Path(tempfile.mkdtemp(prefix="skillship-bench-builds-"))
    results: dict = {}
    try:
        bin_dir, rootfs = prepare()
        engine = engine_bin(scratch)
        (scratch / "sandbox").mkdir()
        with RealNode(scratch / "sandbox", bin_dir, rootfs, with_node=False) as env:
            for label, project in (
                ("example", _example_project(scratch)),
                (f"generated-{arguments.actions}", _generated_project(scratch, arguments.actions)),
            ):
                results[label] = measure(Run(env, engine, project, scratch, label), arguments.pairs)
                print(label, json.dumps(results[label]), flush=True)
        results["sandbox_left"] = env.report
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
