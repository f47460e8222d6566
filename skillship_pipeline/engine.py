"""The project's Pulumi program, run through the Automation API: preview, up, and another stack's
outputs. The one module here that talks to Pulumi."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skillship.lazy import LazyModule
from skillship.stack_digest import SOME_SKILLS_ONLY_ENV
from skillship_pipeline.changes import Step, touched_workloads
from skillship_pipeline.state import skill_resources, without_skills

if TYPE_CHECKING:
    from pulumi import automation as auto
else:  # imported when first used: a stage whose stacks are all unchanged runs no engine
    auto = LazyModule("pulumi.automation")

REGISTRY_PASSWORD_KEY = "skillship:registryPassword"


class EngineError(Exception):
    """Pulumi refused or failed; the message is what it said."""


@dataclass
class Outcome:
    """What one preview or up did: its output, and the steps the engine took by resource type."""

    ok: bool
    output: str
    changes: dict[str, int] = field(default_factory=dict)
    steps: Counter[tuple[str, str]] = field(default_factory=Counter)  # (operation, resource type) -> count
    error: str = ""
    touched: list[str] = field(default_factory=list)  # the workloads with a resource that changes

    def steps_of(self, resource_type: str) -> dict[str, int]:
        return {op: n for (op, kind), n in sorted(self.steps.items()) if kind == resource_type}


def _program(project: Path) -> Callable[[], None]:
    main = project / "__main__.py"
    code = compile(main.read_text(encoding="utf-8"), str(main), "exec")
    find_as_the_program(project)

    def program() -> None:
        exec(code, {"__name__": "__main__", "__file__": str(main)})

    return program


def find_as_the_program(project: Path) -> None:
    """Python finds modules as the project's program will: its folder first (a project may keep
    skillship_components/ of its own), for the program and for the digest of what it imports."""
    if str(project) not in sys.path:
        sys.path.insert(0, str(project))


def _workspace(project: Path) -> auto.LocalWorkspace:
    return auto.LocalWorkspace(work_dir=str(project), program=_program(project))


def open_stack(project: Path, name: str, *, registry_password: str | None = None) -> auto.Stack:
    """The stack (made on its first deployment), with the registry password, when given, set as
    its secret config for this run."""
    stack = auto.Stack.create_or_select(name, _workspace(project))
    if registry_password is not None:
        set_secret(stack, REGISTRY_PASSWORD_KEY, registry_password)
    return stack


def set_secret(stack: auto.Stack, key: str, value: str) -> None:
    """`pulumi config set --secret --raw KEY` with the value, exactly (`--raw` keeps a trailing
    newline), on its standard input. The Automation API's
    set_config passes the value as an argument, where any local user's `ps` can read it while the
    command runs."""
    workspace = stack.workspace
    assert isinstance(workspace, auto.LocalWorkspace) and workspace.pulumi_command is not None
    pulumi = workspace.pulumi_command.command
    done = subprocess.run(
        [pulumi, "config", "set", "--secret", "--raw", key, "--stack", stack.name, "--non-interactive"],
        input=value,
        capture_output=True,
        text=True,
        cwd=workspace.work_dir,
        env={**os.environ, **(workspace.env_vars or {})},
    )
    if done.returncode != 0:
        raise EngineError(f"pulumi config set --secret {key} failed: {done.stderr.strip()}")


def outputs_of(project: Path, name: str) -> dict[str, Any]:
    """Another stack's outputs, as its last successful update left them."""
    try:
        stack = auto.Stack.select(name, _workspace(project))
        return {key: value.value for key, value in stack.outputs().items()}
    except auto.errors.CommandError as exc:
        raise EngineError(_said(exc)) from None


def forget(project: Path, name: str, skills: set[str]) -> list[str]:
    """Drop every resource of `skills` from stack `name`'s state, and nothing from the cluster: the
    shard those skills moved to adopts their objects on its next `up` (the provider creates by
    server-side apply), so no task runs again and no daemon stops. Returns the URNs dropped."""
    try:
        stack = auto.Stack.select(name, _workspace(project))
        exported = stack.export_stack()
    except auto.errors.CommandError as exc:
        raise EngineError(_said(exc)) from None
    state = dict(exported.deployment or {})
    kept, dropped = without_skills(list(state.get("resources") or []), skills)
    if not dropped:
        return []
    state["resources"] = kept
    exported.deployment = state
    try:
        stack.import_stack(exported)
    except auto.errors.CommandError as exc:
        raise EngineError(_said(exc)) from None
    return sorted(dropped)


