"""The stack output `schedules`: each scheduled skill's CronJob and its latest run, at `up`.

The CronJob's status comes back from the provider (its last schedule and last success, the runs
under way); which run came last, and how it ended, is read from the cluster once for all of the
stack's scheduled skills, with the client the program's other watches use. Where the cluster
cannot be read then (or in a preview, a render, under the SDK's mocks) the latest run is left out:
it is a report, and `skillship status` reads it live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
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
        runs: Mapping[str, list[dict[str, Any]]] = {}
        if reads:
            runs = await asyncio.get_running_loop().run_in_executor(None, _runs_by_action, settings, kube_context)
        return {
            task.key: schedule_summary(
                skill=task.key,
                cron_job=cron_job_name(task.name),
                namespace=settings.namespace,
                schedule=task.schedule,
                status=plain(status),
                latest_run=latest(runs.get(task.name, [])),
            )
            for (task, _), status in zip(scheduled, statuses, strict=True)
            if task.schedule is not None
        }

    return pulumi.Output.all(*[job.job_status for _, job in scheduled]).apply(summarise)


def _runs_by_action(settings: StackSettings, kube_context: str | None) -> dict[str, list[dict[str, Any]]]:
    """Every run of the stack's CronJobs, by action (the label its objects' names come from);
    none when the cluster does not answer."""
    from kubernetes import client

    selector = f"{LABEL_STACK}={k8s_name(settings.stack)},{LABEL_TASK_KIND}={SCHEDULED_KIND}"
    try:
        api = client.BatchV1Api(cluster_api(kube_context))
        found = api.list_namespaced_job(settings.namespace, label_selector=selector, _request_timeout=(5, 30))
        jobs = [api.api_client.sanitize_for_serialization(job) for job in found.items]
    except Exception as exc:  # noqa: BLE001 a report: said, and left out
        pulumi.log.warn(f"the latest runs of the stack's schedules could not be read ({exc}); see `skillship status`")
        return {}
    by_action: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        by_action.setdefault(((job.get("metadata") or {}).get("labels") or {}).get(LABEL_ACTION, ""), []).append(job)
    return by_action
