"""`pulumi up` as people run it: the real engine and Kubernetes provider (tools/engine) against the
end-to-end suite's control plane and fake node (harness/cluster.py), for synthetic workspaces of
N skills (bench/generate.py), with and without the levers that make a big stack cheaper.

    python -m bench.engine [--sizes 10,100,300] [--variants checkpoints,skip-checkpoints,unchained] [--json FILE]

For each size, each variant deploys a stack of its own, in a namespace and a file backend of its
own, and takes a user's steps: create, an unchanged `up`, a `preview`, an `up` after one skill's
message changed (one Job replaced), and `destroy`. Each goes through the e2e suite's driver (the
Automation API, which hosts the program: tools/engine builds no language host), which takes the
engine's stream of events, as `skillship-pipeline` does; an unchanged `up` is also run without that
stream (`unchanged_no_events`), which a `pulumi up` from a shell does not have either. Variants
alternate which goes first from one size to the next. Each step reports its wall time, the CPU
time getrusage counts for the processes waited for (the driver and the `pulumi` CLI; a provider
only if the CLI reaps it), and the engine's step count; after the create, the state is measured:
the checkpoint file's bytes, the compact state per skill, resources by type, and the fields that
fill it. Growth exponents are taken between the smallest and the largest size.

Variants:
- `checkpoints`: the engine as it ships: it saves the whole state after every step.
- `skip-checkpoints`: PULUMI_SKIP_CHECKPOINTS=true, the state saved once, at the end (what that
  risks, and how a stack recovers, is docs/scale.md).
- `unchained`: skip-checkpoints over the same skills without their agents, so no job waits for
  another: against skip-checkpoints, the price of the ordering chains add.
- `sharded`: skip-checkpoints with `skillship:shards` of SHARDS shards by agent: the base stack,
  then every shard at once (as `skillship-pipeline` deploys them); the state is summed over all.
- `sharded-checkpoints`: the same shards with checkpoints on: what shards alone do for the cost of
  saving the state after every step.

Stopped midway, it leaves what a killed `pulumi up` leaves: the engine starts each provider in a
process group of its own, so those may outlive it (`pkill -f pulumi-resource-kubernetes`).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import yaml

from bench.generate import generate_workspace
from harness.cluster import Cluster, FakeNode
from harness.engine import engine_bin_folder
from harness.stacks import Stack, make_stack

REPO = Path(__file__).resolve().parent.parent
VARIANTS = {  # the engine's environment, and whether the workspace's agents chain its jobs
    "checkpoints": ({}, True),
    "skip-checkpoints": ({"PULUMI_SKIP_CHECKPOINTS": "true"}, True),
    # The same workspace without its agents: every job may run at once. Against skip-checkpoints,
    # it prices the ordering Skillship adds (a chained job runs after the job before it).
    "unchained": ({"PULUMI_SKIP_CHECKPOINTS": "true"}, False),
    # skip-checkpoints over SHARDS shard stacks (docs/scale.md, Shards): the base stack, then the
    # shards at once, each step timed from the first stack's start to the last one's end.
    "sharded": ({"PULUMI_SKIP_CHECKPOINTS": "true"}, True),
    "sharded-checkpoints": ({}, True),
    # skip-checkpoints, with a plain program in place of Skillship's: the very objects
    # `skillship render` wrote for the stack, declared by one ConfigGroup (the floor of #21).
    "plain": ({"PULUMI_SKIP_CHECKPOINTS": "true"}, True),
}
SHARDS = 4
SHARDED = {"sharded", "sharded-checkpoints"}  # the variants deployed as SHARDS shards and a base
PLAIN = {"plain"}  # the variants whose program is PLAIN_PROGRAM
PLAIN_PROGRAM = '''"""A plain program: the objects `skillship render` wrote for this stack, as they are."""

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

folder = Path(__file__).resolve().parent / "plain" / pulumi.get_stack()
k8s.yaml.v2.ConfigGroup("objects", files=sorted(str(path) for path in folder.glob("*.yaml")))
'''
STEP_TIMEOUT = 4 * 3600  # a big create with checkpoints takes long: the bench measures, it does not give up


def engine_bin(scratch: Path) -> Path:
    done = subprocess.run(["bash", str(REPO / "tools/engine/build.sh")], capture_output=True, text=True, check=True)
    return engine_bin_folder(Path(done.stdout.strip().splitlines()[-1]), scratch)


def fake_node_cluster(base: Path, running: ExitStack) -> Cluster:
    """The e2e suite's control plane, Istio's CRDs and its fake node, stopped when `running` ends."""
    from kubernetes import client, config

    cluster = Cluster(base / "cluster", engine_bin(base))
    running.callback(cluster.stop)
    cluster.start()
    cluster.install_istio_crds()
    api = client.CoreV1Api(config.new_client_from_config(str(cluster.kubeconfig)))
    running.enter_context(FakeNode(api, tls=(cluster.pki["kubelet.crt"], cluster.pki["kubelet.key"])))
    return cluster


def project(base: Path, skills: int, stacks: dict[str, str], *, agents: bool = True, plain: bool = False) -> Path:
    """A project as `skillship init` lays it out, over a generated workspace (without its agents
    when `agents` is false), with one stack file per variant (each its own namespace); `plain`:
    with PLAIN_PROGRAM as its program."""
    suffix = ("" if agents else "-unchained") + ("-plain" if plain else "")
    root = generate_workspace(base / f"project-{skills}{suffix}", skills)
    if not agents:
        shutil.rmtree(root / "agents")
        (root / "agents").mkdir()
    for item in ("Pulumi.yaml", "__main__.py", "skillship_components"):
        source = REPO / item
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / item)
    (root / "stacks").mkdir(exist_ok=True)
    for name, namespace in stacks.items():
        (root / "stacks" / f"Pulumi.{name}.yaml").write_text(
            "config:\n"
            f"  skillship:namespace: {namespace}\n"
            "  skillship:buildImages: false\n"
            "  skillship:istioMode: native\n"
            "  skillship:activeDeadlineSeconds: 600\n"
        )
    if plain:
        (root / "__main__.py").write_text(PLAIN_PROGRAM)
    return root


class PlainStack:
    """A stack of PLAIN_PROGRAM: before each step (untimed), `skillship render` writes the
    stack's objects where the program reads them; a changed setting goes to the stack file."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.name = stack, stack.name

    def prepare(self, config: dict | None = None) -> None:
        if config:
            path = self.stack.project / "stacks" / f"Pulumi.{self.name}.yaml"
            text = yaml.safe_load(path.read_text())
            text["config"].update(config)
            path.write_text(yaml.safe_dump(text))
        out = self.stack.project / "plain" / self.name
        done = subprocess.run(
            [sys.executable, "-m", "skillship", "render", "--stack", self.name, "--out", str(out)],
            cwd=self.stack.project,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"skillship render failed:\n{done.stderr[-4000:]}")

    def up(self, config: dict | None = None, *, events: bool = True) -> dict:
        return self.stack.up(events=events)  # the change, if any, was rendered by prepare

    def preview(self) -> dict:
        return self.stack.preview()

    def destroy(self) -> dict:
        return self.stack.destroy()

    def export(self) -> str:
        return self.stack.export()


