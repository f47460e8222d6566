"""BuildKit inside the sandbox, found by the docker-build provider through a buildx `remote` instance.

No Docker daemon anywhere: `buildkitd` runs builds with Debian's runc (OCI worker, overlayfs) and
pushes to the suite's registry; the provider links buildx as a library and takes the one
instance in `$BUILDX_CONFIG/instances`, whose endpoint is buildkitd's unix socket (a socket file
reaches across network namespaces). `docker.io` is mirrored to the suite's public registry, so
the example Dockerfiles' `FROM python:...` resolves, without a login, to the base image published
there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.cluster import spawn_tied
from harness.realnode.registry import Registry
from harness.realnode.sandbox import Sandbox
from skillship.images.buildx import Endpoint, write_remote_builder

BUILDER = "skillship-e2e"
# What the example Dockerfiles name: it resolves, through the docker.io mirror, to Debian's Python.
BASE_IMAGE = "library/python:3.12.8-slim-bookworm"
PAUSE_IMAGE = "skillship/pause:e2e"


class BuildKit:
    def __init__(self, directory: Path, bin_dir: Path, sandbox: Sandbox, registry: Registry, public: Registry) -> None:
        self.directory = directory
        self.bin_dir = bin_dir
        self.sandbox = sandbox
        self.registry = registry
        self.public = public
        self.socket = directory / "buildkitd.sock"
        self.buildx_config = directory / "buildx"
        self.docker_config = directory / "docker"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> BuildKit:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "buildkitd.toml"
        host = self.registry.host
        config.write_text(
            f'root = "{self.directory / "state"}"\n'
            f'[grpc]\n  address = ["unix://{self.socket}"]\n'
            # The build steps' cgroups go under the sandbox's, like everything else it runs.
            f'[worker.oci]\n  enabled = true\n  snapshotter = "overlayfs"\n'
            f'  defaultCgroupParent = "/{self.sandbox.name}/buildkit"\n'
            f"  gc = false\n"
            f"[worker.containerd]\n  enabled = false\n"
            f'[registry."{host}"]\n  http = false\n  ca = ["{self.registry.ca_file}"]\n'
            f'[registry."{self.public.host}"]\n  http = false\n  ca = ["{self.public.ca_file}"]\n'
            f'[registry."docker.io"]\n  mirrors = ["{self.public.host}"]\n'
        )
        log = open(self.directory / "buildkitd.log", "ab")  # a restart keeps the first run's log
        self.process = spawn_tied(self.sandbox.command([str(self.bin_dir / "buildkitd"), "--config", str(config)]), log)
        self._write_client_config()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"buildkitd exited: {(self.directory / 'buildkitd.log').read_text()[-3000:]}")
            if self.reachable():
                return self
            time.sleep(0.3)
        raise RuntimeError(f"buildkitd was not ready within {timeout} s")

    @contextmanager
    def down(self) -> Iterator[bool]:
        """buildkitd stopped for the block, then started again on the same state; yields whether a
        client could still reach it (it must not: what runs in the block has no builder)."""
        self.stop()
        try:
            yield self.reachable()
        finally:
            self.start()

    def forget_builds(self) -> int:
        """Empty BuildKit's build cache, so the next build is a new machine's; returns the number
        of cache records left (0 unless a build is running)."""
        self.buildctl(["prune", "--all"])
        records = json.loads(self.buildctl(["du", "--format", "{{json .}}"]).stdout)  # `null` when empty
        return len(records or [])

    def reachable(self) -> bool:
        """Whether a client can reach buildkitd and list its workers, as the provider would."""
        return self.socket.exists() and self.buildctl(["debug", "workers"], check=False).returncode == 0

    def _write_client_config(self) -> None:
        # The builder as `skillship builder` writes it for a CI job, made buildx's current one.
        write_remote_builder(self.buildx_config, BUILDER, Endpoint.parse(f"unix://{self.socket}"))
        # Only buildctl (publishing the base images) uses these credentials; pulumi gets its own
        # from the stack's secret config.
        self.docker_config.mkdir(parents=True, exist_ok=True)
        (self.docker_config / "config.json").write_text(self.registry.docker_config())
        (self.docker_config / "config.json").chmod(0o600)

    def env(self) -> dict[str, str]:
        """What pulumi's environment needs to build with this BuildKit."""
        return {"BUILDX_CONFIG": str(self.buildx_config)}

    def buildctl(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(self.bin_dir / "buildctl"), "--addr", f"unix://{self.socket}", *args],
            capture_output=True,
            text=True,
            env={"DOCKER_CONFIG": str(self.docker_config), "PATH": "/usr/bin:/bin"},
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"buildctl {' '.join(args[:2])} failed: {done.stderr[-3000:]}")
        return done

    def publish(self, name: str, dockerfile: str, files: dict[str, Path]) -> str:
        """Build a Dockerfile over the given files and push it to the public registry as name, where
        the docker.io mirror finds it; returns the reference."""
        reference = f"{self.public.host}/{name}"
        self.build(self._context(name, dockerfile, files), reference)
        return reference

    def export(self, name: str, dockerfile: str, files: dict[str, Path]) -> tuple[str, Path]:
        """Build a Dockerfile over the given files into an image archive (`docker save`'s format),
        pushed nowhere: what a node has preloaded. Returns the image's name and the archive."""
        reference = f"{self.registry.host}/{name}"
        archive = self.directory / "exports" / (name.replace("/", "_").replace(":", "_") + ".tar")
        archive.parent.mkdir(parents=True, exist_ok=True)
        self.build(self._context(name, dockerfile, files), reference, output=f"type=docker,dest={archive}")
        return reference, archive

    def _context(self, name: str, dockerfile: str, files: dict[str, Path]) -> Path:
        context = self.directory / "contexts" / name.replace("/", "_").replace(":", "_")
        shutil.rmtree(context, ignore_errors=True)
        context.mkdir(parents=True)
        (context / "Dockerfile").write_text(dockerfile)
        for target, source in files.items():
            # A hard link where possible: the base root file system is 200 MB.
            try:
                (context / target).hardlink_to(source.resolve())
            except OSError:
                shutil.copy2(source.resolve(), context / target)
        return context

    def build(self, context: Path, reference: str, named: dict[str, Path] | None = None, output: str = "") -> None:
        """`buildctl build` of the Dockerfile in `context`, with the named contexts its `COPY --from`
        names, pushed as `reference` (or written as `output` says): what the docker-build provider
        asks of BuildKit, directly."""
        named_args = []
        for name, path in (named or {}).items():
            named_args += ["--local", f"{name}={path}", "--opt", f"context:{name}=local:{name}"]
        self.buildctl(
            [
                "build",
                "--frontend",
                "dockerfile.v0",
                "--local",
                f"context={context}",
                "--local",
                f"dockerfile={context}",
                *named_args,
                "--output",
                f"{output},name={reference}" if output else f"type=image,name={reference},push=true",
            ]
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
