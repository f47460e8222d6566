"""Tasks as the cluster holds them: the rows of `skillship status`, and ad-hoc runs made from a
deployed Job (`skillship run`).

Everything here works on plain camelCase dicts, as the Kubernetes API serialises objects, so the
CLI's cluster client and the tests feed it the same shapes.
"""

from __future__ import annotations

import copy
import datetime
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

from skillship.manifests.job import CONTAINER
from skillship.manifests.labels import (
    ANNOTATION_ACTION,
    ANNOTATION_ACTIVATION,
    ANNOTATION_SKILL,
    LABEL_SKILL,
    LABEL_TASK_KIND,
)
from skillship.plan import canonical_json
from skillship.status import FAILED, PENDING, RUNNING, SUCCEEDED, failure_reason, task_state
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

DEPLOYED, RUN = "deployed", "run"
# Set by the API server and the Job controller on every Job; a new Job must not copy them.
_CONTROLLER_LABELS = ("controller-uid", "job-name", "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name")
_TOOL_ANNOTATIONS = ("pulumi.com/", "kubectl.kubernetes.io/")


class TaskError(Exception):
    """A task cannot be read or started as asked; the message says why in one line."""


@dataclass(frozen=True)
class TaskRow:
    """One task in `skillship status` (README: "skillship status --json")."""

    skill: str
    action: str
    job: str
    kind: str
    state: str
    attempts: int
    created: str | None
    age_seconds: int | None
    duration_seconds: int | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _time(value: Any) -> datetime.datetime | None:
    if not value:
        return None
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _seconds(start: datetime.datetime | None, end: datetime.datetime | None) -> int | None:
    return None if start is None or end is None else max(0, int((end - start).total_seconds()))


def task_kind(job: Mapping[str, Any]) -> str:
    return ((job.get("metadata") or {}).get("labels") or {}).get(LABEL_TASK_KIND, DEPLOYED)


def task_row(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], now: datetime.datetime) -> TaskRow:
    """A Job and its pods (any order) as one row."""
    meta, status = job.get("metadata") or {}, job.get("status") or {}
    annotations, labels = meta.get("annotations") or {}, meta.get("labels") or {}
    state = task_state(status)
    created, started = _time(meta.get("creationTimestamp")), _time(status.get("startTime"))
    ended = _time(status.get("completionTime"))
    if ended is None and state == FAILED:
        ended = max((_time(c.get("lastTransitionTime")) for c in status.get("conditions") or []
                     if c.get("type") in ("Failed", "FailureTarget")), default=None, key=lambda t: t or now)
    attempts = int(status.get("succeeded") or 0) + int(status.get("failed") or 0) + int(status.get("active") or 0)
    return TaskRow(
        skill=annotations.get(ANNOTATION_SKILL) or labels.get(LABEL_SKILL, ""),
        action=annotations.get(ANNOTATION_ACTION, ""),
        job=meta.get("name", ""),
        kind=task_kind(job),
        state=state,
        attempts=attempts,
        created=created.isoformat() if created else None,
        age_seconds=_seconds(created, now),
        duration_seconds=_seconds(started, ended or (now if state == RUNNING else None)),
        message=failure_reason(status) if state == FAILED else _pod_message(pods),
    )


