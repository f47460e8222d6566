"""A daemon that cannot start: how its rollout is read (skillship.tasks.rollout), and the wait that holds
its senders back until it serves and fails `pulumi up` at once when its pods cannot start
(skillship_components/daemon_ready.py), against a fake cluster. The real node's suite shows it against a
real kubelet and registry (tests/e2e/test_real_node.py)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Sequence
from unittest import mock

import pytest

from skillship.stack.settings import StackSettings
from skillship.tasks.rollout import (
    PROGRESS_DEADLINE_EXCEEDED,
    REVISION,
    TEMPLATE_HASH,
    daemon_failure_message,
    rollout_state,
)
from skillship_components import daemon_ready
from skillship_components.daemon_ready import Look, NotServing, WatchedDaemon, wait_until_serving

NOW = datetime.datetime(2026, 12, 6, 10, 0, 0, tzinfo=datetime.UTC)
SETTINGS = StackSettings.from_config("dev", {"namespace": "team", "buildImages": False, "unschedulableSeconds": 60})
DAEMON = WatchedDaemon("consumer", "consumer", "team", None)
PULL_REFUSED = {"reason": "ErrImagePull", "message": "failed to pull: 401 Unauthorized"}


def deployment(*, generation=2, observed=2, replicas=1, updated=1, total=1, available=1, revision="2", deadline=False):
    status = {
        "observedGeneration": observed,
        "replicas": total,
        "updatedReplicas": updated,
        "availableReplicas": available,
        "conditions": [],
    }
    if deadline:
        status["conditions"].append(
            {
                "type": "Progressing",
                "status": "False",
                "reason": PROGRESS_DEADLINE_EXCEEDED,
                "message": 'ReplicaSet "consumer-abc" has timed out progressing.',
            }
        )
    return {
        "metadata": {"name": "consumer", "generation": generation, "annotations": {REVISION: revision}},
        "spec": {"replicas": replicas},
        "status": status,
    }


def replica_set(template_hash, revision):
    return {"metadata": {"annotations": {REVISION: revision}, "labels": {TEMPLATE_HASH: template_hash}}}


REPLICA_SETS = [replica_set("old111", "1"), replica_set("new222", "2")]


def pod(name, template_hash="new222", waiting=None, phase="Pending", deleted=False, created=None):
    """A pod of the rollout; `created` defaults to an hour before NOW: an earlier `up`'s."""
    status: dict = {"phase": phase}
    if waiting:
        status["containerStatuses"] = [{"name": "daemon", "state": {"waiting": waiting}}]
    made = created or NOW - datetime.timedelta(hours=1)
    metadata: dict = {
        "name": name,
        "labels": {TEMPLATE_HASH: template_hash},
        "creationTimestamp": made.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if deleted:
        metadata["deletionTimestamp"] = "2026-12-06T10:00:00Z"
    return {"metadata": metadata, "status": status}


def state(dep, pods=()):
    return rollout_state(dep, REPLICA_SETS, list(pods), now=NOW, unschedulable_seconds=60)


def test_a_complete_rollout_is_ready():
    assert state(deployment(), [pod("consumer-new222-a", phase="Running")]).ready


@pytest.mark.parametrize(
    ("spec", "waiting_for"),
    [
        ({"observed": 1}, "the Deployment controller to see the change"),
        ({"replicas": 2, "updated": 1}, "1 of 2 new replicas updated"),
        ({"total": 2, "updated": 1}, "1 old replicas to end"),
        ({"available": 0}, "0 of 1 updated replicas available"),
    ],
)
def test_a_rollout_on_its_way_waits_for_what_kubectl_rollout_status_waits_for(spec, waiting_for):
    found = state(deployment(**spec))
    assert (found.ready, found.waiting_for, found.failure) == (False, waiting_for, None)


def test_a_pod_of_the_new_replica_set_that_cannot_pull_fails_the_rollout():
    found = state(deployment(available=0), [pod("consumer-new222-a", waiting=PULL_REFUSED)])
    assert not found.ready and found.failure is not None
    assert (found.failure.pod, found.failure.reason, found.failure.message) == (
        "consumer-new222-a",
        "ErrImagePull",
        "failed to pull: 401 Unauthorized",
    )


def test_a_pod_of_an_older_replica_set_is_left_to_the_rollout_that_removes_it():
    found = state(deployment(total=2, available=0), [pod("consumer-old111-a", "old111", waiting=PULL_REFUSED)])
    assert found.failure is None and found.waiting_for == "1 old replicas to end"


def test_a_rollout_past_its_progress_deadline_fails():
    found = state(deployment(available=0, deadline=True))
    assert found.failure is not None and found.failure.reason == PROGRESS_DEADLINE_EXCEEDED
    message = daemon_failure_message(skill="consumer", namespace="team", deployment="consumer", failure=found.failure)
    assert "timed out progressing" in message
    assert "More with: kubectl rollout status --namespace team deployment/consumer" in message


def test_the_message_names_the_skill_the_reason_the_pod_and_the_next_step():
    found = state(deployment(available=0), [pod("consumer-new222-a", waiting=PULL_REFUSED)])
    assert found.failure is not None
    message = daemon_failure_message(skill="consumer", namespace="team", deployment="consumer", failure=found.failure)
    assert message.startswith("daemon of skill 'consumer' cannot start: ErrImagePull: failed to pull: 401 Unauthorized")
    assert "(pod team/consumer-new222-a)" in message and "Nothing that sends to it was deployed" in message
    assert message.endswith("More with: kubectl describe pod --namespace team consumer-new222-a")


class FakeRollout:
    """Answers each look with the next of `looks` (the last one again once they run out); a look
    that is an exception is raised, as the client raises a failed call."""

    server = "https://127.0.0.1:6443"

    def __init__(self, looks: Sequence[Look | Exception]) -> None:
        self.looks = list(looks)
        self.deleted: list[list[str]] = []

    def look(self) -> Look:
        found = self.looks.pop(0) if len(self.looks) > 1 else self.looks[0]
        if isinstance(found, Exception):
            raise found
        return found

    def delete_pods(self, names: Sequence[str]) -> None:
        self.deleted.append(list(names))


def look(dep, *pods):
    return Look(dep, REPLICA_SETS, list(pods))


def _wait(rollout, *, timeout=5.0, unanswered=5.0, connect=None, fresh_start_pause=0.01):
    told: list[tuple[str, str]] = []
    try:
        asyncio.run(
            wait_until_serving(
                connect or (lambda: rollout),
                DAEMON,
                SETTINGS,
                poll=0.01,
                timeout=timeout,
                unanswered=unanswered,
                fresh_start_pause=fresh_start_pause,
                now=lambda: NOW,
                tell=lambda severity, message, _: told.append((severity, message)),
            )
        )
    except NotServing as exc:
        return told, exc
    return told, None


def test_the_wait_returns_once_the_daemon_serves_and_says_what_it_waits_for_once():
    waiting = look(deployment(available=0), pod("consumer-new222-a"))
    rollout = FakeRollout([waiting, waiting, waiting, look(deployment(), pod("consumer-new222-a", phase="Running"))])
    told, failed = _wait(rollout)
    assert failed is None and rollout.deleted == []
    assert told == [
        (
            "info",
            "waiting for daemon of skill 'consumer' to serve (Deployment team/consumer): "
            "0 of 1 updated replicas available",
        )
    ]


def test_a_pod_that_failed_before_the_up_looked_is_given_four_fresh_starts_then_fails_the_up():
    names = [f"consumer-new222-{letter}" for letter in "abcde"]
    rollout = FakeRollout([look(deployment(available=0), pod(name, waiting=PULL_REFUSED)) for name in names])
    paused: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        paused.append(seconds)
        await real_sleep(0)

    with mock.patch.object(daemon_ready.asyncio, "sleep", sleep):
        told, failed = _wait(rollout, fresh_start_pause=3.0)
    # At the first look, then three more for the pods that replaced it (the kubelet's Secret cache),
    # each after a pause twice the last.
    assert rollout.deleted == [[name] for name in names[:4]]
    assert [p for p in paused if p >= 3.0] == [3.0, 6.0, 12.0]
    assert failed is not None and str(failed) == (
        "daemon of skill 'consumer' does not serve; nothing that sends to it was deployed"
    )
    [(severity, message)] = told
    assert severity == "error" and "cannot start: ErrImagePull" in message and "consumer-new222-e" in message


def test_a_replacement_refused_with_the_kubelets_old_secret_gets_its_second_start():
    """Seen in CI: the Secret fixed, the stale pod deleted, and its replacement still refused,
    the kubelet's cache holding the old password; the next replacement pulled."""
    stale = look(deployment(available=0), pod("consumer-new222-a", waiting=PULL_REFUSED))
    refused = look(deployment(available=0), pod("consumer-new222-b", waiting=PULL_REFUSED))
    rollout = FakeRollout([stale, refused, look(deployment(), pod("consumer-new222-c", phase="Running"))])
    told, failed = _wait(rollout)
    assert failed is None and told == []
    assert rollout.deleted == [["consumer-new222-a"], ["consumer-new222-b"]]


def test_pods_this_up_made_that_cannot_start_fail_it_at_once_even_at_the_first_look():
    """A first deploy whose pods were refused before the first look: no earlier `up` left them, so
    there is nothing to start afresh (and waiting would let a task's failure end the `up` first)."""
    refused = pod("consumer-new222-a", waiting=PULL_REFUSED, created=NOW - datetime.timedelta(seconds=2))
    rollout = FakeRollout([look(deployment(available=0), refused)])
    told, failed = _wait(rollout)
    assert failed is not None and rollout.deleted == []
    assert told[-1][0] == "error" and "consumer-new222-a" in told[-1][1]


def test_a_pod_being_deleted_is_not_judged():
    going = pod("consumer-new222-a", waiting=PULL_REFUSED, deleted=True)
    assert state(deployment(available=0), [going]).failure is None
    assert state(deployment(available=0), [going, pod("consumer-new222-b", waiting=PULL_REFUSED)]).failure


def test_a_fresh_start_that_works_serves():
    stale = look(deployment(available=0), pod("consumer-new222-a", waiting=PULL_REFUSED))
    rollout = FakeRollout([stale, look(deployment(), pod("consumer-new222-b", phase="Running"))])
    told, failed = _wait(rollout)
    assert failed is None and rollout.deleted == [["consumer-new222-a"]] and told == []


def test_a_pod_that_cannot_start_after_the_first_look_fails_at_once():
    rollout = FakeRollout(
        [
            look(deployment(available=0), pod("consumer-new222-a")),
            look(deployment(available=0), pod("consumer-new222-a", waiting=PULL_REFUSED)),
        ]
    )
    told, failed = _wait(rollout)
    assert failed is not None and rollout.deleted == []
    assert told[-1][0] == "error" and "consumer-new222-a" in told[-1][1]


def test_a_missed_look_is_retried():
    rollout = FakeRollout([OSError("connection reset"), look(deployment())])
    told, failed = _wait(rollout)
    assert failed is None and told == []


def test_a_cluster_that_stops_answering_fails_the_wait_naming_its_address():
    """A provider that finds its cluster unreachable still reports unchanged objects: the wait must
    not go on for its whole timeout on such a cluster's account."""
    refused = ConnectionRefusedError("[Errno 111] Connection refused")
    told, failed = _wait(FakeRollout([refused]), timeout=60, unanswered=0.05)
    assert failed is not None
    assert told == [
        (
            "error",
            "cannot read the rollout of Deployment team/consumer from https://127.0.0.1:6443: "
            "[Errno 111] Connection refused",
        )
    ]


def test_a_daemon_that_never_serves_fails_at_the_timeout_saying_what_it_waited_for():
    told, failed = _wait(FakeRollout([look(deployment(available=0))]), timeout=0.05)
    assert failed is not None
    assert told[-1][0] == "error"
    assert told[-1][1].startswith(
        "daemon of skill 'consumer' did not serve within 0 s (Deployment team/consumer): "
        "0 of 1 updated replicas available"
    )


def test_a_cluster_that_cannot_be_read_fails_the_up_naming_why():
    def refused():
        raise OSError("no kubeconfig at /nowhere")

    told, failed = _wait(FakeRollout([look(deployment())]), connect=refused)
    assert failed is not None
    assert told == [("error", "cannot read the rollout of Deployment team/consumer (no kubeconfig at /nowhere)")]
