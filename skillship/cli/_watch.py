"""Following tasks until they end, with a progress line people and CI logs can read."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence

from skillship.cli._common import Exit, stderr
from skillship.tasks.status import FAILED, NOTHING, SUCCEEDED, TaskRow, exit_state

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
