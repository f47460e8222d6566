"""Operating a stack of the project copy with the built engine, through harness/driver.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import REPO

# A driver that dies of a signal (a crash in a native extension, say) prints no Python traceback:
# faulthandler writes every thread's stack to standard error first, so the failure says where.
_CRASH_TRACES = ("-X", "faulthandler")


def _ending(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


@dataclass
class Stack:
    """A stack of the project copy, operated through harness/driver.py."""

    name: str
    project: Path
    engine_bin: Path
    env: dict[str, str]
    timeout: float = 600  # seconds one operation may take (the benchmarks' big stacks take longer)
    # The interpreter that hosts the program: this one, with the repository's Skillship; or that of
    # an install of its own, which runs the driver as a script, away from the repository's folders.
    python: Path | None = None

    def command(
        self, op: str, config: dict | None = None, secrets: dict | None = None, *, events: bool = True
    ) -> list[str]:
        """The driver's command line for one operation (harness/driver.py), run from the repo;
        `events`: whether the driver takes the engine's event stream (its `steps` and `diagnostics`)."""
        spec = {
            "project": str(self.project),
            "stack": self.name,
            "op": op,
            "config": config or {},
            "secrets": secrets or {},
            "env": self.env,
            "engine_root": str(self.engine_bin.parent),
            "events": events,
        }
        if self.python is not None:
            return [str(self.python), *_CRASH_TRACES, str(REPO / "harness" / "driver.py"), json.dumps(spec)]
        return [sys.executable, *_CRASH_TRACES, "-m", "harness.driver", json.dumps(spec)]

    def _run(self, op: str, config: dict | None = None, secrets: dict | None = None, *, events: bool = True) -> dict:
        done = subprocess.run(
            self.command(op, config, secrets, events=events),
            cwd=REPO if self.python is None else self.project,
            capture_output=True,
            text=True,
            timeout=self.timeout,
        )
        if done.returncode != 0 or not done.stdout.strip():
            raise AssertionError(
                f"the driver {_ending(done.returncode)}, standard error:\n{done.stderr[-4000:]}\n"
                f"standard output:\n{done.stdout[-2000:]}"
            )
        return json.loads(done.stdout)

    def up(self, config: dict | None = None, secrets: dict | None = None, *, events: bool = True) -> dict:
        result = self._run("up", config, secrets, events=events)
        assert result["ok"], result.get("error")
        self.outputs = result["outputs"]
        return result

    def failing_up(self, config: dict | None = None, secrets: dict | None = None) -> str:
        return self.failing_up_result(config, secrets)["error"]

    def failing_up_result(self, config: dict | None = None, secrets: dict | None = None) -> dict:
        result = self.up_result(config, secrets)
        assert not result["ok"], "pulumi up should have failed"
        return result

    def up_result(self, config: dict | None = None, secrets: dict | None = None) -> dict:
        """The driver's record of one `up`, whether it succeeded or not (a test checks which)."""
        return self._run("up", config, secrets)

    def export(self) -> str:
        """`pulumi stack export` as a user runs it (the Automation API's export shows secrets)."""
        done = self.cli("stack", "export", timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def preview(self, config: dict | None = None) -> dict:
        result = self._run("preview", config)
        assert result["ok"], result.get("error")
        return result

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """The `pulumi` CLI on this stack, as a user runs it (commands that do not run the program)."""
        return subprocess.run(
            [str(self.engine_bin / "pulumi"), *args, "--stack", self.name],
            cwd=self.project,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **self.env},
        )

    def destroy(self) -> dict:
        result = self._run("destroy")
        assert result["ok"], result.get("error")
        return result


def make_stack(
    name: str, project: Path, engine_bin: Path, cluster, backend: Path, extra_env: dict[str, str] | None = None
) -> Stack:
    env = {
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": "e2e-passphrase",
        "PULUMI_HOME": str(backend / ".pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "KUBECONFIG": str(cluster.kubeconfig),
        "PATH": f"{engine_bin}:{os.environ['PATH']}",
        **(extra_env or {}),
    }
    return Stack(name, project, engine_bin, env)
