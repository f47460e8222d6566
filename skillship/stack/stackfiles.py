"""Reading a stack's settings straight from the project files, for commands that run without Pulumi.

`pulumi up` reads the same keys through `pulumi.Config` (skillship_components/config.py). Secret values are
encrypted in stack files and only Pulumi can decrypt them: here they are known by name only.
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skillship.paths import display_path
from skillship.source import door
from skillship.source.diagnostics import Diagnostic, Severity, format_field
from skillship.source.door import PULUMI_YAML, Boundary, ReadRefused
from skillship.source.door import STACK_FILE as STACK_KIND
from skillship.source.yamlsource import FieldPath, YamlDocument, YamlSyntaxError, parse_yaml
from skillship.stack.misfiled import misfiled_keys, misfiled_message, near_misfiled_keys
from skillship.stack.settings import (
    CONFIG_NAMESPACE,
    SECRET_KEYS,
    SettingsError,
    ShardName,
    StackSettings,
    config_value,
    parse_shard_stack,
    shard_stacks,
)

PROJECT_FILE = "Pulumi.yaml"
KUBE_CONTEXT_KEY = "kubernetes:context"


class StackFileError(Exception):
    """The project or stack file is missing or unreadable."""


class UnknownStack(StackFileError):
    """No stack file of that name, and no sharded environment whose shard it is."""


@dataclass(frozen=True)
class StackConfig:
    settings: StackSettings
    project_dir: Path
    # skill -> names of secure properties that the stack file sets (their values stay encrypted)
    secret_properties: dict[str, list[str]] = field(default_factory=dict)
    # `kubernetes:context` of the stack file: the kubeconfig context the stack deploys to
    kube_context: str | None = None
    # Which secret keys (SECRET_KEYS) the stack file sets, encrypted
    secret_keys: frozenset[str] = frozenset()
    # For a shard stack: its environment's, whose file holds every setting the shard deploys with
    environment: StackConfig | None = None

    @property
    def stacks(self) -> list[str]:
        """The Pulumi stacks that deploy this stack's environment: itself, then its shards."""
        settings = self.settings
        if settings.shards is None or settings.shard is not None:
            return [settings.pulumi_stack]
        return [settings.stack, *shard_stacks(settings.stack, settings.shards)]


def find_project(start: Path) -> Path:
    """The nearest folder at or above `start` with a Pulumi.yaml."""
    for folder in (start.resolve(), *start.resolve().parents):
        candidate = folder / PROJECT_FILE
        # Anything by that name but a folder: reading it says what is wrong with it (a named pipe).
        if os.path.lexists(candidate) and not candidate.is_dir():
            return folder
    raise StackFileError(f"no {PROJECT_FILE} in {start} or above it: run this inside a Skillship project")


def stack_files(project_dir: Path) -> dict[str, Path]:
    """Stack name -> its settings file, from `stackConfigDir`."""
    config_dir = project_dir / (_read_yaml(project_dir / PROJECT_FILE, project_dir).get("stackConfigDir") or ".")
    return {p.name[len("Pulumi.") : -len(".yaml")]: p for p in sorted(config_dir.glob("Pulumi.*.yaml"))}


@dataclass(frozen=True)
class StackFileLines:
    """Where each `skillship:` key of a stack's settings file is, for the problems that name one.
    Settings that are not in the file (the default of a key, a key given by other means) are
    located at their nearest ancestor that is, or at the file alone."""

    file: str
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def at(self, key: str, *path: str | int) -> tuple[str, int | None, str]:
        """(file, line, field) of `skillship:<key>` and `path` below it."""
        full: FieldPath = ("config", f"{CONFIG_NAMESPACE}:{key}", *path)
        line = None
        while full and line is None:
            line = self.lines.get(full)
            full = full[:-1]
        return self.file, line, ".".join([f"{CONFIG_NAMESPACE}:{key}", *map(str, path)])


