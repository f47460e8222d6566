"""A deploy (or preview) of some skills only, `--skill NAME`: what a developer iterating on one skill
in dev asks for, as `cortex workspaces publish --skill` did.

Each named skill is deployed by one Pulumi stack (its shard's, in a sharded environment); the
engine runs for those stacks only, narrowed to the skill's resources and what depends on them.
Refused, before anything runs, where that would leave the stack inconsistent: a skill the stack
does not deploy, one not deployed yet (its first deploy is the whole stack's), and one wired to a
skill not named (a job it runs after or before, a daemon it sends records to or receives them from)
that changed too. Such an `up` records no inputs digest, so the next full deploy runs the stacks it
touched, and finds nothing more to do for the skills it deployed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from skillship.checks.names import skill_name
from skillship.plan import DeploymentPlan
from skillship.plan.neighbours import wired_skills
from skillship.stack.settings import shard_stack
from skillship.stack.stackfiles import StackConfig, load_stack
from skillship.stack_digest import stack_digest
from skillship_pipeline import engine

MESSAGE = "skillship-pipeline {stage} --skill {skills}: some skills only, no inputs digest"


class Refused(Exception):
    """The skills cannot be deployed alone; the message says why and what to do."""

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class Selection:
    skills: tuple[str, ...]
    targets: dict[str, list[str]]  # Pulumi stack -> the URNs its engine is narrowed to


def stack_of(plan: DeploymentPlan, skill: str) -> str:
    settings = plan.settings
    shard = plan.shard_of.get(skill)
    return shard_stack(settings.stack, shard) if shard is not None else settings.pulumi_stack


def select(
    project: Path,
    config: StackConfig,
    plan: DeploymentPlan,
    skills: Collection[str],
    registry_password: str | None,
    resources_of: Callable[[Path, str, set[str]], dict[str, set[str]]] = engine.resources_of,
    outputs_of: Callable[[Path, str], dict[str, object]] = engine.outputs_of,
) -> Selection:
    """Raises Refused."""
    deployed = sorted({w.skill for w in (*plan.tasks, *plan.daemons)})
    unknown = [skill for skill in skills if skill not in deployed]
    if unknown:
        raise Refused(
            f"stack {config.settings.pulumi_stack!r} deploys no skill {', '.join(map(repr, unknown))} "
            f"(it deploys: {', '.join(deployed) or 'none'})",
            usage=True,
        )
    named = set(skills)
    changed = _changed_skills(project, plan, named, registry_password, outputs_of)
    for skill in sorted(named):
        for other, how in sorted(wired_skills(plan, skill).items()):
            if other not in named and other in changed:
                raise Refused(
                    f"{how}, and {other} changed too: deploy them together (--skill {skill} --skill {other}) "
                    "or the whole stack (no --skill)"
                )
    by_stack: dict[str, set[str]] = {}
    for skill in named:
        by_stack.setdefault(stack_of(plan, skill), set()).add(skill)
    targets: dict[str, list[str]] = {}
    for stack, its_skills in sorted(by_stack.items()):
        found = resources_of(project, stack, its_skills)
        missing = sorted(s for s in its_skills if not found.get(s))
        if missing:
            raise Refused(
                f"{', '.join(missing)} not deployed by stack {stack!r} yet: its first deploy is the whole "
                "stack's (no --skill)"
            )
        targets[stack] = sorted(set().union(*found.values()))
    return Selection(tuple(sorted(named)), targets)


def _changed_skills(
    project: Path,
    plan: DeploymentPlan,
    named: set[str],
    registry_password: str | None,
    outputs_of: Callable[[Path, str], dict[str, object]],
) -> set[str]:
    """The skills wired to the named ones whose objects differ from what their stack's last full
    deploy recorded (or which it did not record)."""
    wired = {other for skill in named for other in wired_skills(plan, skill)} - named
    changed: set[str] = set()
    by_stack: dict[str, set[str]] = {}
    for skill in wired:
        by_stack.setdefault(stack_of(plan, skill), set()).add(skill)
    for stack, its_skills in by_stack.items():
        current = stack_digest(load_stack(project, stack), plan, registry_password=registry_password).skills
        try:
            recorded = outputs_of(project, stack).get("inputs") or {}
        except engine.EngineError:
            recorded = {}
        known = recorded.get("skills") if isinstance(recorded, dict) else None
        known = known if isinstance(known, dict) else {}
        for skill in its_skills:
            if known.get(skill_name(skill)) != current.get(skill_name(skill)):
                changed.add(skill)
    return changed
