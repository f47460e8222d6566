"""What a stack deploys: one task per job action, with its image, message and names.

`plan_deployment` is the only place where the workspace and the stack's settings meet. It checks
everything that needs both (unknown skills in settings, missing required properties, a message
for every task) and reports all problems at once, before any object exists.
"""

from __future__ import annotations

import graphlib
import importlib.util
import json
import re
from dataclasses import dataclass, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Callable, Collection, Mapping

from skillship.digest import ContextDigest, ContextError, digest_context
from skillship.models import Action, envelope_problems
from skillship.names import action_name, k8s_name, short_hash, skill_name
from skillship.settings import IstioMode, StackSettings
from skillship.wiring import agent_wires, receiver_url
from skillship_runtime.contract import ARGV_MESSAGE_LIMIT, DEFAULT_PORT, MESSAGE_LIMIT
from skillship.workspace import SkillSource, Workspace, display_path, escapes

RUNTIME_CONTEXT = "skillship-runtime"  # the named build context that holds skillship_runtime

_JOB_NAME_BASE = 54  # + "-" + 8 hex = 63
_ENV_NAME = re.compile(r"[^A-Z0-9]+")


class PlanError(Exception):
    def __init__(self, stack: str, problems: list[str]) -> None:
        super().__init__(f"stack {stack!r} cannot be deployed:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Workload:
    """One action of one skill, as this stack runs it: what jobs and daemons share."""

    key: str
    source: SkillSource
    action: Action
    name: str
    service_account: str
    digest: ContextDigest
    repository: str
    prebuilt_image: str | None
    secure_properties: tuple[str, ...]
    # output -> receiver URLs (agent wiring); the runtime reads them from SKILLSHIP_TARGETS
    targets: tuple[tuple[str, tuple[str, ...]], ...]
    # build contexts the Dockerfile names besides its own (`COPY --from=<name>`)
    named_contexts: tuple[tuple[str, Path], ...]

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

    @property
    def targets_json(self) -> str | None:
        return canonical_json({output: list(urls) for output, urls in self.targets}) if self.targets else None


@dataclass(frozen=True)
class TaskPlan(Workload):
    """A job action: one Job run with one message."""

    job_name: str
    envelope: dict[str, Any]
    after: tuple[str, ...] = ()  # keys of the tasks it runs after (a job mapped to this job)

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
class DaemonPlan(Workload):
    """A daemon action: a Deployment of `replicas` pods behind a Service on `port`."""

    port: int
    replicas: int
    properties: dict[str, Any]
    senders: tuple[str, ...] = ()  # ServiceAccounts of the skills whose records it receives


@dataclass(frozen=True)
class DeploymentPlan:
    settings: StackSettings
    tasks: tuple[TaskPlan, ...]
    warnings: tuple[str, ...] = ()
    daemons: tuple[DaemonPlan, ...] = ()

    def task(self, key: str) -> TaskPlan | None:
        return next((t for t in self.tasks if t.key == key or t.skill == key), None)

    def ordered_tasks(self) -> list[TaskPlan]:
        """Tasks with every task after the ones it runs after (plan_deployment refused cycles);
        among tasks free to go, name order. graphlib orders without recursion: an agent may chain
        more jobs than Python's recursion limit."""
        by_key = {t.key: t for t in self.tasks}
        sorter = graphlib.TopologicalSorter({t.key: t.after for t in self.tasks})
        sorter.prepare()
        ordered: list[TaskPlan] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            ordered.extend(by_key[key] for key in ready)
            sorter.done(*ready)
        return ordered


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
    stack_problems: Collection[str] = (),
) -> DeploymentPlan:
    """The tasks and daemons of a stack. Raises PlanError listing every problem, with
    `stack_problems` (what the caller found wrong with the stack among its project's stacks)."""
    secret_properties = secret_properties or {}
    problems: list[str] = list(stack_problems)
    warnings: list[str] = []
    known = {s.skill.name for s in workspace.skills}
    for key, what in ((settings.skills or [], "skills"), (settings.messages, "messages"), (settings.properties, "properties"),
                      (secret_properties, "secrets")):
        for name in sorted(key):
            if name not in known:
                problems.append(f"skillship:{what} names skill {name!r}, which is not in the workspace")
    for name in sorted(settings.images):
        if name.split("/", 1)[0] not in known:
            problems.append(f"skillship:images names {name!r}, which is not a skill (or skill/action) of the workspace")

    digest = _Digests(digester, problems)
    deployed = [s for s in workspace.skills if settings.deploys(s.skill.name)]
    wiring = _Wiring.of(workspace, settings, deployed, warnings)
    tasks: list[TaskPlan] = []
    daemons: list[DaemonPlan] = []
    for source in deployed:
        jobs = [a for a in source.skill.actions if a.type == "job"]
        servers = [a for a in source.skill.actions if a.type == "daemon"]
        if not jobs and not servers:
            continue
        secrets = set(secret_properties.get(source.skill.name, ()))
        properties = _skill_properties(source, settings, secrets, problems)
        message = _message(source, settings, project_dir, problems) if jobs else {}
        if properties is None or message is None:
            continue
        merged = {**properties, **{k: v for k, v in (message.get("properties") or {}).items()}, **_given(source, settings)}
        for prop in source.skill.properties:
            if prop.secure:
                merged.pop(prop.name, None)  # secrets travel only through the Secret
        for action in jobs:
            task = _plan_task(source, action, len(jobs) + len(servers) > 1, settings, message, merged, secrets, digest,
                              wiring, problems)
            if task is not None:
                tasks.append(task)
        for action in servers:
            daemon = _plan_daemon(source, action, len(jobs) + len(servers) > 1, settings, merged, secrets, digest, wiring)
            if daemon is not None:
                daemons.append(daemon)
    keys_by_skill: dict[str, list[str]] = {}
    for task in tasks:
        keys_by_skill.setdefault(task.skill, []).append(task.key)
    tasks = [replace(t, after=tuple(sorted(k for s in wiring.after.get(t.skill, ()) for k in keys_by_skill.get(s, ()))))
             for t in tasks]
    problems += _cycles(tasks)
    if problems:
        raise PlanError(settings.stack, problems)
    warnings += [w for t in tasks if (w := proxy_stop_warning(t, settings)) is not None]
    return DeploymentPlan(settings, tuple(sorted(tasks, key=lambda t: t.key)), tuple(warnings),
                          tuple(sorted(daemons, key=lambda d: d.key)))


