"""Istio per stack mode: pod labels and annotations, and the policy objects that lock traffic down."""

from __future__ import annotations

import json

from skillship.manifests.labels import metadata, selector_labels, stack_labels
from skillship.manifests.objects import KubeObject
from skillship.plan import DaemonPlan, Workload
from skillship.stack.settings import IstioMode, StackSettings

NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"
INJECT = "sidecar.istio.io/inject"
NATIVE_SIDECAR = "sidecar.istio.io/nativeSidecar"
PROXY_CONFIG = "proxy.istio.io/config"
DATAPLANE_MODE = "istio.io/dataplane-mode"

# What scuttle (and the Skillship runtime) read to wait for Envoy and to stop it at the end.
SIDECAR_ENV = {
    "ENVOY_ADMIN_API": "http://localhost:15000",
    "ISTIO_QUIT_API": "http://localhost:15020",
    "SCUTTLE_LOGGING": "false",
}


def pod_labels(mode: IstioMode) -> dict[str, str]:
    if mode is IstioMode.NONE:
        return {INJECT: "false"}
    if mode is IstioMode.AMBIENT:
        return {INJECT: "false", DATAPLANE_MODE: "ambient"}
    return {INJECT: "true"}


def pod_annotations(mode: IstioMode) -> dict[str, str]:
    if mode is IstioMode.SIDECAR:
        # Classic sidecar: keep the app until Envoy is ready; pinned off native mode so the
        # behaviour does not change when a kubelet upgrade turns native sidecars on.
        return {NATIVE_SIDECAR: "false", PROXY_CONFIG: json.dumps({"holdApplicationUntilProxyStarts": True})}
    if mode is IstioMode.NATIVE:
        return {NATIVE_SIDECAR: "true"}
    return {}


def daemon_pod_annotations(mode: IstioMode) -> dict[str, str]:
    """A daemon never ends, so nothing must stop its proxy; it only waits for it in sidecar mode."""
    return pod_annotations(mode)


def container_env(mode: IstioMode) -> dict[str, str]:
    return dict(SIDECAR_ENV) if mode is IstioMode.SIDECAR else {}


def namespace_labels(mode: IstioMode) -> dict[str, str]:
    if mode in (IstioMode.SIDECAR, IstioMode.NATIVE):
        return {"istio-injection": "enabled"}
    if mode is IstioMode.AMBIENT:
        return {DATAPLANE_MODE: "ambient"}
    return {}


def peer_authentication(settings: StackSettings) -> KubeObject | None:
    """STRICT mTLS for the whole namespace wherever Istio is on."""
    if not settings.uses_istio:
        return None
    return {
        "apiVersion": SECURITY,
        "kind": "PeerAuthentication",
        "metadata": {
            "name": "skillship-strict-mtls",
            "namespace": settings.namespace,
            "labels": stack_labels(settings),
        },
        "spec": {"mtls": {"mode": "STRICT"}},
    }


def deny_inbound(task: Workload, settings: StackSettings) -> KubeObject | None:
    """Nobody calls a job: an ALLOW policy with no rules admits no request to its pods."""
    if not settings.uses_istio:
        return None
    return {
        "apiVersion": SECURITY,
        "kind": "AuthorizationPolicy",
        "metadata": metadata(f"{task.name}-deny-inbound", task, settings),
        "spec": {"selector": {"matchLabels": selector_labels(task, settings)}, "action": "ALLOW"},
    }


def principal(settings: StackSettings, service_account: str) -> str:
    """The SPIFFE identity Istio gives pods of a ServiceAccount, as AuthorizationPolicy names it."""
    return f"{settings.trust_domain}/ns/{settings.namespace}/sa/{service_account}"


def admit_senders(daemon: DaemonPlan, settings: StackSettings) -> KubeObject | None:
    """Only the skills its agents map to this daemon may call it, and only on its port; with no
    mapped sender the policy has no rule and admits nobody."""
    if not settings.uses_istio:
        return None
    spec: KubeObject = {"selector": {"matchLabels": selector_labels(daemon, settings)}, "action": "ALLOW"}
    if daemon.senders:
        spec["rules"] = [
            {
                "from": [{"source": {"principals": [principal(settings, sa) for sa in daemon.senders]}}],
                "to": [
                    {"operation": {"ports": [str(daemon.port)], "methods": [daemon.method], "paths": [daemon.path]}}
                ],
            }
        ]
    return {
        "apiVersion": SECURITY,
        "kind": "AuthorizationPolicy",
        "metadata": metadata(f"{daemon.name}-senders", daemon, settings),
        "spec": spec,
    }


def egress_sidecar(task: Workload, settings: StackSettings) -> KubeObject | None:
    """Limit where a job's proxy may send traffic. Ambient pods have no proxy: Sidecar does not apply."""
    if settings.istio_mode not in (IstioMode.SIDECAR, IstioMode.NATIVE):
        return None
    return {
        "apiVersion": NETWORKING,
        "kind": "Sidecar",
        "metadata": metadata(task.name, task, settings),
        "spec": {
            "workloadSelector": {"labels": selector_labels(task, settings)},
            "egress": [{"hosts": list(settings.egress_hosts)}],
            "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
        },
    }
