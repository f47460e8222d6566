"""Plain Kubernetes objects (dicts) for a deployment plan: what `render` writes and Pulumi declares."""

from skillship.manifests.assemble import TaskObjects, namespace_objects, stack_objects, task_objects

__all__ = ["TaskObjects", "namespace_objects", "stack_objects", "task_objects"]
