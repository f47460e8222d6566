"""Run the real Pulumi program (__main__.py) under the real SDK's mocks, in a process of its own.

Usage: python -m harness.run_program SPEC_JSON. Prints one JSON document: every registered
resource (type, name, parent, dependencies, inputs), the stack's exports, and the error if the
program failed. Each run gets a fresh process because the SDK keeps global state.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import runpy
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from harness import REPO


def job_status(outcome: str) -> dict[str, Any]:
    """The status the Job controller would report, as pulumi-kubernetes returns it."""
    start = "2026-11-24T10:00:00Z"
    if outcome == "succeed":
        return {
            "startTime": start,
            "completionTime": "2026-11-24T10:00:30Z",
            "succeeded": 1,
            "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}],
        }
    if outcome == "fail":
        return {
            "startTime": start,
            "failed": 1,
            "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                },
            ],
        }
    if outcome == "running":
        return {"startTime": start, "active": 1}
    return {}


class Mocks(pulumi.runtime.Mocks):
    def __init__(self, outcomes: dict[str, str], stack_outputs: dict[str, dict[str, Any]] | None = None) -> None:
        self.outcomes = outcomes
        self.stack_outputs = stack_outputs or {}  # what a StackReference to each stack reads
        self.inputs: dict[tuple[str, str], dict] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.inputs[(args.typ, args.name)] = args.inputs
        state = dict(args.inputs)
        if args.typ == "docker-build:index:Image":
            digest = (
                "sha256:" + hashlib.sha256(json.dumps(args.inputs, sort_keys=True, default=str).encode()).hexdigest()
            )
            state.update(digest=digest, ref=f"{args.inputs['tags'][0]}@{digest}", contextHash="mock")
        if args.typ == "pulumi:pulumi:StackReference":
            state["outputs"] = self.stack_outputs.get(args.inputs["name"], {})
        if args.typ == "kubernetes:batch/v1:Job" and "-render::" not in (args.provider or ""):
            # renderYamlToDirectory only writes files: no Job runs, so no status comes back.
            skill = args.inputs["metadata"]["annotations"]["skillship.io/skill-name"]
            state["status"] = job_status(self.outcomes.get(skill, "succeed"))
        return [f"{args.name}-id", state]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}, None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[dict] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        self.registrations.append(
            {
                "urn": response.urn,
                "type": request.type,
                "name": request.name,
                "parent": request.parent,
                "custom": request.custom,
                "dependencies": sorted(request.dependencies),
                "additionalSecretOutputs": sorted(request.additionalSecretOutputs),
                "provider": request.provider,
                "version": request.version,  # of the provider plugin, which picks the default provider
                "aliases": len(request.aliases),
                "stackTrace": [[frame.pc.uri, frame.pc.line] for frame in request.stackTrace.frames],
                "sourcePosition": [request.sourcePosition.uri, request.sourcePosition.line],
            }
        )
        return response


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how the SDK marks a secret value on the wire


def _jsonable(value: Any, path: str = "", secrets: list[str] | None = None) -> Any:
    """Plain JSON, with secret wrappers unwrapped and their paths noted in `secrets`."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            if secrets is not None:
                secrets.append(path)
            return _jsonable(value.get("value"), path, secrets)
        return {str(k): _jsonable(v, f"{path}.{k}" if path else str(k), secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    return json.loads(json.dumps(value, default=str))


@dataclass
class Run:
    """What one run of the program left behind, before it is turned into plain JSON."""

    monitor: RecordingMonitor
    mocks: Mocks
    exports: dict[str, Any]
    error: dict | None


def run(spec: dict) -> Run:
    """Run __main__.py under the mocks until every export is resolved."""
    program_dir = Path(spec.get("program_dir", REPO))
    sys.path.insert(0, str(program_dir))
    os.environ.update(spec.get("env", {}))  # what the program reads of its environment
    mocks = Mocks(spec.get("outcomes", {}), spec.get("stack_outputs"))
    monitor = RecordingMonitor(mocks)
    project = spec.get("project", "skillship")
    pulumi_mocks.set_mocks(mocks, project=project, stack=spec["stack"], preview=False, monitor=monitor)
    config = {f"skillship:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in spec.get("config", {}).items()}
    config.update(spec.get("other_config", {}))  # keys of other namespaces, as given
    pulumi.runtime.set_all_config(config, secret_keys=[f"skillship:{k}" for k in spec.get("secret_keys", [])])
    exports: dict[str, Any] = {}
    original_export = pulumi.export
    pulumi.export = lambda name, value: exports.__setitem__(name, value)  # collected and resolved below
    error = None
    resolved: dict[str, Any] = {}
    try:

        def program() -> None:
            runpy.run_path(str(program_dir / "__main__.py"), run_name="__main__")

        _sync_await(run_pulumi_func(program))
        for name, value in exports.items():
            resolved[name] = _sync_await(pulumi.Output.from_input(value).future())
    except Exception as exc:  # the program's failure is the result under test
        error = {"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}
    finally:
        pulumi.export = original_export
    return Run(monitor, mocks, resolved, error)


def collect(result: Run) -> dict:
    """Every registered resource with its inputs, the exports and the error, as plain JSON."""
    resources = []
    for registration in result.monitor.registrations:
        inputs = result.mocks.inputs.get((registration["type"], registration["name"]), {})
        secret_paths: list[str] = []
        plain = _jsonable(inputs, "", secret_paths)
        resources.append({**registration, "inputs": plain, "secretInputs": secret_paths})
    return {
        "resources": resources,
        "exports": _jsonable(result.exports),
        "error": result.error,
        "gc_threshold": list(gc.get_threshold()),
    }  # the collector schedule the program left


def main(spec: dict) -> dict:
    return collect(run(spec))


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(json.loads(sys.argv[1]))))
