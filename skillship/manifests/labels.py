"""Labels and annotations every object of a workload (a task or a daemon) carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skillship.checks.names import k8s_name, skill_name
from skillship.manifests.objects import KubeObject

if TYPE_CHECKING:  # for annotations only: reading a label's name must not load the planner
    from skillship.plan import Workload
    from skillship.stack.settings import StackSettings

PART_OF = "skillship"
LABEL_STACK = "skillship.io/stack"
LABEL_SKILL = "skillship.io/skill"
LABEL_ACTION = "skillship.io/action"
LABEL_TASK_KIND = "skillship.io/task"  # "deployed" here; ad-hoc runs set their own value
SCHEDULED_KIND = "scheduled"  # LABEL_TASK_KIND of the Jobs a scheduled skill's CronJob makes
ANNOTATION_SKILL = "skillship.io/skill-name"  # the original, unmapped names
ANNOTATION_ACTION = "skillship.io/action-name"
ANNOTATION_ACTIVATION = "skillship.io/activation-id"
# Set on a Job that `pulumi up` stopped because its pod could not start: Kubernetes' reason and words.
ANNOTATION_START_FAILURE = "skillship.io/start-failure"


def stack_labels(settings: StackSettings) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": PART_OF,
        "app.kubernetes.io/part-of": PART_OF,
        LABEL_STACK: k8s_name(settings.stack),
    }


def selector_labels(workload: Workload, settings: StackSettings) -> dict[str, str]:
    """The labels that pick out one workload's pods (a task's or a daemon's): its action's name and
    the stack, so that two stacks sharing a namespace never select each other's pods (a
    Deployment's selector can never change later, so the stack is in it from the start)."""
    return {LABEL_STACK: k8s_name(settings.stack), LABEL_ACTION: workload.name}


def workload_labels(workload: Workload, settings: StackSettings) -> dict[str, str]:
    return {
        **stack_labels(settings),
        "app.kubernetes.io/name": skill_name(workload.skill),
        "app.kubernetes.io/component": k8s_name(workload.action.name),
        "app.kubernetes.io/instance": workload.name,
        LABEL_SKILL: skill_name(workload.skill),
        **selector_labels(workload, settings),
    }


def skill_labels(workload: Workload, settings: StackSettings) -> dict[str, str]:
    """Labels of what a skill's actions share (its ServiceAccount and Secret)."""
    return {
        **stack_labels(settings),
        "app.kubernetes.io/name": skill_name(workload.skill),
        LABEL_SKILL: skill_name(workload.skill),
    }


def version_label(workload: Workload) -> dict[str, str]:
    """Only the Job or Deployment and its pods carry the content tag: a changed action changes
    nothing else."""
    return {"app.kubernetes.io/version": workload.digest.tag}


def workload_annotations(workload: Workload) -> dict[str, str]:
    return {ANNOTATION_SKILL: workload.skill, ANNOTATION_ACTION: workload.action.name}


def skill_metadata(name: str, workload: Workload, settings: StackSettings) -> KubeObject:
    return {
        "name": name,
        "namespace": settings.namespace,
        "labels": skill_labels(workload, settings),
        "annotations": {ANNOTATION_SKILL: workload.skill},
    }


def metadata(name: str, workload: Workload, settings: StackSettings, **extra_labels: str) -> KubeObject:
    return {
        "name": name,
        "namespace": settings.namespace,
        "labels": {**workload_labels(workload, settings), **extra_labels},
        "annotations": workload_annotations(workload),
    }
