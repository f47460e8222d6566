"""Labels and annotations every object of a task carries."""

from __future__ import annotations

from skillship.names import k8s_name, skill_name
from skillship.plan import Workload
from skillship.settings import StackSettings

PART_OF = "skillship"
LABEL_STACK = "skillship.io/stack"
LABEL_SKILL = "skillship.io/skill"
LABEL_ACTION = "skillship.io/action"
LABEL_TASK_KIND = "skillship.io/task"  # "deployed" here; ad-hoc runs set their own value
ANNOTATION_SKILL = "skillship.io/skill-name"  # the original, unmapped names
ANNOTATION_ACTION = "skillship.io/action-name"
ANNOTATION_ACTIVATION = "skillship.io/activation-id"


def stack_labels(settings: StackSettings) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": PART_OF,
        "app.kubernetes.io/part-of": PART_OF,
        LABEL_STACK: k8s_name(settings.stack),
    }


def selector_labels(task: Workload) -> dict[str, str]:
    """The labels that pick out one task's pods (Istio selectors use them)."""
    return {LABEL_ACTION: task.name}


def task_labels(task: Workload, settings: StackSettings) -> dict[str, str]:
    return {
        **stack_labels(settings),
        "app.kubernetes.io/name": skill_name(task.skill),
        "app.kubernetes.io/component": k8s_name(task.action.name),
        "app.kubernetes.io/instance": task.name,
        LABEL_SKILL: skill_name(task.skill),
        **selector_labels(task),
    }


def version_label(task: Workload) -> dict[str, str]:
    """Only the Job and its pods carry the content tag: a changed action changes nothing else."""
    return {"app.kubernetes.io/version": task.digest.tag}


def task_annotations(task: Workload) -> dict[str, str]:
    return {ANNOTATION_SKILL: task.skill, ANNOTATION_ACTION: task.action.name}


def metadata(name: str, task: TaskPlan, settings: StackSettings, **extra_labels: str) -> dict:
    return {
        "name": name,
        "namespace": settings.namespace,
        "labels": {**task_labels(task, settings), **extra_labels},
        "annotations": task_annotations(task),
    }
