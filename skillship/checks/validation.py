"""Rules that a workspace must follow before anything is deployed from it.

Each check adds located Diagnostics and never raises, so one run reports every problem.
"""

from __future__ import annotations

import graphlib
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from skillship.checks.names import action_name, skill_name
from skillship.images.dockerignore import IgnoreFileError, compiled, read_ignore_file
from skillship.paths import display_path
from skillship.source import door
from skillship.source.diagnostics import Diagnostics, json_key_line
from skillship.source.door import DOCKERFILE, MESSAGE, Boundary, ReadRefused
from skillship.source.jsontext import JsonRefused, parse_json
from skillship.source.models import (
    KNOWN_RUNTIMES,
    RUNTIME_DAEMONS,
    RUNTIME_EXTERNAL_API,
    RUNTIME_JOBS,
    Agent,
    MappingEnd,
    envelope_problems,
)
from skillship.source.wiring import agent_wires
from skillship.source.workspace import (
    ACTION_FILE,
    DEFAULT_MESSAGES,
    ActionSource,
    AgentSource,
    SkillSource,
    Workspace,
    default_message_file,
    read_text,
    read_workspace,
    report_placeholders,
)

SUPPORTED_CAMEL = "1.0.0"
_NEW_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]*[a-zA-Z0-9]")
_LOOSE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*")
NEW_NAME_MAX = 20
# Kubernetes refuses these outright: an environment variable name must be printable ASCII without
# '=' (KEP-4369: on by default from 1.32, stable in 1.34), and before that a C-like identifier; a
# Secret key is letters, digits, '-._'.
_ENV_NAME_ANY = re.compile(r"[\x21-\x3c\x3e-\x7e]+")
_ENV_NAME_CLASSIC = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def load_workspace(path: Path | str) -> tuple[Workspace, Diagnostics]:
    """Read and validate a workspace in one pass: the entry point for the CLI and the program."""
    diagnostics = Diagnostics()
    workspace = read_workspace(Path(path), diagnostics)
    validate_workspace(workspace, diagnostics)
    return workspace, diagnostics


def validate_workspace(workspace: Workspace, diagnostics: Diagnostics) -> None:
    for source in workspace.skills:
        check_skill(source, diagnostics, workspace.boundary)
        check_invoke_messages(source, diagnostics, workspace.boundary)
    check_unique_skills(workspace, diagnostics)
    for agent in workspace.agents:
        check_agent(agent, workspace, diagnostics)
    check_job_loops(workspace, diagnostics)


def check_skill(source: SkillSource, diagnostics: Diagnostics, boundary: Boundary) -> None:
    skill, file = source.skill, source.display
    if skill.camel != SUPPORTED_CAMEL:
        diagnostics.error(
            file,
            source.line(("camel",)),
            "camel",
            "camel-version",
            f"unknown camel version {skill.camel!r}; this format is camel {SUPPORTED_CAMEL}",
        )
    _check_skill_name(source, diagnostics)
    _check_unique(source, "properties", [p.name for p in skill.properties], "property", diagnostics)
    _check_unique(source, "actions", [a.action.name for a in source.actions if a.in_skill_file], "action", diagnostics)
    _check_action_files_unique(source, diagnostics)
    _check_unique(source, "inputs", [i.name for i in skill.inputs], "input", diagnostics)
    _check_unique(source, "outputs", [o.name for o in skill.outputs], "output", diagnostics)
    _check_properties(source, diagnostics)
    _check_actions(source, diagnostics, boundary)
    _check_routing(source, diagnostics)


def _check_action_files_unique(source: SkillSource, diagnostics: Diagnostics) -> None:
    """An action.json may not declare an action skill.yaml (or another action.json) declares."""
    first: dict[str, ActionSource] = {}
    for declaration in source.actions:
        earlier = first.setdefault(declaration.action.name, declaration)
        if earlier is not declaration and not declaration.in_skill_file:
            diagnostics.error(
                declaration.display,
                declaration.line(("name",)),
                "name",
                "duplicate-action",
                f"action {declaration.action.name!r} is declared already, in {earlier.display}",
            )