def _cycles(tasks: list[TaskPlan]) -> list[str]:
    """Jobs mapped to each other in a loop can never start: name each loop found.

    A depth-first search with its own stack: an agent may chain thousands of jobs, deeper than
    Python's recursion limit."""
    after = {t.key: t.after for t in tasks}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found: list[str] = []
    for root in sorted(after):
        if root in state:
            continue
        state[root] = 1
        path = [root]
        pending = [iter(after[root])]
        while pending:
            previous = next(pending[-1], None)
            if previous is None:
                state[path.pop()] = 2
                pending.pop()
            elif state.get(previous) == 1:
                loop = path[path.index(previous):] + [previous]
                found.append("jobs mapped in a loop can never start: " + " -> ".join(reversed(loop)))
            elif previous not in state:
                state[previous] = 1
                path.append(previous)
                pending.append(iter(after.get(previous, ())))
    return found


class _Digests:
    """Content digests of build contexts, and of the named contexts their Dockerfiles use."""

    def __init__(self, digester: Callable[[Path], ContextDigest], problems: list[str]) -> None:
        self.digester = digester
        self.problems = problems
        self._runtime: ContextDigest | None = None

    def of(self, context: Path) -> tuple[ContextDigest, tuple[tuple[str, Path], ...]] | None:
        """None, after naming the file in `problems`, when docker could not send the context."""
        try:
            return self._of(context)
        except ContextError as exc:
            self.problems.append(f"build context {display_path(context)}: {display_path(Path(exc.path))}: {exc.reason}")
            return None

    def _of(self, context: Path) -> tuple[ContextDigest, tuple[tuple[str, Path], ...]]:
        digest = self.digester(context)
        if not uses_runtime(context):
            return digest, ()
        if self._runtime is None:
            self._runtime = self.digester(runtime_context())
        # The runtime is part of what the image is built from: a new runtime is a new image.
        return digest.combined(self._runtime), ((RUNTIME_CONTEXT, runtime_context()),)


