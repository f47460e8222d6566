"""The batch/v1 Job that runs one task, hardened to the Pod Security Standards' restricted profile."""

from __future__ import annotations

from skillship.manifests import istio
from skillship.manifests.identity import MESSAGE_DIR, message_argument, message_config_map_name, secret_name
from skillship.manifests.labels import ANNOTATION_ACTIVATION, metadata, version_label
from skillship.plan import TaskPlan, secret_env_name
from skillship.settings import StackSettings

CONTAINER = "task"
RUN_AS = 65532  # the conventional "nonroot" user of distroless and the scaffolded Dockerfile
# The Job's own deadline bounds the task; Pulumi waits a little longer so that the Job's
# DeadlineExceeded condition, not Pulumi's timeout, is what ends a task that runs too long.
AWAIT_MARGIN_SECONDS = 120


def await_annotations(settings: StackSettings) -> dict[str, str]:
    """How `pulumi up` waits for the Job (README: "Task status and failed tasks")."""
    if not settings.wait:
        return {"pulumi.com/skipAwait": "true"}
    return {
        "pulumi.com/timeoutSeconds": str(settings.active_deadline_seconds + AWAIT_MARGIN_SECONDS),
        # A Job that failed is replaced, and so run again, by the next `pulumi up`.
        "pulumi.com/replaceUnready": "true",
    }


def build_job(task: TaskPlan, settings: StackSettings, *, image: str) -> dict:
    meta = metadata(task.job_name, task, settings, **version_label(task))
    meta["annotations"].update({ANNOTATION_ACTIVATION: task.activation_id, **await_annotations(settings)})
    pod_meta = metadata(task.job_name, task, settings, **version_label(task), **istio.pod_labels(settings.istio_mode))
    pod_meta["annotations"].update(istio.pod_annotations(settings.istio_mode))
    del pod_meta["name"], pod_meta["namespace"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": settings.backoff_limit,
            "activeDeadlineSeconds": settings.active_deadline_seconds,
            "template": {"metadata": pod_meta, "spec": _pod_spec(task, settings, image)},
        },
    }


def _pod_spec(task: TaskPlan, settings: StackSettings, image: str) -> dict:
    volumes = [{"name": "tmp", "emptyDir": {"sizeLimit": settings.tmp_size}}]
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if task.message_in_file:
        volumes.append({"name": "message", "configMap": {"name": message_config_map_name(task)}})
        mounts.append({"name": "message", "mountPath": MESSAGE_DIR, "readOnly": True})
    container = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": [message_argument(task)],
        "env": _env(task, settings),
        "resources": {
            "requests": {"cpu": settings.cpu_request, "memory": settings.memory_request},
            "limits": {"cpu": settings.cpu_limit, "memory": settings.memory_limit},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }
    if task.action.command:
        container["command"] = list(task.action.command)
    return {
        "serviceAccountName": task.service_account,
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }


def _env(task: TaskPlan, settings: StackSettings) -> list[dict]:
    plain = {
        **task.action.environment_variables,
        **istio.container_env(settings.istio_mode),
        "SKILLSHIP_STACK": settings.stack,
        "SKILLSHIP_SKILL": task.skill,
        "SKILLSHIP_ACTION": task.action.name,
        "SKILLSHIP_ACTIVATION_ID": task.activation_id,
    }
    env = [{"name": name, "value": value} for name, value in sorted(plain.items())]
    env += [
        {"name": secret_env_name(prop), "valueFrom": {"secretKeyRef": {"name": secret_name(task), "key": prop}}}
        for prop in task.secure_properties
    ]
    return env
