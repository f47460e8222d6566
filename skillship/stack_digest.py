"""What a stack's `pulumi up` declares, as one digest: the inputs of a stack's objects, compared
before the engine starts so that a stack whose inputs did not change is not deployed again
(docs/scale.md, "Deploys that cost what changed").

The digest is made of parts, each named, so a deploy can say which part moved:

objects    every object the stack declares, as `render` shows it: images by content tag (so every
           file of a build context), messages, labels, the Istio handling; a shard's share only
share      the names of the skills the stack deploys: when it has not moved, no skill left the
           stack, and the pipeline has none to release from its state (skillship_pipeline.stages)
settings   the stack's settings files as parsed (its own, and for a shard its environment's),
           other packages' keys (`kubernetes:context`) and secrets' ciphertext included
password   the registry password the pipeline sets for the run, through scrypt (a digest in a
           stack output must not be a cheap way to test guesses)
program    Pulumi.yaml and the project's own Python files (its `__main__.py`, any modules of its own)
packages   the source of Skillship's packages and the versions of the Pulumi SDK and providers
cluster    the kubeconfig context the stack deploys to and that context's API server

What it cannot see: a change made by hand in the cluster, or a cluster replaced behind the same
server address. `skillship-pipeline deploy --all` and `pulumi refresh` are for those.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from skillship.manifests import stack_objects
from skillship.manifests.labels import LABEL_SKILL
from skillship.plan import DeploymentPlan
from skillship.stack.stackfiles import StackConfig, read_project_file, stack_config_mappings

VERSION = 1  # of the digest's making: a new one makes every stack deploy once
SKILL_DIGEST = 16  # hex characters of each skill's digest: a stack output of a thousand skills stays small
REGISTRY_PASSWORD_KEY = "skillship:registryPassword"
# Set while the pipeline deploys some skills only (`--skill`): the program records no digest then.
SOME_SKILLS_ONLY_ENV = "SKILLSHIP_SOME_SKILLS_ONLY"
# Where skillship-pipeline takes the registry password from (the CI's secret store puts it there).
REGISTRY_PASSWORD_ENV = "SKILLSHIP_REGISTRY_PASSWORD"
PACKAGES = ("skillship", "skillship_components", "skillship_runtime")
DISTRIBUTIONS = ("skillship", "pulumi", "pulumi-kubernetes", "pulumi-docker-build")
# Folders of a project that hold no program: tools' caches and virtualenvs.
_NOT_PROGRAM = frozenset({"__pycache__", "node_modules"})


@dataclass(frozen=True)
class StackDigest:
    """A stack's inputs digest and its parts (each a hex SHA-256)."""

    stack: str
    parts: Mapping[str, str]
    # Each skill's own objects (those labelled as its), for a deploy of some skills only: which of
    # the skills wired to them changed too. Not part of `digest`: `objects` holds them all.
    skills: Mapping[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return _sha256(_canonical({"version": VERSION, "parts": dict(self.parts)}))

    def as_output(self) -> dict[str, Any]:
        """The stack output `inputs`, and what the pipeline compares."""
        return {"version": VERSION, "digest": self.digest, "parts": dict(self.parts), "skills": dict(self.skills)}


def stack_digests(
    configs: Sequence[StackConfig], plan: DeploymentPlan, *, registry_password: str | None
) -> list[StackDigest]:
    """The digests of an environment's stacks (its base and its shards) from its plan. The program
    part is made once for stacks that skip the same folders; each shard renders to a folder of its
    own (`rendered/dev.3`) unless `renderDir` is set, so shards mostly make their own."""
    programs: dict[tuple[Path, str, str], str] = {}

    def program(config: StackConfig) -> str:
        key = (config.project_dir, config.settings.workspace_dir, config.settings.output_dir)
        if key not in programs:
            programs[key] = _program_part(config)
        return programs[key]

    return [stack_digest(config, plan, registry_password=registry_password, program=program) for config in configs]


def stack_digest(
    config: StackConfig,
    plan: DeploymentPlan,
    *,
    registry_password: str | None,
    program: Callable[[StackConfig], str] | None = None,
) -> StackDigest:
    """The digest of stack `config` (a shard, a base stack or a whole stack) from `plan`, which may
    be its environment's: a shard's share is taken here, so the program (which plans its own share)
    and the pipeline (which plans the environment once) digest the same objects. `program` makes
    the program part (stack_digests shares one between stacks)."""
    settings = config.settings
    project = config.project_dir
    share = plan.share(config.settings)
    objects = _sorted_objects(share)
    # Each object encoded once, for the whole and for its skill's digest: a list's canonical JSON is
    # its items' joined by commas, so the digests are those of _canonical(objects) and of each list.
    encoded = [_canonical(obj) for obj in objects]
    by_skill: dict[str, list[bytes]] = {}
    for obj, text in zip(objects, encoded, strict=True):
        label = ((obj.get("metadata") or {}).get("labels") or {}).get(LABEL_SKILL)
        if label:
            by_skill.setdefault(label, []).append(text)
    mappings = stack_config_mappings(project, settings.pulumi_stack)  # read once: two parts use them
    parts = {
        "objects": _sha256(_canonical_list(encoded)),
        "share": _sha256(_canonical(sorted({w.skill for w in (*share.tasks, *share.daemons)}))),
        "settings": _sha256(_canonical(_settings_files(mappings, registry_password is not None))),
        "program": (program or _program_part)(config),
        "packages": _packages_digest(),
        "cluster": _sha256(_canonical(_cluster(config, mappings))),
    }
    if registry_password is not None:
        parts["password"] = _password_part(registry_password, settings.stack)
    skills = {skill: _sha256(_canonical_list(found))[:SKILL_DIGEST] for skill, found in sorted(by_skill.items())}
    return StackDigest(settings.pulumi_stack, parts, skills)


@functools.lru_cache(maxsize=4)
def _password_part(password: str, environment: str) -> str:
    """scrypt (16 MiB, about 50 ms): the stack output is readable by whoever reads the state, and a
    plain hash of a short password would test a guess in a nanosecond. One per environment, whose
    shards share the password."""
    salt = f"skillship-inputs:{environment}".encode()
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1).hex()


