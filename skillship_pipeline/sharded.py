"""Several Pulumi stacks at once (the shards of an environment), each in a process of its own.

The Pulumi SDK keeps one program's settings in module globals, so two programs cannot run in one
process; each shard's `preview` or `up` runs as `skillship-pipeline stack-operation` in a child,
its output sent on to the CI log line by line with the stack's name in front, its outcome read as
JSON when it ends.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from skillship_pipeline.engine import Outcome


def run_all(
    project: Path,
    stacks: list[str],
    operation: str,
    parallel: int,
    say: Callable[[str], None],
    messages: Mapping[str, str] | None = None,
    *,
    refresh: bool = False,
    targets: Mapping[str, list[str]] | None = None,
) -> list[tuple[str, Outcome]]:
    """`operation` of every stack, at most `parallel` at once (0: all), in the order given; an up
    with its stack's message, if it has one; each after a refresh, if asked; narrowed to its
    targets, if it has some."""
    targets = targets or {}
    messages = messages or {}
    lock = threading.Lock()

    def said(line: str) -> None:
        with lock:
            say(line)

    def command(stack: str, op: str) -> list[str]:
        return stack_operation(stack, op, messages.get(stack), refresh=refresh, targets=targets.get(stack))

    with ThreadPoolExecutor(max_workers=parallel or len(stacks)) as pool:
        outcomes = list(pool.map(lambda name: run_one(project, name, operation, said, command), stacks))
    return list(zip(stacks, outcomes, strict=True))


def stack_operation(
    stack: str,
    operation: str,
    message: str | None = None,
    *,
    refresh: bool = False,
    targets: list[str] | None = None,
) -> list[str]:
    """The child that runs one stack's `operation` (the hidden `stack-operation` command)."""
    command = [sys.executable, "-m", "skillship_pipeline", "stack-operation", "--stack", stack]
    command += ["--operation", operation, *(["--message", message] if message else [])]
    command += ["--refresh"] if refresh else []
    return [*command, *(arg for urn in targets or () for arg in ("--target", urn))]


def run_one(
    project: Path,
    stack: str,
    operation: str,
    say: Callable[[str], None],
    command: Callable[[str, str], list[str]] = stack_operation,
) -> Outcome:
    say(f"$ pulumi {operation} --stack {stack}")
    child = subprocess.Popen(
        command(stack, operation),
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    # The outcome (with the engine's whole output) may outgrow a pipe's buffer: read it beside the
    # log lines, or a child writing it and a parent waiting for the end of the log block each other.
    document: list[str] = []
    stdout = child.stdout
    reader = threading.Thread(target=lambda: document.append(stdout.read()))
    reader.start()
    for line in child.stderr:
        say(f"[{stack}] {line.rstrip()}")
    reader.join()
    code = child.wait()
    try:
        return outcome_from_json(json.loads(document[0]))
    except (json.JSONDecodeError, KeyError, TypeError):
        return Outcome(
            False, "", error=f"the {operation} of stack {stack!r} ended with exit code {code} and no outcome"
        )


def outcome_as_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "ok": outcome.ok,
        "output": outcome.output,
        "changes": outcome.changes,
        "steps": [[op, kind, n] for (op, kind), n in sorted(outcome.steps.items())],
        "touched": outcome.touched,
        "error": outcome.error,
    }


def outcome_from_json(document: dict[str, Any]) -> Outcome:
    steps: Counter[tuple[str, str]] = Counter({(op, kind): int(n) for op, kind, n in document["steps"]})
    return Outcome(
        bool(document["ok"]),
        str(document["output"]),
        dict(document["changes"]),
        steps,
        str(document["error"]),
        [str(w) for w in document.get("touched") or []],
    )