def _check_skill_name(source: SkillSource, diagnostics: Diagnostics) -> None:
    name = source.skill.name
    line = source.line(("name",))
    if not _LOOSE_NAME.fullmatch(name):
        diagnostics.error(
            source.display,
            line,
            "name",
            "skill-name",
            f"skill name {name!r} may hold only letters, digits, '-', '_', '.' and '/'",
        )
    elif "/" not in name and not _NEW_NAME.fullmatch(name):
        diagnostics.warning(
            source.display,
            line,
            "name",
            "skill-name",
            f"skill name {name!r} must start with a letter and end with a letter or digit for newer tooling",
        )
    if len(name) > NEW_NAME_MAX and "/" not in name:
        diagnostics.warning(
            source.display,
            line,
            "name",
            "skill-name-length",
            f"skill name is {len(name)} characters; newer tooling allows at most {NEW_NAME_MAX}",
        )


def _check_unique(source: SkillSource, key: str, names: list[str], what: str, diagnostics: Diagnostics) -> None:
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:
            diagnostics.error(
                source.display,
                source.line((key, index, "name")),
                (key, index, "name"),
                f"duplicate-{what}",
                f"{what} {name!r} is declared twice (first at {key}[{first[name]}], "
                f"line {source.line((key, first[name], 'name'))})",
            )
        else:
            first[name] = index


def _check_properties(source: SkillSource, diagnostics: Diagnostics) -> None:
    for index, prop in enumerate(source.skill.properties):
        path = ("properties", index)
        if prop.secure and prop.default_value not in (None, ""):
            diagnostics.warning(
                source.display,
                source.line((*path, "defaultValue")),
                (*path, "defaultValue"),
                "secure-default",
                f"secure property {prop.name!r} has a default in plain text; set it per stack as a secret",
            )
        if prop.valid_values and prop.default_value is not None and prop.default_value not in prop.valid_values:
            diagnostics.warning(
                source.display,
                source.line((*path, "defaultValue")),
                (*path, "defaultValue"),
                "invalid-default",
                f"default {prop.default_value!r} is not one of validValues {prop.valid_values!r}",
            )
        if prop.secure and not _SECRET_KEY.fullmatch(prop.name):
            diagnostics.error(
                source.display,
                source.line((*path, "name")),
                (*path, "name"),
                "secret-key",
                f"secure property {prop.name!r} names a key of the skill's Secret, which may hold only "
                "letters, digits, '-', '_' and '.'",
            )
        if prop.kind == "number" and prop.default_value is not None and not _is_number(prop.default_value):
            diagnostics.warning(
                source.display,
                source.line((*path, "defaultValue")),
                (*path, "defaultValue"),
                "invalid-default",
                f"Number property {prop.name!r} has a default that is not a number: {prop.default_value!r}",
            )


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def path_like(name: str) -> bool:
    """An action name is a folder name under actions/: never a path that leads elsewhere."""
    return name in ("", ".", "..") or any(c in name for c in "/\\") or any(ord(c) < 32 for c in name)


