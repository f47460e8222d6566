"""Following tasks until they end, with a progress line people and CI logs can read; the options
and the preamble of the commands that follow them (`status`, `run`)."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Annotated

import typer

from skillship.cli._common import Exit, json_mode, stderr
from skillship.tasks.status import FAILED, NOTHING, SUCCEEDED, TaskRow, exit_state

# `-w` is --workspace across the CLI. `status` and `run` once read it as --wait: scripts that
# say `-w` there keep working for now, and are told what to write instead.
WaitShortOption = Annotated[bool, typer.Option("-w", hidden=True, help="Deprecated spelling of --wait.")]
# How the commands that follow tasks (`status --wait`, `run --wait`) follow them.
TimeoutOption = Annotated[
    float | None, typer.Option("--timeout", min=0, help="With --wait: stop waiting after S seconds.")
]
IntervalOption = Annotated[float, typer.Option("--interval", min=0.1, help="With --wait: seconds between polls.")]


def old_wait_flag(wait: bool, wait_short: bool) -> bool:
    if wait_short:
        stderr.print(
            "[yellow]warning:[/] -w for --wait is deprecated and will mean --workspace, as it does in "
            "every other command; write --wait"
        )
    return wait or wait_short


def following(*, json_output: bool, wait: bool, wait_short: bool) -> bool:
    """The preamble of a command that follows tasks: JSON mode first (so any failure is a JSON
    document), then whether to follow them, `-w` said to be deprecated."""
    json_mode(json_output)
    return old_wait_flag(wait, wait_short)


_EXIT_BY_STATE = {SUCCEEDED: Exit.OK, FAILED: Exit.FAILED, NOTHING: Exit.FAILED}


def exit_code(rows: Sequence[TaskRow]) -> Exit:
    """0 when every task succeeded, 1 when any failed or there is none, 3 when any still runs."""
    return _EXIT_BY_STATE.get(exit_state(r.state for r in rows), Exit.STILL_RUNNING)


def follow(fetch: Callable[[], list[TaskRow]], *, timeout: float | None, interval: float) -> list[TaskRow]:
    """Poll until no task runs or the timeout passes; returns the last rows seen. A terminal gets a
    spinner; CI logs and pipes get one line per change instead."""
    deadline = None if timeout is None else time.monotonic() + timeout
    started = time.monotonic()
    rows = fetch()
    last_line = ""
    spinner = stderr.status("") if stderr.is_terminal else contextlib.nullcontext()
    with spinner as live:
        while exit_code(rows) is Exit.STILL_RUNNING:
            counts = Counter(r.state for r in rows)
            line = f"waiting for {len(rows)} task(s): " + ", ".join(
                f"{n} {s.lower()}" for s, n in sorted(counts.items())
            )
            if live is not None:
                live.update(f"{line} ({int(time.monotonic() - started)} s)")
            elif line != last_line:
                stderr.print(line)
            last_line = line
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic())))
            rows = fetch()
    return rows
