"""Which workloads a preview or an update touches: each resource the engine would change, traced
up its parents to the Skillship component of its workload (SkillJob, SkillDaemon, SkillImage),
whose name is `<workspace>-<workload>`. The preview comment draws the skills they belong to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

WORKLOAD_COMPONENTS = frozenset(
    {"skillship:index:SkillJob", "skillship:index:SkillDaemon", "skillship:index:SkillImage"}
)
# Steps that leave the cluster as it is.
UNCHANGED = frozenset({"same", "read", "refresh", "discard"})


@dataclass(frozen=True)
class Step:
    op: str
    urn: str
    type: str
    parent: str | None


def touched_workloads(steps: Iterable[Step]) -> set[str]:
    """The workloads (as the plan names them) with at least one resource that changes."""
    steps = list(steps)
    parent_of = {step.urn: step.parent for step in steps}
    type_of = {step.urn: step.type for step in steps}
    touched = set()
    for step in steps:
        if step.op in UNCHANGED:
            continue
        urn: str | None = step.urn
        seen = set()
        while urn is not None and urn not in seen:
            seen.add(urn)
            if type_of.get(urn, _type_in(urn)) in WORKLOAD_COMPONENTS:
                touched.add(urn.rsplit("::", 1)[-1].partition("-")[2])
                break
            urn = parent_of.get(urn)
    return touched


def _type_in(urn: str) -> str:
    """A URN's own type: the last of its `$`-joined parent types (urn:pulumi:stack::project::types::name)."""
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""
