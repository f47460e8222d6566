"""Ad-hoc runs (`skillship run`): a new Job made from a deployed one, with a new message.

Everything here works on plain camelCase dicts, as the Kubernetes API serialises objects, so the
CLI's cluster client and the tests feed it the same shapes.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skillship.checks.names import TASK_CONTAINER as CONTAINER
from skillship.manifests.labels import ANNOTATION_ACTIVATION, LABEL_TASK_KIND
from skillship.plan import canonical_json
from skillship.source.jsontext import JsonRefused, parse_json
from skillship.tasks.status import RUN
from skillship_runtime.contract import (
    ACTIVATION_ENV,
    ARGV_MESSAGE_LIMIT,
    MESSAGE_DIR,
    MESSAGE_FILE,
    MESSAGE_FILE_ARGUMENT,
    MESSAGE_FILE_MARK,
    MESSAGE_LIMIT,
    MESSAGE_VOLUME,
    message_config_map_name,
)

# Set by the API server and the Job controller on every Job; a new Job must not copy them.
_CONTROLLER_LABELS = (
    "controller-uid",
    "job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
)
_TOOL_ANNOTATIONS = ("pulumi.com/", "kubectl.kubernetes.io/")


class RunError(Exception):
    """A run cannot be made or started as asked; the message says why in one line."""


def _container(job: Mapping[str, Any]) -> dict[str, Any]:
    containers = job["spec"]["template"]["spec"].get("containers") or []
    found: dict[str, Any] | None = next((c for c in containers if c.get("name") == CONTAINER), None)
    if found is None:
        raise RunError(
            f"Job {job['metadata'].get('name')} has no container {CONTAINER!r}: it was not made by Skillship"
        )
    return found


def message_config_map(job: Mapping[str, Any]) -> str | None:
    """The ConfigMap that holds a deployed Job's message, when it is too large for an argument."""
    for volume in job["spec"]["template"]["spec"].get("volumes") or []:
        if volume.get("name") == MESSAGE_VOLUME and volume.get("configMap"):
            return str(volume["configMap"]["name"])
    return None


def inline_message(job: Mapping[str, Any]) -> str | None:
    """The deployed Job's message when it travels as the container's argument."""
    args = _container(job).get("args") or []
    return None if not args or args[0].startswith(MESSAGE_FILE_MARK) else args[0]


def new_activation_id(job: Mapping[str, Any]) -> str:
    instance = (job["metadata"].get("labels") or {}).get("app.kubernetes.io/instance") or job["metadata"]["name"]
    return f"{instance[:40]}-{secrets.token_hex(6)}"


def run_job_name(job: Mapping[str, Any]) -> str:
    instance = (job["metadata"].get("labels") or {}).get("app.kubernetes.io/instance") or job["metadata"]["name"]
    return f"{instance[:49].rstrip('-')}-run-{secrets.token_hex(4)}"


def run_envelope(
    deployed: Mapping[str, Any], *, activation_id: str, payload: Any = None, replace_payload: bool = False
) -> dict[str, Any]:
    """The deployed task's envelope with a new activation and, if given, a new payload. Properties
    stay as the stack sets them: secure ones are not in the envelope and stay in the Secret."""
    envelope = copy.deepcopy(dict(deployed))
    envelope.update(activationId=activation_id, channelId=activation_id, sessionId=activation_id)
    if replace_payload:
        envelope["payload"] = payload
    return envelope


def payload_from_message(text: str, source: str) -> Any:
    """A message file as `invoke/request/message.json` holds it: an object with `payload`."""
    try:
        message = parse_json(text)
    except JsonRefused as exc:
        raise RunError(f"{source}: {exc.located()}") from None
    if not isinstance(message, dict) or "payload" not in message:
        raise RunError(f"{source} must be a JSON object with a 'payload' (as invoke/request/message.json)")
    if message.get("properties"):
        raise RunError(
            f"{source} sets properties: a run uses the stack's properties; set them with "
            "skillship:properties and `pulumi up`"
        )
    return message["payload"]


def parse_payload(text: str) -> Any:
    try:
        return parse_json(text)
    except JsonRefused as exc:
        raise RunError(f"--payload: {exc.located()}") from None


@dataclass(frozen=True)
class AdhocRun:
    """A new Job made from a deployed one, and the ConfigMap of its message when that is large (to be
    created after the Job, owned by it, so that it goes when the Job goes)."""

    job: dict[str, Any]
    config_map: dict[str, Any] | None

    @property
    def name(self) -> str:
        return str(self.job["metadata"]["name"])


def adhoc_run(
    deployed: Mapping[str, Any], envelope: Mapping[str, Any], *, name: str, retention_seconds: int
) -> AdhocRun:
    """The deployed Job's spec with a new name, message and activation; nothing else changes, so
    the run has the deployed task's image, ServiceAccount, secrets, limits and Istio handling."""
    message = canonical_json(envelope)
    size = len(message.encode("utf-8"))
    if size > MESSAGE_LIMIT:
        raise RunError(f"the message is {size} bytes; at most {MESSAGE_LIMIT} can be delivered")
    source_meta = deployed["metadata"]
    labels = {**(source_meta.get("labels") or {}), LABEL_TASK_KIND: RUN}
    annotations = {
        k: v for k, v in (source_meta.get("annotations") or {}).items() if not k.startswith(_TOOL_ANNOTATIONS)
    }
    annotations[ANNOTATION_ACTIVATION] = envelope["activationId"]

    spec = copy.deepcopy(dict(deployed["spec"]))
    for field in ("selector", "manualSelector"):
        spec.pop(field, None)
    spec["ttlSecondsAfterFinished"] = retention_seconds
    template = spec["template"]
    template_labels = {
        k: v for k, v in (template["metadata"].get("labels") or {}).items() if k not in _CONTROLLER_LABELS
    }
    template["metadata"]["labels"] = {**template_labels, LABEL_TASK_KIND: RUN}
    pod = template["spec"]
    container = _container({"metadata": source_meta, "spec": spec})
    # The whole entry: a scheduled skill's template takes the id from each run's Job name.
    container["env"] = [
        ({"name": ACTIVATION_ENV, "value": envelope["activationId"]} if e.get("name") == ACTIVATION_ENV else e)
        for e in container.get("env") or []
    ]
    pod["volumes"] = [v for v in pod.get("volumes") or [] if v.get("name") != MESSAGE_VOLUME]
    container["volumeMounts"] = [m for m in container.get("volumeMounts") or [] if m.get("name") != MESSAGE_VOLUME]
    config_map = None
    if size > ARGV_MESSAGE_LIMIT:
        config_map = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": message_config_map_name(name),
                "namespace": source_meta["namespace"],
                "labels": labels,
            },
            "immutable": True,
            "data": {MESSAGE_FILE: message},
        }
        pod["volumes"].append({"name": MESSAGE_VOLUME, "configMap": {"name": message_config_map_name(name)}})
        container["volumeMounts"].append({"name": MESSAGE_VOLUME, "mountPath": MESSAGE_DIR, "readOnly": True})
        container["args"] = [MESSAGE_FILE_ARGUMENT]
    else:
        container["args"] = [message]
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": source_meta["namespace"], "labels": labels, "annotations": annotations},
        "spec": spec,
    }
    return AdhocRun(job, config_map)