def stack_file_lines(project_dir: Path, stack: str) -> StackFileLines:
    """The lines of `Pulumi.<stack>.yaml`; none when it is missing or unreadable (its own commands
    say why), and the file's usual place when the project names no other."""
    try:
        path = stack_files(project_dir).get(stack)
    except StackFileError:
        path = None
    path = path or project_dir / f"Pulumi.{stack}.yaml"
    try:
        return StackFileLines(
            display_path(path), parse_yaml(door.read_text(path, STACK_KIND, Boundary(project_dir))).lines
        )
    except (ReadRefused, YamlSyntaxError):
        return StackFileLines(display_path(path))


def load_stack(project_dir: Path, stack: str) -> StackConfig:
    """A stack's settings: from its file, or, for shard `dev.3` of a sharded `dev`, from dev's."""
    files = stack_files(project_dir)
    found = _shard_of(project_dir, files, stack)
    if found is not None:
        return _load_shard(files, stack, *found)
    if stack not in files:
        known = ", ".join(name for name in files if not _is_shard_file(project_dir, files, name)) or "none"
        raise UnknownStack(f"unknown stack {stack!r} (stacks: {known})")
    return _load_file(project_dir, stack, files[stack])


def read_project_file(project_dir: Path) -> dict[str, Any]:
    """Pulumi.yaml, as parsed. Raises StackFileError."""
    return _read_yaml(project_dir / PROJECT_FILE, project_dir)


def stack_config_mappings(project_dir: Path, stack: str) -> dict[str, dict[str, Any]]:
    """The `config` of each settings file a stack deploys with, by file name: its own (a shard's
    may be missing), and for a shard its environment's. Raises StackFileError."""
    files = stack_files(project_dir)
    names = [stack]
    shard = parse_shard_stack(stack)
    if shard is not None and shard.environment in files and _is_shard_file(project_dir, files, stack):
        names.insert(0, shard.environment)
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        if name in files:
            config = _read_yaml(files[name], project_dir).get("config") or {}
            if not isinstance(config, dict):
                raise StackFileError(f"{files[name]}: 'config' must be a mapping")
            found[files[name].name] = {str(key): value for key, value in config.items()}
    return found


def _shard_of(project_dir: Path, files: dict[str, Path], stack: str) -> tuple[ShardName, StackConfig] | None:
    """The name and the environment of a stack named like a shard of a sharded environment."""
    name = parse_shard_stack(stack)
    if name is None or name.environment not in files:
        return None
    # An environment whose file cannot be read may be sharded: its error, not a guess, is the answer.
    environment = _load_file(project_dir, name.environment, files[name.environment])
    return (name, environment) if environment.settings.shards is not None else None


def _is_shard_file(project_dir: Path, files: dict[str, Path], stack: str) -> bool:
    try:
        return _shard_of(project_dir, files, stack) is not None
    except StackFileError:
        return False


def _load_shard(files: dict[str, Path], stack: str, shard: ShardName, environment: StackConfig) -> StackConfig:
    """A shard has no settings of its own: a file of its name holds only its secrets (Pulumi
    encrypts them per stack, so each shard stack keeps its own copy)."""
    try:
        settings = StackSettings.from_config(
            shard.environment,
            {k: v for k, v in environment.settings.model_dump(by_alias=True).items() if k not in ("stack", "shard")},
            shard=shard.index,
        )
    except SettingsError as exc:
        raise StackFileError(f"{files[shard.environment]}: {exc}") from None
    secrets: dict[str, list[str]] = {}
    keys: set[str] = set()
    own = files.get(stack)
    if own is not None:
        config = _read_yaml(own, environment.project_dir).get("config") or {}
        if not isinstance(config, dict):
            raise StackFileError(f"{own}: 'config' must be a mapping")
        settings_there = sorted(
            str(key) for key in config if str(key).partition(":")[2] not in SECRET_KEYS or not _ours(str(key))
        )
        if settings_there:
            raise StackFileError(
                f"{own}: stack {stack!r} is shard {shard.index} of {shard.environment!r} and takes every setting "
                f"from {files[shard.environment]}: move {', '.join(settings_there)} there (a shard's own file "
                "holds only its secrets)"
            )
        for key, value in config.items():
            name = str(key).partition(":")[2]
            secrets.update(_secret_names(own, name, value))
            keys.add(name)
    return StackConfig(
        settings, environment.project_dir, secrets, environment.kube_context, frozenset(keys), environment
    )


