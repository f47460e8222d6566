"""Finding and reading a workspace: `skills/**/skill.yaml` and `agents/*.yaml`.

Reading never raises for bad content: every problem becomes a Diagnostic and the file is left out
of the model, so one pass reports everything. Rules that span files are in `skillship.checks.validation`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from skillship.paths import display_path
from skillship.source import door
from skillship.source.diagnostics import Diagnostics
from skillship.source.door import ACTION_JSON, AGENT_FILE, POD_SPEC, SKILL_FILE, Boundary, FileKind, ReadRefused
from skillship.source.models import Action, ActionFile, Agent, AgentSkill, Skill
from skillship.source.podspec import PodOverrides, read_podspec
from skillship.source.yamlsource import FieldPath, YamlDocument, YamlSyntaxError, parse_yaml

_SKIPPED_DIRS = {"node_modules", "__pycache__", "venv"}
_SKILL_PARTS = {"actions", "invoke"}  # a skill's own folders hold build contexts and messages, never skills
_PLACEHOLDER = re.compile(r"\{\{\s*[^{}\s]+\s*\}\}")
_RAW_KEY = re.compile(r"^\s*(?:-\s+)?([^:#\s][^:#]*?)\s*:")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ActionSource:
    """Where an action is declared: in skill.yaml's `actions` (its build context is exactly
    actions/<name>/), or, in the older layout, in an `action.json` beside its build context."""

    action: Action
    context: Path
    display: str  # the file that declares it
    document: YamlDocument
    path: FieldPath  # its place in that file: ("actions", i), or () for an action.json
    podspec: PodOverrides | None = None

    @property
    def in_skill_file(self) -> bool:
        return bool(self.path)

    def line(self, sub: FieldPath = ()) -> int | None:
        return self.document.line((*self.path, *sub))

    def field(self, sub: FieldPath = ()) -> FieldPath:
        return (*self.path, *sub)


@dataclass(frozen=True)
class SkillSource:
    """A skill as read from its skill.yaml, with where it came from. `skill.actions` holds every
    action, those of action.json files after those of skill.yaml; `actions` says where each is."""

    skill: Skill
    file: Path
    display: str
    document: YamlDocument
    actions: tuple[ActionSource, ...] = ()

    @property
    def directory(self) -> Path:
        return self.file.parent

    @property
    def declares_actions(self) -> bool:
        """Whether skill.yaml has an `actions` key: older files have none, their actions being
        declared beside their build contexts (or deployed by a Makefile step)."""
        return isinstance(self.document.data, dict) and "actions" in self.document.data

    def build_context(self, action: str) -> Path:
        """FORMAT.md: the build context of an action is exactly actions/<action name>/, or the
        folder of the action.json that declares it."""
        for declared in self.actions:
            if declared.action.name == action:
                return declared.context
        return self.directory / "actions" / action

    def action_source(self, action: str) -> ActionSource | None:
        return next((a for a in self.actions if a.action.name == action), None)

    def line(self, path: FieldPath) -> int | None:
        return self.document.line(path)


@dataclass(frozen=True)
class AgentSource:
    agent: Agent
    file: Path
    display: str
    document: YamlDocument

    def line(self, path: FieldPath) -> int | None:
        return self.document.line(path)


@dataclass(frozen=True)
class Workspace:
    root: Path
    skills_dir: Path
    agents_dir: Path | None
    skills: tuple[SkillSource, ...]
    agents: tuple[AgentSource, ...]

    @cached_property
    def boundary(self) -> Boundary:
        """The folder nothing outside of which is ever read: the root, or the folder holding both
        `skills/` and `agents/` when the skills folder itself was given."""
        root = Boundary(self.root)
        if self.agents_dir is not None and root.escapes(self.agents_dir):
            return Boundary(
                Path(os.path.commonpath([os.path.abspath(self.skills_dir), os.path.abspath(self.agents_dir)]))
            )
        return root

    def skill(self, name: str) -> SkillSource | None:
        return self._by_name.get(name)

    def agent_entries(self, skill_name: str) -> tuple[tuple[Agent, AgentSkill], ...]:
        """Each agent entry that names the skill, with its agent, in file order."""
        return self._entries_by_skill.get(skill_name, ())

    @cached_property
    def _entries_by_skill(self) -> dict[str, tuple[tuple[Agent, AgentSkill], ...]]:
        # one pass over every agent: scanning them all for each skill made planning quadratic
        index: dict[str, list[tuple[Agent, AgentSkill]]] = {}
        for source in self.agents:
            for ref in source.agent.skills:
                index.setdefault(ref.skill_name, []).append((source.agent, ref))
        return {name: tuple(entries) for name, entries in index.items()}

    @cached_property
    def _by_name(self) -> dict[str, SkillSource]:
        """First definition wins, as validation reports the later ones as duplicates."""
        index: dict[str, SkillSource] = {}
        for source in self.skills:
            index.setdefault(source.skill.name, source)
        return index


def find_workspace(start: Path) -> Path | None:
    """The workspace a command run in `start` without naming one means: `start` when it holds
    `skills/` (or is that folder), else the project's above it (the nearest folder with a
    Pulumi.yaml, when it holds `skills/`); None when neither, rather than walking whatever
    `start` holds (a home folder, `/`)."""
    start = start.resolve()
    if (start / "skills").is_dir() or start.name == "skills":
        return start
    for folder in start.parents:
        if os.path.lexists(folder / "Pulumi.yaml"):
            return folder if (folder / "skills").is_dir() else None
    return None


def resolve_layout(path: Path) -> tuple[Path, Path, Path | None]:
    """(root, skills dir, agents dir) for a workspace root or its `skills/` folder."""
    if (path / "skills").is_dir():
        agents = path / "agents"
        return path, path / "skills", agents if agents.is_dir() else None
    agents = path / "agents"
    if not agents.is_dir() and path.name == "skills":
        agents = path.parent / "agents"
    return path, path, agents if agents.is_dir() else None


# A workspace of 1,000 skills has a few thousand folders: far more means the walk is not in a
# workspace (a home folder, `/`), and it stops with an error instead of reading everything below.
MAX_FOLDERS = 50_000


def find_skill_files(skills_dir: Path, diagnostics: Diagnostics, boundary: Boundary) -> list[Path]:
    """Every skill.yaml below `skills_dir`, skipping hidden and tool folders, virtualenvs and other
    projects, in a stable order. Links are never followed into folders; one that leads outside
    `boundary` is reported. The walk stops, reporting it, after MAX_FOLDERS folders."""
    found: list[Path] = []
    folders = 0
    for current, dirs, files in os.walk(skills_dir):
        folders += 1
        if folders > MAX_FOLDERS:
            diagnostics.error(
                display_path(skills_dir),
                None,
                None,
                "no-workspace",
                f"more than {MAX_FOLDERS:,} folders below it: not a workspace; name the workspace's root",
            )
            break
        if "skill.yaml" in dirs:
            # A folder where the skill's file belongs: taken as the file, so reading it reports
            # "Is a directory" at its path instead of the skill vanishing without a word.
            files = [*files, "skill.yaml"]
            dirs.remove("skill.yaml")
        skipped = _SKIPPED_DIRS | (_SKILL_PARTS if "skill.yaml" in files else set())
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in skipped and not _foreign(current, d))
        for name in dirs:
            folder = Path(current) / name
            if folder.is_symlink() and boundary.escapes(folder):
                diagnostics.error(
                    display_path(folder),
                    None,
                    None,
                    "outside-workspace",
                    f"a link to {os.path.realpath(folder)}, outside the workspace; skills there are not read",
                )
        if "skill.yaml" in files:
            found.append(Path(current) / "skill.yaml")
    return sorted(found)


def _foreign(parent: str, name: str) -> bool:
    """A virtualenv (any name: it has pyvenv.cfg) or another Pulumi project: never skills of ours."""
    folder = os.path.join(parent, name)
    return os.path.lexists(os.path.join(folder, "pyvenv.cfg")) or os.path.lexists(os.path.join(folder, "Pulumi.yaml"))


_AGENT_KEYS = (re.compile(r"^camel\s*:", re.M), re.compile(r"^mappings\s*:", re.M))


def find_agent_files(agents_dir: Path | None, root: Path, boundary: Boundary) -> list[Path]:
    """`agents/*.yaml`, and agent files at the workspace's root, where some projects keep them
    (FORMAT.md): a YAML file there is an agent when it has top-level `camel` and `mappings` keys;
    any other (Pulumi.yaml, a CI file) is none of Skillship's business. A file at the root that
    cannot be read is not looked into (it is none of ours either)."""
    found = []
    if agents_dir is not None:
        found += [p for p in agents_dir.iterdir() if p.suffix in (".yaml", ".yml") and not p.is_dir()]
    for path in root.iterdir() if root != agents_dir else ():
        if path.suffix not in (".yaml", ".yml"):
            continue
        try:
            head = door.read_bytes(path, AGENT_FILE, boundary).decode("utf-8", errors="replace")
        except ReadRefused:
            continue
        if all(key.search(head) for key in _AGENT_KEYS):
            found.append(path)
    return sorted(found)


def read_text(
    path: Path, display: str, diagnostics: Diagnostics, kind: FileKind, boundary: Boundary | None = None
) -> str | None:
    """The file's text through the door (skillship.source.door), or None after reporting why it
    cannot be read."""
    try:
        return door.read_text(path, kind, boundary)
    except ReadRefused as exc:
        diagnostics.error(display, None, None, exc.code, exc.message)
    return None


def report_placeholders(text: str, display: str, document: YamlDocument | None, diagnostics: Diagnostics) -> bool:
    """Template files hold `{{skillname}}` until rendered; name each one. True if any was found."""
    if "{{" not in text:
        return False  # the usual case: skip building the line-to-field map
    found = False
    fields_by_line: dict[int, FieldPath] = {}
    if document is not None:
        for path, line in document.lines.items():
            if path and len(path) >= len(fields_by_line.get(line, ())):
                fields_by_line[line] = path
    for number, line_text in enumerate(text.splitlines(), start=1):
        for match in _PLACEHOLDER.finditer(line_text):
            found = True
            field: FieldPath | str | None = fields_by_line.get(number)
            if field is None:
                raw = _RAW_KEY.match(line_text)
                field = raw.group(1) if raw else None
            diagnostics.error(
                display,
                number,
                field,
                "unrendered-placeholder",
                f"template placeholder {match.group(0)} was never filled in",
            )
    return found


def parse_document(text: str, display: str, diagnostics: Diagnostics) -> YamlDocument | None:
    """Parse YAML, reporting syntax errors, placeholders and duplicate keys."""
    try:
        document = parse_yaml(text)
    except YamlSyntaxError as exc:
        if not report_placeholders(text, display, None, diagnostics):
            diagnostics.error(display, exc.line, None, "yaml-syntax", f"not valid YAML: {exc.message}")
        return None
    report_placeholders(text, display, document, diagnostics)
    for duplicate in document.duplicate_keys:
        diagnostics.error(
            display,
            duplicate.line,
            duplicate.path,
            "duplicate-key",
            f"key given twice (first on line {duplicate.first_line}); YAML would keep only the last",
        )
    if not isinstance(document.data, dict):
        kind = "empty" if document.data is None else f"a {type(document.data).__name__}"
        diagnostics.error(
            display, document.line(()), None, "not-a-mapping", f"the file is {kind}, expected a mapping of keys"
        )
        return None
    return document


def build_model(model: type[M], document: YamlDocument, display: str, diagnostics: Diagnostics) -> M | None:
    """Validate data into `model`, turning each pydantic error into a located Diagnostic."""
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            path = data_path(document.data, error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "missing":
                message = f"required field '{error['loc'][-1]}' is missing"
            diagnostics.error(display, document.line(path), path, "schema", message)
        return None


def data_path(data: Any, loc: tuple[Any, ...]) -> FieldPath:
    """Keep the parts of a pydantic error location that exist in the data (drop union tags)."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:
            current = current[part]
            path.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            path.append(part)
        elif isinstance(current, dict) and isinstance(part, str) and not any(c in part for c in "[],"):
            path.append(part)  # a missing key: name it, the line falls back to its parent
            current = None
    return tuple(path)


