"""A task that cannot start fails `pulumi up` at once, not at its deadline.

While the provider waits for the stack's Jobs, the program watches their pending pods
(skillship.pod_start says which cannot start). For such a task it shows Kubernetes' reason against
the task's component and stops the Job: its `activeDeadlineSeconds` is lowered to 1, so the Job
controller fails it (DeadlineExceeded), deletes its pod, and the provider's wait for the Job ends
with that failure. The Job stays, Failed, until the next `pulumi up` replaces it (its
`pulumi.com/replaceUnready`); nothing is left to run later unseen. Why not suspend or delete it:
docs/objects.md ("A task that cannot start").

Only `pulumi up` of a stack that waits for its tasks watches: not a preview, a render stack, a
fire-and-forget stack, or the SDK's mocks (no cluster). The Kubernetes client is the official
one, on the kubeconfig and context the stack's provider uses; where it cannot be had, a warning
says so and tasks fail at their deadline as before.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_monitor

from skillship.manifests.labels import ANNOTATION_START_FAILURE, LABEL_STACK
from skillship.names import k8s_name
from skillship.pod_start import StartFailure, start_failure, start_failure_message
from skillship.settings import StackSettings

POLL_SECONDS = 2.0
# The first look: an `up` whose Jobs are all done by then (unchanged, or quick) never loads the
# Kubernetes client (half a second of CPU) or asks the cluster anything; a pull refused at once
# still fails the task within about this long.
FIRST_LOOK_SECONDS = 10.0
FIELD_MANAGER = "skillship"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"  # set on a Job's pods by Kubernetes (1.27+)
_running: set[asyncio.Future[list[str]]] = set()  # the loop keeps only weak references to its tasks


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


def tell_engine(severity: str, message: str, resource: pulumi.Resource | None) -> None:
    """How the watch speaks: to the engine, as the program's diagnostics, under `resource`."""
    (pulumi.log.error if severity == "error" else pulumi.log.warn)(message, resource=resource)


def watch_task_starts(settings: StackSettings, tasks: Sequence[WatchedTask], *, kube_context: str | None) -> None:
    """Start the watch of a `pulumi up` that waits for tasks; nothing otherwise."""
    if not tasks or not settings.wait or settings.renders or pulumi.runtime.is_dry_run():
        return
    if isinstance(get_monitor(), MockMonitor):
        return  # the SDK's mocks: no cluster behind them

    def connect() -> TaskPods:
        return ClusterPods.connect(settings, kube_context)

    task = asyncio.ensure_future(watch(connect, tasks, settings))
    _running.add(task)
    task.add_done_callback(_running.discard)


async def watch(
    connect: Callable[[], TaskPods],
    tasks: Sequence[WatchedTask],
    settings: StackSettings,
    *,
    poll: float = POLL_SECONDS,
    first_look: float = FIRST_LOOK_SECONDS,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    tell: Callable[[str, str, pulumi.Resource | None], None] = tell_engine,
) -> list[str]:
    """Watch until every task's Job is done; returns the jobs it stopped. The cluster's calls run on
    a thread of their own: the SDK's own calls to the engine use the loop's default executor."""
    loop = asyncio.get_running_loop()
    by_job = {task.job: task for task in tasks}
    done = asyncio.gather(*(task.status.future() for task in tasks), return_exceptions=True)
    stopped: list[str] = []
    await asyncio.wait([done], timeout=first_look)
    if done.done():
        return stopped
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="skillship-start-watch") as cluster:
        try:
            pods = await loop.run_in_executor(cluster, connect)
        except Exception as exc:  # noqa: BLE001 any failure to reach the cluster only loses the fast failure
            tell(
                "warning",
                f"cannot watch this stack's task pods ({exc}); a task that cannot start fails at its deadline "
                f"({settings.active_deadline_seconds} s) instead",
                None,
            )
            return stopped
        while not done.done():
            try:
                pending = await loop.run_in_executor(cluster, pods.pending)
            except Exception:  # noqa: BLE001 a missed look is retried at the next one
                pending = []
            for task, failure in _cannot_start(pending, by_job, settings, now()):
                if task.job in stopped:
                    continue
                stopped.append(task.job)
                said = start_failure_message(
                    skill=task.skill, namespace=settings.namespace, job=task.job, failure=failure
                )
                tell("error", said, task.component)
                cause = f"{failure.reason}: {failure.message}" if failure.message else failure.reason
                try:
                    await loop.run_in_executor(cluster, pods.stop, task.job, cause)
                except Exception as exc:  # noqa: BLE001 said, and the Job's own deadline still ends it
                    tell("error", f"could not stop Job {settings.namespace}/{task.job}: {exc}", task.component)
            await asyncio.wait([done], timeout=poll)
    return stopped


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
        """On the kubeconfig and context the provider uses: `kubernetes:kubeconfig` (a path or the
        file's content) or KUBECONFIG, and `kubernetes:context` (a shard's: its environment's)."""
        import yaml
        from kubernetes import config

        provider = pulumi.Config("kubernetes")
        kubeconfig = provider.get("kubeconfig")
        context = kube_context or provider.get("context")
        if kubeconfig and not Path(kubeconfig).expanduser().is_file():
            api = config.new_client_from_config_dict(yaml.safe_load(kubeconfig), context=context)
        else:
            api = config.new_client_from_config(config_file=kubeconfig or None, context=context)
        return cls(api, settings)

    def pending(self) -> Sequence[dict[str, Any]]:
        found = self.core.list_namespaced_pod(
            self.namespace,
            label_selector=self.selector,
            field_selector="status.phase=Pending",
            _request_timeout=(5, 30),
        )
        return [self.core.api_client.sanitize_for_serialization(pod) for pod in found.items]

    def stop(self, job: str, cause: str) -> None:
        self.batch.patch_namespaced_job(
            job,
            self.namespace,
            {"metadata": {"annotations": {ANNOTATION_START_FAILURE: cause}}, "spec": {"activeDeadlineSeconds": 1}},
            field_manager=FIELD_MANAGER,
            _request_timeout=(5, 30),
        )
