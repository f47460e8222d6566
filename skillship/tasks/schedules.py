"""A scheduled skill's state: from its CronJob and its latest run, as the stack output `schedules`
and as a row of `skillship status`.

A scheduled skill has no Job of its own: each run is a Job its CronJob makes, labelled
`skillship.io/task: scheduled`. What counts is the latest run: the CronJob keeps a few ended ones
(their history), and an old failure that a later run put right must not fail a gate.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from skillship.manifests.labels import LABEL_TASK_KIND, SCHEDULED_KIND
from skillship.stack.cron import CronError, next_run, parse
from skillship.stack.schedules import Schedule
from skillship.tasks.status import api_time, camel_case, failure_reason, task_state

SCHEDULED = SCHEDULED_KIND  # the task kind of a CronJob's runs (the label LABEL_TASK_KIND)


def is_scheduled_run(job: Mapping[str, Any]) -> bool:
    return ((job.get("metadata") or {}).get("labels") or {}).get(LABEL_TASK_KIND) == SCHEDULED


def latest(jobs: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest of some Jobs: the latest run."""
    return max(jobs, key=lambda job: str((job.get("metadata") or {}).get("creationTimestamp") or ""), default=None)


def last_run(job: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The latest run's Job, state and why it failed, if it did."""
    if job is None:
        return None
    status = job.get("status") or {}
    return {
        "job": str((job.get("metadata") or {}).get("name") or ""),
        "state": task_state(status),
        "reason": failure_reason(status),
    }


def _either(status: Mapping[str, Any], camel: str, snake: str) -> Any:
    return status.get(camel) if camel in status else status.get(snake)


def _time(value: Any) -> str | None:
    found = api_time(value)
    return found.isoformat() if found else None


def schedule_summary(
    *,
    skill: str,
    cron_job: str,
    namespace: str,
    schedule: Schedule,
    status: Mapping[str, Any] | None,
    latest_run: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The stack output of one scheduled skill (docs/objects.md: "Schedules"). `status` is the
    CronJob's, as the provider or the API gives it (snake_case or camelCase)."""
    status = status or {}
    return {
        "skill": skill,
        "cronJob": cron_job,
        "namespace": namespace,
        "schedule": schedule.cron,
        "timeZone": schedule.time_zone,
        "suspended": schedule.suspend,
        "lastScheduleTime": _time(_either(status, "lastScheduleTime", "last_schedule_time")),
        "lastSuccessfulTime": _time(_either(status, "lastSuccessfulTime", "last_successful_time")),
        "running": len(status.get("active") or []),
        "lastRun": last_run(latest_run),
    }


@dataclass(frozen=True)
class ScheduleRow:
    """One scheduled skill in `skillship status` (docs/cli.md: "skillship status --json")."""

    skill: str
    cron_job: str
    schedule: str
    time_zone: str
    suspended: bool
    next_run: str | None
    last_schedule_time: str | None
    running: int
    last_run_job: str | None
    last_run_state: str | None
    last_run_reason: str

    def as_json(self) -> dict[str, Any]:
        return {camel_case(key): value for key, value in asdict(self).items()}


def schedule_row(
    cron_job: Mapping[str, Any], runs: Sequence[Mapping[str, Any]], skill: str, now: datetime.datetime
) -> ScheduleRow:
    """A CronJob as the API serves it, and the Jobs it made (any order), as one row."""
    spec, status = cron_job.get("spec") or {}, cron_job.get("status") or {}
    text, zone_name = str(spec.get("schedule") or ""), str(spec.get("timeZone") or "UTC")
    suspended = bool(spec.get("suspend"))
    upcoming = None
    if not suspended:
        try:
            from zoneinfo import ZoneInfo

            found = next_run(parse(text), now, ZoneInfo(zone_name))
            upcoming = found.isoformat() if found else None
        except (CronError, ValueError, KeyError):  # a CronJob edited by hand to a form we do not read
            upcoming = None
    run = last_run(latest(runs))
    return ScheduleRow(
        skill=skill,
        cron_job=str((cron_job.get("metadata") or {}).get("name") or ""),
        schedule=text,
        time_zone=zone_name,
        suspended=suspended,
        next_run=upcoming,
        last_schedule_time=_time(status.get("lastScheduleTime")),
        running=len(status.get("active") or []),
        last_run_job=run["job"] if run else None,
        last_run_state=run["state"] if run else None,
        last_run_reason=run["reason"] if run else "",
    )


def latest_runs_only(rows: Sequence[Any]) -> list[Any]:
    """Task rows with, of each scheduled action, only its latest run: the CronJob keeps a few ended
    runs, and an old failure a later run put right must not fail a gate."""
    newest: dict[tuple[str, str], Any] = {}
    kept = []
    for row in rows:
        if row.kind != SCHEDULED:
            kept.append(row)
        elif (row.skill, row.action) not in newest or (row.created or "") > (
            newest[row.skill, row.action].created or ""
        ):
            newest[row.skill, row.action] = row
    return [*kept, *newest.values()]


def as_job(cron_job: Mapping[str, Any]) -> dict[str, Any]:
    """A CronJob as the deployed Job its runs are made from: its name and annotations, its
    template's labels (less the scheduled kind, which a run made by hand is not) and spec."""
    meta, template = cron_job.get("metadata") or {}, (cron_job.get("spec") or {}).get("jobTemplate") or {}
    labels = {k: v for k, v in ((template.get("metadata") or {}).get("labels") or {}).items() if k != LABEL_TASK_KIND}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": meta.get("name", ""),
            "namespace": meta.get("namespace", ""),
            "labels": labels,
            "annotations": dict(meta.get("annotations") or {}),
        },
        "spec": template.get("spec") or {},
    }
