"""Plain Kubernetes objects (dicts) for a deployment plan: what `render` writes and Pulumi declares."""

from skillship.manifests.assemble import (
    DaemonObjects,
    SkillIdentity,
    TaskObjects,
    daemon_objects,
    namespace_objects,
    skill_identity,
    stack_objects,
    task_objects,
)

__all__ = [
    "DaemonObjects",
    "SkillIdentity",
    "TaskObjects",
    "daemon_objects",
    "namespace_objects",
    "skill_identity",
    "stack_objects",
    "task_objects",
]