def _pod_message(pods: Sequence[Mapping[str, Any]]) -> str:
    """What the newest pod says about itself: why it waits, or how its task container ended."""
    if not pods:
        return ""
    newest = max(pods, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp") or ""))
    status = newest.get("status") or {}
    for container in status.get("containerStatuses") or []:
        if container.get("name") != CONTAINER:
            continue
        state = container.get("state") or {}
        for phase in ("waiting", "terminated"):
            if state.get(phase):
                reason, message = state[phase].get("reason") or "", state[phase].get("message") or ""
                return f"{reason}: {message}" if reason and message else reason or message
    return status.get("message") or status.get("reason") or ""


NOTHING = "Nothing"  # no task to judge: a gate must never pass on it


def exit_state(states: Iterable[str]) -> str:
    """The one word a CI step gates on: any failure fails; else anything unfinished still runs;
    no task at all is NOTHING, never a success."""
    states = set(states)
    if not states:
        return NOTHING
    if FAILED in states:
        return FAILED
    if states & {RUNNING, PENDING}:
        return RUNNING
    return SUCCEEDED


# --- ad-hoc runs ------------------------------------------------------------------------------


def _container(job: Mapping[str, Any]) -> dict[str, Any]:
    containers = job["spec"]["template"]["spec"].get("containers") or []
    found = next((c for c in containers if c.get("name") == CONTAINER), None)
    if found is None:
        raise TaskError(f"Job {job['metadata'].get('name')} has no container {CONTAINER!r}: it was not made by Skillship")
    return found


def message_config_map(job: Mapping[str, Any]) -> str | None:
    """The ConfigMap that holds a deployed Job's message, when it is too large for an argument."""
    for volume in job["spec"]["template"]["spec"].get("volumes") or []:
        if volume.get("name") == MESSAGE_VOLUME and volume.get("configMap"):
            return volume["configMap"]["name"]
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


def run_envelope(deployed: Mapping[str, Any], *, activation_id: str, payload: Any = None,
                 replace_payload: bool = False) -> dict[str, Any]:
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
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskError(f"{source} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(message, dict) or "payload" not in message:
        raise TaskError(f"{source} must be a JSON object with a 'payload' (as invoke/request/message.json)")
    if message.get("properties"):
        raise TaskError(f"{source} sets properties: a run uses the stack's properties; set them with "
                        "skillship:properties and `pulumi up`")
    return message["payload"]


def parse_payload(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskError(f"--payload is not JSON: {exc.msg} at column {exc.colno}") from None


@dataclass(frozen=True)
class AdhocRun:
    """A new Job made from a deployed one, and the ConfigMap of its message when that is large (to be
    created after the Job, owned by it, so that it goes when the Job goes)."""

    job: dict[str, Any]
    config_map: dict[str, Any] | None

    @property
    def name(self) -> str:
        return self.job["metadata"]["name"]


def adhoc_run(deployed: Mapping[str, Any], envelope: Mapping[str, Any], *, name: str,
              retention_seconds: int) -> AdhocRun:
    """The deployed Job's spec with a new name, message and activation; nothing else changes, so
    the run has the deployed task's image, ServiceAccount, secrets, limits and Istio handling."""
    message = canonical_json(envelope)
    size = len(message.encode("utf-8"))
    if size > MESSAGE_LIMIT:
        raise TaskError(f"the message is {size} bytes; at most {MESSAGE_LIMIT} can be delivered")
    source_meta = deployed["metadata"]
    labels = {**(source_meta.get("labels") or {}), LABEL_TASK_KIND: RUN}
    annotations = {k: v for k, v in (source_meta.get("annotations") or {}).items() if not k.startswith(_TOOL_ANNOTATIONS)}
    annotations[ANNOTATION_ACTIVATION] = envelope["activationId"]

    spec = copy.deepcopy(dict(deployed["spec"]))
    for field in ("selector", "manualSelector"):
        spec.pop(field, None)
    spec["ttlSecondsAfterFinished"] = retention_seconds
    template = spec["template"]
    template_labels = {k: v for k, v in (template["metadata"].get("labels") or {}).items() if k not in _CONTROLLER_LABELS}
    template["metadata"]["labels"] = {**template_labels, LABEL_TASK_KIND: RUN}
    pod = template["spec"]
    container = _container({"metadata": source_meta, "spec": spec})
    container["env"] = [({**e, "value": envelope["activationId"]} if e.get("name") == ACTIVATION_ENV else e)
                        for e in container.get("env") or []]
    pod["volumes"] = [v for v in pod.get("volumes") or [] if v.get("name") != MESSAGE_VOLUME]
    container["volumeMounts"] = [m for m in container.get("volumeMounts") or [] if m.get("name") != MESSAGE_VOLUME]
    config_map = None
    if size > ARGV_MESSAGE_LIMIT:
        config_map = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": message_config_map_name(name), "namespace": source_meta["namespace"], "labels": labels},
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
