"""The `tasks` output of a stack's last successful `pulumi up`, read through the pulumi CLI: what
`skillship status` shows when the cluster cannot be reached."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from skillship.stack.stackfiles import StackConfig
from skillship.tasks.status import DEPLOYED, TaskRow


class OutputsUnavailable(Exception):
    """The outputs cannot be read (no pulumi CLI, no such stack in the backend, ...)."""


def stack_output_tasks(stack: StackConfig, *, timeout: float = 60) -> dict[str, Mapping[str, Any]]:
    """The tasks of every Pulumi stack that deploys `stack`: a sharded environment's are its shards'."""
    tasks: dict[str, Mapping[str, Any]] = {}
    for name in stack.stacks:
        tasks.update(_tasks_of(stack, name, timeout))
    return tasks


def _tasks_of(stack: StackConfig, name: str, timeout: float) -> dict[str, Mapping[str, Any]]:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise OutputsUnavailable("the pulumi CLI is not on PATH")
    try:
        done = subprocess.run(
            [pulumi, "stack", "output", "tasks", "--json", "--stack", name],
            cwd=stack.project_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OutputsUnavailable(f"pulumi stack output failed: {exc}") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise OutputsUnavailable(f"pulumi stack output failed: {lines[-1] if lines else done.returncode}")
    try:
        tasks = json.loads(done.stdout or "null")
    except json.JSONDecodeError:
        raise OutputsUnavailable("pulumi stack output did not print JSON") from None
    if not isinstance(tasks, dict):
        raise OutputsUnavailable(f"stack {name!r} has no tasks output (no successful `pulumi up` yet)")
    return tasks


def rows_from_outputs(tasks: Mapping[str, Mapping[str, Any]]) -> list[TaskRow]:
    """Rows as of the last successful `pulumi up` (task_summary): no age, since nothing is live."""
    rows = []
    for key, summary in sorted(tasks.items()):
        started, ended = _time(summary.get("startTime")), _time(summary.get("completionTime"))
        rows.append(
            TaskRow(
                skill=str(summary.get("skill") or key).split("/", 1)[0],
                action=key.split("/", 1)[1] if "/" in key else "",
                job=str(summary.get("job") or ""),
                kind=DEPLOYED,
                state=str(summary.get("state") or ""),
                attempts=int(summary.get("succeeded") or 0) + int(summary.get("failed") or 0),
                created=None,
                age_seconds=None,
                duration_seconds=int((ended - started).total_seconds()) if started and ended else None,
                message=str(summary.get("reason") or ""),
            )
        )
    return rows


def _time(value: Any) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