def _check_actions(source: SkillSource, diagnostics: Diagnostics, boundary: Boundary) -> None:
    declared = set()
    for declaration in source.actions:
        action = declaration.action
        declared.add(action.name)
        _check_action_fields(source, declaration, diagnostics)
        if declaration.in_skill_file and path_like(action.name):
            # An action.json's name may hold a `/` (`hw/name`): its folder is its build context.
            diagnostics.error(
                declaration.display,
                declaration.line(("name",)),
                declaration.field(("name",)),
                "action-name",
                f"action name {action.name!r} is a path; it must name one folder under "
                f"{display_path(source.directory / 'actions')}",
            )
            continue
        context = declaration.context
        if boundary.escapes(context):
            diagnostics.error(
                display_path(context),
                None,
                None,
                "outside-workspace",
                f"the build context of action {action.name!r} is a link to "
                f"{os.path.realpath(context)}, outside the workspace; nothing there is read",
            )
            continue
        dockerfile = context / "Dockerfile"
        if not dockerfile.exists() or dockerfile.is_dir():
            where = "folder" if not context.is_dir() else "Dockerfile"
            rule = (
                "the 'actions/<name>' folder and the action's name must match"
                if declaration.in_skill_file
                else f"an {ACTION_FILE} declares the build context it sits in"
            )
            diagnostics.error(
                declaration.display,
                declaration.line(("name",)),
                declaration.field(("name",)),
                "missing-dockerfile",
                f"action {action.name!r} has no {where} at {display_path(dockerfile)}; {rule}",
            )
            continue
        try:
            door.read_bytes(dockerfile, DOCKERFILE, boundary)
        except ReadRefused as exc:
            diagnostics.error(
                display_path(dockerfile),
                None,
                None,
                exc.code,
                f"the Dockerfile of action {action.name!r}: {exc.message}",
            )
            continue
        _check_ignore_file(context, diagnostics)
    for folder in _folders(source.directory / "actions"):
        if folder.name not in declared:
            diagnostics.warning(
                display_path(folder),
                None,
                None,
                "unused-build-context",
                f"no action of skill {source.skill.name!r} is named {folder.name!r}; this folder is never built",
            )


def _check_action_fields(source: SkillSource, declaration: ActionSource, diagnostics: Diagnostics) -> None:
    """What the API server would refuse, or the registry would mis-tag, said before any build."""
    action, file = declaration.action, declaration.display
    if action.image and _has_tag(action.image):
        diagnostics.error(
            file,
            declaration.line(("image",)),
            declaration.field(("image",)),
            "image-tag",
            f"image {action.image!r} has a tag or digest; name the repository only: Skillship tags each "
            "image by the content of its build context (a prebuilt image goes in skillship:images)",
        )
    if action.type == "daemon":
        if action.port is None:
            diagnostics.warning(
                file,
                declaration.line(("type",)),
                declaration.field(("port",)),
                "daemon-port",
                f"daemon action {action.name!r} has no port; it cannot receive requests",
            )
        service = action_name(source.skill.name, action.name)
        if not service[:1].isalpha():
            diagnostics.error(
                file,
                declaration.line(("name",)),
                declaration.field(("name",)),
                "service-name",
                f"daemon {action.name!r} of skill {source.skill.name!r} would be served by the Service "
                f"{service!r}, and a Service name must start with a letter; rename the skill or action",
            )
    environment = {**action.environment_variables, **(declaration.podspec.env if declaration.podspec else {})}
    for name in environment:
        where = declaration.field(("environmentVariables",))
        if not _ENV_NAME_ANY.fullmatch(name):
            diagnostics.error(
                file,
                declaration.line(("environmentVariables",)),
                where,
                "env-name",
                f"environment variable name {name!r} must be printable ASCII without spaces or '='",
            )
        elif not _ENV_NAME_CLASSIC.fullmatch(name):
            diagnostics.warning(
                file,
                declaration.line(("environmentVariables",)),
                where,
                "env-name",
                f"environment variable name {name!r} is refused by Kubernetes before 1.32 "
                "(letters, digits, '-', '_', '.', not starting with a digit)",
            )


def _check_ignore_file(context: Path, diagnostics: Diagnostics) -> None:
    """Docker refuses some ignore files outright (a lone '!', a malformed '[...]') and fails the
    build at a pattern whose expression does not compile: say so before any build, at the line."""
    try:
        name, text = read_ignore_file(context)
    except ReadRefused as exc:
        diagnostics.error(display_path(Path(exc.path or context)), None, None, exc.code, exc.message)
        return
    if name is None:
        return
    try:
        problems = compiled(text).problems()
    except IgnoreFileError as exc:
        problems = [exc]
    for problem in problems:
        diagnostics.error(
            display_path(context / name),
            problem.line,
            None,
            "dockerignore",
            f"docker refuses this ignore file: {problem.message}",
        )


