"""`plan_deployment`: the only place where the workspace and a stack's settings meet.

It checks everything that needs both (unknown skills in settings, missing required properties, a
message for every task) and reports every problem at once, each where it is, before any object
exists. The parts it composes each change for a reason of their own: messages, properties, the
task's identity and envelope, agent wiring, images, the Dockerfile, run order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from skillship.checks.names import action_name, skill_name
from skillship.images.digest import ContextDigest, digest_context
from skillship.paths import display_path
from skillship.plan import envelope as envelopes
from skillship.plan.agents import agent_context
from skillship.plan.dockerfile import DockerfileFacts, read_dockerfile, stops_the_proxy
from skillship.plan.images import ContextDigests, NamedContexts, image_repository
from skillship.plan.messages import stack_message
from skillship.plan.model import DaemonPlan, DeploymentPlan, PlanError, TaskPlan
from skillship.plan.ordering import loops
from skillship.plan.problems import StackProblems
from skillship.plan.properties import checked_defaults, merged_properties, split_headers
from skillship.plan.schedules import check_schedules
from skillship.plan.stack_wiring import StackWiring, daemon_port, stack_wiring, targets_json
from skillship.source.diagnostics import Diagnostic
from skillship.source.models import RUNTIME_DAEMONS, Action
from skillship.source.podspec import PodOverrides
from skillship.source.workspace import ActionSource, SkillSource, Workspace
from skillship.stack.settings import StackSettings
from skillship.stack.shards import assign_shards, crossing_wires, wire_line
from skillship.stack.stackfiles import StackFileLines
from skillship_runtime.contract import MESSAGE_LIMIT


def plan_deployment(
    workspace: Workspace,
    settings: StackSettings,
    *,
    project_dir: Path,
    secret_properties: Mapping[str, Collection[str]] | None = None,
    digester: Callable[[Path], ContextDigest] = digest_context,
    stack_problems: Collection[Diagnostic] = (),
    stack_file: StackFileLines | None = None,
) -> DeploymentPlan:
    """The tasks and daemons of a stack. Raises PlanError with every problem, `stack_problems`
    (what the caller found wrong with the stack among its project's stacks) among them; problems
    with a setting are located in `stack_file` (by default: `Pulumi.<stack>.yaml`, no lines)."""
    secret_properties = secret_properties or {}
    problems = StackProblems(stack_file or StackFileLines(f"Pulumi.{settings.stack}.yaml"), list(stack_problems))
    _check_named_skills(workspace, settings, secret_properties, problems)

    digests = ContextDigests(digester, problems)
    deployed = [_with_prebuilt_routes(s, settings) for s in workspace.skills if settings.deploys(s.skill.name)]
    # Wired over the whole environment: a shard's senders reach receivers of other shards by name.
    wiring = stack_wiring(workspace, settings, deployed, problems)
    shard_of = _check_shards(workspace, settings, deployed, problems)
    tasks: list[TaskPlan] = []
    daemons: list[DaemonPlan] = []
    for source in deployed:
        if settings.shard is not None and shard_of[source.skill.name] != settings.shard:
            continue
        jobs = [a for a in source.skill.actions if a.type == "job"]
        servers = [a for a in source.skill.actions if a.type == "daemon"]
        if not jobs and not servers:
            continue
        secrets = set(secret_properties.get(source.skill.name, ()))
        defaults = checked_defaults(source, settings, secrets, problems)
        message = stack_message(source, settings, project_dir, workspace.boundary, problems) if jobs else {}
        if message is None:
            continue
        agent = agent_context(workspace, source, problems)
        properties = merged_properties(source, defaults, agent.properties, message, settings)
        several = len(jobs) + len(servers) > 1
        for action in jobs:
            task = _plan_task(
                source, action, several, settings, message, properties, agent.name, secrets, digests, wiring, problems
            )
            if task is not None:
                tasks.append(task)
        for action in servers:
            daemon = _plan_daemon(source, action, several, settings, properties, secrets, digests, wiring)
            if daemon is not None:
                daemons.append(daemon)
    tasks = _ordered(tasks, wiring, problems)
    check_schedules(workspace, settings, wiring, problems)
    if problems.errors:
        raise PlanError(settings.stack, problems.errors)
    return DeploymentPlan(
        settings,
        tuple(sorted(tasks, key=lambda t: t.key)),
        tuple(problems.warnings),
        tuple(sorted(daemons, key=lambda d: d.key)),
        shard_of,
    )


def _check_shards(
    workspace: Workspace, settings: StackSettings, deployed: list[SkillSource], problems: StackProblems
) -> dict[str, int]:
    """Each deployed skill's shard (none unsharded), and a located error for every mapping whose
    order one stack could not keep: a job's records sent to, or its completion awaited by, a
    skill another shard deploys (which may not serve yet, or may run first)."""
    if settings.shards is None:
        return {}
    every = assign_shards(workspace, settings.shards)
    by_name = {s.skill.name: s for s in deployed}
    shard_of = {name: every[name] for name in by_name}
    for wire in crossing_wires(workspace, shard_of):
        if not any(a.type == "job" for a in by_name[wire.sender].skill.actions):
            continue  # a daemon's records need no order: its receiver is wired by name
        file, line = wire_line(workspace, wire)
        problems.file(
            "shard-crossing",
            f"{wire.describe()}, but skillship:shards (by: {settings.shards.by}) puts {wire.sender} in shard "
            f"{shard_of[wire.sender]} and {wire.receiver} in shard {shard_of[wire.receiver]} of {settings.stack!r}: "
            "a job's records and its completion cannot be awaited across stacks; shard by agent, which keeps "
            "every agent in one shard",
            file,
            line,
        )
    return shard_of


def _with_prebuilt_routes(source: SkillSource, settings: StackSettings) -> SkillSource:
    """An older skill routes to actions a Makefile deployed, which nothing here declares
    (validation's routing-undeclared-action); those the stack names a prebuilt image for in
    `skillship:images` are deployed as that image, a job or a daemon as their runtime says."""
    if source.declares_actions:
        return source
    added: list[ActionSource] = []
    for index, item in enumerate(source.skill.inputs):
        for sub, target in item.routing.targets() if item.routing is not None else ():
            name = target.action
            if not name or source.skill.action(name) or any(a.action.name == name for a in added):
                continue
            if _prebuilt(source.skill.name, name, settings) is None:
                continue
            action = Action(name=name, type="daemon") if target.runtime == RUNTIME_DAEMONS else Action(name=name)
            added.append(
                ActionSource(
                    action,
                    source.directory / "actions" / name,
                    source.display,
                    source.document,
                    ("inputs", index, "routing", *sub),
                )
            )
    if not added:
        return source
    skill = source.skill.model_copy(update={"actions": [*source.skill.actions, *(a.action for a in added)]})
    return replace(source, skill=skill, actions=(*source.actions, *added))


def _context_digest(
    source: SkillSource, action: Action, prebuilt: str | None, digests: ContextDigests
) -> tuple[ContextDigest, NamedContexts, DockerfileFacts] | None:
    """The digest of the action's build context, its named contexts and Dockerfile; for an action
    with no build context that runs a prebuilt image, a digest of the image's reference. None when
    there is nothing to plan from (validation, or `digests.of`, said why)."""
    context = source.build_context(action.name)
    if not context.is_dir():
        if prebuilt is None:
            return None
        digest = ContextDigest(hashlib.sha256(f"prebuilt {prebuilt}".encode()).hexdigest(), 0, 0)
        return digest, (), read_dockerfile(context)
    dockerfile = read_dockerfile(context)
    digested = digests.of(context, uses_runtime=dockerfile.uses_runtime)
    if digested is None:
        return None
    return digested[0], digested[1], dockerfile


def _check_named_skills(
    workspace: Workspace,
    settings: StackSettings,
    secret_properties: Mapping[str, Collection[str]],
    problems: StackProblems,
) -> None:
    known = {s.skill.name for s in workspace.skills}
    for index, name in enumerate(settings.skills or []):
        if name not in known:
            problems.setting(
                "stack-unknown-skill",
                f"skillship:skills names skill {name!r}, which is not in the workspace",
                "skills",
                index,
            )
    for key, named in (
        ("messages", settings.messages),
        ("properties", settings.properties),
        ("schedules", settings.schedules),
        ("secrets", secret_properties),
    ):
        for name in sorted(named):
            if name not in known:
                problems.setting(
                    "stack-unknown-skill",
                    f"skillship:{key} names skill {name!r}, which is not in the workspace",
                    key,
                    name,
                )
    for name in sorted(settings.images):
        if name.split("/", 1)[0] not in known:
            problems.setting(
                "stack-unknown-skill",
                f"skillship:images names {name!r}, which is not a skill (or skill/action) of the workspace",
                "images",
                name,
            )


def _ordered(tasks: list[TaskPlan], wiring: StackWiring, problems: StackProblems) -> list[TaskPlan]:
    """Each task with the keys of the tasks it runs after; jobs mapped in a loop are refused (a
    validated workspace has none: this holds for any other caller too)."""
    keys_by_skill: dict[str, list[str]] = {}
    for task in tasks:
        keys_by_skill.setdefault(task.skill, []).append(task.key)
    tasks = [
        replace(t, after=tuple(sorted(k for s in wiring.after.get(t.skill, ()) for k in keys_by_skill.get(s, ()))))
        for t in tasks
    ]
    for loop in loops({t.key: t.after for t in tasks}):
        problems.setting("agent-loop", "jobs mapped in a loop can never start: " + " -> ".join(loop), "skills")
    return tasks


def _plan_task(
    source: SkillSource,
    action: Action,
    several: bool,
    settings: StackSettings,
    message: dict[str, Any],
    properties: dict[str, Any],
    agent: str,
    secrets: set[str],
    digests: ContextDigests,
    wiring: StackWiring,
    problems: StackProblems,
) -> TaskPlan | None:
    skill = source.skill
    prebuilt = _prebuilt(skill.name, action.name, settings)
    found = _context_digest(source, action, prebuilt, digests)
    if found is None:
        return None
    digest, named, dockerfile = found
    name = action_name(skill.name, action.name)
    targets = wiring.targets_of(skill.name)
    given_headers = message.get("headers") or {}
    plain, headers = split_headers(properties, given_headers)
    identity = envelopes.task_identity(
        stack=settings.stack,
        agent=agent,
        headers=given_headers,
        skill=skill.name,
        action=action.name,
        name=name,
        image=prebuilt or digest.tag,
        payload=message.get("payload"),
        properties=properties,
        targets=targets_json(targets),
    )
    task = TaskPlan(
        key=f"{skill.name}/{action.name}" if several else skill.name,
        source=source,
        action=action,
        name=name,
        service_account=skill_name(skill.name),
        digest=digest,
        repository=image_repository(action, skill.name, settings.registry),
        prebuilt_image=prebuilt,
        secure_properties=tuple(sorted(secrets)),
        targets=targets,
        named_contexts=named,
        pod=_pod(source, action),
        job_name=identity.job_name,
        schedule=settings.schedules.get(skill.name),
        envelope=envelopes.envelope(
            activation_id=identity.activation_id,
            skill=skill.name,
            agent=agent,
            output_name=envelopes.output_name(source, action),
            payload=message.get("payload"),
            properties=plain,
            headers=headers,
            project=settings.namespace,
        ),
    )
    size = len(task.message_json.encode("utf-8"))
    if size > MESSAGE_LIMIT:
        problems.setting(
            "message-too-large",
            f"the message of skill {skill.name!r} is {size} bytes; at most {MESSAGE_LIMIT} can be delivered",
            "messages",
            skill.name,
        )
        return None
    if not stops_the_proxy(action.command, dockerfile, settings.istio_mode):
        problems.file_warning(
            "proxy-stop",
            f"skill {skill.name!r}: with istioMode 'sidecar' the entrypoint of action "
            f"{action.name!r} must stop the proxy (scuttle, or the Skillship runtime), or its Job "
            "never completes; or use istioMode 'native'",
            display_path(dockerfile.path),
            dockerfile.entrypoint_line,
        )
    return task


def _plan_daemon(
    source: SkillSource,
    action: Action,
    several: bool,
    settings: StackSettings,
    properties: dict[str, Any],
    secrets: set[str],
    digests: ContextDigests,
    wiring: StackWiring,
) -> DaemonPlan | None:
    skill = source.skill
    found = _context_digest(source, action, _prebuilt(skill.name, action.name, settings), digests)
    if found is None:
        return None
    digest, named, dockerfile = found
    own_endpoint = {} if dockerfile.uses_runtime else {"path": action.path or "/", "method": action.method or "POST"}
    return DaemonPlan(
        key=f"{skill.name}/{action.name}" if several else skill.name,
        source=source,
        action=action,
        name=action_name(skill.name, action.name),
        service_account=skill_name(skill.name),
        digest=digest,
        repository=image_repository(action, skill.name, settings.registry),
        prebuilt_image=_prebuilt(skill.name, action.name, settings),
        secure_properties=tuple(sorted(secrets)),
        targets=wiring.targets_of(skill.name),
        named_contexts=named,
        pod=_pod(source, action),
        port=daemon_port(action),
        replicas=max(1, action.scale_count or 1),
        properties=properties,
        senders=wiring.senders_of(skill.name, action.name),
        **own_endpoint,
    )


def _pod(source: SkillSource, action: Action) -> PodOverrides:
    declared = source.action_source(action.name)
    return declared.podspec if declared is not None and declared.podspec is not None else PodOverrides()


def _prebuilt(skill: str, action: str, settings: StackSettings) -> str | None:
    return settings.images.get(f"{skill}/{action}") or settings.images.get(skill)
