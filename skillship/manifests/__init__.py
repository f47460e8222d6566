"""Plain Kubernetes objects (dicts) for a deployment plan: what `render` writes and Pulumi declares."""

from typing import Any

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


def __getattr__(name: str) -> Any:
    """Loaded on first use: the CLI reads label names from here, and needs no builder to do so."""
    if name in __all__:
        from skillship.manifests import assemble

        return getattr(assemble, name)
    raise AttributeError(f"module 'skillship.manifests' has no attribute {name!r}")