def _folders(parent: Path) -> list[Path]:
    """The folders in `parent` that are not hidden, sorted; none when it cannot be listed (a
    missing or unreadable folder is reported by the Dockerfile check)."""
    try:
        with os.scandir(parent) as entries:
            return sorted(Path(e.path) for e in entries if not e.name.startswith(".") and e.is_dir())
    except OSError:
        return []


def _has_tag(image: str) -> bool:
    last = image.rsplit("/", 1)[-1]
    return ":" in last or "@" in last


def _check_routing(source: SkillSource, diagnostics: Diagnostics) -> None:
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


def check_invoke_messages(source: SkillSource, diagnostics: Diagnostics, boundary: Boundary) -> None:
    """Example messages under invoke/ (and older skills' test/payload.json) must be JSON objects
    whose envelope fields have their types; job skills should have one to run with."""
    invoke = source.directory / "invoke"
    files = _json_files(invoke) + [
        source.directory / p for p in DEFAULT_MESSAGES[1:] if (source.directory / p).is_file()
    ]
    for file in files:
        display = display_path(file)
        text = read_text(file, display, diagnostics, MESSAGE, boundary)
        if text is None:
            continue
        if report_placeholders(text, display, None, diagnostics):
            continue
        try:
            message = parse_json(text)
        except JsonRefused as exc:
            diagnostics.error(display, exc.line, None, "invoke-json", exc.located())
            continue
        for field, problem in envelope_problems(message):
            diagnostics.error(display, json_key_line(text, field), field or None, "invoke-json", problem)
    has_jobs = any(a.type == "job" for a in source.skill.actions)
    if has_jobs and default_message_file(source.directory) is None:
        diagnostics.warning(
            source.display,
            source.line(("name",)),
            None,
            "no-message",
            "no invoke/request/message.json (nor test/payload.json): each stack must give this skill's message",
        )


def _json_files(folder: Path) -> list[Path]:
    """Every `*.json` file below `folder`, sorted; none when it does not exist. One listing per
    folder (pathlib's rglob lists each twice, and this runs for every skill)."""
    found: list[Path] = []
    for current, _, files in os.walk(folder):
        found.extend(Path(current, name) for name in files if name.endswith(".json"))
    return sorted(found)


def check_unique_skills(workspace: Workspace, diagnostics: Diagnostics) -> None:
    """Skill names, and the Kubernetes names they map to, must be unique across the workspace."""
    by_name: dict[str, SkillSource] = {}
    by_k8s: dict[str, SkillSource] = {}
    for source in workspace.skills:
        name = source.skill.name
        line = source.line(("name",))
        if name in by_name:
            diagnostics.error(
                source.display,
                line,
                "name",
                "duplicate-skill",
                f"skill {name!r} is also defined in {by_name[name].display}",
            )
            continue
        by_name[name] = source
        k8s = skill_name(name)
        if k8s in by_k8s:
            other = by_k8s[k8s]
            diagnostics.error(
                source.display,
                line,
                "name",
                "name-collision",
                f"skill {name!r} and skill {other.skill.name!r} ({other.display}) both map to the "
                f"Kubernetes name {k8s!r}; rename one",
            )
        else:
            by_k8s[k8s] = source
    _check_action_name_collisions(workspace, diagnostics)


