"""The scheduled skills of a deployed stack, live from its cluster, for `skillship status`."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from skillship.checks.names import skill_name
from skillship.cli._common import print_table
from skillship.cli.cluster import Cluster
from skillship.manifests.labels import ANNOTATION_SKILL, LABEL_ACTION
from skillship.tasks.schedules import ScheduleRow, is_scheduled_run, schedule_row


def live_schedules(cluster: Cluster, jobs: Sequence[dict[str, Any]], skills: Sequence[str] = ()) -> list[ScheduleRow]:
    """One row per CronJob of the stack, with its runs among `jobs` (the stack's Jobs)."""
    runs_by_action: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        if is_scheduled_run(job):
            action = ((job.get("metadata") or {}).get("labels") or {}).get(LABEL_ACTION, "")
            runs_by_action.setdefault(action, []).append(job)
    now = datetime.datetime.now(datetime.UTC)
    rows = []
    for cron_job in cluster.cron_jobs():
        meta = cron_job.get("metadata") or {}
        skill = (meta.get("annotations") or {}).get(ANNOTATION_SKILL) or ""
        if skills and not ({skill, skill_name(skill)} & set(skills)):
            continue
        action = (meta.get("labels") or {}).get(LABEL_ACTION, "")
        rows.append(schedule_row(cron_job, runs_by_action.get(action, []), skill, now))
    return sorted(rows, key=lambda r: (r.skill, r.cron_job))


def print_schedules(stack: str, rows: Sequence[ScheduleRow]) -> None:
    table = Table(title=f"stack {stack}: {len(rows)} schedule(s)")
    for column in ("skill", "cronjob", "schedule", "next run", "last run", "state", "message"):
        table.add_column(column, overflow="fold")
    for r in rows:
        state = r.last_run_state or ("suspended" if r.suspended else "no run yet")
        when = f"{r.schedule} ({r.time_zone})"
        upcoming = "suspended" if r.suspended else (r.next_run or "never")
        table.add_row(r.skill, r.cron_job, when, upcoming, r.last_run_job or "-", state, r.last_run_reason)
    print_table(table)
