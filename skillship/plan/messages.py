"""The message a stack gives a skill: the stack's `messages` setting (an object, or the path of a
JSON file in the project), else the skill's `invoke/request/message.json`, else, in older skills,
its `test/payload.json` or `tests/payload.json`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skillship.paths import display_path
from skillship.plan.problems import StackProblems
from skillship.source import door
from skillship.source.diagnostics import json_key_line
from skillship.source.door import MESSAGE, Boundary, FileMissing, ReadRefused
from skillship.source.jsontext import JsonRefused, parse_json
from skillship.source.models import envelope_problems
from skillship.source.workspace import DEFAULT_MESSAGE, SkillSource, default_message_file
from skillship.stack.settings import StackSettings


def stack_message(
    source: SkillSource, settings: StackSettings, project_dir: Path, workspace: Boundary, problems: StackProblems
) -> dict[str, Any] | None:
    """The message, or None after saying in `problems` why there is none. A file the stack names is
    read only from inside the project; a skill's own, only from inside its workspace."""
    skill = source.skill.name
    configured = settings.messages.get(skill)
    if isinstance(configured, dict):
        message = configured if "payload" in configured else {"payload": configured}
        found = envelope_problems(message)
        for field, problem in found:
            problems.setting(
                "invoke-json",
                f"the message of skill {skill!r}: {problem}",
                "messages",
                skill,
                *([field] if field else []),
            )
        return None if found else message
    if isinstance(configured, str):
        path = project_dir / configured
        inside = Boundary(project_dir)
    else:
        path = default_message_file(source.directory) or source.directory / DEFAULT_MESSAGE
        inside = workspace
    display = display_path(path)
    try:
        text = door.read_text(path, MESSAGE, inside)
        message = parse_json(text)
    except FileMissing:
        if isinstance(configured, str):
            problems.setting(
                "message-unreadable",
                f"skillship:messages.{skill} names {configured!r}, which cannot be read: no such file",
                "messages",
                skill,
            )
        else:
            problems.file(
                "message-missing",
                f"skill {skill!r} has no message: add {DEFAULT_MESSAGE.as_posix()} or set skillship:messages.{skill}",
                source.display,
                source.line(("name",)),
            )
        return None
    except ReadRefused as exc:
        if exc.code == "outside-workspace" and isinstance(configured, str):
            problems.setting(
                "outside-project",
                f"skillship:messages.{skill} ({configured}) is outside the project "
                "folder; messages are read only from inside it",
                "messages",
                skill,
            )
            return None
        # A skill's own message out of its workspace (validation says so first, as it reads them).
        code = {"file-too-large": "message-too-large", "outside-workspace": "outside-workspace"}.get(
            exc.code, "message-unreadable"
        )
        problems.file(code, f"the message of skill {skill!r}: {exc.message}", display)
        return None
    except JsonRefused as exc:
        problems.file("message-unreadable", f"the message of skill {skill!r}: {exc.located()}", display, exc.line)
        return None
    found = envelope_problems(message)
    for field, problem in found:
        problems.file(
            "invoke-json",
            f"the message of skill {skill!r}: {problem}",
            display,
            json_key_line(text, field),
            field or None,
        )
    return None if found else message
