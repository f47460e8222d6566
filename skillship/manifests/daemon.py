"""The Deployment and Service of a daemon action: same baseline as jobs, serving on its port."""

from __future__ import annotations

from skillship.manifests import istio, pod
from skillship.manifests.labels import metadata, selector_labels, version_label
from skillship.manifests.objects import KubeObject
from skillship.plan import DaemonPlan
from skillship.stack.settings import StackSettings
from skillship_runtime.contract import DATA_DIR, DATA_DIR_ENV, PORT_ENV

CONTAINER = "daemon"
PORT_NAME = "http"
# The provider's wait for a Deployment, or a Service's endpoints, ends only when the daemon serves or
# at its timeout (10 minutes), whatever its pods show: `pulumi up` waits for a daemon itself, and
# fails as soon as its pods cannot start (skillship_components/daemon_ready.py).
NO_PROVIDER_WAIT = {"pulumi.com/skipAwait": "true"}


def build_deployment(daemon: DaemonPlan, settings: StackSettings, *, image: pod.ImageRef) -> KubeObject:
    meta = metadata(daemon.name, daemon, settings, **version_label(daemon))
    meta["annotations"].update(NO_PROVIDER_WAIT)
    pod_meta = metadata(daemon.name, daemon, settings, **version_label(daemon), **istio.pod_labels(settings.istio_mode))
    pod_meta["annotations"].update(istio.daemon_pod_annotations(settings.istio_mode))
    del pod_meta["name"], pod_meta["namespace"]
    tmp, tmp_mount = pod.tmp_volume(settings)
    probe = {"tcpSocket": {"port": PORT_NAME}, "periodSeconds": 10, "timeoutSeconds": 2}
    container = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": PORT_NAME, "containerPort": daemon.port, "protocol": "TCP"}],
        "env": pod.environment(
            daemon,
            settings,
            {PORT_ENV: str(daemon.port), DATA_DIR_ENV: DATA_DIR, **pod.properties_env(daemon.properties)},
        ),
        "resources": pod.resources(daemon, settings),
        "securityContext": pod.container_security(),
        "readinessProbe": {**probe, "failureThreshold": 3},
        "livenessProbe": {**probe, "initialDelaySeconds": 10, "failureThreshold": 6},
        "volumeMounts": [tmp_mount],
    }
    if daemon.action.command:
        container["command"] = list(daemon.action.command)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": daemon.replicas,
            "selector": {"matchLabels": selector_labels(daemon, settings)},
            "template": {"metadata": pod_meta, "spec": pod.pod_spec(daemon, settings, container, [tmp])},
        },
    }


def build_service(daemon: DaemonPlan, settings: StackSettings) -> KubeObject:
    """Named `http` with appProtocol, so Istio treats the traffic as HTTP without guessing."""
    meta = metadata(daemon.name, daemon, settings)
    meta["annotations"].update(NO_PROVIDER_WAIT)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(daemon, settings),
            "ports": [
                {
                    "name": PORT_NAME,
                    "port": daemon.port,
                    "targetPort": PORT_NAME,
                    "protocol": "TCP",
                    "appProtocol": "http",
                }
            ],
        },
    }
