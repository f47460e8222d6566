"""Editing a stack's exported state: what `forget` drops when skills move to another shard."""

from __future__ import annotations

from typing import Any

from skillship.checks.names import skill_name
from skillship.manifests.labels import LABEL_ACTION, LABEL_SKILL

COMPONENT_PREFIX = "skillship:index:"
WORKSPACE_TYPE = "skillship:index:Workspace"


def without_skills(resources: list[dict[str, Any]], skills: set[str]) -> tuple[list[dict[str, Any]], set[str]]:
    """The state's resources without those of `skills` (skill_resources), and the URNs dropped.
    What is kept no longer depends on what was dropped."""
    dropped = skill_resources(resources, skills)
    kept = []
    for resource in resources:
        if resource["urn"] in dropped:
            continue
        resource = dict(resource)
        resource["dependencies"] = [d for d in resource.get("dependencies") or [] if d not in dropped]
        if resource.get("propertyDependencies"):
            resource["propertyDependencies"] = {
                key: [d for d in deps if d not in dropped] for key, deps in resource["propertyDependencies"].items()
            }
        kept.append(resource)
    return kept, dropped


def skill_resources(resources: list[dict[str, Any]], skills: set[str]) -> set[str]:
    """The URNs of everything of `skills` in a state: each skill's Kubernetes objects (by their skill
    label), the Skillship components of its workloads (SkillJob, SkillDaemon, SkillImage: named
    after the workload, as its objects' action label is), and everything below those."""
    labels = {skill_name(skill) for skill in skills}
    dropped = {r["urn"] for r in resources if _label(r, LABEL_SKILL) in labels}
    actions = {_label(r, LABEL_ACTION) for r in resources if r["urn"] in dropped} - {None}
    for resource in resources:
        kind, name = resource.get("type", ""), resource["urn"].rsplit("::", 1)[-1]
        if kind.startswith(COMPONENT_PREFIX) and kind != WORKSPACE_TYPE and name.partition("-")[2] in actions:
            dropped.add(resource["urn"])
    for resource in resources:  # a state lists parents before their children
        if resource.get("parent") in dropped:
            dropped.add(resource["urn"])
    return dropped


def _label(resource: dict[str, Any], key: str) -> str | None:
    """A label of a Kubernetes object as the state records its inputs."""
    labels = ((resource.get("inputs") or {}).get("metadata") or {}).get("labels") or {}
    value = labels.get(key) if isinstance(labels, dict) else None
    return value if isinstance(value, str) else None