def _sorted_objects(plan: DeploymentPlan) -> list[dict[str, Any]]:
    def key(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
        meta = obj.get("metadata") or {}
        return (obj.get("apiVersion", ""), obj.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))

    return sorted(stack_objects(plan), key=key)


def _settings_files(mappings: dict[str, dict[str, Any]], password_given: bool) -> dict[str, Any]:
    """The settings files as parsed: their comments and layout are not inputs. The registry password
    the pipeline sets for a run is left out when given (it is its own part): the pipeline writes it
    into the file, with a new ciphertext, on every run."""
    if password_given:
        mappings = {
            name: {key: value for key, value in mapping.items() if key != REGISTRY_PASSWORD_KEY}
            for name, mapping in mappings.items()
        }
    # A file with no settings is as good as none: Pulumi writes a shard's when it sets the password.
    return {name: _as_text(mapping) for name, mapping in mappings.items() if mapping}


def _as_text(value: Any) -> Any:
    """A setting as Pulumi keeps it: when it makes a stack it writes the file again, with each
    top-level value quoted (`buildImages: false` becomes `"false"`), which changes nothing."""
    if isinstance(value, dict):
        return {str(key): _as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_text(item) for item in value]
    return value if isinstance(value, str) else json.dumps(value)


def _program_part(config: StackConfig) -> str:
    """Pulumi.yaml as parsed (its runtime, its options), and the project's Python files."""
    project = config.project_dir
    return _sha256(
        _canonical(
            {
                "project": read_project_file(project),
                "files": _files_digest(project, _program_files(project, config)),
            }
        )
    )


def _program_files(project: Path, config: StackConfig) -> Iterator[Path]:
    """Every Python file of the project outside its skills, agents and renders (those reach the
    stack as objects), hidden folders and virtualenvs."""
    workspace = project / config.settings.workspace_dir
    skip = {
        os.path.realpath(p) for p in (workspace / "skills", workspace / "agents", project / config.settings.output_dir)
    }
    for folder, dirs, files in os.walk(project):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _NOT_PROGRAM
            and os.path.realpath(os.path.join(folder, d)) not in skip
            and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg"))
        )
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(folder) / name


def _files_digest(root: Path, files: Iterator[Path]) -> str:
    found = hashlib.sha256()
    for path in files:
        try:
            content = path.read_bytes()
        except OSError as exc:  # unreadable here is unreadable to the program too: a change of its own
            content = f"unreadable: {exc.strerror}".encode()
        relative = os.path.relpath(path, root)
        found.update(f"{relative}\0{hashlib.sha256(content).hexdigest()}\n".encode())
    return found.hexdigest()


@functools.lru_cache(maxsize=1)
def _packages_digest() -> str:
    """Skillship's packages as found where the program finds them, and the versions installed."""
    found = hashlib.sha256()
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        for folder in folders:
            found.update(f"{package}\0{_files_digest(Path(folder), _package_files(Path(folder)))}\n".encode())
    for distribution in DISTRIBUTIONS:
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            version = "absent"
        found.update(f"{distribution}=={version}\n".encode())
    return found.hexdigest()


def _package_files(folder: Path) -> Iterator[Path]:
    for parent, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _NOT_PROGRAM)
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                yield Path(parent) / name


def _cluster(config: StackConfig, mappings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The context the stack deploys to and that context's API server, from the kubeconfig a
    `pulumi up` here would read (KUBECONFIG's files, first one first, or ~/.kube/config). Not the
    credentials: a CI that writes a fresh token for each run deploys to the same cluster."""
    if config.settings.renders:
        return {"target": "render"}
    explicit = next((m["kubernetes:kubeconfig"] for m in mappings.values() if "kubernetes:kubeconfig" in m), None)
    if isinstance(explicit, str) and Path(explicit).expanduser().is_file():
        paths = [Path(explicit).expanduser()]
    elif explicit is not None:
        return {"kubeconfig": "in the stack's settings"}  # its text is in the settings part
    else:
        listed = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        paths = [Path(p) for p in listed.split(os.pathsep) if p]
    contexts: dict[str, Any] = {}
    clusters: dict[str, Any] = {}
    current: str | None = None
    for path in paths:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # the engine says what is wrong with it; the digest notes only what it found
        if not isinstance(document, dict):
            continue
        current = current or document.get("current-context") or None
        for entry in document.get("contexts") or []:
            if isinstance(entry, dict) and "name" in entry:
                contexts.setdefault(str(entry["name"]), entry.get("context") or {})
        for entry in document.get("clusters") or []:
            if isinstance(entry, dict) and "name" in entry:
                clusters.setdefault(str(entry["name"]), entry.get("cluster") or {})
    name = config.kube_context or current
    context = contexts.get(name or "") or {}
    cluster = clusters.get(str(context.get("cluster") or "")) or {}
    return {"context": name, "server": cluster.get("server") if isinstance(cluster, dict) else None}


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _canonical_list(encoded: list[bytes]) -> bytes:
    """_canonical of a list, from its items' _canonical."""
    return b"[" + b",".join(encoded) + b"]"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