def _check_action_name_collisions(workspace: Workspace, diagnostics: Diagnostics) -> None:
    owners: dict[str, list[tuple[SkillSource, int]]] = defaultdict(list)
    for source in workspace.skills:
        for index, action in enumerate(source.skill.actions):
            owners[action_name(source.skill.name, action.name)].append((source, index))
    for k8s, places in owners.items():
        if len({(s.skill.name, s.skill.actions[i].name) for s, i in places}) < 2:
            continue
        first_source, first_index = places[0]
        for source, index in places[1:]:
            path = ("actions", index, "name")
            diagnostics.error(
                source.display,
                source.line(path),
                path,
                "name-collision",
                f"action {source.skill.actions[index].name!r} of skill {source.skill.name!r} maps to the "
                f"Kubernetes name {k8s!r}, as does action {first_source.skill.actions[first_index].name!r} "
                f"of skill {first_source.skill.name!r}",
            )


def check_agent(source: AgentSource, workspace: Workspace, diagnostics: Diagnostics) -> None:
    agent: Agent = source.agent
    if agent.camel != SUPPORTED_CAMEL:
        diagnostics.error(
            source.display,
            source.line(("camel",)),
            "camel",
            "camel-version",
            f"unknown camel version {agent.camel!r}; this format is camel {SUPPORTED_CAMEL}",
        )
    seen: dict[str, int] = {}
    for index, ref in enumerate(agent.skills):
        if ref.ref_id in seen:
            path = ("skills", index, "refId")
            diagnostics.error(
                source.display,
                source.line(path),
                path,
                "agent-duplicate-ref",
                f"refId {ref.ref_id!r} is used twice (first at skills[{seen[ref.ref_id]}])",
            )
        else:
            seen[ref.ref_id] = index
        if workspace.skill(ref.skill_name) is None:
            path = ("skills", index, "skillName")
            diagnostics.error(
                source.display,
                source.line(path),
                path,
                "agent-unknown-skill",
                f"skill {ref.skill_name!r} is not in this workspace",
            )
    for index, mapping in enumerate(agent.mappings):
        for side, end in (("from", mapping.source), ("to", mapping.target)):
            _check_mapping_end(source, workspace, ("mappings", index, side), side, end, diagnostics)
    _check_agent_properties(source, workspace, diagnostics)


def _check_agent_properties(source: AgentSource, workspace: Workspace, diagnostics: Diagnostics) -> None:
    """An agent's values reach the properties its skills declare (skillship.plan.agents); say which
    of them reach nobody, and never pass on a secret written in plain text."""
    agent = source.agent
    skills = [s for ref in agent.skills if (s := workspace.skill(ref.skill_name)) is not None]

    def check(path: tuple[Any, ...], name: str, targets: list[SkillSource], whom: str) -> None:
        declared = [p for s in targets for p in s.skill.properties if p.name == name]
        where = source.line((*path, "name"))
        if not declared:
            diagnostics.warning(
                source.display,
                where,
                (*path, "name"),
                "agent-unknown-property",
                f"{whom} declares no property {name!r}; this value reaches no task",
            )
        elif any(p.secure for p in declared):
            diagnostics.warning(
                source.display,
                where,
                (*path, "name"),
                "agent-secure-property",
                f"property {name!r} is secure: its value here is plain text and is not passed "
                "on; set it per stack with `pulumi config set --secret --path`",
            )

    for index, prop in enumerate(agent.properties):
        check(("properties", index), prop.name, skills, "no skill of the agent")
    for index, ref in enumerate(agent.skills):
        target = workspace.skill(ref.skill_name)
        if target is None:
            continue
        for inner, prop in enumerate(ref.properties):
            check(("skills", index, "properties", inner), prop.name, [target], f"skill {ref.skill_name!r}")


