"""A task that cannot start: which pods count (skillship.tasks.pod_start), and the watch that fails the
task and stops its Job while `pulumi up` waits (skillship_components/start_watch.py), against a fake cluster.
The real node's suite shows it against a real kubelet and registry (tests/e2e/test_real_node.py)."""

from __future__ import annotations

import asyncio
import datetime
import threading

import pytest

from skillship.stack.settings import StackSettings
from skillship.tasks.pod_start import CANNOT_START, start_failure, start_failure_message
from skillship.tasks.status import FAILED, task_row
from skillship_components.start_watch import (
    ENDED_UNREAD_LOOKS,
    JOB_NAME_LABEL,
    Program,
    WatchedTask,
    statuses_in,
    watch,
)

NOW = datetime.datetime(2026, 12, 6, 10, 0, 0, tzinfo=datetime.UTC)
SETTINGS = StackSettings.from_config("dev", {"namespace": "team", "buildImages": False, "unschedulableSeconds": 60})


def pod(name="hello-1a2b3c4d-xyz", job="hello-1a2b3c4d", phase="Pending", waiting=None, init_waiting=None, since=None):
    status: dict = {"phase": phase}
    if waiting:
        status["containerStatuses"] = [{"name": "task", "state": {"waiting": waiting}}]
    if init_waiting:
        status["initContainerStatuses"] = [{"name": "istio-proxy", "state": {"waiting": init_waiting}}]
    if since is not None:
        status["conditions"] = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/1 nodes are available: 1 Insufficient memory.",
                "lastTransitionTime": (NOW - datetime.timedelta(seconds=since)).isoformat().replace("+00:00", "Z"),
            }
        ]
    return {"metadata": {"name": name, "labels": {JOB_NAME_LABEL: job}}, "status": status}


@pytest.mark.parametrize("reason", sorted(CANNOT_START))
def test_every_waiting_reason_that_no_retry_mends_fails_at_once(reason):
    found = start_failure(pod(waiting={"reason": reason, "message": "401 Unauthorized"}), NOW, 60)
    assert found is not None and (found.reason, found.message, found.pod) == (
        reason,
        "401 Unauthorized",
        "hello-1a2b3c4d-xyz",
    )


def test_an_init_container_that_cannot_pull_keeps_the_task_from_starting_too():
    found = start_failure(pod(init_waiting={"reason": "ErrImagePull", "message": "not found"}), NOW, 60)
    assert found is not None and found.reason == "ErrImagePull"


@pytest.mark.parametrize(
    "waiting",
    [{"reason": "ContainerCreating"}, {"reason": "PodInitializing"}, {}, None],
)
def test_a_pod_on_its_way_is_left_alone(waiting):
    assert start_failure(pod(waiting=waiting), NOW, 60) is None


def test_a_pod_no_node_takes_fails_after_the_grace_period_only():
    assert start_failure(pod(since=59), NOW, 60) is None
    found = start_failure(pod(since=60), NOW, 60)
    assert found is not None and found.reason == "Unschedulable" and "Insufficient memory" in found.message


def test_a_pod_that_runs_or_ended_is_not_judged_by_stale_waiting_reasons():
    for phase in ("Running", "Succeeded", "Failed"):
        assert start_failure(pod(phase=phase, waiting={"reason": "ErrImagePull"}), NOW, 60) is None


def test_the_message_names_the_skill_the_reason_the_pod_and_the_next_step():
    found = start_failure(pod(waiting={"reason": "CreateContainerConfigError", "message": 'key "x" not found'}), NOW, 1)
    assert found is not None
    said = start_failure_message(skill="hello", namespace="team", job="hello-1a2b3c4d", failure=found)
    assert said.startswith(
        "task of skill 'hello' cannot start: CreateContainerConfigError: key \"x\" not found "
        "(pod team/hello-1a2b3c4d-xyz)."
    )
    assert "kubectl describe pod --namespace team hello-1a2b3c4d-xyz" in said and "next `pulumi up`" in said


class FakePods:
    """The cluster as the watch sees it: pending pods per look, the Jobs not yet finished per look
    (none once those run out), and the Jobs it stopped."""

    def __init__(self, looks: list[list[dict]], unfinished: list[set[str]] | None = None) -> None:
        self.looks = looks
        self.running_jobs = unfinished or []
        self.stopped: list[tuple[str, str]] = []

    def pending(self):
        return self.looks.pop(0) if self.looks else []

    def stop(self, job: str, cause: str) -> None:
        self.stopped.append((job, cause))

    def unfinished(self, jobs):
        return self.running_jobs.pop(0) & set(jobs) if self.running_jobs else set()


def _run_watch(
    pods: FakePods, jobs: list[str], *, finish_after: float | None = 0.2, connect=None, told=None, running=None
):
    """Watch `jobs` until their statuses are in, `finish_after` seconds in (None: never, as when the
    program ended without them); what the watch says goes to `told` as (severity, message)."""
    settled = threading.Event()
    if finish_after is not None:
        threading.Timer(finish_after, settled.set).start()
    component = object()  # where the engine would show it
    # The watch reads no status itself: the program's event (`settled`) stands for them.
    tasks = [WatchedTask("hello", job, component, status=None) for job in jobs]
    return watch(
        connect or (lambda: pods),
        tasks,
        SETTINGS,
        Program(settled, running or (lambda: True)),
        poll=0.01,
        first_look=0.01 if finish_after != 0.0 else 0.05,
        now=lambda: NOW,
        tell=lambda severity, message, resource: (told if told is not None else []).append((severity, message)),
    )


