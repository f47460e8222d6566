"""The rules for a skill's routing: every input routed to a declared action, no action unrouted."""

from __future__ import annotations

from typing import Any

from skillship.checks.names import path_like
from skillship.paths import display_path
from skillship.source.diagnostics import Diagnostics
from skillship.source.models import (
    KNOWN_RUNTIMES,
    RUNTIME_DAEMONS,
    RUNTIME_EXTERNAL_API,
    RUNTIME_JOBS,
)
from skillship.source.workspace import (
    ACTION_FILE,
    SkillSource,
)


def check_routing(source: SkillSource, diagnostics: Diagnostics) -> None:
    skill = source.skill
    _check_unrouted(source, diagnostics)
    for index, item in enumerate(skill.inputs):
        if item.routing is None:
            continue
        _check_rules(source, index, diagnostics)
        for sub, target in item.routing.targets():
            path = ("inputs", index, "routing", *sub)
            runtime = target.runtime
            if runtime is not None and runtime not in KNOWN_RUNTIMES:
                diagnostics.warning(
                    source.display,
                    source.line((*path, "runtime")),
                    (*path, "runtime"),
                    "unknown-runtime",
                    f"runtime {runtime!r} is not one of {', '.join(KNOWN_RUNTIMES)}",
                )
            if target.output is not None and skill.outputs and skill.output(target.output) is None:
                diagnostics.warning(
                    source.display,
                    source.line((*path, "output")),
                    (*path, "output"),
                    "unknown-output",
                    f"routing names output {target.output!r}, which the skill does not declare",
                )
            if runtime == RUNTIME_EXTERNAL_API:
                continue
            if not target.action:
                if runtime in (RUNTIME_JOBS, RUNTIME_DAEMONS):
                    diagnostics.error(
                        source.display,
                        source.line(path),
                        path,
                        "routing-no-action",
                        f"routing to runtime {runtime!r} names no action",
                    )
                continue
            action = skill.action(target.action)
            if action is None and not source.declares_actions:
                _undeclared_action(source, item.name, target.action, path, diagnostics)
            elif action is None:
                known = ", ".join(repr(a.name) for a in skill.actions) or "none"
                diagnostics.error(
                    source.display,
                    source.line((*path, "action")),
                    (*path, "action"),
                    "routing-unknown-action",
                    f"input {item.name!r} routes to action {target.action!r}, which does not exist (actions: {known})",
                )
            elif (runtime == RUNTIME_JOBS and action.type == "daemon") or (
                runtime == RUNTIME_DAEMONS and action.type == "job"
            ):
                diagnostics.error(
                    source.display,
                    source.line((*path, "runtime")),
                    (*path, "runtime"),
                    "routing-runtime",
                    f"{action.type} action {action.name!r} is routed to the {runtime} runtime",
                )


def _undeclared_action(
    source: SkillSource, input_name: str, action: str, path: tuple[Any, ...], diagnostics: Diagnostics
) -> None:
    """Older skills route to actions that skill.yaml does not declare: a Makefile step built and
    deployed them. Skillship reads no Makefile, so it says what to add, and that until then the
    action is not deployed."""
    makefile = next((m for m in ("Makefile", "makefile", "GNUmakefile") if (source.directory / m).is_file()), None)
    seen = (
        f"; {display_path(source.directory / makefile)} may build it, but Skillship does not read Makefiles"
        if makefile
        else ""
    )
    declare = (
        f"an {ACTION_FILE} beside its Dockerfile (its name holds a '/', so no folder under actions/ can be it)"
        if path_like(action)
        else f"an actions: entry with its build context actions/{action}/, or an {ACTION_FILE} beside its Dockerfile"
    )
    diagnostics.warning(
        source.display,
        source.line((*path, "action")),
        (*path, "action"),
        "routing-undeclared-action",
        f"input {input_name!r} routes to action {action!r}, which neither skill.yaml (it has no actions) nor an "
        f"{ACTION_FILE} declares{seen}. It is not deployed until you add {declare}; or set skillship:images "
        f"'{source.skill.name}/{action}' to a prebuilt image, which the stack then runs",
    )


def _check_rules(source: SkillSource, index: int, diagnostics: Diagnostics) -> None:
    """Routing by a property's or a payload field's value picks an action per message. A deployment
    runs each job once, with one message, and records reach one receiver, so Skillship honours such
    routing only where every rule leads to the same action and output; anything else is refused
    here, never silently flattened."""
    item = source.skill.inputs[index]
    routing = item.routing
    if routing is None or not (routing.rules or routing.property or routing.field):
        return
    ends = sorted({(t.action or "", t.output or "") for _, t in routing.targets()})
    if len(ends) <= 1:
        return
    by = f"property {routing.property!r}" if routing.property else f"field {routing.field!r}"
    key = "property" if routing.property else "field" if routing.field else "rules"
    path = ("inputs", index, "routing", key)
    leads = ", ".join(f"{action or 'no action'} ({output or 'no output'})" for action, output in ends)
    diagnostics.error(
        source.display,
        source.line(path),
        path,
        "routing-rules",
        f"input {item.name!r} routes by {by} to {leads}: a deployment runs each job once with one message, "
        "so the choice per message is not supported; route the input to one action, or give each action an "
        "input of its own",
    )


def _check_unrouted(source: SkillSource, diagnostics: Diagnostics) -> None:
    """Where a skill routes its inputs to actions, an action no input routes to is still deployed
    (docs/validation.md): a job runs once per deployment with the skill's message and an empty
    outputName, a daemon serves. Say so, as Cortex would never have started it."""
    routed = {
        target.action
        for item in source.skill.inputs
        if item.routing is not None
        for _, target in item.routing.targets()
        if target.action
    }
    if not routed:
        return  # no routing at all (older files): every action is the skill's
    for declaration in source.actions:
        action = declaration.action
        if action.name not in routed:
            runs = (
                "runs once per deployment with the skill's message and an empty outputName"
                if action.type == "job"
                else "is deployed and serves"
            )
            diagnostics.warning(
                declaration.display,
                declaration.line(("name",)),
                declaration.field(("name",)),
                "unrouted-action",
                f"no input routes to action {action.name!r}; it still {runs}: route an input to it, or remove it",
            )