def _check_mapping_end(
    source: AgentSource,
    workspace: Workspace,
    path: tuple[Any, ...],
    side: str,
    end: MappingEnd,
    diagnostics: Diagnostics,
) -> None:
    agent = source.agent
    if end.input is not None:
        if side == "to":
            diagnostics.error(
                source.display, source.line(path), path, "agent-mapping", "a mapping cannot lead into an agent input"
            )
        elif not any(s.matches(end.input.signal_id) for s in agent.inputs):
            p = (*path, "input", "signalId")
            diagnostics.error(
                source.display,
                source.line(p),
                p,
                "agent-unknown-signal",
                f"agent has no input with signalId {end.input.signal_id!r}",
            )
        return
    if end.output is not None:
        if side == "from":
            diagnostics.error(
                source.display, source.line(path), path, "agent-mapping", "a mapping cannot start at an agent output"
            )
        elif not any(s.matches(end.output.signal_id) for s in agent.outputs):
            p = (*path, "output", "signalId")
            diagnostics.error(
                source.display,
                source.line(p),
                p,
                "agent-unknown-signal",
                f"agent has no output with signalId {end.output.signal_id!r}",
            )
        return
    port = end.skill
    if port is None:  # a MappingEnd holds exactly one of input, skill and output
        return
    ref = agent.skill_ref(port.ref_id)
    if ref is None:
        p = (*path, "skill", "refId")
        diagnostics.error(
            source.display,
            source.line(p),
            p,
            "agent-unknown-ref",
            f"refId {port.ref_id!r} is not among the agent's skills",
        )
        return
    skill_source = workspace.skill(ref.skill_name)
    if skill_source is None:
        return  # already reported on the agent's skills list
    skill = skill_source.skill
    wanted = "input" if side == "to" else "output"
    name = port.input if side == "to" else port.output
    p = (*path, "skill", wanted)
    if name is None:
        diagnostics.error(
            source.display,
            source.line((*path, "skill")),
            p,
            "agent-mapping",
            f"the mapping's '{side}' end must name the skill's {wanted}",
        )
    elif (skill.input(name) if side == "to" else skill.output(name)) is None:
        diagnostics.error(
            source.display,
            source.line(p),
            p,
            f"agent-unknown-{wanted}",
            f"skill {skill.name!r} (refId {port.ref_id!r}) has no {wanted} {name!r}",
        )


def check_job_loops(workspace: Workspace, diagnostics: Diagnostics) -> None:
    """Jobs mapped to each other in a loop would each wait for the other: none could ever start.
    Reported at the mapping that closes the loop (graphlib orders without recursion, so a chain of
    thousands of jobs is fine)."""
    jobs = {s.skill.name for s in workspace.skills if any(a.type == "job" for a in s.skill.actions)}
    after: dict[str, set[str]] = defaultdict(set)  # receiver -> the senders it runs after
    for wire in agent_wires(workspace):
        receiver = workspace.skill(wire.receiver)
        action = receiver.skill.action(wire.receiver_action) if receiver and wire.receiver_action else None
        if wire.sender in jobs and action is not None and action.type == "job":
            after[wire.receiver].add(wire.sender)
    places = _mapping_places(workspace)
    while True:
        try:
            graphlib.TopologicalSorter(after).prepare()
            return
        except graphlib.CycleError as exc:
            loop = exc.args[1]  # [a, b, ..., a]: each runs before the next
            sender, receiver = loop[0], loop[1]
            file, line, field = places.get((sender, receiver), ("agents", None, None))
            diagnostics.error(
                file, line, field, "agent-loop", "jobs mapped in a loop can never start: " + " -> ".join(loop)
            )
            after[receiver].discard(sender)  # report each loop once, then look for the next


def _mapping_places(workspace: Workspace) -> dict[tuple[str, str], tuple[str, int | None, tuple[Any, ...]]]:
    """(sender skill, receiver skill) -> the file, line and field of the first mapping between them."""
    places: dict[tuple[str, str], tuple[str, int | None, tuple[Any, ...]]] = {}
    for source in workspace.agents:
        agent = source.agent
        refs = {ref.ref_id: ref.skill_name for ref in agent.skills}
        for index, mapping in enumerate(agent.mappings):
            start, end = mapping.source.skill, mapping.target.skill
            if start is not None and end is not None and start.ref_id in refs and end.ref_id in refs:
                path = ("mappings", index)
                places.setdefault((refs[start.ref_id], refs[end.ref_id]), (source.display, source.line(path), path))
    return places