class Fleet:
    """The stacks of a sharded environment, operated as `skillship-pipeline` does: the base
    first, then the shards at once; destroyed the other way round. Settings (a changed message)
    go to the base stack's file, which every shard reads."""

    def __init__(self, base: Stack, shards: list[Stack]) -> None:
        self.base, self.shards = base, shards

    def _all(self, op: Callable[[Stack], dict], stacks: list[Stack]) -> list[dict]:
        with ThreadPoolExecutor(max_workers=len(stacks)) as pool:
            return list(pool.map(op, stacks))

    def up(self, config: dict | None = None, *, events: bool = True) -> dict:
        base = self.base.up(config, events=events)  # first: it holds the namespace the shards deploy into
        return _merged([base, *self._all(lambda shard: shard.up(events=events), self.shards)])

    def preview(self) -> dict:
        return _merged([self.base.preview(), *self._all(Stack.preview, self.shards)])

    def destroy(self) -> dict:
        return _merged([*self._all(Stack.destroy, self.shards), self.base.destroy()])


def _merged(results: list[dict]) -> dict:
    return {"ok": all(r["ok"] for r in results), "steps": [step for r in results for step in r.get("steps", [])]}


def sharded_project(root: Path, name: str) -> None:
    """Shards for the stack file `name` of a project made by `project`."""
    path = root / "stacks" / f"Pulumi.{name}.yaml"
    path.write_text(path.read_text() + f"  skillship:shards: {{count: {SHARDS}}}\n")


def fleet_state(fleet: Fleet, skills: int, backend: Path) -> dict:
    """`state` of every stack of the environment, summed, and the biggest shard's."""
    each = [state(stack, skills, backend) for stack in (fleet.base, *fleet.shards)]
    compact = sum(s["compact_bytes"] for s in each)
    return {
        "checkpoint_file_bytes": sum(s["checkpoint_file_bytes"] for s in each),
        "largest_checkpoint_file_bytes": max(s["checkpoint_file_bytes"] for s in each),
        "compact_bytes": compact,
        "compact_bytes_per_skill": round(compact / skills),
        "resources": sum(s["resources"] for s in each),
        "resources_by_stack": [s["resources"] for s in each],
    }


def first_job_skill(root: Path) -> str:
    return sorted(p.name for p in (root / "skills").iterdir() if p.name.startswith("job-"))[0]


