"""Kubernetes NetworkPolicy: nothing may connect to a job's pods, with or without a mesh."""

from __future__ import annotations

from skillship.manifests.labels import LABEL_SKILL, LABEL_STACK, metadata, selector_labels
from skillship.manifests.objects import KubeObject
from skillship.names import k8s_name
from skillship.plan import DaemonPlan, TaskPlan
from skillship.settings import IstioMode, StackSettings

HBONE_PORT = 15008  # ambient mode: ztunnel delivers mesh traffic to the pod on this port


def deny_ingress(task: TaskPlan, settings: StackSettings) -> KubeObject:
    """Jobs only call out: an Ingress policy with no rules admits no connection to their pods."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(f"{task.name}-deny-ingress", task, settings),
        "spec": {"podSelector": {"matchLabels": selector_labels(task, settings)}, "policyTypes": ["Ingress"]},
    }


def admit_senders(daemon: DaemonPlan, settings: StackSettings) -> KubeObject:
    """A daemon admits connections only from the pods of the skills mapped to it, on its port."""
    spec: KubeObject = {"podSelector": {"matchLabels": selector_labels(daemon, settings)}, "policyTypes": ["Ingress"]}
    if daemon.senders:
        ports = [{"protocol": "TCP", "port": daemon.port}]
        if settings.istio_mode is IstioMode.AMBIENT:
            ports.append({"protocol": "TCP", "port": HBONE_PORT})
        spec["ingress"] = [
            {
                "from": [
                    {
                        "podSelector": {
                            "matchLabels": {LABEL_STACK: k8s_name(settings.stack)},
                            "matchExpressions": [
                                {"key": LABEL_SKILL, "operator": "In", "values": list(daemon.senders)}
                            ],
                        }
                    }
                ],
                "ports": ports,
            }
        ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(f"{daemon.name}-ingress", daemon, settings),
        "spec": spec,
    }
