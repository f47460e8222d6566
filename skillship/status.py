"""A task's state from its Job's status, and the message that fails a deployment.

Pulumi hands the Job's status back with snake_case keys, the Kubernetes API with camelCase ones:
both are read.
"""

from __future__ import annotations

from typing import Any, Mapping

SUCCEEDED, FAILED, RUNNING, PENDING, RENDERED = "Succeeded", "Failed", "Running", "Pending", "Rendered"
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
    """The stack output of one task (README: "Task status and failed tasks")."""
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
            lines.append(f"task of skill {summary['skill']!r} failed{reason}: Job {summary['namespace']}/{summary['job']}. "
                         f"Read its logs with: {summary['logs']}.")
        raise TaskFailed("\n".join(lines) + "\nThe next `pulumi up` runs failed tasks again.")
    return summaries