def resources_of(project: Path, name: str, skills: set[str]) -> dict[str, set[str]]:
    """Skill -> the URNs of everything of it in stack `name`'s state (state.skill_resources)."""
    try:
        exported = auto.Stack.select(name, _workspace(project)).export_stack()
    except auto.errors.CommandError as exc:
        raise EngineError(_said(exc)) from None
    resources = list((exported.deployment or {}).get("resources") or [])
    return {skill: skill_resources(resources, {skill}) for skill in skills}


def stack_names(project: Path) -> set[str]:
    """The project's stacks in the backend (one `pulumi stack ls`)."""
    try:
        return {summary.name for summary in _workspace(project).list_stacks()}
    except auto.errors.CommandError as exc:
        raise EngineError(_said(exc)) from None


def last_update(project: Path, name: str) -> dict[str, Any] | None:
    """The newest entry of a stack's history (`pulumi stack history`: its kind, result, message,
    version), None when it has none or it cannot be read: a stack that then deploys says why. One
    CLI call, without the Automation API's `pulumi version` and `stack select` before it."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        return None
    done = subprocess.run(
        [pulumi, "stack", "history", "--stack", name, "--json", "--page-size", "1", "--non-interactive"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return None
    try:
        entries = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        return None
    return entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else None


def run(
    stack: auto.Stack,
    operation: str,
    echo: Callable[[str], None],
    *,
    message: str | None = None,
    refresh: bool = False,
    targets: list[str] | None = None,
) -> Outcome:
    """`preview` or `up`, its output echoed line by line as it comes; `message` is the update's,
    which `pulumi stack history` keeps; `refresh` reads the cluster first, so that what was changed
    by hand shows (and an up puts it back); `targets`: only those resources and what depends on
    them, and the program, which runs in this process, records no inputs digest."""
    lines: list[str] = []
    steps: Counter[tuple[str, str]] = Counter()
    seen: list[Step] = []

    def on_output(line: str) -> None:
        lines.append(line)
        echo(line)

    def on_event(event: auto.EngineEvent) -> None:
        if event.resource_pre_event:
            metadata = event.resource_pre_event.metadata
            op = str(getattr(metadata.op, "value", metadata.op))
            steps[(op, metadata.type)] += 1
            state = metadata.new or metadata.old
            seen.append(Step(op, metadata.urn, metadata.type, getattr(state, "parent", None) or None))

    target_dependents = True if targets else None
    if targets:
        os.environ[SOME_SKILLS_ONLY_ENV] = "1"
    try:
        if operation == "preview":
            preview = stack.preview(
                on_output=on_output,
                on_event=on_event,
                diff=True,
                refresh=refresh or None,
                target=targets or None,
                target_dependents=target_dependents,
            )
            changes = {str(k): int(v) for k, v in (preview.change_summary or {}).items()}
        else:
            result = stack.up(
                on_output=on_output,
                on_event=on_event,
                message=message,
                refresh=refresh or None,
                target=targets or None,
                target_dependents=target_dependents,
            )
            changes = {str(k): int(v) for k, v in (result.summary.resource_changes or {}).items()}
    except auto.errors.CommandError as exc:
        return Outcome(False, "\n".join(lines), steps=steps, error=_said(exc))
    finally:
        os.environ.pop(SOME_SKILLS_ONLY_ENV, None)
    return Outcome(True, "\n".join(lines), changes, steps, touched=sorted(touched_workloads(seen)))


def _said(exc: auto.errors.CommandError) -> str:
    """What Pulumi said of why: its error output, else the diagnostics that end its output (where
    a failed update names each failed resource and the program's own errors)."""
    text = str(exc)
    stdout, _, stderr = text.partition("\n stderr: ")
    if stderr.strip():
        return stderr.strip()
    _, found, diagnostics = stdout.partition("Diagnostics:")
    return (found + diagnostics).strip() if found else stdout.split("\n stdout: ", 1)[-1].strip()