def timed(step) -> dict:
    """Wall time and the CPU time of every process the step started and waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "steps": len(result.get("steps", []))}


def state(stack: Stack, skills: int, backend: Path) -> dict:
    """The state after the create: the checkpoint file the engine rewrites after every step (its
    bytes are what a checkpoint costs), the same state as compact JSON, and what fills it."""
    deployment = json.loads(stack.export())["deployment"]
    resources = deployment.get("resources", [])
    kinds: dict[str, int] = {}
    fields: dict[str, int] = {}
    for item in resources:
        kinds[item["type"]] = kinds.get(item["type"], 0) + 1
        for key, value in item.items():
            fields[key] = fields.get(key, 0) + len(json.dumps(value, separators=(",", ":")))
    [checkpoint] = (backend / ".pulumi" / "stacks").rglob(f"{stack.name}.json")
    compact = len(json.dumps(deployment, separators=(",", ":")))
    return {
        "checkpoint_file_bytes": checkpoint.stat().st_size,
        "compact_bytes": compact,
        "compact_bytes_per_skill": round(compact / skills),
        "resources": len(resources),
        "by_type": dict(sorted(kinds.items())),
        "bytes_by_field": dict(sorted(fields.items(), key=lambda kv: -kv[1])[:8]),
    }


def journey(stack: Stack | Fleet | PlainStack, skills: int, changed_skill: str, backend: Path) -> dict:
    """A user's steps on one stack (or a sharded environment's), each timed; the state measured
    after the create. A plain program's objects are rendered before a step, off the clock."""
    change = {"skillship:messages": {changed_skill: {"payload": {"text": "changed"}}}}
    if isinstance(stack, PlainStack):
        stack.prepare()
    seen: dict = {"create": timed(stack.up)}
    if isinstance(stack, Fleet):
        seen["state"] = fleet_state(stack, skills, backend)
    else:
        seen["state"] = state(stack.stack if isinstance(stack, PlainStack) else stack, skills, backend)
    seen["unchanged"] = timed(stack.up)
    seen["unchanged_no_events"] = timed(lambda: stack.up(events=False))
    seen["preview"] = timed(stack.preview)
    if isinstance(stack, PlainStack):
        stack.prepare(change)
    seen["one_change"] = timed(lambda: stack.up(change))
    seen["destroy"] = timed(stack.destroy)
    return seen


def exponent(small: tuple[int, float], large: tuple[int, float]) -> float | None:
    (n1, t1), (n2, t2) = small, large
    if n1 == n2 or t1 <= 0 or t2 <= 0:
        return None
    return round(math.log(t2 / t1) / math.log(n2 / n1), 2)


def growth(results: dict, variants: list[str], sizes: list[int]) -> dict:
    if len(sizes) < 2:
        return {}
    small, large = str(min(sizes)), str(max(sizes))
    return {
        variant: {
            step: exponent(
                (int(small), results[small][variant][step]["seconds"]),
                (int(large), results[large][variant][step]["seconds"]),
            )
            for step in ("create", "unchanged", "unchanged_no_events", "preview", "one_change", "destroy")
        }
        for variant in variants
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,300")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="skillship-bench-engine-") as folder, ExitStack() as running:
        base = Path(folder)
        cluster = fake_node_cluster(base, running)
        for index, skills in enumerate(sizes):
            order = variants if index % 2 == 0 else list(reversed(variants))
            names = {variant: f"bench-{skills}-{variant}" for variant in order}  # stack and namespace
            roots = {
                (chained, plain): project(
                    base,
                    skills,
                    {names[v]: names[v] for v in order if (VARIANTS[v][1], v in PLAIN) == (chained, plain)},
                    agents=chained,
                    plain=plain,
                )
                for chained, plain in {(VARIANTS[v][1], v in PLAIN) for v in order}
            }
            results[str(skills)] = {}
            for variant in order:
                backend = base / f"backend-{skills}-{variant}"
                backend.mkdir()
                env, chained = VARIANTS[variant]
                root = roots[(chained, variant in PLAIN)]
                changed = first_job_skill(root)
                stack = make_stack(names[variant], root, cluster.bin_dir, cluster, backend, env)
                stack.timeout = STEP_TIMEOUT
                operated: Stack | Fleet | PlainStack = PlainStack(stack) if variant in PLAIN else stack
                if variant in SHARDED:
                    sharded_project(root, names[variant])
                    shards = [
                        make_stack(f"{names[variant]}.{i}", root, cluster.bin_dir, cluster, backend, env)
                        for i in range(1, SHARDS + 1)
                    ]
                    for shard in shards:
                        shard.timeout = STEP_TIMEOUT
                    operated = Fleet(stack, shards)
                results[str(skills)][variant] = journey(operated, skills, changed, backend)
                print(json.dumps({"skills": skills, "variant": variant, **results[str(skills)][variant]}), flush=True)
    report = {"sizes": results, "growth_exponent": growth(results, variants, sizes)}
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
