"""Plain Kubernetes objects (dicts) for a deployment plan: what `render` writes and Pulumi declares."""

from skillship.manifests.assemble import (
    DaemonObjects,
    TaskObjects,
    daemon_objects,
    namespace_objects,
    stack_objects,
    task_objects,
)

__all__ = ["DaemonObjects", "TaskObjects", "daemon_objects", "namespace_objects", "stack_objects", "task_objects"]
