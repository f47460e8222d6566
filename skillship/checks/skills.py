"""The rules for one skill: its name, properties, actions and their files, its example messages."""

from __future__ import annotations

import os
import re
from pathlib import Path

from skillship.checks.names import action_name, path_like
from skillship.checks.routing import check_routing
from skillship.images.dockerignore import IgnoreFileError, compiled, read_ignore_file
from skillship.paths import display_path
from skillship.source import door
from skillship.source.diagnostics import Diagnostics, json_key_line
from skillship.source.door import DOCKERFILE, MESSAGE, Boundary, ReadRefused
from skillship.source.jsontext import JsonRefused, parse_json
from skillship.source.models import (
    envelope_problems,
)
from skillship.source.workspace import (
    ACTION_FILE,
    DEFAULT_MESSAGES,
    ActionSource,
    SkillSource,
    default_message_file,
    read_text,
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
    check_routing(source, diagnostics)


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