# The name as a whole word: `COPY --from=skillship-runtime`, `RUN --mount=from=skillship-runtime,...`
# and `FROM skillship-runtime` all read the named context. A mention in a comment counts too: an
# unused context costs the build nothing, a missing one fails it.
_RUNTIME_NAME = re.compile(rf"(?<![\w.-]){re.escape(RUNTIME_CONTEXT)}(?![\w.-])")


def uses_runtime(context: Path) -> bool:
    try:
        text = (context / "Dockerfile").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return _RUNTIME_NAME.search(text) is not None


@cache  # the import system's search is slow, and an installed package does not move mid-run
def runtime_context() -> Path:
    """The folder of the skillship_runtime package: the whole build context named skillship-runtime."""
    spec = importlib.util.find_spec("skillship_runtime")
    if spec is None or spec.origin is None:
        raise RuntimeError("the skillship_runtime package is not installed beside skillship")
    return Path(spec.origin).parent


@dataclass
class _Wiring:
    """Agent mappings resolved against what the stack deploys."""

    targets: dict[str, dict[str, list[str]]]  # sender skill -> output -> URLs
    senders: dict[tuple[str, str], set[str]]  # (receiver skill, daemon action) -> sender ServiceAccounts
    after: dict[str, set[str]]  # receiver job skill -> sender job skills

    @classmethod
    def of(cls, workspace: Workspace, settings: StackSettings, deployed: list[SkillSource], warnings: list[str]) -> "_Wiring":
        wiring = cls({}, {}, {})
        skills = {s.skill.name: s for s in deployed}
        for wire in agent_wires(workspace):
            missing = [name for name in (wire.sender, wire.receiver) if name not in skills]
            if missing:
                if wire.sender in skills:
                    warnings.append(f"{wire.describe()}, but stack {settings.stack!r} does not deploy "
                                    f"{' or '.join(missing)}: those records have nowhere to go")
                continue
            receiver = skills[wire.receiver]
            action = next((a for a in receiver.skill.actions if a.name == wire.receiver_action), None)
            if action is None:
                continue  # an external API: nothing of ours to wire
            if action.type == "daemon":
                url = receiver_url(action_name(wire.receiver, action.name), settings.namespace, daemon_port(action), wire.input)
                urls = wiring.targets.setdefault(wire.sender, {}).setdefault(wire.output, [])
                if url not in urls:
                    urls.append(url)
                wiring.senders.setdefault((wire.receiver, action.name), set()).add(skill_name(wire.sender))
            elif any(a.type == "job" for a in skills[wire.sender].skill.actions):
                wiring.after.setdefault(wire.receiver, set()).add(wire.sender)
        return wiring

    def targets_of(self, skill: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return tuple((output, tuple(urls)) for output, urls in sorted(self.targets.get(skill, {}).items()))


def daemon_port(action: Action) -> int:
    return int(action.port or DEFAULT_PORT)


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


def _given(source: SkillSource, settings: StackSettings) -> dict[str, Any]:
    return dict(settings.properties.get(source.skill.name, {}))


def _skill_properties(source: SkillSource, settings: StackSettings, secrets: set[str],
                      problems: list[str]) -> dict[str, Any]:
    """Checks the stack's property values for a skill, once however many actions it has; returns
    the defaults of its plain properties."""
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
    return {p.name: p.default_value for p in skill.properties if not p.secure and p.default_value is not None}


def _plan_task(source: SkillSource, action: Action, several: bool, settings: StackSettings, message: dict,
               properties: dict[str, Any], secrets: set[str], digests: "_Digests", wiring: "_Wiring",
               problems: list[str]) -> TaskPlan | None:
    skill = source.skill
    context = source.build_context(action.name)
    if not context.is_dir():
        return None  # validation reports the missing build context
    digested = digests.of(context)
    if digested is None:
        return None  # digests.of named the file docker could not send in the problems
    digest, named = digested
    name = action_name(skill.name, action.name)
    prebuilt = settings.images.get(f"{skill.name}/{action.name}") or settings.images.get(skill.name)
    repository = image_repository(action, skill.name, settings.registry)
    targets = wiring.targets_of(skill.name)
    identity = canonical_json([settings.stack, skill.name, action.name, prebuilt or digest.tag, message.get("payload"),
                               properties, *([targets] if targets else [])])
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
        service_account=skill_name(skill.name),
        digest=digest,
        repository=repository,
        prebuilt_image=prebuilt,
        secure_properties=tuple(sorted(secrets)),
        targets=targets,
        named_contexts=named,
        job_name=f"{k8s_name(name, max_length=_JOB_NAME_BASE)}-{short_hash(identity, 8)}",
        envelope=envelope,
    )
    size = len(task.message_json.encode("utf-8"))
    if size > MESSAGE_LIMIT:
        problems.append(f"the message of skill {skill.name!r} is {size} bytes; at most {MESSAGE_LIMIT} can be delivered")
        return None
    return task


