"""The message a stack gives a skill: the stack's `messages` setting (an object, or the path of a
JSON file in the project), else the skill's `invoke/request/message.json`, else, in older skills,
its `test/payload.json` or `tests/payload.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from skillship.diagnostics import json_key_line
from skillship.models import envelope_problems
from skillship.paths import display_path
from skillship.plan.problems import StackProblems
from skillship.settings import StackSettings
from skillship.workspace import DEFAULT_MESSAGE, SkillSource, default_message_file, escapes
from skillship_runtime.contract import MESSAGE_LIMIT


def stack_message(
    source: SkillSource, settings: StackSettings, project_dir: Path, problems: StackProblems
) -> dict[str, Any] | None:
    """The message, or None after saying in `problems` why there is none."""
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
        if escapes(path, project_dir):
            problems.setting(
                "outside-project",
                f"skillship:messages.{skill} ({configured}) is outside the project "
                "folder; messages are read only from inside it",
                "messages",
                skill,
            )
            return None
    else:
        path = default_message_file(source.directory) or source.directory / DEFAULT_MESSAGE
    display = display_path(path)
    try:
        if path.stat().st_size > MESSAGE_LIMIT:
            problems.file(
                "message-too-large", f"the message of skill {skill!r} is larger than {MESSAGE_LIMIT} bytes", display
            )
            return None
        text = path.read_text(encoding="utf-8")
        message = json.loads(text)
    except FileNotFoundError:
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
    except json.JSONDecodeError as exc:
        problems.file(
            "message-unreadable",
            f"the message of skill {skill!r} is not valid JSON: {exc.msg} (column {exc.colno})",
            display,
            exc.lineno,
        )
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.file("message-unreadable", f"the message of skill {skill!r} cannot be read: {exc}", display)
        return None
    except RecursionError:
        problems.file("message-unreadable", f"the message of skill {skill!r} is nested too deeply to read", display)
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