def _read_sources(
    files: list[Path], model: type[M], kind: FileKind, diagnostics: Diagnostics, boundary: Boundary
) -> Iterator[tuple[M, Path, str, YamlDocument]]:
    for file in files:
        display = display_path(file)
        text = read_text(file, display, diagnostics, kind, boundary)
        if text is None:
            continue
        document = parse_document(text, display, diagnostics)
        if document is None:
            continue
        built = build_model(model, document, display, diagnostics)
        if built is not None:
            yield built, file, display, document


# A skill's own example message: invoke/request/message.json, else, in older skills, a payload file.
DEFAULT_MESSAGE = Path("invoke", "request", "message.json")
DEFAULT_MESSAGES = (DEFAULT_MESSAGE, Path("test", "payload.json"), Path("tests", "payload.json"))


def default_message_file(directory: Path) -> Path | None:
    """The first of DEFAULT_MESSAGES the skill's folder has."""
    return next((directory / p for p in DEFAULT_MESSAGES if (directory / p).is_file()), None)


ACTION_FILE = "action.json"
PODSPEC_FILE = "podspec.json"


def with_actions(source: SkillSource, diagnostics: Diagnostics, boundary: Boundary) -> SkillSource:
    """The skill with every action it declares: skill.yaml's, then each action.json's (at the
    skill's root or in a folder of it, one per build context)."""
    declared = [
        ActionSource(
            action, source.directory / "actions" / action.name, source.display, source.document, ("actions", i)
        )
        for i, action in enumerate(source.skill.actions)
    ]
    for file in _action_files(source.directory):
        found = _read_action_file(file, diagnostics, boundary)
        if found is not None:
            declared.append(found)
    if len(declared) == len(source.skill.actions):
        return SkillSource(source.skill, source.file, source.display, source.document, tuple(declared))
    skill = source.skill.model_copy(update={"actions": [d.action for d in declared]})
    return SkillSource(skill, source.file, source.display, source.document, tuple(declared))


