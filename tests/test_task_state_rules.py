"""The task state rules a CI gate trusts, case by case (bench/MUTATION.md found these unheld):
which conditions count, what running means, the reason shown for a failure, a row's every field,
the stack output of a task and the check that fails a deployment."""

from __future__ import annotations

import datetime

import pytest

from skillship.tasks.status import (
    FAILED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    TaskFailed,
    _pod_message,
    check_tasks,
    failure_reason,
    task_row,
    task_state,
    task_summary,
)

NOW = datetime.datetime(2026, 11, 24, 12, 0, 0, tzinfo=datetime.UTC)


def condition(kind: str, status: str = "True", **extra) -> dict:
    return {"type": kind, "status": status, **extra}


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (None, PENDING),
        ({}, PENDING),
        ({"conditions": [condition("Complete", "False")], "active": 1}, RUNNING),  # only True conditions count
        ({"conditions": [condition("Failed", "False")]}, PENDING),
        ({"conditions": [condition("Suspended")]}, PENDING),  # a condition that ends nothing
        ({"conditions": [condition("Complete"), condition("Failed")]}, FAILED),  # a failure is never hidden
        ({"conditions": [condition("SuccessCriteriaMet")]}, SUCCEEDED),
        ({"conditions": [condition("FailureTarget")]}, FAILED),
        ({"active": 0, "ready": 0}, PENDING),
        ({"active": 1}, RUNNING),
        ({"ready": 1}, RUNNING),  # ready pods run, even before `active` is counted
        ({"active": 0, "ready": 2}, RUNNING),
    ],
)
def test_task_state(status, state):
    assert task_state(status) == state


@pytest.mark.parametrize(
    ("conditions", "reason"),
    [
        ([], ""),
        ([condition("Complete", reason="Done")], ""),  # not a failure: no reason
        ([condition("Failed", reason="BackoffLimitExceeded")], "BackoffLimitExceeded"),
        ([condition("Failed", reason="DeadlineExceeded", message="too slow")], "DeadlineExceeded: too slow"),
        ([condition("Failed", message="no reason given")], "Failed: no reason given"),
        (
            [condition("Failed", "False", reason="Stale"), condition("FailureTarget", reason="PodFailurePolicy")],
            "PodFailurePolicy",
        ),
        ([condition("FailureTarget", reason="Early"), condition("Failed", reason="Final")], "Final"),
    ],
)
def test_failure_reason(conditions, reason):
    assert failure_reason({"conditions": conditions}) == reason


def job(status: dict | None = None, **meta) -> dict:
    return {
        "metadata": {"name": "hello-1a2b3c4d", "creationTimestamp": "2026-11-24T11:58:00Z", **meta},
        "status": status or {},
    }


def test_a_row_reads_each_field_from_its_place():
    row = task_row(
        job(
            {"startTime": "2026-11-24T11:58:10Z", "active": 1, "failed": 1},
            annotations={"skillship.io/skill-name": "cortex/hello", "skillship.io/action-name": "greet"},
            labels={"skillship.io/skill": "cortex-hello"},
        ),
        [],
        NOW,
    )
    assert (row.skill, row.action, row.job) == ("cortex/hello", "greet", "hello-1a2b3c4d")
    assert row.created == "2026-11-24T11:58:00+00:00" and row.age_seconds == 120
    assert (row.state, row.attempts, row.duration_seconds) == (RUNNING, 2, 110)  # a running task lasts until now


def test_a_row_without_annotations_takes_the_skill_from_its_label_and_names_no_action():
    row = task_row(job(labels={"skillship.io/skill": "hello"}), [], NOW)
    assert (row.skill, row.action, row.created) == ("hello", "", "2026-11-24T11:58:00+00:00")
    assert task_row({"metadata": {}}, [], NOW).job == ""
    assert task_row({"metadata": {}}, [], NOW).created is None


def test_attempts_count_every_pod_the_job_made():
    row = task_row(job({"succeeded": 1, "failed": 2, "active": 3}), [], NOW)
    assert row.attempts == 6


def test_a_failed_job_without_completion_time_ended_at_its_last_failure():
    failed = job(
        {
            "startTime": "2026-11-24T11:58:10Z",
            "conditions": [
                condition("FailureTarget", lastTransitionTime="2026-11-24T11:58:30Z"),
                condition("Failed", lastTransitionTime="2026-11-24T11:58:40Z", reason="BackoffLimitExceeded"),
                condition("Suspended", lastTransitionTime="2026-11-24T11:59:50Z"),
            ],
        }
    )
    row = task_row(failed, [], NOW)
    assert (row.state, row.duration_seconds, row.message) == (FAILED, 30, "BackoffLimitExceeded")
    # A completion time, where the Job has one, is its end; a pending task has no duration yet.
    done = job(
        {
            "startTime": "2026-11-24T11:58:10Z",
            "completionTime": "2026-11-24T11:58:15Z",
            "conditions": [condition("Complete")],
        }
    )
    assert task_row(done, [], NOW).duration_seconds == 5
    assert task_row(job({"startTime": "2026-11-24T11:58:10Z"}), [], NOW).duration_seconds is None
    clock_skew = job({"startTime": "2026-11-24T12:00:05Z", "active": 1})
    assert task_row(clock_skew, [], NOW).duration_seconds == 0  # never negative


