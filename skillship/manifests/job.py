"""The batch/v1 Job that runs one task, hardened to the Pod Security Standards' restricted profile."""

from __future__ import annotations

from skillship.checks.names import TASK_CONTAINER
from skillship.manifests import istio, pod
from skillship.manifests.identity import message_argument
from skillship.manifests.labels import ANNOTATION_ACTIVATION, metadata, version_label
from skillship.manifests.objects import KubeObject
from skillship.plan import TaskPlan
from skillship.stack.settings import StackSettings
from skillship_runtime.contract import ACTIVATION_ENV, MESSAGE_DIR, MESSAGE_VOLUME, message_config_map_name

# The Job's own deadline bounds the task; Pulumi waits a little longer so that the Job's
# DeadlineExceeded condition, not Pulumi's timeout, is what ends a task that runs too long.
AWAIT_MARGIN_SECONDS = 120


def await_annotations(settings: StackSettings) -> dict[str, str]:
    """How `pulumi up` waits for the Job (docs/objects.md: "Task status and failed tasks")."""
    if not settings.wait:
        return {"pulumi.com/skipAwait": "true"}
    return {
        "pulumi.com/timeoutSeconds": str(settings.active_deadline_seconds + AWAIT_MARGIN_SECONDS),
        # A Job that failed is replaced, and so run again, by the next `pulumi up`.
        "pulumi.com/replaceUnready": "true",
    }


def build_job(task: TaskPlan, settings: StackSettings, *, image: pod.ImageRef) -> KubeObject:
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


def _pod_spec(task: TaskPlan, settings: StackSettings, image: pod.ImageRef) -> KubeObject:
    tmp, tmp_mount = pod.tmp_volume(settings)
    volumes, mounts = [tmp], [tmp_mount]
    if task.message_in_file:
        volumes.append({"name": MESSAGE_VOLUME, "configMap": {"name": message_config_map_name(task.job_name)}})
        mounts.append({"name": MESSAGE_VOLUME, "mountPath": MESSAGE_DIR, "readOnly": True})
    container = {
        "name": TASK_CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": [message_argument(task)],
        "env": pod.environment(task, settings, {**pod.istio_env(settings), ACTIVATION_ENV: task.activation_id}),
        "resources": pod.resources(task, settings),
        "securityContext": pod.container_security(),
        "volumeMounts": mounts,
    }
    if task.action.command:
        container["command"] = list(task.action.command)
    return pod.pod_spec(task, settings, container, volumes, restartPolicy="Never")