def _ours(key: str) -> bool:
    return key.partition(":")[0] == CONFIG_NAMESPACE


def _load_file(project_dir: Path, stack: str, path: Path) -> StackConfig:
    config = _read_yaml(path, project_dir).get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path}: 'config' must be a mapping")
    misfiled = misfiled_keys(
        map(str, config), str(_read_yaml(project_dir / PROJECT_FILE, project_dir).get("name") or "")
    )
    if misfiled:
        raise StackFileError(f"{path}: {misfiled_message(misfiled)}")
    values: dict[str, Any] = {}
    secrets: dict[str, list[str]] = {}
    keys: set[str] = set()
    context = config.get(KUBE_CONTEXT_KEY)
    for key, value in config.items():
        namespace, _, name = str(key).partition(":")
        if namespace != CONFIG_NAMESPACE or not name:
            continue  # other packages' keys (kubernetes:context, ...)
        if name in SECRET_KEYS:
            secrets.update(_secret_names(path, name, value))
            keys.add(name)
        else:
            values[name] = config_value(value)
    try:
        settings = StackSettings.from_config(stack, values)
    except SettingsError as exc:
        raise StackFileError(_located(exc, stack_file_lines(project_dir, stack))) from None
    if context is not None and (not isinstance(context, str) or not context):
        raise StackFileError(f"{path}: {KUBE_CONTEXT_KEY} must be the name of a kubeconfig context")
    return StackConfig(settings, project_dir, secrets, context, frozenset(keys))


def _located(error: SettingsError, lines: StackFileLines) -> str:
    """One line per bad key, each at its line of the stack file: `FILE:LINE: key: why`."""
    located = []
    for problem, key in zip(error.problems, error.keys, strict=True):
        file, line, _ = lines.at(*key) if key else (lines.file, None, "")
        located.append(f"{file}:{line}: {problem}" if line else f"{file}: {problem}")
    return f"stack {error.stack!r} has bad settings:\n" + "\n".join(located)


