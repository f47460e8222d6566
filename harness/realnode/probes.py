"""Pods that try to open TCP connections and report what happened: how the real-node suite sees
which connections the cluster's NetworkPolicies admit (node.py runs kube-router's firewall).

A probe runs with the pod template of whatever it stands for (its labels, namespace, image and
ServiceAccount), so the policies that select that workload's pods select the probe too; only the
command differs. Each target is tried for `seconds`: a policy reaches the node's firewall a moment
after the pod starts (kube-router syncs on the pod's event), so an admitted connection may be
refused at first, and a refused one must stay refused the whole time.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

# Runs in the probe's container (python3 of the base image): one JSON line per target.
PROBE = """
import json, socket, sys, time
targets, seconds = json.loads(sys.argv[1]), float(sys.argv[2])
for host, port in targets:
    deadline, attempts, error = time.monotonic() + seconds, 0, None
    while True:
        attempts += 1
        try:
            socket.create_connection((host, port), timeout=2).close()
            error = None
            break
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(json.dumps({"target": f"{host}:{port}", "connected": error is None, "attempts": attempts, "error": error}))
"""

RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclass
class Probe:
    name: str
    namespace: str
    labels: dict[str, str]
    image: str
    targets: list[tuple[str, int]]
    service_account: str | None = None
    pull_secret: str | None = None
    seconds: float = 10
    outcome: dict[str, dict] = field(default_factory=dict)

    def body(self) -> dict:
        spec: dict = {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "probe",
                    "image": self.image,
                    "command": ["python3", "-c", PROBE, json.dumps(self.targets), str(self.seconds)],
                    "securityContext": RESTRICTED,
                }
            ],
        }
        if self.service_account:
            spec["serviceAccountName"] = self.service_account
        if self.pull_secret:
            spec["imagePullSecrets"] = [{"name": self.pull_secret}]
        return {"metadata": {"name": self.name, "labels": self.labels}, "spec": spec}


def run_probes(kube, probes: list[Probe], timeout: float = 120) -> list[Probe]:
    """Starts every probe at once, waits for all to end, reads their reports, deletes them."""
    from kubernetes import client

    core = client.CoreV1Api(kube)
    for probe in probes:
        core.create_namespaced_pod(probe.namespace, probe.body())
    deadline = time.monotonic() + timeout
    pending = list(probes)
    while pending and time.monotonic() < deadline:
        time.sleep(1)
        pending = [
            p
            for p in pending
            if core.read_namespaced_pod(p.name, p.namespace).status.phase not in ("Succeeded", "Failed")
        ]
    for probe in probes:
        if probe not in pending:
            log = core.read_namespaced_pod_log(probe.name, probe.namespace)
            lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
            probe.outcome = {line["target"]: line for line in lines}
        core.delete_namespaced_pod(probe.name, probe.namespace, grace_period_seconds=0)
    return probes
