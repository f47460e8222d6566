"""A network and mount namespace of the suite's own, which the real node's pieces run inside.

`Sandbox.start()` starts the keeper (harness/realnode/guard.py) in new namespaces. `command(argv)`
turns a command line into one that runs inside them, in the keeper's cgroups. `forward(port)`
makes 127.0.0.1:port of the host reach 127.0.0.1:port inside the sandbox, so an address such as
`127.0.0.1:PORT` (the API server, the registry) means the same thing to the tests, to pulumi and
to the node. `stop()` ends the keeper, which puts the host back as it found it (see guard.py) and
reports what it did.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness import REPO

CLONE_NEWNET = 0x40000000
# The runtime folders the node's pieces write to whatever their configuration says; each gets a
# tmpfs that only the sandbox sees.
TMPFS = (
    "/run/containerd",
    "/run/netns",
    "/var/lib/cni",
    "/run/buildkit",
    "/run/runc",  # runc's default state folder, which a runc without --root writes to
    "/var/lib/kubelet",
    "/var/log/pods",
    "/var/log/containers",
    "/etc/cni/net.d",
)
_libc = ctypes.CDLL(None, use_errno=True)
# One sandbox per host at a time: they mount over the same fixed folders, and a keeper that puts
# the host back removes the folders it created, which detaches another sandbox's mounts on them
# (its kubelet then writes to the host). An abstract socket's name is the lock: the kernel drops
# it with the last process holding it, so nothing is left behind, even after a SIGKILL.
HOST_LOCK = "\0skillship-realnode-sandbox"


def wait_for_the_host(timeout: float = 1800) -> None:
    """Returns once no sandbox holds the host, nor is still being put back by its keeper: a reading
    of the host's state taken then is the host's own."""
    _host_lock(timeout).close()


def _host_lock(timeout: float) -> socket.socket:
    lock = socket.socket(socket.AF_UNIX)
    deadline = time.monotonic() + timeout
    while True:
        try:
            lock.bind(HOST_LOCK)
            return lock
        except OSError:
            if time.monotonic() > deadline:
                lock.close()
                raise RuntimeError(
                    f"another real-node sandbox has held this host for {timeout:.0f} s (another test run?)"
                ) from None
            time.sleep(1)


class Sandbox:
    NODE_IP = "172.31.255.1"  # the node's address inside the sandbox; nothing outside can route to it

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.name = f"skillship-node-{secrets.token_hex(4)}"
        self.report_path = directory / "guard-report.json"
        self._keeper: subprocess.Popen | None = None
        self._lock: socket.socket | None = None
        self._listeners: list[socket.socket] = []
        self._stopping = threading.Event()

    def start(self, wait_for_host: float = 1800) -> Sandbox:
        # Held by this process and, inherited, by the keeper, which outlives it when it is killed.
        self._lock = _host_lock(wait_for_host)
        spec = {"name": self.name, "node_ip": self.NODE_IP, "tmpfs": list(TMPFS), "report": str(self.report_path)}
        self._keeper = subprocess.Popen(
            [
                "unshare",
                "--net",
                "--mount",
                "--propagation",
                "private",
                "--",
                sys.executable,
                "-m",
                "harness.realnode.guard",
                json.dumps(spec),
            ],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.directory / "guard.log", "wb"),
            start_new_session=True,
            pass_fds=(self._lock.fileno(),),
        )
        line = self._keeper.stdout.readline()
        if not line:
            self._keeper.wait(timeout=30)
            self._lock.close()
            raise RuntimeError(f"the sandbox did not start: {(self.directory / 'guard.log').read_text()[-3000:]}")
        self.pid = json.loads(line)["pid"]
        self._net = os.open(f"/proc/{self.pid}/ns/net", os.O_RDONLY)
        return self

    def cgroup_entry(self) -> str:
        """Shell words that move the shell into the keeper's cgroups (every hierarchy)."""
        return (
            f"for h in /sys/fs/cgroup/*/{self.name}/system /sys/fs/cgroup/{self.name}/system; do "
            f'[ -d "$h" ] && echo $$ > "$h/cgroup.procs"; done; exec "$@"'
        )

    def command(self, argv: list[str]) -> list[str]:
        return [
            "nsenter",
            f"--target={self.pid}",
            "--net",
            "--mount",
            "--",
            "sh",
            "-c",
            self.cgroup_entry(),
            "sandboxed",
            *argv,
        ]

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(argv), **kwargs)

    def forward(self, port: int) -> None:
        """Serve 127.0.0.1:port on the host by connecting to 127.0.0.1:port inside the sandbox."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        self._listeners.append(listener)
        threading.Thread(target=self._accept, args=(listener, port), daemon=True, name=f"forward-{port}").start()

    def _accept(self, listener: socket.socket, port: int) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pump, args=(client, port), daemon=True).start()

    def _pump(self, client: socket.socket, port: int) -> None:
        # A thread may join another network namespace on its own; a socket keeps the namespace
        # it was made in. This thread makes the inner socket there and only pumps bytes after.
        if _libc.setns(self._net, CLONE_NEWNET) != 0:
            client.close()
            return
        try:
            inner = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            client.close()
            return
        inner.settimeout(None)
        ends = {client: inner, inner: client}
        with selectors.DefaultSelector() as selector:
            for end in ends:
                selector.register(end, selectors.EVENT_READ)
            open_ends = 2
            while open_ends and not self._stopping.is_set():
                for key, _ in selector.select(timeout=1):
                    try:
                        data = key.fileobj.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        try:
                            ends[key.fileobj].sendall(data)
                            continue
                        except OSError:
                            pass
                    selector.unregister(key.fileobj)
                    open_ends -= 1
                    try:
                        ends[key.fileobj].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
        client.close()
        inner.close()

    def stop(self, timeout: float = 90) -> dict:
        self._stopping.set()
        for listener in self._listeners:
            listener.close()
        if self._keeper is None:
            return {}
        self._keeper.stdin.close()
        self._keeper.wait(timeout=timeout)
        os.close(self._net)
        if self._lock is not None:
            self._lock.close()
        return json.loads(self.report_path.read_text()) if self.report_path.exists() else {}
