"""The stack output `schedules`: each scheduled skill's CronJob and its latest run, at `up`.

The CronJobs' status (last schedule, last success, runs under way) and their runs are read from the
cluster at the end of the `up`, two lists for all of the stack's scheduled skills, with the client
the program's other watches use: the provider reads an object's status only when it changes the
object, so its copy of an unchanged CronJob's status is as old as the `up` that last changed it.
Where the cluster cannot be read then (or in a preview, a render, under the SDK's mocks) the
provider's copy stands and the latest run is left out: it is a report, and `skillship status`
reads both live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_monitor

from skillship.checks.names import cron_job_name, k8s_name
from skillship.manifests.labels import LABEL_ACTION, LABEL_STACK, LABEL_TASK_KIND, SCHEDULED_KIND
from skillship.plan import TaskPlan
from skillship.stack.settings import StackSettings
from skillship.tasks.schedules import latest, schedule_summary
from skillship_components.cluster_client import cluster_api
from skillship_components.kubernetes import plain
from skillship_components.skill_job import SkillJob


def schedule_summaries(
    settings: StackSettings, scheduled: Sequence[tuple[TaskPlan, SkillJob]], *, kube_context: str | None
) -> pulumi.Output[dict[str, dict[str, Any]]]:
    if not scheduled:
        return pulumi.Output.from_input({})
    reads = not settings.renders and not pulumi.runtime.is_dry_run() and not isinstance(get_monitor(), MockMonitor)

    async def summarise(statuses: list[Any]) -> dict[str, dict[str, Any]]:
        live = _Live()
        if reads:
            live = await asyncio.get_running_loop().run_in_executor(None, _read_live, settings, kube_context)
        return {
            task.key: schedule_summary(
                skill=task.key,
                cron_job=cron_job_name(task.name),
                namespace=settings.namespace,
                schedule=task.schedule,
                status=live.statuses.get(cron_job_name(task.name), plain(status)),
                latest_run=latest(live.runs.get(task.name, [])),
            )
            for (task, _), status in zip(scheduled, statuses, strict=True)
            if task.schedule is not None
        }

    return pulumi.Output.all(*[job.job_status for _, job in scheduled]).apply(summarise)


@dataclass(frozen=True)
class _Live:
    """The stack's CronJobs' status, by name, and their runs, by action, as the cluster has them."""

    statuses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    runs: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)


def _read_live(settings: StackSettings, kube_context: str | None) -> _Live:
    """Every CronJob of the stack and every run of them; nothing when the cluster does not answer."""
    from kubernetes import client

    stack = f"{LABEL_STACK}={k8s_name(settings.stack)}"
    try:
        api = client.BatchV1Api(cluster_api(kube_context))
        serialise = api.api_client.sanitize_for_serialization
        cron_jobs = api.list_namespaced_cron_job(settings.namespace, label_selector=stack, _request_timeout=(5, 30))
        jobs = api.list_namespaced_job(
            settings.namespace, label_selector=f"{stack},{LABEL_TASK_KIND}={SCHEDULED_KIND}", _request_timeout=(5, 30)
        )
        found_cron_jobs = [serialise(cron_job) for cron_job in cron_jobs.items]
        found_jobs = [serialise(job) for job in jobs.items]
    except Exception as exc:  # noqa: BLE001 a report: said, and left out
        pulumi.log.warn(f"the stack's schedules could not be read ({exc}); see `skillship status`")
        return _Live()
    runs: dict[str, list[dict[str, Any]]] = {}
    for job in found_jobs:
        runs.setdefault(((job.get("metadata") or {}).get("labels") or {}).get(LABEL_ACTION, ""), []).append(job)
    statuses = {
        str((cron_job.get("metadata") or {}).get("name")): cron_job.get("status") or {} for cron_job in found_cron_jobs
    }
    return _Live(statuses=statuses, runs=runs)
