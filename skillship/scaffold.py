"""`skillship new` and `skillship init`: a skill, or a whole project, that validates and runs as it is."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from importlib import metadata, resources
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
        f.target: Template(templates.joinpath(f.folder, f.template).read_text(encoding="utf-8")).safe_substitute(
            skill=name
        )
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


# --- a project (`skillship init`) --------------------------------------------------------------

EXAMPLE_SKILL = "hello"


def _project_name(folder: Path) -> str:
    """A Pulumi project name from the folder's name: letters, digits, '-', '_' and '.'."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.resolve().name).strip("-.") or "skills"
    return name[:100]


def _requirement() -> str:
    """What Pulumi installs into the project's .venv: this very Skillship. An install from a local
    folder (a checkout, as in development) is named by its path; otherwise by its version."""
    try:
        distribution = metadata.distribution("skillship")
        direct = json.loads(distribution.read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError):
        return "skillship[deploy]\n"
    url = direct.get("url", "")
    if url.startswith("file://") and direct.get("dir_info") is not None:
        editable = "-e " if direct["dir_info"].get("editable") else ""
        return f"{editable}{url.removeprefix('file://')}[deploy]\n"
    return f"skillship[deploy]=={distribution.version}\n"


def render_project(folder: Path) -> dict[str, str]:
    """The files of a new project in `folder`, by relative path (pure; writes nothing): the Pulumi
    project and program, a render-only `local` stack and a `dev` cluster stack, one example job."""
    templates = resources.files("skillship.templates").joinpath("project")
    name = _project_name(folder)
    namespace = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:40] or "skills"

    def fill(template: str) -> str:
        text = templates.joinpath(template).read_text(encoding="utf-8")
        return Template(text).safe_substitute(project=name, namespace=namespace)

    files = {
        "Pulumi.yaml": fill("Pulumi.yaml"),
        "__main__.py": fill("__main__.py"),
        "requirements.txt": "# Pulumi installs this into .venv before running the program (Pulumi.yaml).\n"
        + _requirement(),
        "stacks/Pulumi.local.yaml": fill("local.yaml"),
        "stacks/Pulumi.dev.yaml": fill("dev.yaml"),
        "agents/.keep": "",
        ".gitignore": fill("gitignore"),
    }
    files.update({f"skills/{EXAMPLE_SKILL}/{path}": text for path, text in render_skill(EXAMPLE_SKILL, "job").items()})
    return files


def create_project(folder: Path) -> None:
    """Write a new project into `folder` (which may be an existing repository). Refuses, writing
    nothing, when any file or folder it would make is already there."""
    files = render_project(folder)
    if (folder / ".gitignore").exists():
        del files[".gitignore"]  # a repository's own: leave it as it is
    tops = sorted({path.split("/", 1)[0] for path in files})
    taken = [top for top in tops if (folder / top).exists()]
    if taken:
        raise ScaffoldError(
            f"{folder} already has {', '.join(taken)}; `skillship init` only starts new projects "
            "(add skills to an existing one with `skillship new`)"
        )
    try:
        for relative, text in files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as handle:  # never over a file that appeared meanwhile
                handle.write(text)
    except OSError as exc:
        for top in tops:  # none of them was there before: remove all of each, folders too
            target = folder / top
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        raise ScaffoldError(f"could not write {folder}: {exc.strerror or exc}") from None