def pod(created: str, *, waiting: dict | None = None, terminated: dict | None = None, **status) -> dict:
    state = {"waiting": waiting} if waiting else {"terminated": terminated} if terminated else {}
    return {
        "metadata": {"creationTimestamp": created},
        "status": {"containerStatuses": [{"name": "task", "state": state}], **status},
    }


@pytest.mark.parametrize(
    ("pods", "message"),
    [
        ([], ""),
        (
            [pod("2026-11-24T11:58:00Z", waiting={"reason": "ImagePullBackOff", "message": "not found"})],
            "ImagePullBackOff: not found",
        ),
        ([pod("2026-11-24T11:58:00Z", waiting={"reason": "ContainerCreating"})], "ContainerCreating"),
        ([pod("2026-11-24T11:58:00Z", terminated={"message": "out of memory"})], "out of memory"),
        (
            [
                pod("2026-11-24T11:58:00Z", waiting={"reason": "Old"}),
                pod("2026-11-24T11:59:00Z", waiting={"reason": "New"}),
            ],
            "New",
        ),  # the newest pod speaks, in whatever order they come
        (
            [
                pod("2026-11-24T11:59:00Z", waiting={"reason": "New"}),
                pod("2026-11-24T11:58:00Z", waiting={"reason": "Old"}),
            ],
            "New",
        ),
        (
            [{"metadata": {}, "status": {"reason": "Unschedulable", "message": "0/1 nodes are available"}}],
            "0/1 nodes are available",
        ),
        ([{"metadata": {}, "status": {"reason": "Evicted"}}], "Evicted"),
    ],
)
def test_the_newest_pod_says_why_a_task_waits(pods, message):
    assert _pod_message(pods) == message


def test_the_stack_output_of_a_task_and_the_check_that_fails_a_deployment():
    status = {
        "succeeded": 0,
        "failed": 1,
        "start_time": "2026-11-24T11:58:10Z",
        "conditions": [condition("Failed", reason="BackoffLimitExceeded", message="limit")],
    }
    summary = task_summary(
        key="hello",
        job="hello-1a2b3c4d",
        namespace="team",
        image="r/hello@sha256:ab",
        container="task",
        status=status,
        rendered=False,
    )
    assert summary == {
        "skill": "hello",
        "job": "hello-1a2b3c4d",
        "namespace": "team",
        "image": "r/hello@sha256:ab",
        "state": FAILED,
        "succeeded": 0,
        "failed": 1,
        "startTime": "2026-11-24T11:58:10Z",
        "completionTime": None,
        "reason": "BackoffLimitExceeded: limit",
        "logs": "kubectl logs --namespace team job/hello-1a2b3c4d --container task",
    }
    rendered = task_summary(
        key="hello", job="j", namespace="n", image="i", container="task", status=None, rendered=True
    )
    assert (rendered["state"], rendered["succeeded"], rendered["reason"]) == ("Rendered", 0, "")
    good = {**summary, "skill": "producer", "state": SUCCEEDED, "reason": ""}
    assert check_tasks({"producer": good}) == {"producer": good}
    with pytest.raises(TaskFailed) as caught:
        check_tasks({"producer": good, "hello": summary, "zeta": {**summary, "skill": "zeta", "reason": ""}})
    lines = str(caught.value).splitlines()
    assert lines == [
        "task of skill 'hello' failed (BackoffLimitExceeded: limit): Job team/hello-1a2b3c4d. Read its logs with: "
        "kubectl logs --namespace team job/hello-1a2b3c4d --container task.",
        "task of skill 'zeta' failed: Job team/hello-1a2b3c4d. Read its logs with: "
        "kubectl logs --namespace team job/hello-1a2b3c4d --container task.",
        "The next `pulumi up` runs failed tasks again.",
    ]


def test_pulumi_hands_the_status_back_in_snake_case_and_it_reads_the_same():
    snake = {
        "start_time": "2026-11-24T11:58:10Z",
        "completion_time": "2026-11-24T11:58:20Z",
        "succeeded": 1,
        "conditions": [condition("Complete")],
    }
    summary = task_summary(
        key="hello", job="j", namespace="n", image="i", container="task", status=snake, rendered=False
    )
    assert (summary["startTime"], summary["completionTime"]) == ("2026-11-24T11:58:10Z", "2026-11-24T11:58:20Z")
    assert (summary["state"], summary["succeeded"], summary["failed"]) == (SUCCEEDED, 1, 0)
    camel_wins = {**snake, "startTime": "2026-11-24T11:00:00Z"}
    assert (
        task_summary(key="h", job="j", namespace="n", image="i", container="task", status=camel_wins, rendered=False)[
            "startTime"
        ]
        == "2026-11-24T11:00:00Z"
    )
    assert task_state({"ready": 1}) == RUNNING


def test_a_failure_condition_without_a_time_does_not_hide_the_one_with_it():
    failed = job(
        {
            "startTime": "2026-11-24T11:58:10Z",
            "conditions": [condition("FailureTarget"), condition("Failed", lastTransitionTime="2026-11-24T11:58:40Z")],
        }
    )
    assert task_row(failed, [], NOW).duration_seconds == 30
    untimed = job({"startTime": "2026-11-24T11:58:10Z", "conditions": [condition("Failed")]})
    assert task_row(untimed, [], NOW).duration_seconds is None
