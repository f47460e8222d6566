"""The measured work, one kind per child process: `python -m bench.children KIND ARGS...`.

Each prints one JSON line with `seconds`, the time of the work itself (imports excluded). The
parent reads the child's peak memory from the kernel (`wait4`). `--calls` (anywhere) adds, for
the program and its floor, `calls`: the Python calls made in the timed span (main thread only),
a figure that does not move with the machine's speed, unlike the seconds. Every child reports the
collector's passes and seconds in its span; `--default-gc` runs it on CPython's default collector
schedule instead of Skillship's (skillship/gcpolicy.py).
"""

from __future__ import annotations

import cProfile
import functools
import gc
import hashlib
import importlib
import json
import os
import pstats
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from skillship import gcpolicy

BENCH_SETTINGS = {"target": "render", "registry": "registry.example.com/bench", "istioMode": "native"}
COUNT_CALLS = False  # set by --calls


class _CollectorClock:
    """Counts the garbage collector's passes and the seconds they take (a gc.callbacks hook)."""

    def __init__(self) -> None:
        self.collections = 0
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.collections += 1
            self.seconds += time.perf_counter() - self._started


@contextmanager
def _timed(result: dict) -> Iterator[None]:
    """Put the span's wall time in `result["seconds"]`, the collector's passes and their seconds in
    `collections` and `gc_seconds`, and with --calls the span's call count in `calls` (cProfile
    slows the span, so its seconds then mean little)."""
    profiler = None
    collector = _CollectorClock()
    gc.callbacks.append(collector)
    if COUNT_CALLS:
        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    try:
        yield
    finally:
        result["seconds"] = time.perf_counter() - start
        if profiler is not None:
            profiler.disable()
            result["calls"] = sum(entry[1] for entry in pstats.Stats(profiler).stats.values())
        gc.callbacks.remove(collector)
        result.update(collections=collector.collections, gc_seconds=collector.seconds)


def _fresh(out: Path) -> Path:
    """A folder of this run's own: deleting the last run's thousands of files just before writing
    made the filesystem, not the code, decide the figure. The parent removes them afterwards."""
    return out.parent / f"{out.name}-{os.getpid()}"