def _plan_daemon(source: SkillSource, action: Action, several: bool, settings: StackSettings,
                 properties: dict[str, Any], secrets: set[str], digests: "_Digests", wiring: "_Wiring") -> DaemonPlan | None:
    skill = source.skill
    context = source.build_context(action.name)
    if not context.is_dir():
        return None
    digested = digests.of(context)
    if digested is None:
        return None  # digests.of named the file docker could not send in the problems
    digest, named = digested
    return DaemonPlan(
        key=f"{skill.name}/{action.name}" if several else skill.name,
        source=source,
        action=action,
        name=action_name(skill.name, action.name),
        service_account=skill_name(skill.name),
        digest=digest,
        repository=image_repository(action, skill.name, settings.registry),
        prebuilt_image=settings.images.get(f"{skill.name}/{action.name}") or settings.images.get(skill.name),
        secure_properties=tuple(sorted(secrets)),
        targets=wiring.targets_of(skill.name),
        named_contexts=named,
        port=daemon_port(action),
        replicas=max(1, action.scale_count or 1),
        properties=properties,
        senders=tuple(sorted(wiring.senders.get((skill.name, action.name), ()))),
    )


def _message(source: SkillSource, settings: StackSettings, project_dir: Path, problems: list[str]) -> dict | None:
    """The stack's message for the skill, else invoke/request/message.json."""
    skill = source.skill.name
    configured = settings.messages.get(skill)
    if isinstance(configured, dict):
        message = configured if "payload" in configured else {"payload": configured}
        return message if _well_typed(message, skill, f"skillship:messages.{skill}", problems) else None
    path = project_dir / configured if isinstance(configured, str) else source.directory / "invoke" / "request" / "message.json"
    where = f"skillship:messages.{skill} ({configured})" if isinstance(configured, str) else str(path)
    if isinstance(configured, str) and escapes(path, project_dir):
        problems.append(f"{where} is outside the project folder; messages are read only from inside it")
        return None
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
    except RecursionError:
        problems.append(f"the message of skill {skill!r} in {where} is nested too deeply to read")
        return None
    return message if _well_typed(message, skill, where, problems) else None


def _well_typed(message: Any, skill: str, where: str, problems: list[str]) -> bool:
    found = envelope_problems(message)
    problems.extend(f"the message of skill {skill!r} in {where}: {problem}" for _, problem in found)
    return not found


def _output_name(source: SkillSource, action: Action) -> str:
    for item in source.skill.inputs:
        if item.routing is not None:
            for _, target in item.routing.targets():
                if target.action == action.name and target.output:
                    return target.output
    return ""