def _action_files(directory: Path) -> list[Path]:
    found = [directory / ACTION_FILE] if (directory / ACTION_FILE).is_file() else []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if (
            entry.is_dir(follow_symlinks=False)
            and not entry.name.startswith(".")
            and entry.name not in (_SKIPPED_DIRS | _SKILL_PARTS)
        ):
            candidate = Path(entry.path) / ACTION_FILE
            if candidate.is_file():
                found.append(candidate)
    return found


def _read_action_file(file: Path, diagnostics: Diagnostics, boundary: Boundary) -> ActionSource | None:
    display = display_path(file)
    text = read_text(file, display, diagnostics, ACTION_JSON, boundary)
    document = parse_document(text, display, diagnostics) if text is not None else None
    if document is None:
        return None
    action = build_model(ActionFile, document, display, diagnostics)
    if action is None:
        return None
    podspec = None
    podspec_file = file.parent / PODSPEC_FILE
    if podspec_file.is_file() and not boundary.escapes(podspec_file):
        podspec_display = display_path(podspec_file)
        podspec_text = read_text(podspec_file, podspec_display, diagnostics, POD_SPEC, boundary)
        if podspec_text is not None:
            try:
                podspec = read_podspec(parse_yaml(podspec_text), podspec_display, diagnostics)
            except YamlSyntaxError as exc:
                diagnostics.error(podspec_display, exc.line, None, "podspec", f"not valid JSON: {exc.message}")
    plain = Action.model_validate(action.model_dump(by_alias=True))
    return ActionSource(plain, file.parent, display, document, (), podspec)


def read_workspace(path: Path, diagnostics: Diagnostics) -> Workspace:
    """Read every skill and agent file under `path`; problems go to `diagnostics`."""
    root, skills_dir, agents_dir = resolve_layout(path)
    if not skills_dir.is_dir():
        diagnostics.error(display_path(skills_dir), None, None, "no-workspace", "no such directory")
        return Workspace(root, skills_dir, None, (), ())
    boundary = Workspace(root, skills_dir, agents_dir, (), ()).boundary
    skill_files = find_skill_files(skills_dir, diagnostics, boundary)
    if not skill_files:
        diagnostics.error(display_path(skills_dir), None, None, "no-skills", "no skill.yaml found below this directory")
    skills = tuple(
        with_actions(SkillSource(m, f, d, doc), diagnostics, boundary)
        for m, f, d, doc in _read_sources(skill_files, Skill, SKILL_FILE, diagnostics, boundary)
    )
    agents = tuple(
        AgentSource(m, f, d, doc)
        for m, f, d, doc in _read_sources(
            find_agent_files(agents_dir, root, boundary), Agent, AGENT_FILE, diagnostics, boundary
        )
    )
    return Workspace(root, skills_dir, agents_dir, skills, agents)
