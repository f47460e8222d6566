"""The ServiceAccount a skill's actions run as, the Secret of its secure properties (one of each
per skill, however many actions it has), and a task's large message."""

from __future__ import annotations

from collections.abc import Mapping

from skillship.manifests.labels import metadata, skill_metadata
from skillship.manifests.objects import KubeObject
from skillship.plan import TaskPlan, Workload
from skillship.settings import StackSettings
from skillship_runtime.contract import MESSAGE_FILE, MESSAGE_FILE_ARGUMENT, message_config_map_name

REDACTED = "<redacted>"


def service_account(task: Workload, settings: StackSettings) -> KubeObject:
    """No API token is mounted: jobs do not talk to the Kubernetes API."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": skill_metadata(task.service_account, task, settings),
        "automountServiceAccountToken": False,
    }


def secret_name(task: Workload) -> str:
    return f"{task.service_account}-secrets"


def secret(task: Workload, settings: StackSettings, values: Mapping[str, str] | None) -> KubeObject | None:
    """The task's secure properties; `values=None` renders every value as <redacted>."""
    if not task.secure_properties:
        return None
    data = {name: REDACTED if values is None else str(values[name]) for name in task.secure_properties}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": skill_metadata(secret_name(task), task, settings),
        "type": "Opaque",
        "stringData": data,
    }


def message_config_map(task: TaskPlan, settings: StackSettings) -> KubeObject | None:
    """Messages too large for argv are mounted from an immutable ConfigMap named after the task."""
    if not task.message_in_file:
        return None
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(message_config_map_name(task.job_name), task, settings),
        "immutable": True,
        "data": {MESSAGE_FILE: task.message_json},
    }


def message_argument(task: TaskPlan) -> str:
    """The last argv element: the message itself, or `@path` of the mounted file."""
    return MESSAGE_FILE_ARGUMENT if task.message_in_file else task.message_json
