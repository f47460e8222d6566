"""What a stack deploys, as plain data: one workload per action (a task per job, a daemon per
daemon), and the stack's plan that holds them. Built by skillship.plan.deployment; read by the
manifest builders, the Pulumi components and `skillship status`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from skillship.images.digest import ContextDigest
from skillship.plan.envelope import canonical_json
from skillship.plan.ordering import run_order
from skillship.plan.stack_wiring import Targets, targets_json
from skillship.source.diagnostics import Diagnostic
from skillship.source.models import Action
from skillship.source.podspec import PodOverrides
from skillship.source.workspace import SkillSource
from skillship.stack.schedules import Schedule
from skillship.stack.settings import StackSettings
from skillship_runtime.contract import ARGV_MESSAGE_LIMIT, RECORDS_PATH


class PlanError(Exception):
    """The stack cannot be deployed; `diagnostics` holds every problem, each where it is."""

    def __init__(self, stack: str, diagnostics: list[Diagnostic]) -> None:
        super().__init__(f"stack {stack!r} cannot be deployed:\n" + "\n".join(f"  - {d.render()}" for d in diagnostics))
        self.stack = stack
        self.diagnostics = diagnostics

    @property
    def problems(self) -> list[str]:
        """The problems' messages alone."""
        return [d.message for d in self.diagnostics]


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
    # output -> where its records go (agent wiring); the runtime reads them from SKILLSHIP_TARGETS
    targets: Targets
    # build contexts the Dockerfile names besides its own (`COPY --from=<name>`)
    named_contexts: tuple[tuple[str, Path], ...]
    # what the action's podspec.json sets of its pods (the older layout): resources, env
    pod: PodOverrides = field(default_factory=PodOverrides, kw_only=True)

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
        return canonical_json(targets_json(self.targets)) if self.targets else None


@dataclass(frozen=True)
class TaskPlan(Workload):
    """A job action: one Job run with one message."""

    job_name: str
    envelope: dict[str, Any]
    after: tuple[str, ...] = ()  # keys of the tasks it runs after (a job mapped to this job)
    # Runs on this clock, as a CronJob named `name`, instead of once per `up` as the Job `job_name`.
    schedule: Schedule | None = None

    @cached_property
    def message_json(self) -> str:
        """The envelope as the job receives it; several builders need it, so it is made once."""
        return canonical_json(self.envelope)

    @property
    def message_in_file(self) -> bool:
        return len(self.message_json.encode("utf-8")) > ARGV_MESSAGE_LIMIT

    @property
    def activation_id(self) -> str:
        return str(self.envelope["activationId"])


@dataclass(frozen=True)
class DaemonPlan(Workload):
    """A daemon action: a Deployment of `replicas` pods behind a Service on `port`."""

    port: int
    replicas: int
    properties: dict[str, Any]
    senders: tuple[str, ...] = ()  # ServiceAccounts of the skills whose records it receives
    # What its senders call: batches at /records/<input> on the runtime, else its own path
    path: str = f"{RECORDS_PATH}*"
    method: str = "POST"


@dataclass(frozen=True)
class DeploymentPlan:
    settings: StackSettings
    tasks: tuple[TaskPlan, ...]
    warnings: tuple[Diagnostic, ...] = ()
    daemons: tuple[DaemonPlan, ...] = ()
    # Skill -> the shard stack that deploys it (skillship.stack.shards), over the whole environment;
    # empty when the stack is not sharded.
    shard_of: Mapping[str, int] = field(default_factory=dict)

    def task(self, key: str) -> TaskPlan | None:
        return next((t for t in self.tasks if t.key == key or t.skill == key), None)

    def share(self, settings: StackSettings) -> DeploymentPlan:
        """What the stack of `settings` deploys of this plan, which may be its environment's: a base
        stack no skill, a shard its own skills, any other stack all of them."""
        if settings.is_base:
            return replace(self, settings=settings, tasks=(), daemons=())
        if settings.shard is None:
            return self
        ours = {skill for skill, shard in self.shard_of.items() if shard == settings.shard}
        return replace(
            self,
            settings=settings,
            tasks=tuple(t for t in self.tasks if t.skill in ours),
            daemons=tuple(d for d in self.daemons if d.skill in ours),
        )

    def ordered_tasks(self) -> list[TaskPlan]:
        """Tasks with every task after the ones it runs after (the plan refused loops); among
        tasks free to go, name order."""
        by_key = {t.key: t for t in self.tasks}
        return [by_key[key] for key in run_order({t.key: t.after for t in self.tasks})]
