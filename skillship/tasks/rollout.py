"""Whether a daemon's rollout is done, still going, or cannot finish: read from its Deployment, its
ReplicaSets and their pods as the API serialises them (camelCase dicts).

The provider's own wait for a Deployment ends only when the rollout completes or at its timeout (10
minutes), whatever its pods show; `pulumi up` (skillship_components/daemon_ready.py) waits with this instead,
so a daemon that cannot pull its image fails the `up` as a task does (docs/objects.md: "A daemon
that cannot start").
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skillship.tasks.pod_start import StartFailure, start_failure

REVISION = "deployment.kubernetes.io/revision"  # on a Deployment and each of its ReplicaSets
TEMPLATE_HASH = "pod-template-hash"  # the label tying a ReplicaSet's pods to it
PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"


@dataclass(frozen=True)
class RolloutState:
    ready: bool
    waiting_for: str  # what the rollout still needs, in Kubernetes' terms; "" when ready
    failure: StartFailure | None = None  # a pod of the rollout that cannot start, or the deadline


def rollout_state(
    deployment: Mapping[str, Any],
    replica_sets: Sequence[Mapping[str, Any]],
    pods: Sequence[Mapping[str, Any]],
    *,
    now: datetime.datetime,
    unschedulable_seconds: int,
) -> RolloutState:
    """As `kubectl rollout status` judges a Deployment, and failed as soon as a pod of its newest
    ReplicaSet cannot start. Pods of older ReplicaSets are not judged: a rollout removes them."""
    for pod in current_pods(deployment, replica_sets, pods):
        failure = start_failure(pod, now, unschedulable_seconds)
        if failure is not None:
            return RolloutState(False, failure.reason, failure)
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)
    if int(status.get("observedGeneration") or 0) < generation:
        return RolloutState(False, "the Deployment controller to see the change")
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == PROGRESS_DEADLINE_EXCEEDED:
            name = str((deployment.get("metadata") or {}).get("name") or "")
            failure = StartFailure(name, PROGRESS_DEADLINE_EXCEEDED, str(condition.get("message") or ""))
            return RolloutState(False, PROGRESS_DEADLINE_EXCEEDED, failure)
    wanted = int(spec["replicas"]) if spec.get("replicas") is not None else 1
    updated = int(status.get("updatedReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < wanted:
        return RolloutState(False, f"{updated} of {wanted} new replicas updated")
    if (total := int(status.get("replicas") or 0)) > updated:
        return RolloutState(False, f"{total - updated} old replicas to end")
    if available < updated:
        return RolloutState(False, f"{available} of {updated} updated replicas available")
    return RolloutState(True, "")


# A pod made this long before a wait began was made by an earlier `up` (or by the cluster since):
# room for the API server's clock and the runner's to differ, as NTP keeps them.
BEFORE_THIS_UP_SECONDS = 15


def pending_from_before(
    pods: Sequence[Mapping[str, Any]], began: datetime.datetime, margin: float = BEFORE_THIS_UP_SECONDS
) -> list[str]:
    """The pending pods among `pods` made before a wait that began at `began`: those an earlier
    `up` left unable to start, which this one may start afresh. A pod of unknown age is not."""
    found = []
    for pod in pods:
        created = (pod.get("metadata") or {}).get("creationTimestamp")
        if not created or (pod.get("status") or {}).get("phase") not in (None, "Pending"):
            continue
        made = datetime.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        if made < began - datetime.timedelta(seconds=margin):
            found.append(str(pod["metadata"]["name"]))
    return found


def current_pods(
    deployment: Mapping[str, Any], replica_sets: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The pods of the Deployment's newest ReplicaSet (the one whose revision is the Deployment's)
    that are not being deleted: one going away is not what the rollout waits for, and its last
    state (a pull refused before a fix) says nothing of the pod that replaces it."""
    revision = _annotations(deployment).get(REVISION)
    if revision is None:
        return []
    hashes = {
        str(_labels(replica_set).get(TEMPLATE_HASH))
        for replica_set in replica_sets
        if _annotations(replica_set).get(REVISION) == revision and _labels(replica_set).get(TEMPLATE_HASH)
    }
    return [
        pod
        for pod in pods
        if _labels(pod).get(TEMPLATE_HASH) in hashes and not (pod.get("metadata") or {}).get("deletionTimestamp")
    ]


def daemon_failure_message(*, skill: str, namespace: str, deployment: str, failure: StartFailure) -> str:
    """The line `pulumi up` fails with: the daemon, Kubernetes' reason and words, and where to look."""
    said = f"{failure.reason}: {failure.message}" if failure.message else failure.reason
    if failure.reason == PROGRESS_DEADLINE_EXCEEDED:
        more = f"kubectl rollout status --namespace {namespace} deployment/{deployment}"
        where = f"Deployment {namespace}/{deployment}"
    else:
        more = f"kubectl describe pod --namespace {namespace} {failure.pod}"
        where = f"pod {namespace}/{failure.pod}"
    return (
        f"daemon of skill {skill!r} cannot start: {said} ({where}). Nothing that sends to it was deployed; "
        f"the next `pulumi up` tries its pods again. More with: {more}"
    )


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("labels") or {}
