"""A task that cannot start fails `pulumi up` at once, not at its deadline.

While the provider waits for the stack's Jobs, the program watches their pending pods
(skillship.tasks.pod_start says which cannot start). For such a task it shows Kubernetes' reason against
the task's component and stops the Job: its `activeDeadlineSeconds` is lowered to 1, so the Job
controller fails it (DeadlineExceeded), deletes its pod, and the provider's wait for the Job ends
with that failure. The Job stays, Failed, until the next `pulumi up` replaces it (its
`pulumi.com/replaceUnready`); nothing is left to run later unseen. Why not suspend or delete it:
docs/objects.md ("A task that cannot start").

The watch is a thread of its own, not a task of the program's event loop: a program that fails
early (a daemon that cannot start, skillship_components/daemon_ready.py) closes its loop while the engine
still waits for the Jobs it made, and a watch on that loop would end with it, leaving such a Job
to its deadline. The thread watches on until every one of those Jobs has finished, keeping the
program's process alive until then, as the engine waits for them anyway.

Only `pulumi up` of a stack that waits for its tasks watches: not a preview, a render stack, a
fire-and-forget stack, or the SDK's mocks (no cluster). The Kubernetes client is the official
one, on the kubeconfig and context the stack's provider uses (skillship_components/cluster_client.py);
where it cannot be had, a warning says so and tasks fail at their deadline as before.
"""

from __future__ import annotations

import asyncio
import datetime
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_monitor

from skillship.checks.names import k8s_name
from skillship.manifests.job import AWAIT_MARGIN_SECONDS
from skillship.manifests.labels import ANNOTATION_START_FAILURE, LABEL_STACK
from skillship.stack.settings import StackSettings
from skillship.tasks.pod_start import StartFailure, start_failure, start_failure_message
from skillship.tasks.status import FAILED, SUCCEEDED, task_state
from skillship_components.cluster_client import cluster_api

POLL_SECONDS = 2.0
# The first look: an `up` whose Jobs are all done by then (unchanged, or quick) never loads the
# Kubernetes client (half a second of CPU) or asks the cluster anything; a pull refused at once
# still fails the task within about this long.
FIRST_LOOK_SECONDS = 10.0
FIELD_MANAGER = "skillship"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"  # set on a Job's pods by Kubernetes (1.27+)
ENDED_UNREAD_LOOKS = 3  # once the program has ended, the watch gives up on a cluster silent this often

Tell = Callable[[str, str, Any], None]  # (severity, message, the component it is about)


@dataclass(frozen=True)
class WatchedTask:
    skill: str
    job: str
    component: pulumi.Resource  # where the failure is shown
    status: pulumi.Output[Any]  # resolves (or fails) when the provider is done waiting for the Job


class TaskPods(Protocol):
    """What the watch needs of the cluster (ClusterPods; the tests' fakes)."""

    def pending(self) -> Sequence[dict[str, Any]]: ...

    def stop(self, job: str, cause: str) -> None: ...

    def unfinished(self, jobs: Sequence[str]) -> set[str]: ...


@dataclass(frozen=True)
class Program:
    """What the watch knows of the program that started it: whether every watched task's status is
    in (`settled`), and whether the program still runs (its event loop)."""

    settled: threading.Event
    running: Callable[[], bool]


def watch_task_starts(settings: StackSettings, tasks: Sequence[WatchedTask], *, kube_context: str | None) -> None:
    """Start the watch of a `pulumi up` that waits for tasks; nothing otherwise."""
    if not tasks or not settings.wait or settings.renders or pulumi.runtime.is_dry_run():
        return
    if isinstance(get_monitor(), MockMonitor):
        return  # the SDK's mocks: no cluster behind them
    loop = asyncio.get_event_loop()
    settled, ended = threading.Event(), threading.Event()
    statuses = asyncio.gather(*(task.status.future() for task in tasks), return_exceptions=True)
    statuses.add_done_callback(lambda done: statuses_in(done, settled=settled, ended=ended))

    def connect() -> TaskPods:
        return ClusterPods.connect(settings, kube_context)

    def running() -> bool:
        return loop.is_running() and not ended.is_set()

    # Not a daemon thread: it keeps the process alive while Jobs the program made may still wait.
    threading.Thread(
        target=watch,
        args=(connect, tasks, settings, Program(settled, running)),
        kwargs={"tell": engine_voice(loop, running)},
        name="skillship-start-watch",
    ).start()


def statuses_in(statuses: asyncio.Future[list[Any]], *, settled: threading.Event, ended: threading.Event) -> None:
    """Every status is in (`settled`), or the program ended without them (`ended`): a program that
    fails has the statuses it still awaited cancelled (the Automation API's host does so) or
    abandoned with its loop (the CLI's, which then never calls this)."""
    cancelled = statuses.cancelled() or any(isinstance(r, asyncio.CancelledError) for r in statuses.result())
    (ended if cancelled else settled).set()


