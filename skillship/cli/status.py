"""`skillship status`: every task of a deployed stack, live from its cluster."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from skillship.checks.names import skill_name
from skillship.cli._common import (
    Exit,
    fail,
    print_json,
    print_table,
    stderr,
)
from skillship.cli._schedules import live_schedules, print_schedules
from skillship.cli._stack import StackOption, deployed_stack
from skillship.cli._watch import IntervalOption, TimeoutOption, WaitShortOption, exit_code, follow, following
from skillship.cli.cluster import Cluster, ClusterError, connect
from skillship.cli.outputs import OutputsUnavailable, rows_from_outputs, stack_output_tasks
from skillship.stack.stackfiles import StackConfig
from skillship.tasks.schedules import ScheduleRow, latest_runs_only
from skillship.tasks.status import DEPLOYED, TaskRow, task_row

JOB_NAME_LABEL = "job-name"  # set by the Job controller on every pod it makes

# The --json document's version: it changes only when a key changes meaning or disappears. 2: each
# task's age_seconds and duration_seconds became ageSeconds and durationSeconds (one casing in all).
JSON_VERSION = 2


def status(
    stack: StackOption,
    skills: Annotated[list[str] | None, typer.Option("--skill", help="Only this skill's tasks (repeatable).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the tasks until none is running.")] = False,
    timeout: TimeoutOption = None,
    interval: IntervalOption = 2.0,
    wait_short: WaitShortOption = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the tasks as JSON on stdout.")] = False,
) -> None:
    """One row per task. Exit 0: all succeeded; 1: one failed; 3: one still runs; 2: usage or cluster error."""
    wait = following(json_output=json_output, wait=wait, wait_short=wait_short)
    skills = skills or []
    config = deployed_stack(stack)
    try:
        cluster = connect(config)

        jobs: list[dict[str, Any]] = []  # the last look's, which the schedules' rows read too

        def fetch() -> list[TaskRow]:
            jobs[:] = cluster.jobs()
            return live_rows(cluster, skills, jobs=jobs)

        rows = follow(fetch, timeout=timeout, interval=interval) if wait else fetch()
        schedules = live_schedules(cluster, jobs, skills)
        if skills and not rows and not schedules:
            _refuse_skills_without_tasks(config, skills, live_rows(cluster))
    except ClusterError as exc:
        _fall_back_to_outputs(config, skills, str(exc), json_output)
    # A scheduled skill's latest run is among the rows; a stack whose schedules have not run yet
    # has nothing that failed.
    code = exit_code(rows) if rows or not schedules else Exit.OK
    _print(config, rows, source="cluster", code=code, json_output=json_output, schedules=schedules)
    raise typer.Exit(int(code))


def _refuse_skills_without_tasks(config: StackConfig, skills: Sequence[str], every_row: list[TaskRow]) -> None:
    """A `--skill` with no task is a typo or a skill this stack does not run: a usage error (exit 2),
    never an empty success a CI gate would pass on."""
    having = sorted({row.skill for row in every_row})
    fail(
        f"no task of {', '.join(repr(s) for s in skills)} in stack {config.settings.stack!r} "
        f"(skills with tasks: {', '.join(having) or 'none'})",
        Exit.USAGE,
    )


def live_rows(
    cluster: Cluster, skills: Sequence[str] = (), *, jobs: Sequence[dict[str, Any]] | None = None
) -> list[TaskRow]:
    """The stack's Jobs (`jobs`, when just read) and their pods, in two requests whatever the
    number of tasks."""
    jobs = cluster.jobs() if jobs is None else jobs
    pods = cluster.pods(cluster.stack_selector())
    by_job: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        by_job.setdefault((pod["metadata"].get("labels") or {}).get(JOB_NAME_LABEL, ""), []).append(pod)
    now = datetime.datetime.now(datetime.UTC)
    rows = latest_runs_only([task_row(job, by_job.get(job["metadata"]["name"], []), now) for job in jobs])
    if skills:
        wanted = {skill_name(s.split("/", 1)[0]) for s in skills} | set(skills)
        rows = [r for r in rows if r.skill in wanted or skill_name(r.skill) in wanted]
    return sorted(rows, key=lambda r: (r.skill, r.action, r.kind != DEPLOYED, r.created or "", r.job))


def _fall_back_to_outputs(config: StackConfig, skills: Sequence[str], problem: str, json_output: bool) -> None:
    """The cluster is out of reach: show the last recorded state, say so, and still exit 2."""
    try:
        rows = rows_from_outputs(stack_output_tasks(config))
    except OutputsUnavailable as exc:
        fail(f"{problem} (no stack outputs to show instead: {exc})", Exit.USAGE)
    if skills:
        rows = [r for r in rows if r.skill in skills or skill_name(r.skill) in skills]
    stderr.print(f"[bold red]error:[/] {problem}; showing the stack outputs of the last successful `pulumi up` instead")
    _print(config, rows, source="stack-outputs", code=Exit.USAGE, json_output=json_output)
    raise typer.Exit(int(Exit.USAGE))


def _print(
    config: StackConfig,
    rows: list[TaskRow],
    *,
    source: str,
    code: Exit,
    json_output: bool,
    schedules: Sequence[ScheduleRow] = (),
) -> None:
    if json_output:
        print_json(
            {
                "version": JSON_VERSION,
                "stack": config.settings.stack,
                "namespace": config.settings.namespace,
                "source": source,
                "exitCode": int(code),
                "tasks": [r.as_json() for r in rows],
                # Read live from the cluster only: empty when the source is the stack outputs.
                "schedules": [s.as_json() for s in schedules],
            }
        )
        return
    if schedules:
        print_schedules(config.settings.stack, schedules)
    if not rows:
        if not schedules:
            stderr.print(f"stack {config.settings.stack!r} has no tasks in namespace {config.settings.namespace!r}")
        return
    title = f"stack {config.settings.stack}: {len(rows)} task(s)"
    table = Table(title=title if source == "cluster" else f"{title}, as of the last successful pulumi up")
    columns = ("skill", "job", "kind", "state", "attempts", "age", "duration", "message")
    for column in columns:
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r.skill,
            r.job,
            r.kind,
            _state(r.state),
            str(r.attempts),
            _span(r.age_seconds),
            _span(r.duration_seconds),
            r.message,
        )
    print_table(table)


def _state(state: str) -> str:
    colour = {"Succeeded": "green", "Failed": "red", "Running": "yellow"}.get(state)
    return f"[{colour}]{state}[/]" if colour else state


def _span(seconds: int | None) -> str:
    """kubectl's way: 45s, 3m12s, 2h5m, 3d4h."""
    if seconds is None:
        return "-"
    for big, small, size, sub in (("d", "h", 86400, 3600), ("h", "m", 3600, 60), ("m", "s", 60, 1)):
        if seconds >= size:
            rest = (seconds % size) // sub
            return f"{seconds // size}{big}{rest}{small}" if rest else f"{seconds // size}{big}"
    return f"{seconds}s"
