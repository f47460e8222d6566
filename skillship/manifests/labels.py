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


def selector_labels(task: Workload, settings: StackSettings) -> dict[str, str]:
    """The labels that pick out one task's pods: its action's name and the stack, so that two
    stacks sharing a namespace never select each other's pods (a Deployment's selector can never
    change later, so the stack is in it from the start)."""
    return {LABEL_STACK: k8s_name(settings.stack), LABEL_ACTION: task.name}


def task_labels(task: Workload, settings: StackSettings) -> dict[str, str]:
    return {
        **stack_labels(settings),
        "app.kubernetes.io/name": skill_name(task.skill),
        "app.kubernetes.io/component": k8s_name(task.action.name),
        "app.kubernetes.io/instance": task.name,
        LABEL_SKILL: skill_name(task.skill),
        **selector_labels(task, settings),
    }


def skill_labels(workload: Workload, settings: StackSettings) -> dict[str, str]:
    """Labels of what a skill's actions share (its ServiceAccount and Secret)."""
    return {**stack_labels(settings), "app.kubernetes.io/name": skill_name(workload.skill),
            LABEL_SKILL: skill_name(workload.skill)}


def version_label(task: Workload) -> dict[str, str]:
    """Only the Job and its pods carry the content tag: a changed action changes nothing else."""
    return {"app.kubernetes.io/version": task.digest.tag}


def task_annotations(task: Workload) -> dict[str, str]:
    return {ANNOTATION_SKILL: task.skill, ANNOTATION_ACTION: task.action.name}


def skill_metadata(name: str, workload: Workload, settings: StackSettings) -> dict:
    return {
        "name": name,
        "namespace": settings.namespace,
        "labels": skill_labels(workload, settings),
        "annotations": {ANNOTATION_SKILL: workload.skill},
    }


def metadata(name: str, task: Workload, settings: StackSettings, **extra_labels: str) -> dict:
    return {
        "name": name,
        "namespace": settings.namespace,
        "labels": {**task_labels(task, settings), **extra_labels},
        "annotations": task_annotations(task),
    }
