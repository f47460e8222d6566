"""What the real node's pieces could change on the host, read from the host's side.

Two readings taken before and after the suite must be equal: kernel settings the kubelet and CNI
touch, the host's iptables rules, network links and addresses, mount points, the top-level
cgroups of every hierarchy, the runtime folders the sandbox mounts over, and processes of the
node's programs.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from harness.realnode.guard import HOST_SYSCTLS, hierarchies
from harness.realnode.sandbox import TMPFS

SYSCTLS = (*HOST_SYSCTLS, "net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables")
PROGRAMS = {
    "containerd",
    "containerd-shim-runc-v2",
    "runc",
    "kubelet",
    "kube-proxy",
    "coredns",
    "buildkitd",
    "registry",
    "kube-scheduler",
    "pause",
    "kube-router",
}
COMMS = {program[:15] for program in PROGRAMS}
# What the rest of the suite starts (the engine and its plugins, the control plane of tests/e2e):
# these run outside the sandbox, on behalf of a test worker, so one may be running in another
# worker at any time. Left over, a process outlives its worker and is reparented away from it.
SUITE_COMMS = {
    name[:15]
    for name in (
        "pulumi",
        "pulumi-resource-kubernetes",
        "pulumi-resource-docker-build",
        "pulumi-language-python",
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
    )
}


class ReadingFailed(Exception):
    """A reader of the host's state failed: two failed readings must not compare equal."""


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise ReadingFailed(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _iptables() -> list[str]:
    # Counters and the generated-by comment change by themselves: keep rules and chains only.
    lines = []
    for command in ("iptables-save", "ip6tables-save"):
        lines += [line.split(" [")[0] for line in _run([command]).splitlines() if line and not line.startswith("#")]
    return lines


def _programs() -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                name = Path(f"/proc/{entry}/comm").read_text().strip()
                # A killed process lingers as a zombie until its new parent reaps it: it is gone.
                state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            # The kernel keeps 15 characters of a name: containerd-shim-runc-v2 reads containerd-shim.
            if name in COMMS and state != "Z":
                found.append(f"{entry} {name}")
    return sorted(found)


def _process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, name, command line), of the processes alive while it is read."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                name = Path(f"/proc/{entry}/comm").read_text().strip()
                command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # ended while being read
            table[int(entry)] = (int(stat.rsplit(")", 1)[1].split()[1]), name, command)
    return table


def _in_a_sandbox(pid: int) -> bool:
    """Whether the process runs in a sandbox's cgroups, whose keeper kills it when it ends."""
    try:
        return "/skillship-node-" in Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False


def _orphans() -> list[str]:
    """The suite's processes (SUITE_COMMS and the node's) that no pytest process is an ancestor of
    and no sandbox holds: left behind by a test run that ended. A running worker's own, and a
    running node's shims (double-forked away from their parent), are not counted."""
    table = _process_table()
    watched = SUITE_COMMS | COMMS
    found = []
    for pid, (parent, name, _command) in table.items():
        if name not in watched or _in_a_sandbox(pid):
            continue
        ancestor, owned = parent, False
        while ancestor in table and ancestor > 1:
            if "pytest" in table[ancestor][2]:
                owned = True
                break
            ancestor = table[ancestor][0]
        if not owned:
            found.append(name)
    return sorted(found)


def reading() -> dict:
    return {
        "sysctls": {
            key: Path("/proc/sys", key).read_text().strip() for key in SYSCTLS if Path("/proc/sys", key).exists()
        },
        "iptables": _iptables(),
        # kube-router keeps its address sets in the sandbox's network namespace; none may leak here.
        "ipsets": sorted(_run(["ipset", "list", "-name"]).split()),
        "links": sorted(line.split(":")[1].strip().split("@")[0] for line in _run(["ip", "-o", "link"]).splitlines()),
        "addresses": sorted(" ".join(line.split()[1:4]) for line in _run(["ip", "-o", "addr"]).splitlines()),
        "mounts": sorted(line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()),
        "cgroups": sorted(
            f"{hierarchy.name}/{child.name}"
            for hierarchy in hierarchies()
            for child in hierarchy.iterdir()
            if child.is_dir()
        ),
        "folders": sorted(folder for folder in TMPFS if Path(folder).exists()),
        "programs": _programs(),
        "orphans": _orphans(),
    }
