"""Kubernetes NetworkPolicy, enforced by the cluster's network with or without a mesh: nothing may
connect to a job's pods, only its senders to a daemon's, and where a stack limits egress, a skill's
pods connect only where it needs to."""

from __future__ import annotations

from skillship.checks.names import k8s_name
from skillship.manifests.labels import LABEL_ACTION, LABEL_SKILL, LABEL_STACK, metadata, selector_labels
from skillship.manifests.objects import KubeObject
from skillship.plan import DaemonPlan, TaskPlan, Workload
from skillship.stack.settings import IstioMode, StackSettings

HBONE_PORT = 15008  # ambient mode: ztunnel delivers mesh traffic to the pod on this port
ISTIOD_PORT = 15012  # injected proxies fetch their configuration and certificates from istiod here
ISTIO_NAMESPACE = "istio-system"
DNS_PORT = 53


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


def egress_policy(workload: Workload, settings: StackSettings) -> KubeObject | None:
    """Where a stack sets `egressNetworks`, a skill's pods may connect only to: DNS (port 53,
    wherever the cluster serves it), the daemons its records go to, on their ports, istiod when
    proxies are injected, and those networks. Unset: no policy, so Kubernetes admits any egress."""
    if settings.egress_networks is None:
        return None
    dns = [{"protocol": protocol, "port": DNS_PORT} for protocol in ("UDP", "TCP")]
    rules: list[KubeObject] = [{"ports": dns}]
    receivers = sorted({(t.receiver, t.port) for _, found in workload.targets for t in found if t.receiver})
    for receiver, port in receivers:
        ports = [{"protocol": "TCP", "port": port}]
        if settings.istio_mode is IstioMode.AMBIENT:
            ports.append({"protocol": "TCP", "port": HBONE_PORT})
        selector = {LABEL_STACK: k8s_name(settings.stack), LABEL_ACTION: receiver}
        rules.append({"to": [{"podSelector": {"matchLabels": selector}}], "ports": ports})
    if settings.istio_mode in (IstioMode.SIDECAR, IstioMode.NATIVE):
        istiod = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ISTIO_NAMESPACE}}}
        rules.append({"to": [istiod], "ports": [{"protocol": "TCP", "port": ISTIOD_PORT}]})
    if settings.egress_networks:
        rules.append({"to": [{"ipBlock": {"cidr": network}} for network in settings.egress_networks]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(f"{workload.name}-egress", workload, settings),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(workload, settings)},
            "policyTypes": ["Egress"],
            "egress": rules,
        },
    }
