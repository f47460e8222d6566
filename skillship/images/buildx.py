"""A buildx builder of the `remote` driver: what `docker buildx create --driver remote ENDPOINT`
writes, written without docker, for a machine that has only a BuildKit daemon to build with (a CI
job beside a BuildKit service). The docker-build provider links buildx and reads the same files.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_NAME = "skillship"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # a buildx instance's name, as the `builder` setting takes it
# BuildKit's own address forms for a remote daemon: a TCP host and port, or a unix socket's path.
_TCP = re.compile(
    r"tcp://(?P<host>[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})"
)
_UNIX = re.compile(r"unix://(?P<path>/[^\x00-\x1f\x7f]{1,4000})")


class BuilderError(ValueError):
    """The endpoint or name cannot make a builder, or the daemon did not answer; the message says which."""


@dataclass(frozen=True)
class Endpoint:
    address: str  # as given: tcp://host:port or unix:///path

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        tcp = _TCP.fullmatch(text)
        if tcp and 0 < int(tcp["port"]) < 65536:
            return cls(text)
        if _UNIX.fullmatch(text):
            return cls(text)
        raise BuilderError(
            f"{text!r} is not a BuildKit address: give tcp://HOST:PORT (a BuildKit service, e.g. "
            "tcp://buildkitd:1234) or unix:///PATH/TO/buildkitd.sock"
        )

    def connect(self, timeout: float) -> socket.socket:
        if self.address.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(self.address.removeprefix("unix://"))
            except OSError:
                sock.close()
                raise
            return sock
        match = _TCP.fullmatch(self.address)
        assert match is not None  # parse() accepted it
        return socket.create_connection((match["host"].strip("[]"), int(match["port"])), timeout=timeout)


def config_dir(env: Mapping[str, str]) -> Path:
    """Where buildx keeps its builders: $BUILDX_CONFIG, else $DOCKER_CONFIG/buildx, else ~/.docker/buildx."""
    if env.get("BUILDX_CONFIG"):
        return Path(env["BUILDX_CONFIG"])
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]) / "buildx"
    return Path(env.get("HOME") or Path.home()) / ".docker" / "buildx"


def remote_instance(name: str, endpoint: Endpoint) -> dict[str, Any]:
    """The instance file's content, in buildx's own shape (one node, no platforms pinned)."""
    return {
        "Name": name,
        "Driver": "remote",
        "Dynamic": False,
        "Nodes": [
            {
                "Name": f"{name}0",
                "Endpoint": endpoint.address,
                "Platforms": None,
                "DriverOpts": {},
                "Flags": None,
                "Files": None,
            }
        ],
    }


def write_remote_builder(directory: Path, name: str, endpoint: Endpoint, *, make_current: bool = True) -> Path:
    """Writes (or replaces) builder `name` in buildx's folder, and makes it the current builder for
    every docker context, as `docker buildx use --global` does. Each file is replaced whole, so a
    reader never sees half of one. Returns the instance file."""
    if not NAME.fullmatch(name):
        raise BuilderError(f"{name!r} is not a builder name: letters, digits, '_', '.', '-'")
    instances = directory / "instances"
    instances.mkdir(parents=True, exist_ok=True)
    instance = instances / name
    _replace(instance, remote_instance(name, endpoint))
    if make_current:
        _replace(directory / "current", {"Key": "", "Name": name, "Global": True})
    return instance


def wait_until_reachable(endpoint: Endpoint, timeout: float, interval: float = 0.5) -> float:
    """Waits for the daemon to accept a connection (a BuildKit service may still be starting when
    the job's script begins); returns the seconds it took. A connection only: BuildKit's own
    protocol is the provider's business."""
    start = time.monotonic()
    last: OSError | None = None
    while True:
        try:
            endpoint.connect(timeout=max(0.1, min(5.0, timeout))).close()
            return time.monotonic() - start
        except OSError as exc:
            last = exc
        if time.monotonic() - start + interval > timeout:
            raise BuilderError(
                f"no BuildKit answers at {endpoint.address} after {timeout:g} s ({last.strerror or last}): "
                "is the service started, and its address the one given?"
            )
        time.sleep(interval)


def _replace(path: Path, document: dict[str, Any]) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(document, file)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
