"""`skillship new` and `skillship init`: a skill, or a whole project, that validates and runs as it is."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from string import Template
from typing import Literal

SkillType = Literal["job", "daemon"]
NAME_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]*[a-zA-Z0-9]")
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
    if not NAME_PATTERN.fullmatch(name) or len(name) > NAME_MAX:
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
CiChoice = Literal["github", "gitlab", "none"]
CI_FILES: dict[str, str] = {"github": ".github/workflows/skillship.yml", "gitlab": ".gitlab-ci.yml"}
_CI_TEMPLATES = {"github": "github-workflow.yml", "gitlab": "gitlab-ci.yml"}
# A repository's own README and .gitignore are kept as they are; every other file `init` makes
# must not be there yet.
KEPT_IF_PRESENT = ("README.md", ".gitignore")


def _project_name(folder: Path) -> str:
    """A Pulumi project name from the folder's name: letters, digits, '-', '_' and '.'."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.resolve().name).strip("-.") or "skills"
    return name[:100]


def requirement() -> str:
    """The line that installs this Skillship's compatible releases: `~=` on its release number, so
    a project takes fixes and stays on the minor version it was made with (`~=0.1.0`: 0.1.*)."""
    try:
        version = metadata.version("skillship")
    except metadata.PackageNotFoundError:
        return "skillship[deploy]"
    release = re.match(r"\d+(\.\d+)*", version)
    return f"skillship[deploy]~={release.group(0)}" if release else "skillship[deploy]"


def render_project(folder: Path, ci: CiChoice = "none") -> dict[str, str]:
    """The files of a new project in `folder`, by relative path (pure; writes nothing): the Pulumi
    project and program, a render-only `local` stack and a `dev` cluster stack, one example job;
    with a CI file, the `staging` and `prod` stacks its promote stages deploy."""
    templates = resources.files("skillship.templates")
    name = _project_name(folder)
    namespace = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:40] or "skills"

    def fill(template: str, **extra: str) -> str:
        text = templates.joinpath("project", template).read_text(encoding="utf-8")
        return Template(text).safe_substitute(project=name, namespace=namespace, requirement=requirement(), **extra)

    stages = ("local", "dev") if ci == "none" else ("local", "dev", "staging", "prod")
    files = {
        "Pulumi.yaml": fill("Pulumi.yaml"),
        "__main__.py": fill("__main__.py"),
        "requirements.txt": fill("requirements.txt"),
        **{f"stacks/Pulumi.{stage}.yaml": fill(f"{stage}.yaml") for stage in stages},
        "agents/.keep": "",
        ".gitignore": fill("gitignore"),
        "README.md": fill("README.md", ci_section="" if ci == "none" else fill(f"ci-{ci}.md")),
    }
    if ci != "none":
        files[CI_FILES[ci]] = templates.joinpath("ci", _CI_TEMPLATES[ci]).read_text(encoding="utf-8")
    files.update({f"skills/{EXAMPLE_SKILL}/{path}": text for path, text in render_skill(EXAMPLE_SKILL, "job").items()})
    return files


@dataclass(frozen=True)
class StartedProject:
    written: list[str]  # relative paths, in the order they were written
    kept: list[str]  # files of the repository's own that `init` would have made, left as they were


def create_project(folder: Path, ci: CiChoice = "none") -> StartedProject:
    """Write a new project into `folder` (which may be an existing repository). Keeps the
    repository's README.md and .gitignore; refuses, writing nothing, when any other file or folder
    it would make is already there. A write that fails removes what this call made."""
    files = render_project(folder, ci)
    kept = [path for path in KEPT_IF_PRESENT if (folder / path).exists() or (folder / path).is_symlink()]
    for relative in kept:
        del files[relative]
    tops = sorted({path.split("/", 1)[0] for path in files if "/" in path and not path.startswith(".github/")})
    taken = [top for top in tops if _present(folder / top)]
    taken += [relative for relative in files if "/" not in relative and _present(folder / relative)]
    if ci == "github" and _present(folder / CI_FILES["github"]):
        taken.append(CI_FILES["github"])
    if taken:
        raise ScaffoldError(
            f"{folder} already has {', '.join(sorted(taken))}; `skillship init` only starts new projects "
            "(add skills to an existing one with `skillship new`, or start one in a folder of its own: "
            "`skillship init FOLDER`)"
        )
    made: list[Path] = []  # every file and folder this call made, to remove should a write fail
    try:
        for relative, text in files.items():
            for parent in reversed(Path(relative).parents[:-1]):
                if not (folder / parent).is_dir():
                    (folder / parent).mkdir()
                    made.append(folder / parent)
            target = folder / relative
            with open(target, "x", encoding="utf-8") as handle:  # never over a file that appeared meanwhile
                made.append(target)
                handle.write(text)
    except OSError as exc:
        for target in reversed(made):
            if target.is_dir() and not target.is_symlink():
                target.rmdir()
            else:
                target.unlink(missing_ok=True)
        raise ScaffoldError(f"could not write {folder}: {exc.strerror or exc}") from None
    return StartedProject(written=list(files), kept=kept)


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()
