"""Why a task's pod cannot start: the waiting reasons and scheduling failures that no retry of
Kubernetes' own will mend, read from a pod as the API serialises it (camelCase dicts).

Kubernetes keeps such a pod pending, retrying, until the Job's deadline: 30 minutes by default, and
the error then names the deadline, not the cause. `pulumi up` (skillship_components/start_watch.py) fails the
task as soon as one of these shows, with Kubernetes' own words on why (docs/objects.md: "A task that
cannot start").
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skillship.tasks.status import api_time

# A container's waiting reasons that mean the task cannot start as deployed: the image cannot be
# pulled (refused, unknown, misnamed) or the container cannot be made (a Secret key that does not
# exist, a command that is not in the image).
CANNOT_START = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"}
)
UNSCHEDULABLE = "Unschedulable"


@dataclass(frozen=True)
class StartFailure:
    pod: str
    reason: str  # the waiting reason, or Unschedulable
    message: str  # Kubernetes' words: the registry's answer, the missing key, why no node fits


def start_failure(pod: Mapping[str, Any], now: datetime.datetime, unschedulable_seconds: int) -> StartFailure | None:
    """What keeps `pod` from starting, or None while it may still start. A pod that no node can
    take fails once it has been unschedulable for `unschedulable_seconds` (a node may be joining)."""
    status = pod.get("status") or {}
    if status.get("phase") not in (None, "Pending"):
        return None
    name = str((pod.get("metadata") or {}).get("name") or "")
    # Init containers first: a native Istio sidecar that cannot pull keeps the task from starting too.
    for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in CANNOT_START:
            return StartFailure(name, str(waiting["reason"]), str(waiting.get("message") or ""))
    for condition in status.get("conditions") or []:
        unscheduled = condition.get("type") == "PodScheduled" and str(condition.get("status")) == "False"
        if not unscheduled or condition.get("reason") != UNSCHEDULABLE:
            continue
        since = api_time(condition.get("lastTransitionTime"))
        if since is not None and (now - since).total_seconds() >= unschedulable_seconds:
            return StartFailure(name, UNSCHEDULABLE, str(condition.get("message") or ""))
    return None


def start_failure_message(*, skill: str, namespace: str, job: str, failure: StartFailure) -> str:
    """The line `pulumi up` fails with: the skill, Kubernetes' reason and words, what was done, and
    the command that shows more."""
    said = f"{failure.reason}: {failure.message}" if failure.message else failure.reason
    return (
        f"task of skill {skill!r} cannot start: {said} (pod {namespace}/{failure.pod}). Its Job {namespace}/{job} "
        f"was stopped, so it will not run later unseen; the next `pulumi up` runs it again. "
        f"More with: kubectl describe pod --namespace {namespace} {failure.pod}"
    )
