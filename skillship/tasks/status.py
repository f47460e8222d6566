"""A task's state: from its Job's status, as one row of `skillship status`, as the one word a CI
gate reads, and as the stack output whose failure fails a deployment.

Pulumi hands the Job's status back with snake_case keys, the Kubernetes API with camelCase ones:
both are read. Rows are made of plain camelCase dicts, as the Kubernetes API serialises objects,
so the CLI's cluster client and the tests feed them the same shapes.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from skillship.checks.names import TASK_CONTAINER as CONTAINER
from skillship.manifests.labels import (
    ANNOTATION_ACTION,
    ANNOTATION_SKILL,
    ANNOTATION_START_FAILURE,
    LABEL_SKILL,
    LABEL_TASK_KIND,
)

SUCCEEDED, FAILED, RUNNING, PENDING, RENDERED = "Succeeded", "Failed", "Running", "Pending", "Rendered"
DEPLOYED, RUN = "deployed", "run"  # a task's kind: declared by the stack, or started by `skillship run`
_DONE = {"Complete": SUCCEEDED, "SuccessCriteriaMet": SUCCEEDED, "Failed": FAILED, "FailureTarget": FAILED}


class TaskFailed(Exception):
    """A task failed: the deployment must fail too (FORMAT.md: a failed task once looked fine)."""


def _get(status: Mapping[str, Any], camel: str, snake: str) -> Any:
    return status.get(camel, status.get(snake))


def task_state(status: Mapping[str, Any] | None) -> str:
    if not status:
        return PENDING
    conditions = status.get("conditions") or []
    # Failed wins over Complete: a Job never has both, but a half-updated status must not look good.
    found = {_DONE[c.get("type")] for c in conditions if c.get("type") in _DONE and str(c.get("status")) == "True"}
    if FAILED in found:
        return FAILED
    if SUCCEEDED in found:
        return SUCCEEDED
    if (status.get("active") or 0) > 0 or (_get(status, "ready", "ready") or 0) > 0:
        return RUNNING
    return PENDING


def failure_reason(status: Mapping[str, Any] | None) -> str:
    """The Job's own words on why it failed: the `Failed` condition, else the earlier `FailureTarget`."""
    conditions = [c for c in (status or {}).get("conditions") or [] if str(c.get("status")) == "True"]
    for kind in ("Failed", "FailureTarget"):
        for condition in conditions:
            if condition.get("type") == kind:
                reason = condition.get("reason") or kind
                message = condition.get("message")
                return f"{reason}: {message}" if message else reason
    return ""


def logs_command(*, namespace: str, job: str, container: str) -> str:
    return f"kubectl logs --namespace {namespace} job/{job} --container {container}"


def task_summary(
    *, key: str, job: str, namespace: str, image: str, container: str, status: Mapping[str, Any] | None, rendered: bool
) -> dict[str, Any]:
    """The stack output of one task (docs/objects.md: "Task status and failed tasks")."""
    status = status or {}
    return {
        "skill": key,
        "job": job,
        "namespace": namespace,
        "image": image,
        "state": RENDERED if rendered else task_state(status),
        "succeeded": int(status.get("succeeded") or 0),
        "failed": int(status.get("failed") or 0),
        "startTime": _get(status, "startTime", "start_time"),
        "completionTime": _get(status, "completionTime", "completion_time"),
        "reason": failure_reason(status),
        "logs": logs_command(namespace=namespace, job=job, container=container),
    }


def check_tasks(summaries: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    """Raise TaskFailed naming every failed task's skill, reason and logs command."""
    failed = [s for _, s in sorted(summaries.items()) if s["state"] == FAILED]
    if failed:
        lines = []
        for summary in failed:
            reason = f" ({summary['reason']})" if summary.get("reason") else ""
            lines.append(
                f"task of skill {summary['skill']!r} failed{reason}: Job {summary['namespace']}/{summary['job']}. "
                f"Read its logs with: {summary['logs']}."
            )
        raise TaskFailed("\n".join(lines) + "\nThe next `pulumi up` runs failed tasks again.")
    return summaries


@dataclass(frozen=True)
class TaskRow:
    """One task in `skillship status` (docs/cli.md: "skillship status --json")."""

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
        """camelCase keys, as in every --json document and the stack outputs."""
        return {camel_case(key): value for key, value in asdict(self).items()}


def camel_case(name: str) -> str:
    """`age_seconds` -> `ageSeconds`."""
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def api_time(value: Any) -> datetime.datetime | None:
    """A time as the API serialises it (RFC 3339, `Z`), or as the client hands it back."""
    if not value:
        return None
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _seconds(start: datetime.datetime | None, end: datetime.datetime | None) -> int | None:
    return None if start is None or end is None else max(0, int((end - start).total_seconds()))


def task_kind(job: Mapping[str, Any]) -> str:
    return str(((job.get("metadata") or {}).get("labels") or {}).get(LABEL_TASK_KIND, DEPLOYED))


def task_row(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], now: datetime.datetime) -> TaskRow:
    """A Job and its pods (any order) as one row."""
    meta, status = job.get("metadata") or {}, job.get("status") or {}
    annotations, labels = meta.get("annotations") or {}, meta.get("labels") or {}
    state = task_state(status)
    created, started = api_time(meta.get("creationTimestamp")), api_time(status.get("startTime"))
    ended = api_time(status.get("completionTime"))
    if ended is None and state == FAILED:
        # Its end is its latest failure condition that says when (one without a time says nothing).
        times = [
            api_time(c.get("lastTransitionTime"))
            for c in status.get("conditions") or []
            if c.get("type") in ("Failed", "FailureTarget")
        ]
        ended = max((t for t in times if t is not None), default=None)
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
        message=(annotations.get(ANNOTATION_START_FAILURE) or failure_reason(status))
        if state == FAILED
        else _pod_message(pods),
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
