"""`skillship new`: a skill directory that validates and runs as it is."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Literal

SkillType = Literal["job", "daemon"]
NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]*[a-zA-Z0-9]$")
NAME_MAX = 20


class ScaffoldError(Exception):
    """The skill cannot be created; nothing was written."""


@dataclass(frozen=True)
class _File:
    folder: str  # "common", or the kind of skill
    template: str
    target: str


def _files(name: str, kind: SkillType) -> list[_File]:
    action = f"actions/{name}"
    return [
        _File(kind, "skill.yaml", "skill.yaml"),
        _File("common", "Dockerfile", f"{action}/Dockerfile"),
        _File("common", "dockerignore", f"{action}/.dockerignore"),
        _File(kind, "main.py", f"{action}/main.py"),
        _File("common", "requirements.txt", f"{action}/requirements.txt"),
        _File("common", "message.json", "invoke/request/message.json"),
    ]


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name) or len(name) > NAME_MAX:
        raise ScaffoldError(
            f"skill name {name!r} must start with a letter, end with a letter or digit, hold only letters, "
            f"digits, '-' and '_', and be at most {NAME_MAX} characters"
        )


def render_skill(name: str, kind: SkillType) -> dict[str, str]:
    """The files of a new skill, by path relative to its directory (pure; writes nothing)."""
    check_name(name)
    templates = resources.files("skillship.templates")
    return {
        f.target: Template(templates.joinpath(f.folder, f.template).read_text(encoding="utf-8")).safe_substitute(skill=name)
        for f in _files(name, kind)
    }


def dockerfile() -> str:
    """The scaffolded Dockerfile, as every new skill gets it."""
    return resources.files("skillship.templates").joinpath("common", "Dockerfile").read_text(encoding="utf-8")


def create_skill(*, skills_dir: Path, name: str, kind: SkillType) -> Path:
    """Write a new skill under `skills_dir`; refuses to touch an existing directory."""
    files = render_skill(name, kind)
    target = skills_dir / name
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another name or remove it first")
    staging = skills_dir / f".{name}.new"
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        staging.rename(target)  # all files appear at once, or none do
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ScaffoldError(f"could not write {target}: {exc.strerror or exc}") from None
    return target

