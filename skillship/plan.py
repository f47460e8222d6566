"""What a stack deploys: one task per job action, with its image, message and names.

`plan_deployment` is the only place where the workspace and the stack's settings meet. It checks
everything that needs both (unknown skills in settings, missing required properties, a message
for every task) and reports all problems at once, before any object exists.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Collection, Mapping

from skillship.digest import ContextDigest, digest_context
from skillship.models import Action
from skillship.names import action_name, k8s_name, short_hash, skill_name
from skillship.settings import IstioMode, StackSettings
from skillship.workspace import SkillSource, Workspace

# The platform limited messages to 100 kB, and Linux limits one argv element to 128 kB: larger
# messages travel in a ConfigMap, whose own limit is 1 MiB.
ARGV_MESSAGE_LIMIT = 100 * 1000
MESSAGE_LIMIT = 900 * 1000
_JOB_NAME_BASE = 54  # + "-" + 8 hex = 63
_ENV_NAME = re.compile(r"[^A-Z0-9]+")


class PlanError(Exception):
    def __init__(self, stack: str, problems: list[str]) -> None:
        super().__init__(f"stack {stack!r} cannot be deployed:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class TaskPlan:
    """One job action of one skill, as this stack runs it."""

    key: str
    source: SkillSource
    action: Action
    name: str
    job_name: str
    service_account: str
    digest: ContextDigest
    repository: str
    prebuilt_image: str | None
    envelope: dict[str, Any]
    secure_properties: tuple[str, ...]

    @property
    def skill(self) -> str:
        return self.source.skill.name

    @property
    def context(self) -> Path:
        return self.source.build_context(self.action.name)

    @property
    def image_by_tag(self) -> str:
        """The image reference known before any build: prebuilt, or repository:content-tag."""
        return self.prebuilt_image or f"{self.repository}:{self.digest.tag}"

    @cached_property
    def message_json(self) -> str:
        """The envelope as the job receives it; several builders need it, so it is made once."""
        return canonical_json(self.envelope)

    @property
    def message_in_file(self) -> bool:
        return len(self.message_json.encode("utf-8")) > ARGV_MESSAGE_LIMIT

    @property
    def activation_id(self) -> str:
        return self.envelope["activationId"]


@dataclass(frozen=True)
class DeploymentPlan:
    settings: StackSettings
    tasks: tuple[TaskPlan, ...]
    warnings: tuple[str, ...] = ()

    def task(self, key: str) -> TaskPlan | None:
        return next((t for t in self.tasks if t.key == key or t.skill == key), None)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def secret_env_name(prop: str) -> str:
    """The environment variable that carries a secure property: `api.token` -> SKILLSHIP_SECRET_API_TOKEN."""
    return "SKILLSHIP_SECRET_" + _ENV_NAME.sub("_", prop.upper()).strip("_")


def image_repository(action: Action, skill: str, registry: str | None) -> str:
    """FORMAT.md: `image` is a bare name (the registry is prefixed) or a full registry path."""
    image = action.image or action_name(skill, action.name)
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"{registry.rstrip('/')}/{image}" if registry else image


def plan_deployment(
    workspace: Workspace,
    settings: StackSettings,
    *,
    project_dir: Path,
    secret_properties: Mapping[str, Collection[str]] | None = None,
    digester: Callable[[Path], ContextDigest] = digest_context,
) -> DeploymentPlan:
    """The tasks of a stack. Raises PlanError listing every problem."""
    secret_properties = secret_properties or {}
    problems: list[str] = []
    known = {s.skill.name for s in workspace.skills}
    for key, what in ((settings.skills or [], "skills"), (settings.messages, "messages"), (settings.properties, "properties"),
                      (secret_properties, "secrets")):
        for name in sorted(key):
            if name not in known:
                problems.append(f"skillship:{what} names skill {name!r}, which is not in the workspace")
    for name in sorted(settings.images):
        if name.split("/", 1)[0] not in known:
            problems.append(f"skillship:images names {name!r}, which is not a skill (or skill/action) of the workspace")

    tasks: list[TaskPlan] = []
    for source in workspace.skills:
        if not settings.deploys(source.skill.name):
            continue
        jobs = [a for a in source.skill.actions if a.type == "job"]
        if not jobs:
            continue
        secrets = set(secret_properties.get(source.skill.name, ()))
        inputs = _skill_inputs(source, settings, project_dir, secrets, problems)
        if inputs is None:
            continue
        for action in jobs:
            task = _plan_task(source, action, len(jobs) > 1, settings, *inputs, secrets, digester, problems)
            if task is not None:
                tasks.append(task)
    if problems:
        raise PlanError(settings.stack, problems)
    warnings = [w for t in tasks if (w := proxy_stop_warning(t, settings)) is not None]
    return DeploymentPlan(settings, tuple(sorted(tasks, key=lambda t: t.key)), tuple(warnings))


_PROXY_AWARE = ("scuttle", "skillship")


def proxy_stop_warning(task: "TaskPlan", settings: StackSettings) -> str | None:
    """With a classic Istio sidecar, a job whose entrypoint never asks Envoy to quit never completes."""
    if settings.istio_mode is not IstioMode.SIDECAR:
        return None
    words = " ".join(task.action.command)
    dockerfile = task.context / "Dockerfile"
    if dockerfile.is_file():
        words += " ".join(line for line in dockerfile.read_text(encoding="utf-8", errors="replace").splitlines()
                          if line.strip().upper().startswith(("ENTRYPOINT", "CMD")))
    if any(tool in words for tool in _PROXY_AWARE):
        return None
    return (f"skill {task.skill!r}: with istioMode 'sidecar' the entrypoint of action {task.action.name!r} must stop "
            "the proxy (scuttle, or the Skillship runtime), or its Job never completes; or use istioMode 'native'")


def _skill_inputs(source: SkillSource, settings: StackSettings, project_dir: Path, secrets: set[str],
                  problems: list[str]) -> tuple[dict, dict[str, Any]] | None:
    """Checked once per skill, however many job actions it has: its property values and its
    message. Returns (message, properties without secure ones), or None after reporting why not."""
    skill = source.skill
    declared = {p.name: p for p in skill.properties}
    given = settings.properties.get(skill.name, {})
    for name in sorted(given):
        if name not in declared:
            problems.append(f"skillship:properties.{skill.name} sets {name!r}, which skill {skill.name!r} does not declare")
        elif declared[name].secure:
            problems.append(f"skillship:properties.{skill.name}.{name} is a secure property: set it with "
                            f"`pulumi config set --secret --path 'secrets.{skill.name}[\"{name}\"]' VALUE`")
    for name in sorted(secrets):
        if name not in declared or not declared[name].secure:
            problems.append(f"skillship:secrets.{skill.name} sets {name!r}, which is not a secure property of the skill")
    for prop in skill.properties:
        has_value = prop.name in secrets if prop.secure else (prop.name in given or prop.default_value is not None)
        if prop.required and not has_value:
            problems.append(f"skill {skill.name!r} requires property {prop.name!r}; stack {settings.stack!r} gives no value")
    env_names: dict[str, str] = {}
    for name in sorted(secrets):
        env = secret_env_name(name)
        if env in env_names:
            problems.append(f"secure properties {env_names[env]!r} and {name!r} of skill {skill.name!r} share the variable {env}")
        env_names[env] = name

    message = _message(source, settings, project_dir, problems)
    if message is None:
        return None
    properties = {p.name: p.default_value for p in skill.properties if not p.secure and p.default_value is not None}
    properties.update(message.get("properties") or {})
    properties.update(given)
    for prop in skill.properties:
        if prop.secure:
            properties.pop(prop.name, None)  # secrets travel only through the Secret
    return message, properties


def _plan_task(source: SkillSource, action: Action, several: bool, settings: StackSettings, message: dict,
               properties: dict[str, Any], secrets: set[str], digester: Callable[[Path], ContextDigest],
               problems: list[str]) -> TaskPlan | None:
    skill = source.skill
    context = source.build_context(action.name)
    if not context.is_dir():
        return None  # validation reports the missing build context
    digest = digester(context)
    name = action_name(skill.name, action.name)
    prebuilt = settings.images.get(f"{skill.name}/{action.name}") or settings.images.get(skill.name)
    repository = image_repository(action, skill.name, settings.registry)
    identity = canonical_json([settings.stack, skill.name, action.name, prebuilt or digest.tag, message.get("payload"), properties])
    activation = f"{name[:40]}-{short_hash(identity, 12)}"
    envelope = {
        "activationId": activation,
        "agentName": "",
        "channelId": activation,
        "headers": {},
        "outputName": _output_name(source, action),
        "payload": message.get("payload"),
        "projectId": settings.namespace,
        "properties": properties,
        "sessionId": activation,
        "skillName": skill.name,
    }
    task = TaskPlan(
        key=f"{skill.name}/{action.name}" if several else skill.name,
        source=source,
        action=action,
        name=name,
        job_name=f"{k8s_name(name, max_length=_JOB_NAME_BASE)}-{short_hash(identity, 8)}",
        service_account=skill_name(skill.name),
        digest=digest,
        repository=repository,
        prebuilt_image=prebuilt,
        envelope=envelope,
        secure_properties=tuple(sorted(secrets)),
    )
    size = len(task.message_json.encode("utf-8"))
    if size > MESSAGE_LIMIT:
        problems.append(f"the message of skill {skill.name!r} is {size} bytes; at most {MESSAGE_LIMIT} can be delivered")
        return None
    return task


def _message(source: SkillSource, settings: StackSettings, project_dir: Path, problems: list[str]) -> dict | None:
    """The stack's message for the skill, else invoke/request/message.json."""
    skill = source.skill.name
    configured = settings.messages.get(skill)
    if isinstance(configured, dict):
        return configured if "payload" in configured else {"payload": configured}
    path = project_dir / configured if isinstance(configured, str) else source.directory / "invoke" / "request" / "message.json"
    where = f"skillship:messages.{skill} ({configured})" if isinstance(configured, str) else str(path)
    try:
        if path.stat().st_size > MESSAGE_LIMIT:
            problems.append(f"the message of skill {skill!r} in {where} is larger than {MESSAGE_LIMIT} bytes")
            return None
        message = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if isinstance(configured, str):
            problems.append(f"skillship:messages.{skill} names {configured!r}, which cannot be read: no such file")
        else:
            problems.append(f"skill {skill!r} has no message: add invoke/request/message.json or set skillship:messages.{skill}")
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"the message of skill {skill!r} in {where} cannot be read: {exc}")
        return None
    if not isinstance(message, dict):
        problems.append(f"the message of skill {skill!r} in {where} is not a JSON object")
        return None
    return message


def _output_name(source: SkillSource, action: Action) -> str:
    for item in source.skill.inputs:
        if item.routing is not None:
            for _, target in item.routing.targets():
                if target.action == action.name and target.output:
                    return target.output
    return ""