def _is_encrypted(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _secret_names(path: Path, key: str, value: Any) -> dict[str, list[str]]:
    """Names of the secure property values a stack sets; refuses any secret kept in plain text."""
    plain = f"{path}: {CONFIG_NAMESPACE}:{key} holds a secret in plain text; set it with `pulumi config set --secret`"
    if key != "secrets":
        if not _is_encrypted(value):
            raise StackFileError(plain)
        return {}
    if _is_encrypted(value):
        raise StackFileError(
            f"{path}: set {CONFIG_NAMESPACE}:secrets per property, with "
            "`pulumi config set --secret --path 'skillship:secrets.SKILL[\"PROPERTY\"]' VALUE`"
        )
    if not isinstance(value, dict) or not all(isinstance(props, dict) for props in value.values()):
        raise StackFileError(f"{path}: {CONFIG_NAMESPACE}:secrets must map each skill to its secure property values")
    for props in value.values():
        if not all(_is_encrypted(v) for v in props.values()):
            raise StackFileError(plain)
    return {skill: sorted(props) for skill, props in value.items()}


def _read_yaml(path: Path, project_dir: Path) -> dict[str, Any]:
    """A stack file or Pulumi.yaml, through the door and the workspace's YAML loader: inside the
    project, a regular file of at most a MiB, UTF-8, aliases and depth bounded, no key twice
    (Pulumi's own loader refuses one too). Raises StackFileError, naming the file and the line."""
    kind = PULUMI_YAML if path.name == PROJECT_FILE else STACK_KIND
    try:
        document = _parsed(door.read_text(path, kind, Boundary(project_dir)))
    except ReadRefused as exc:
        raise StackFileError(f"{path}: {exc.message}") from None
    except YamlSyntaxError as exc:
        where = f"{path}:{exc.line}" if exc.line else f"{path}"
        raise StackFileError(f"{where}: not valid YAML ({exc.message})") from None
    if document.duplicate_keys:
        duplicate = document.duplicate_keys[0]
        raise StackFileError(
            f"{path}:{duplicate.line}: {format_field(duplicate.path)} is set twice (first at line "
            f"{duplicate.first_line}); Pulumi refuses such a file"
        )
    if document.data is None:
        return {}
    if not isinstance(document.data, dict):
        raise StackFileError(f"{path}: expected a mapping of settings, not {type(document.data).__name__}")
    return copy.deepcopy(document.data)  # the caller's own: the parse is shared


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> YamlDocument:
    """A settings file's parse, by its text: the pipeline loads each of a sharded environment's
    stacks, and each load reads Pulumi.yaml and the environment's file again (131 parses for 17
    stacks). The file is read every time; only the same text is not parsed twice."""
    return parse_yaml(text)


def project_problems(project_dir: Path, stack: str, namespace: str) -> list[Diagnostic]:
    """What is wrong with a stack among its project's stacks (plan_deployment's stack_problems):
    keys under the project's own namespace that nearly name a setting, and another stack of the
    project deploying to the same namespace."""
    return _near_misfiled(project_dir, stack) + _namespace_shared(project_dir, stack, namespace)


def _near_misfiled(project_dir: Path, stack: str) -> list[Diagnostic]:
    try:
        path = stack_files(project_dir).get(stack)
        config = _read_yaml(path, project_dir).get("config") if path else None
        project = str(_read_yaml(project_dir / PROJECT_FILE, project_dir).get("name") or "")
    except StackFileError:
        return []  # the stack's own commands report the file
    if not isinstance(config, dict):
        return []
    lines = stack_file_lines(project_dir, stack)
    problems = []
    for key, meant in near_misfiled_keys(map(str, config), project).items():
        problems.append(
            Diagnostic(
                lines.file,
                lines.lines.get(("config", key)),
                key,
                Severity.WARNING,
                "setting-misfiled",
                f"{key} is under the project's namespace, where Skillship reads nothing; did you mean "
                f"{CONFIG_NAMESPACE}:{meant}? (`pulumi config set --stack {stack} [--secret] "
                f"{CONFIG_NAMESPACE}:{meant} ...`, then `pulumi config rm --stack {stack} {key}`)",
            )
        )
    return problems


def _namespace_shared(project_dir: Path, stack: str, namespace: str) -> list[Diagnostic]:
    """Another stack of the project deploying to the same namespace. Their objects share names (each
    skill's ServiceAccount, Service, ...), so one `pulumi up` would take over, and its `destroy`
    delete, the other's. A stack file that cannot be read counts as no stack here: its own
    commands report it."""
    sharing = []
    files = stack_files(project_dir)
    for other, path in files.items():
        try:
            if other == stack or _shard_of(project_dir, files, other) is not None:
                continue  # a shard's file holds no settings: its environment's are its own
            if _load_file(project_dir, other, path).settings.namespace == namespace:
                sharing.append(other)
        except StackFileError:
            continue
    if not sharing:
        return []
    others = ", ".join(repr(s) for s in sharing)
    file, line, key = stack_file_lines(project_dir, stack).at("namespace")
    return [
        Diagnostic(
            file,
            line,
            key,
            Severity.ERROR,
            "namespace-shared",
            f"stack {stack!r} deploys to namespace {namespace!r}, as stack(s) {others} of this project do: "
            "their objects share names, so one would replace (and its destroy delete) the other's; give "
            "each stack its own skillship:namespace",
        )
    ]
