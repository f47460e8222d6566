"""Plain Kubernetes objects (dicts) for a deployment plan: what `render` writes and Pulumi declares.

The names load on first use: the CLI reads label names from here, and needs no builder to do so.
"""

from skillship.lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "assemble"))