def test_the_watch_stops_a_task_that_cannot_pull_once_and_says_why():
    failing = pod(waiting={"reason": "ErrImagePull", "message": "401 Unauthorized"})
    other = pod(name="x-1", job="not-ours", waiting={"reason": "ErrImagePull", "message": "nope"})
    pods, told = FakePods([[other], [failing, other], [failing], [failing]]), []
    stopped = _run_watch(pods, ["hello-1a2b3c4d", "producer-00000000"], told=told)
    assert stopped == ["hello-1a2b3c4d"]
    assert pods.stopped == [("hello-1a2b3c4d", "ErrImagePull: 401 Unauthorized")]  # once, and only ours
    [(severity, message)] = told
    assert severity == "error"
    assert message.startswith("task of skill 'hello' cannot start: ErrImagePull: 401 Unauthorized")


def test_the_watch_ends_when_the_jobs_are_done_and_stops_nothing_that_starts():
    pods = FakePods([[pod(waiting={"reason": "ContainerCreating"})]] * 3)
    assert _run_watch(pods, ["hello-1a2b3c4d"]) == [] and pods.stopped == []
    assert pods.looks == []  # it looked while the Job ran


def test_jobs_done_before_the_first_look_never_reach_the_cluster():
    def unreachable():
        raise AssertionError("connected")

    assert _run_watch(FakePods([]), ["hello-1a2b3c4d"], finish_after=0.0, connect=unreachable) == []


def test_a_cluster_the_watch_cannot_reach_is_a_warning_and_the_deadline_still_holds():
    def refused():
        raise OSError("no kubeconfig at /nowhere")

    told: list = []
    assert _run_watch(FakePods([]), ["hello-1a2b3c4d"], connect=refused, told=told) == []
    [(severity, warning)] = told
    assert severity == "warning"
    assert "cannot watch this stack's task pods (no kubeconfig at /nowhere)" in warning and "1800 s" in warning


def test_after_the_program_ended_early_the_watch_still_stops_its_jobs_then_ends_once_all_finished():
    """A program that failed early (a daemon that cannot start) no longer waits for its tasks'
    statuses; the engine still waits for the Jobs it made, and so does the watch."""
    failing = pod(waiting={"reason": "ErrImagePull", "message": "401 Unauthorized"})
    pods, told = FakePods([[], [], [failing]], unfinished=[{"hello-1a2b3c4d"}] * 4), []
    stopped = _run_watch(pods, ["hello-1a2b3c4d"], finish_after=None, told=told, running=lambda: False)
    assert stopped == ["hello-1a2b3c4d"] and pods.stopped == [("hello-1a2b3c4d", "ErrImagePull: 401 Unauthorized")]
    assert pods.running_jobs == []  # it ended once none of its Jobs was left unfinished
    assert [severity for severity, _ in told] == ["error"]


def test_after_the_program_ended_a_cluster_that_no_longer_answers_ends_the_watch():
    """An unreachable cluster may be why the program failed: the watch does not keep the process
    alive for the Jobs' whole deadline on its account."""

    class Silent(FakePods):
        asked = 0

        def unfinished(self, jobs):
            self.asked += 1
            raise OSError("connection refused")

    pods = Silent([])
    assert _run_watch(pods, ["hello-1a2b3c4d"], finish_after=None, running=lambda: False) == []
    assert pods.asked == ENDED_UNREAD_LOOKS


def test_while_the_program_runs_unfinished_jobs_are_not_what_ends_the_watch():
    pods = FakePods([[]] * 5, unfinished=[set()] * 5)
    assert _run_watch(pods, ["hello-1a2b3c4d"], finish_after=0.3) == []
    assert len(pods.running_jobs) == 5  # never asked: the statuses, not the cluster, end it


@pytest.mark.parametrize(
    ("outcomes", "which"),
    [(["done", "done"], "settled"), (["done", "failed"], "settled"), (["done", "cancelled"], "ended")],
)
def test_statuses_in_tells_a_program_that_ended_without_them_from_one_that_has_them(outcomes, which):
    async def scenario():
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in outcomes]
        for future, outcome in zip(futures, outcomes, strict=True):
            if outcome == "done":
                future.set_result({})
            elif outcome == "failed":
                future.set_exception(RuntimeError("the Job failed"))
            else:
                future.cancel()  # what the Automation API's host does to a failed program's tasks
        events = {"settled": threading.Event(), "ended": threading.Event()}
        statuses_in(await asyncio.wait_for(_gathered(futures), 1), **events)
        return {name for name, event in events.items() if event.is_set()}

    assert asyncio.run(scenario()) == {which}


async def _gathered(futures):
    gathered = asyncio.gather(*futures, return_exceptions=True)
    await asyncio.wait([gathered])
    return gathered


def test_status_shows_why_a_stopped_task_failed():
    job = {
        "metadata": {
            "name": "hello-1a2b3c4d",
            "annotations": {"skillship.io/start-failure": "ErrImagePull: 401 Unauthorized"},
        },
        "status": {
            "conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "active"}]
        },
    }
    row = task_row(job, [], NOW)
    assert row.state == FAILED and row.message == "ErrImagePull: 401 Unauthorized"
