"""Declaring a plain Kubernetes object (from the core's builders) as a Pulumi resource."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

# Shared with bench/children.py, whose SDK floor declares the same classes.
TYPED_RESOURCES = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}


def keyword(field: str) -> str:
    """The typed resource's keyword for a top-level field of the object: `stringData` is
    `string_data` (the SDK is generated from the API's field names, so the rule holds for all)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", field).lower()


def dependencies(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """A component's `depends_on`, for its children: a component's own dependencies do not hold
    back the resources it declares, so each child is given them."""
    given = opts.depends_on if opts is not None else None
    if given is None:
        return []
    listed = list(given) if isinstance(given, (list, tuple)) else [given]
    resources = [r for r in listed if isinstance(r, pulumi.Resource)]
    if len(resources) != len(listed):  # an Output or awaitable would need resolving first
        raise TypeError("a Skillship component's depends_on must list resources")
    return resources


def declare(name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions, **overrides: Any) -> pulumi.CustomResource:
    """The typed resource for built-in kinds, a CustomResource for Istio's; `overrides` replace
    top-level fields with Outputs (a Job's spec that waits for an image digest, a secret's data)."""
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    fields.update(overrides)
    resource = TYPED_RESOURCES.get((obj["apiVersion"], obj["kind"]))
    if resource is None:
        return k8s.apiextensions.CustomResource(
            name, api_version=obj["apiVersion"], kind=obj["kind"], opts=opts, **fields
        )
    declared: pulumi.CustomResource = resource(name, opts=opts, **{keyword(k): v for k, v in fields.items()})
    return declared
