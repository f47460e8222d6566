"""Running the Pulumi program under mocks (harness/run_program.py) and reading the result."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CI_REGISTRY_PASSWORD = "ci-registry-password"  # what CI's secret store holds, in these tests


def _ints(value: Any) -> Any:
    """Numbers cross the mock monitor as floats; compare them as the ints they were."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


@dataclass(frozen=True)
class ProgramRun:
    resources: list[dict]
    exports: dict
    error: dict | None
    gc_threshold: tuple[int, int, int]  # gc.get_threshold() when the program had run

    def of_type(self, token: str) -> list[dict]:
        return [r for r in self.resources if r["type"] == token]

    def one(self, token: str, name: str) -> dict:
        [found] = [r for r in self.resources if r["type"] == token and r["name"] == name]
        return found

    def by_urn(self, urn: str) -> dict:
        [found] = [r for r in self.resources if r["urn"] == urn]
        return found

    def kubernetes(self) -> list[dict]:
        return [
            r
            for r in self.resources
            if r["type"].startswith("kubernetes:") and r["custom"] and not r["type"].startswith("pulumi:providers")
        ]

    def manifest(self, resource: dict) -> dict:
        """The object as the provider receives it."""
        return _ints(resource["inputs"])


@functools.cache
def _run(spec_json: str) -> ProgramRun:
    done = subprocess.run(
        [sys.executable, "-m", "harness.run_program", spec_json],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise AssertionError(f"the harness itself failed:\n{done.stderr}")
    data = json.loads(done.stdout)
    return ProgramRun(data["resources"], data["exports"], data["error"], tuple(data["gc_threshold"]))


def run_program(
    stack: str,
    config: dict,
    *,
    secret_keys: tuple[str, ...] = (),
    outcomes: dict | None = None,
    program_dir: Path | None = None,
    stack_outputs: dict | None = None,
    env: dict[str, str] | None = None,
    project: str = "skillship",
    other_config: dict[str, str] | None = None,
) -> ProgramRun:
    """`stack_outputs` are what StackReferences read, by stack; by default, for a stack that takes
    its images from another (promoteFrom), that stack's run of the program. A stack with a registry
    user gets CI_REGISTRY_PASSWORD as its secret password unless `config` gives one, as CI sets it
    (the example stack files say so): without it, the program refuses the stack. A key given as
    None is left unset (`registryPassword=None`: a stack without that password)."""
    if config.get("registryUsername") and "registryPassword" not in config:
        config = {**config, "registryPassword": CI_REGISTRY_PASSWORD}
        secret_keys = (*secret_keys, "registryPassword")
    config = {key: value for key, value in config.items() if value is not None}
    source = config.get("promoteFrom")
    if stack_outputs is None and source:
        stack_outputs = {source: run_program(source, stack_config(source), program_dir=program_dir).exports}
    spec = {
        "stack": stack,
        "config": config,
        "secret_keys": list(secret_keys),
        "outcomes": outcomes or {},
        "stack_outputs": stack_outputs or {},
    }
    if program_dir is not None:
        spec["program_dir"] = str(program_dir)
    if env:
        spec["env"] = env
    if project != "skillship":
        spec["project"] = project
    if other_config:
        spec["other_config"] = other_config
    return _run(json.dumps(spec, sort_keys=True))


def stack_config(stack: str) -> dict:
    """A stack file's `skillship:` keys, as `pulumi up` would pass them."""
    import yaml

    config = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("skillship:")}
