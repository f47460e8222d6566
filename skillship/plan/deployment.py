"""`plan_deployment`: the only place where the workspace and a stack's settings meet.

It checks everything that needs both (unknown skills in settings, missing required properties, a
message for every task) and reports every problem at once, each where it is, before any object
exists. The parts it composes each change for a reason of their own: messages, properties, the
task's identity and envelope, agent wiring, images, the Dockerfile, run order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from skillship.diagnostics import Diagnostic
from skillship.digest import ContextDigest, digest_context
from skillship.models import Action
from skillship.names import action_name, skill_name
from skillship.plan import envelope as envelopes
from skillship.plan.agents import agent_context
from skillship.plan.dockerfile import read_dockerfile, stops_the_proxy
from skillship.plan.images import ContextDigests, image_repository
from skillship.plan.messages import stack_message
from skillship.plan.model import DaemonPlan, DeploymentPlan, PlanError, TaskPlan
from skillship.plan.ordering import loops
from skillship.plan.problems import StackProblems
from skillship.plan.properties import checked_defaults, merged_properties, split_headers
from skillship.plan.stack_wiring import StackWiring, daemon_port, stack_wiring
from skillship.settings import StackSettings
from skillship.stackfiles import StackFileLines
from skillship.workspace import SkillSource, Workspace, display_path
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
    deployed = [s for s in workspace.skills if settings.deploys(s.skill.name)]
    wiring = stack_wiring(workspace, settings, deployed, problems)
    tasks: list[TaskPlan] = []
    daemons: list[DaemonPlan] = []
    for source in deployed:
        jobs = [a for a in source.skill.actions if a.type == "job"]
        servers = [a for a in source.skill.actions if a.type == "daemon"]
        if not jobs and not servers:
            continue
        secrets = set(secret_properties.get(source.skill.name, ()))
        defaults = checked_defaults(source, settings, secrets, problems)
        message = stack_message(source, settings, project_dir, problems) if jobs else {}
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
    if problems.errors:
        raise PlanError(settings.stack, problems.errors)
    return DeploymentPlan(
        settings,
        tuple(sorted(tasks, key=lambda t: t.key)),
        tuple(problems.warnings),
        tuple(sorted(daemons, key=lambda d: d.key)),
    )


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
    context = source.build_context(action.name)
    if not context.is_dir():
        return None  # validation reports the missing build context
    dockerfile = read_dockerfile(context)
    digested = digests.of(context, uses_runtime=dockerfile.uses_runtime)
    if digested is None:
        return None  # digests.of named the file docker could not send in the problems
    digest, named = digested
    name = action_name(skill.name, action.name)
    prebuilt = _prebuilt(skill.name, action.name, settings)
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
        targets=targets,
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
        job_name=identity.job_name,
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
    context = source.build_context(action.name)
    if not context.is_dir():
        return None
    digested = digests.of(context, uses_runtime=read_dockerfile(context).uses_runtime)
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
        prebuilt_image=_prebuilt(skill.name, action.name, settings),
        secure_properties=tuple(sorted(secrets)),
        targets=wiring.targets_of(skill.name),
        named_contexts=named,
        port=daemon_port(action),
        replicas=max(1, action.scale_count or 1),
        properties=properties,
        senders=wiring.senders_of(skill.name, action.name),
    )


def _prebuilt(skill: str, action: str, settings: StackSettings) -> str | None:
    return settings.images.get(f"{skill}/{action}") or settings.images.get(skill)
