"""Kubernetes NetworkPolicy: nothing may connect to a job's pods, with or without a mesh."""

from __future__ import annotations

from skillship.manifests.labels import metadata, selector_labels
from skillship.plan import TaskPlan
from skillship.settings import StackSettings


def deny_ingress(task: TaskPlan, settings: StackSettings) -> dict:
    """Jobs only call out: an Ingress policy with no rules admits no connection to their pods."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(f"{task.name}-deny-ingress", task, settings),
        "spec": {"podSelector": {"matchLabels": selector_labels(task)}, "policyTypes": ["Ingress"]},
    }