def engine_voice(loop: asyncio.AbstractEventLoop, running: Callable[[], bool]) -> Tell:
    """How the watch speaks: as the program's diagnostics, shown under the task's component while
    the program runs (the SDK resolves the component's URN on the program's loop). Once the program
    has ended, without the component: with no resource, the SDK's log call goes to the engine at
    once, from any thread, and the engine still shows it (it waits for the Jobs in flight)."""

    def tell(severity: str, message: str, resource: Any) -> None:
        say = pulumi.log.error if severity == "error" else pulumi.log.warn
        if running():
            try:
                loop.call_soon_threadsafe(lambda: say(message, resource=resource))
                return
            except RuntimeError:  # the loop closed meanwhile
                pass
        say(message)

    return tell


def watch(
    connect: Callable[[], TaskPods],
    tasks: Sequence[WatchedTask],
    settings: StackSettings,
    program: Program,
    *,
    poll: float = POLL_SECONDS,
    first_look: float = FIRST_LOOK_SECONDS,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    tell: Tell,
) -> list[str]:
    """Watch until every task's status is in, or, once the program has ended without them, until
    every watched Job has finished (bounded by the Jobs' own deadline). Returns the jobs it stopped."""
    by_job = {task.job: task for task in tasks}
    stopped: list[str] = []
    if program.settled.wait(first_look):
        return stopped
    try:
        pods = connect()
    except Exception as exc:  # noqa: BLE001 any failure to reach the cluster only loses the fast failure
        tell(
            "warning",
            f"cannot watch this stack's task pods ({exc}); a task that cannot start fails at its deadline "
            f"({settings.active_deadline_seconds} s) instead",
            None,
        )
        return stopped
    ended_at: float | None = None
    unread = 0  # looks in a row the cluster did not answer, once the program has ended
    while not program.settled.is_set():
        if ended_at is None and not program.running():
            ended_at = time.monotonic()
        try:
            pending = pods.pending()
        except Exception:  # noqa: BLE001 a missed look is retried at the next one
            pending = []
        for task, failure in _cannot_start(pending, by_job, settings, now()):
            if task.job in stopped:
                continue
            stopped.append(task.job)
            said = start_failure_message(skill=task.skill, namespace=settings.namespace, job=task.job, failure=failure)
            tell("error", said, task.component)
            cause = f"{failure.reason}: {failure.message}" if failure.message else failure.reason
            try:
                pods.stop(task.job, cause)
            except Exception as exc:  # noqa: BLE001 said, and the Job's own deadline still ends it
                tell("error", f"could not stop Job {settings.namespace}/{task.job}: {exc}", task.component)
        if ended_at is not None:
            # The program ended without its tasks' statuses: watch on while a Job it made may wait,
            # within the Jobs' own deadline, and not through a cluster that no longer answers
            # (the program may have failed for that very reason); the deadline still holds there.
            try:
                if not pods.unfinished(list(by_job)):
                    break
                unread = 0
            except Exception:  # noqa: BLE001 retried, a few times
                unread += 1
            if unread >= ENDED_UNREAD_LOOKS or time.monotonic() - ended_at > _deadline(settings):
                break
        program.settled.wait(poll)
    return stopped


def _deadline(settings: StackSettings) -> float:
    return settings.active_deadline_seconds + AWAIT_MARGIN_SECONDS


def _cannot_start(
    pods: Sequence[dict[str, Any]], by_job: dict[str, WatchedTask], settings: StackSettings, now: datetime.datetime
) -> list[tuple[WatchedTask, StartFailure]]:
    """The watched tasks among `pods` that cannot start, with why."""
    found = []
    for pod in pods:
        task = by_job.get(str(((pod.get("metadata") or {}).get("labels") or {}).get(JOB_NAME_LABEL)))
        failure = start_failure(pod, now, settings.unschedulable_seconds) if task is not None else None
        if task is not None and failure is not None:
            found.append((task, failure))
    return found


class ClusterPods:
    """The stack's pending pods and its Jobs, through the official Kubernetes client."""

    def __init__(self, api: Any, settings: StackSettings) -> None:
        from kubernetes import client

        self.core = client.CoreV1Api(api)
        self.batch = client.BatchV1Api(api)
        self.namespace = settings.namespace
        self.selector = f"{LABEL_STACK}={k8s_name(settings.stack)}"

    @classmethod
    def connect(cls, settings: StackSettings, kube_context: str | None) -> ClusterPods:
        return cls(cluster_api(kube_context), settings)

    def pending(self) -> Sequence[dict[str, Any]]:
        found = self.core.list_namespaced_pod(
            self.namespace,
            label_selector=self.selector,
            field_selector="status.phase=Pending",
            _request_timeout=(5, 30),
        )
        return [self.core.api_client.sanitize_for_serialization(pod) for pod in found.items]

    def unfinished(self, jobs: Sequence[str]) -> set[str]:
        """The Jobs among `jobs` that exist and have not finished."""
        found = self.batch.list_namespaced_job(self.namespace, label_selector=self.selector, _request_timeout=(5, 30))
        states = {
            job.metadata.name: task_state(self.core.api_client.sanitize_for_serialization(job.status))
            for job in found.items
        }
        return {job for job in jobs if job in states and states[job] not in (SUCCEEDED, FAILED)}

    def stop(self, job: str, cause: str) -> None:
        self.batch.patch_namespaced_job(
            job,
            self.namespace,
            {"metadata": {"annotations": {ANNOTATION_START_FAILURE: cause}}, "spec": {"activeDeadlineSeconds": 1}},
            field_manager=FIELD_MANAGER,
            _request_timeout=(5, 30),
        )
