"""What every Skillship pod shares, job or daemon: the restricted Pod Security profile, resources,
the writable /tmp, and the environment a skill's code reads."""

from __future__ import annotations

from typing import Any

from skillship.manifests import istio
from skillship.manifests.identity import secret_name
from skillship.manifests.objects import KubeObject
from skillship.plan import Workload, canonical_json, secret_env_name
from skillship.source.podspec import quantity
from skillship.stack.settings import StackSettings
from skillship_runtime.contract import PROPERTIES_ENV, SKILL_ENV, TARGETS_ENV

# What a container runs: an image reference, or (under `pulumi up`, for an image being built) a
# value that will become one, which the builders place as they are given and never read.
ImageRef = object

RUN_AS = 65532  # the conventional "nonroot" user of distroless and the scaffolded Dockerfile


def container_security() -> KubeObject:
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security() -> KubeObject:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(workload: Workload, settings: StackSettings) -> KubeObject:
    """The stack's requests and limits, where the action's own (its podspec.json) do not say. An
    action that asks for more than the stack's limit and names no limit of its own gets its
    request as the limit, and one limited below the stack's request its limit as the request:
    Kubernetes refuses a request above its limit."""
    own = workload.pod.resources
    requests = {"cpu": settings.cpu_request, "memory": settings.memory_request, **own.get("requests", {})}
    limits = {"cpu": settings.cpu_limit, "memory": settings.memory_limit, **own.get("limits", {})}
    for name, amount in own.get("requests", {}).items():
        if name in limits and name not in own.get("limits", {}) and quantity(amount) > quantity(limits[name]):
            limits[name] = amount
    for name, amount in own.get("limits", {}).items():
        if name in requests and name not in own.get("requests", {}) and quantity(amount) < quantity(requests[name]):
            requests[name] = amount
    return {"requests": requests, "limits": limits}


def tmp_volume(settings: StackSettings) -> tuple[KubeObject, KubeObject]:
    """The only writable place: the root filesystem is read-only."""
    return {"name": "tmp", "emptyDir": {"sizeLimit": settings.tmp_size}}, {"name": "tmp", "mountPath": "/tmp"}


def environment(workload: Workload, settings: StackSettings, extra: dict[str, str]) -> list[KubeObject]:
    plain = {
        **workload.action.environment_variables,
        **workload.pod.env,
        **extra,
        "SKILLSHIP_STACK": settings.stack,
        SKILL_ENV: workload.skill,
        "SKILLSHIP_ACTION": workload.action.name,
    }
    if workload.targets_json:
        plain[TARGETS_ENV] = workload.targets_json
    env: list[KubeObject] = [{"name": name, "value": value} for name, value in sorted(plain.items())]
    env += [
        {"name": secret_env_name(prop), "valueFrom": {"secretKeyRef": {"name": secret_name(workload), "key": prop}}}
        for prop in workload.secure_properties
    ]
    return env


def pod_spec(
    workload: Workload, settings: StackSettings, container: KubeObject, volumes: list[KubeObject], **extra: Any
) -> KubeObject:
    return {
        "serviceAccountName": workload.service_account,
        # Skills do not talk to the Kubernetes API: no token in their pods.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security(),
        **extra,
        "containers": [container],
        "volumes": volumes,
    }


def properties_env(properties: dict[str, Any]) -> dict[str, str]:
    return {PROPERTIES_ENV: canonical_json(properties)}


def istio_env(settings: StackSettings) -> dict[str, str]:
    return istio.container_env(settings.istio_mode)
