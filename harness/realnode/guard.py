"""The keeper of the real node's sandbox: `unshare --net --mount -- python -m harness.realnode.guard SPEC`.

It holds a network namespace and a private mount namespace that the node's pieces (containerd,
kubelet, kube-proxy, CoreDNS, BuildKit, the registry, the control plane) are started into, and
owns everything they could change on the host:

- the cgroup subtree `<hierarchy>/<name>` in every cgroup hierarchy, where all of them run (the
  kubelet's `cgroupRoot` and every process started through `nsenter`);
- the kernel settings the kubelet sets that are not per network namespace (`vm.*`, `kernel.*`),
  which it sees as files of the sandbox's own, so the host's never change;
- the runtime folders containerd and CNI hard-code (`/run/containerd`, `/run/netns`, ...), which
  get a tmpfs of the sandbox's own, so nothing lands in the host's;
- the folders it had to create on the host so that it could mount over them.

It reports `{"pid": ...}` on stdout once ready, then waits for its stdin to close: the suite closes
it when it ends, and the kernel closes it when the suite is killed. Either way it then kills every
process of its cgroups and network namespace, removes the cgroups and folders, puts back the
kernel settings, and writes what it did to the report file. The iptables rules, links, routes and
mounts the pieces made die with the namespaces.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
# What the kubelet sets at start (pkg/kubelet/cm: setupKernelTunables) that is not per namespace.
HOST_SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)


def hierarchies() -> list[Path]:
    """Every cgroup hierarchy mounted under /sys/fs/cgroup (v1 controllers and the v2 one), or the
    v2 root itself on a pure cgroup v2 machine."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        return [CGROUP_ROOT]
    return sorted(path for path in CGROUP_ROOT.iterdir() if path.is_dir() and (path / "cgroup.procs").exists())


def _read(path: Path) -> str:
    return path.read_text().strip()


def make_cgroup(hierarchy: Path, relative: str) -> None:
    path = hierarchy
    for part in Path(relative).parts:
        path = path / part
        path.mkdir(exist_ok=True)
        if (path / "cpuset.cpus").exists() and not _read(path / "cpuset.cpus"):
            # A v1 cpuset cgroup takes no process until it has CPUs and memory nodes: its parent's.
            for setting in ("cpuset.cpus", "cpuset.mems"):
                (path / setting).write_text(_read(path.parent / setting))


def cgroup_pids(top: Path) -> set[int]:
    pids: set[int] = set()
    for folder, _dirs, files in os.walk(top):
        if "cgroup.procs" in files:
            try:
                pids.update(int(line) for line in Path(folder, "cgroup.procs").read_text().split())
            except OSError:
                pass
    return pids


def namespace_pids(own_net: int) -> set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if os.stat(f"/proc/{entry}/ns/net").st_ino == own_net:
                    pids.add(int(entry))
            except OSError:
                pass
    return pids


def remove_cgroup(top: Path) -> bool:
    """rmdir the subtree, deepest first (a cgroup folder goes only when empty of processes)."""
    if not top.exists():
        return True
    for folder, _dirs, _files in sorted(os.walk(top), key=lambda entry: -entry[0].count("/")):
        try:
            os.rmdir(folder)
        except OSError:
            pass
    return not top.exists()


class Guard:
    def __init__(self, spec: dict) -> None:
        self.name: str = spec["name"]
        self.node_ip: str = spec["node_ip"]
        self.tmpfs: list[str] = spec["tmpfs"]
        self.report_path = Path(spec["report"])
        self.sysctls = {
            key: _read(Path("/proc/sys") / key) for key in HOST_SYSCTLS if (Path("/proc/sys") / key).exists()
        }
        self.created_folders: list[Path] = []
        self.net = os.stat("/proc/self/ns/net").st_ino

    def set_up(self) -> None:
        for hierarchy in hierarchies():
            make_cgroup(hierarchy, f"{self.name}/system")
        for folder in map(Path, self.tmpfs):
            missing = folder
            while not missing.parent.exists():
                missing = missing.parent
            if not folder.exists():
                folder.mkdir(parents=True)
                self.created_folders.append(missing)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(folder)], check=True)
        self._shadow_host_sysctls()
        for command in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "link", "add", "node0", "type", "bridge"],
            ["ip", "addr", "add", f"{self.node_ip}/32", "dev", "node0"],
            ["ip", "link", "set", "node0", "up"],
        ):
            subprocess.run(command, check=True)
        # Routing between pods and the node's own address, inside this namespace only.
        Path("/proc/sys/net/ipv4/ip_forward").write_text("1")

    def _shadow_host_sysctls(self) -> None:
        """Inside the sandbox, each host-wide kernel setting the kubelet changes is a file of the
        sandbox's own (a bind mount over /proc/sys/..., seen in its mount namespace only): the
        kubelet reads and writes that, and the host's setting never changes, however the suite
        ends. The restore in tear_down stays as a second line of defence."""
        shadows = self.report_path.parent / "sysctls"
        for key, value in self.sysctls.items():
            shadow = shadows / key
            shadow.parent.mkdir(parents=True, exist_ok=True)
            shadow.write_text(value + "\n")
            subprocess.run(["mount", "--bind", str(shadow), str(Path("/proc/sys") / key)], check=True)

    def tear_down(self) -> dict:
        tops = [hierarchy / self.name for hierarchy in hierarchies()]
        deadline = time.monotonic() + 30
        left: set[int] = set()
        while time.monotonic() < deadline:
            left = set().union(*(cgroup_pids(top) for top in tops), namespace_pids(self.net)) - {os.getpid()}
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        # A killed process leaves its cgroup a moment later: retry the removal for a while.
        removed = False
        while time.monotonic() < deadline and not removed:
            removed = all([remove_cgroup(top) for top in tops])
            if not removed:
                time.sleep(0.2)
        # The keeper sees the sandbox's copies of the host-wide settings (_shadow_host_sysctls): take
        # them away first, so what is read and put back below is the host's own.
        for key in self.sysctls:
            subprocess.run(["umount", str(Path("/proc/sys") / key)], check=False, capture_output=True)
        restored = {}
        for key, before in self.sysctls.items():
            path = Path("/proc/sys") / key
            if _read(path) != before:
                path.write_text(before)
                restored[key] = before
        for folder in map(Path, reversed(self.tmpfs)):
            # Mounts stack: the kubelet bind-mounts its folder onto itself (to share it), so
            # unmount until the host's folder shows again.
            for _ in range(10):
                if subprocess.run(["mountpoint", "-q", str(folder)]).returncode != 0:
                    break
                subprocess.run(["umount", "-l", str(folder)], check=False)
        for folder in reversed(self.created_folders):
            subprocess.run(["rm", "-rf", "--one-file-system", str(folder)], check=False)
        return {
            "left_processes": sorted(left),
            "cgroups_removed": removed,
            "sysctls_restored": restored,
            "folders_removed": [str(folder) for folder in self.created_folders],
        }


def main(spec: dict) -> None:
    # The suite's Ctrl-C or SIGTERM must not stop the keeper before it puts things back: only the
    # end of its stdin does, which happens however the suite ends.
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    guard = Guard(spec)
    try:
        guard.set_up()
        sys.stdout.write(json.dumps({"pid": os.getpid()}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()
    finally:
        report = guard.tear_down()
        guard.report_path.write_text(json.dumps(report))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