class _Laps:
    """Seconds of each phase of a span, in order: `lap(name)` closes the phase that just ended."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = now - self._last
        self._last = now


def render(workspace: Path, out: Path) -> dict:
    """What `skillship validate` + `skillship render` do, through the same functions."""
    from skillship.compose import plan_stack
    from skillship.images.digest import DigestCache
    from skillship.manifests import stack_objects
    from skillship.output.render import write_objects
    from skillship.stack.settings import StackSettings

    out = _fresh(out)  # every run writes into a new folder, as in a fresh CI clone
    measured: dict = {}
    with _timed(measured):
        laps = _Laps()
        settings = StackSettings.from_config("bench", BENCH_SETTINGS)
        plan = plan_stack(
            workspace,
            settings,
            project_dir=workspace,
            digests=DigestCache(None),
            among_project_stacks=False,
            stage_done=laps.lap,
        )
        objects = stack_objects(plan)
        laps.lap("build objects")
        files = write_objects(objects, out)
        laps.lap("write files")
    written = sum(file.path.stat().st_size for file in files)  # off the clock: the floor writes as much
    return {**measured, "phases": laps.seconds, "objects": len(files), "bytes": written, "tasks": len(plan.tasks)}


def render_floor(workspace: Path, out: Path, objects: int, size: int) -> dict:
    """The I/O floor of the same run: parse every YAML file with libyaml, hash every build-context
    file, and write as many YAML files as render writes, each of `size` bytes (the mean of
    render's: #21's floor writes files of the same sizes)."""
    import yaml

    start = time.perf_counter()
    laps = _Laps()
    for path in sorted(workspace.glob("skills/*/skill.yaml")) + sorted(workspace.glob("agents/*.yaml")):
        yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
    laps.lap("parse YAML")
    for path in sorted(workspace.glob("skills/*/actions/*/**/*")):
        if path.is_file():
            with path.open("rb") as handle:
                hashlib.file_digest(handle, "sha256")
    laps.lap("hash files")
    out = _fresh(out)
    out.mkdir(parents=True)
    for index in range(objects):
        text = yaml.dump({"kind": "Job", "index": index}, Dumper=yaml.CSafeDumper)
        (out / f"{index:05d}.yaml").write_text(text + "#" * max(0, size - len(text) - 1) + "\n")
    laps.lap("write files")
    return {"seconds": time.perf_counter() - start, "phases": laps.seconds}


def digest(workspace: Path, cache_file: str) -> dict:
    from skillship.images.digest import DigestCache

    contexts = sorted(p for p in workspace.glob("skills/*/actions/*") if p.is_dir())
    cache = DigestCache(None if cache_file == "-" else Path(cache_file))
    start = time.perf_counter()
    total = sum(cache.digest(context).bytes for context in contexts)
    seconds = time.perf_counter() - start
    cache.save()
    return {"seconds": seconds, "bytes": total, "hits": cache.hits, "misses": cache.misses}


def _import_sdk() -> None:
    """Import the SDK modules both programs use before either clock starts: their import time is
    the SDK's, the same for any program, not Skillship's."""
    import pulumi_docker_build
    import pulumi_kubernetes as k8s

    from skillship_components.kubernetes import BuiltIn

    assert BuiltIn and k8s.apiextensions.CustomResource and k8s.Provider and pulumi_docker_build.Image


def stat_floor(workspace: Path) -> dict:
    """The least any correct unchanged-check can do: walk every build context and lstat each file
    (an in-place edit shows in nothing but the file's own metadata)."""
    contexts = sorted(str(p) for p in workspace.glob("skills/*/actions/*") if p.is_dir())
    start = time.perf_counter()
    count = 0
    for context in contexts:
        folders = [context]
        while folders:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                    else:
                        entry.stat(follow_symlinks=False)
                        count += 1
    return {"seconds": time.perf_counter() - start, "files": count}


def program(project: Path, record: Path) -> dict:
    """The real __main__.py under the SDK's mocks (tests/harness), timed from start until every
    export is resolved. Writes what it declared to `record`, for the floor to replay."""
    from harness import run_program

    _import_sdk()
    spec = {
        "stack": "bench",
        "program_dir": str(project),
        "config": {**BENCH_SETTINGS, "target": "cluster", "wait": True},
    }
    measured: dict = {}
    with _timed(measured):
        finished = run_program.run(spec)
    result = run_program.collect(finished)  # the test harness's bookkeeping: not the program's time
    assert result["error"] is None, result["error"]["message"][:2000]
    declared = [
        {k: r[k] for k in ("type", "name", "inputs", "custom", "urn", "parent", "dependencies")}
        for r in result["resources"]
        if r["type"] != "pulumi:pulumi:Stack"
    ]
    record.write_text(json.dumps(declared))
    return {**measured, "resources": len(result["resources"])}


def declare_recorded(declared: list[dict]) -> None:
    """Declare the recorded resources (same types, names, inputs, parents and dependencies)
    directly through the SDK classes the components use: the bare SDK floor's whole program."""
    import pulumi
    import pulumi_docker_build as docker_build
    import pulumi_kubernetes as k8s

    from skillship_components.kubernetes import BUILT_IN_KINDS, BuiltIn

    built_in = {kind.token for kind in BUILT_IN_KINDS.values()}

    class Component(pulumi.ComponentResource):
        def __init__(self, token: str, name: str, opts: pulumi.ResourceOptions) -> None:
            super().__init__(token, name, None, opts)

    made: dict[str, pulumi.Resource] = {}
    components = []
    for resource in declared:
        token, name, inputs = resource["type"], resource["name"], resource["inputs"]
        opts = pulumi.ResourceOptions(
            parent=made.get(resource["parent"]), depends_on=[made[u] for u in resource["dependencies"] if u in made]
        )
        if token in built_in:
            created = BuiltIn(name, inputs, opts)
        elif token == "docker-build:index:Image":
            created = docker_build.Image(
                name, opts=opts, **{k: v for k, v in inputs.items() if k in ("context", "dockerfile", "tags", "push")}
            )
        elif token.startswith("pulumi:providers:kubernetes"):
            created = k8s.Provider(name, opts=opts, render_yaml_to_directory=inputs.get("renderYamlToDirectory"))
        elif token.startswith("kubernetes:"):
            created = k8s.apiextensions.CustomResource(
                name,
                opts=opts,
                api_version=inputs["apiVersion"],
                kind=inputs["kind"],
                metadata=inputs["metadata"],
                spec=inputs.get("spec"),
            )
        else:
            created = Component(token, name, opts)
            components.append(created)
        made[resource["urn"]] = created
    for component in components:
        component.register_outputs({})


def program_floor(record: Path) -> dict:
    """The bare SDK floor: the very resources the program declared, declared directly
    (`declare_recorded`) under the same mocks and recording monitor, with none of Skillship's work
    (no workspace, plan, builders or status outputs)."""
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from harness.run_program import Mocks, RecordingMonitor

    _import_sdk()
    declared = json.loads(record.read_text())
    mocks = Mocks({})
    pulumi_mocks.set_mocks(mocks, project="skillship", stack="floor", preview=False, monitor=RecordingMonitor(mocks))
    measured: dict = {}
    with _timed(measured):
        _sync_await(run_pulumi_func(functools.partial(declare_recorded, declared)))
    return {**measured, "resources": len(declared) + 1}


RECORDED: list[dict] = []  # what the floor run as a program declares, read before its clock starts
_MINIMAL_PROGRAM = """\
# A minimal Pulumi program, written by bench/children.py: the recorded resources, declared directly.
import bench.children

bench.children.declare_recorded(bench.children.RECORDED)
"""


def program_floor_as_program(record: Path) -> dict:
    """The same floor as a program of its own: a minimal `__main__.py` that the test harness runs
    exactly as it runs Skillship's (through `runpy`, as Pulumi's language host does), so that the
    SDK also records the program runner's stack frames for each resource. A reference for how much
    of the program's ratio is the runner's; the target is measured against `program_floor`."""
    import tempfile

    from harness import run_program

    _import_sdk()
    # The minimal program imports bench.children by name; when this file runs as `python -m`, that
    # is a second copy of this module, not this one: fill the copy the program will read.
    importlib.import_module("bench.children").RECORDED[:] = json.loads(record.read_text())
    with tempfile.TemporaryDirectory(prefix="skillship-minimal-") as folder:
        (Path(folder) / "__main__.py").write_text(_MINIMAL_PROGRAM)
        measured: dict = {}
        with _timed(measured):
            finished = run_program.run({"stack": "floor", "program_dir": folder, "config": {}})
        assert finished.error is None, finished.error["message"][:2000]
        return {**measured, "resources": len(finished.monitor.registrations)}


def use_collector_schedule(default: bool) -> None:
    """Every child, floors included, runs on one schedule: Skillship's (what the CLI and
    __main__.py set), so that ratios compare Skillship's work and not two schedules; or with
    --default-gc CPython's own, where the program's call to set Skillship's does nothing. That is
    how the program ran before skillship/gcpolicy.py."""
    if default:
        gcpolicy.tune_for_batch_run = lambda: None
    else:
        gcpolicy.tune_for_batch_run()


# Each kind: the arguments it takes (for the usage text and their count), and how it runs.
KINDS: dict[str, tuple[str, Callable[[list[str]], dict]]] = {
    "render": ("WORKSPACE OUT", lambda a: render(Path(a[0]), Path(a[1]))),
    "render-floor": (
        "WORKSPACE OUT OBJECTS SIZE",
        lambda a: render_floor(Path(a[0]), Path(a[1]), int(a[2]), int(a[3])),
    ),
    "digest": ("WORKSPACE CACHE_FILE|-", lambda a: digest(Path(a[0]), a[1])),
    "stat-floor": ("WORKSPACE", lambda a: stat_floor(Path(a[0]))),
    "program": ("WORKSPACE RECORD", lambda a: program(Path(a[0]), Path(a[1]))),
    "program-floor": ("RECORD", lambda a: program_floor(Path(a[0]))),
    "program-floor-as-program": ("RECORD", lambda a: program_floor_as_program(Path(a[0]))),
}


def main(argv: list[str]) -> int:
    global COUNT_CALLS
    flags = {"--calls", "--default-gc"}
    chosen = {a for a in argv if a in flags}
    kind, *args = [a for a in argv if a not in flags] or [""]
    if kind not in KINDS or len(args) != len(KINDS[kind][0].split()):
        print(
            "usage: python -m bench.children [--calls] [--default-gc] KIND ARGS, where KIND ARGS is one of:\n"
            + "\n".join(f"  {name} {wanted}" for name, (wanted, _) in KINDS.items()),
            file=sys.stderr,
        )
        return 2
    COUNT_CALLS = "--calls" in chosen
    use_collector_schedule(default="--default-gc" in chosen)
    sys.stdout.write(json.dumps(KINDS[kind][1](args)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
