"""The ServiceAccount a skill's actions run as, the Secret of its secure properties (one of each
per skill, however many actions it has), and a task's large message."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from skillship.manifests.labels import metadata, skill_metadata, stack_labels
from skillship.manifests.objects import KubeObject
from skillship.plan import TaskPlan, Workload
from skillship.stack.settings import PULL_SECRET_NAME, StackSettings
from skillship_runtime.contract import MESSAGE_FILE, MESSAGE_FILE_ARGUMENT, message_config_map_name

REDACTED = "<redacted>"


def service_account(task: Workload, settings: StackSettings) -> KubeObject:
    """No API token is mounted: jobs do not talk to the Kubernetes API. The pull Secret, if the
    stack has one, is named here, so the Jobs, daemons and ad-hoc runs of the skill all pull alike."""
    account: KubeObject = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": skill_metadata(task.service_account, task, settings),
        "automountServiceAccountToken": False,
    }
    if settings.pull_secret is not None:
        account["imagePullSecrets"] = [{"name": settings.pull_secret}]
    return account


def pull_secret(settings: StackSettings, password: str | None) -> KubeObject | None:
    """The namespace's registry credentials, as kubelets read them; `password=None` renders it
    <redacted>. Only for the stack's own registry host: prebuilt images elsewhere get no credentials."""
    if not settings.declares_pull_secret:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": PULL_SECRET_NAME, "namespace": settings.namespace, "labels": stack_labels(settings)},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": docker_config_json(settings, password)},
    }


def docker_config_json(settings: StackSettings, password: str | None) -> str:
    """A Docker config that holds one registry's login: user, password and their `auth` form."""
    host, user = settings.registry_host, settings.pull_username
    assert host is not None and user is not None  # declares_pull_secret
    if password is None:
        login = {"username": user, "password": REDACTED, "auth": REDACTED}
    else:
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        login = {"username": user, "password": password, "auth": auth}
    return json.dumps({"auths": {host: login}}, sort_keys=True)


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
