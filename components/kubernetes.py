"""Declaring a plain Kubernetes object (from the core's builders) as a Pulumi resource."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _utilities as provider_sdk

# The built-in kinds Skillship declares: (apiVersion, kind) -> the provider's type token, and the
# output properties its typed class declares (their values come back from the provider).
BUILT_IN_KINDS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("v1", "Namespace"): ("kubernetes:core/v1:Namespace", ("status",)),
    ("v1", "ServiceAccount"): ("kubernetes:core/v1:ServiceAccount", ()),
    ("v1", "ConfigMap"): ("kubernetes:core/v1:ConfigMap", ()),
    ("v1", "Secret"): ("kubernetes:core/v1:Secret", ()),
    ("v1", "Service"): ("kubernetes:core/v1:Service", ("status",)),
    ("batch/v1", "Job"): ("kubernetes:batch/v1:Job", ("status",)),
    ("apps/v1", "Deployment"): ("kubernetes:apps/v1:Deployment", ("status",)),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("kubernetes:networking.k8s.io/v1:NetworkPolicy", ("status",)),
}
# What the typed Secret does with these: secret inputs, and secret outputs whatever the inputs were.
SECRET_FIELDS = {("v1", "Secret"): ("data", "stringData")}


class BuiltIn(pulumi.CustomResource):
    """A built-in Kubernetes object, registered exactly as the provider SDK's typed class of its kind
    registers it (type token, inputs, secret fields, provider version), so the URN and the state are
    the same. Why not the typed classes: importing their generated modules (`core.v1`, `batch.v1`,
    `apps.v1`, `networking.v1`) took 0.3 s of every program's start, a tenth of a 10-skill `up`.
    Left out: the typed Deployment's and NetworkPolicy's aliases to beta API groups no Skillship
    stack ever held."""

    status: pulumi.Output[Any]

    def __init__(self, name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions, **overrides: Any) -> None:
        key = (obj["apiVersion"], obj["kind"])
        token, outputs = BUILT_IN_KINDS[key]
        props: dict[str, Any] = {**obj, **overrides}
        secret_fields = SECRET_FIELDS.get(key, ())
        for field in secret_fields:
            if props.get(field) is not None:
                props[field] = pulumi.Output.secret(props[field])
        props.update({output: None for output in outputs})
        opts = pulumi.ResourceOptions.merge(provider_sdk.get_resource_opts_defaults(), opts)
        if secret_fields:
            secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=list(secret_fields))
            opts = pulumi.ResourceOptions.merge(opts, secret_outputs)
        super().__init__(token, name, props, opts)


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
    """A BuiltIn for built-in kinds, a CustomResource for Istio's; `overrides` replace top-level
    fields with Outputs (a Job's spec that waits for an image digest, a secret's data)."""
    if (obj["apiVersion"], obj["kind"]) in BUILT_IN_KINDS:
        return BuiltIn(name, obj, opts, **overrides)
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    fields.update(overrides)
    return k8s.apiextensions.CustomResource(name, api_version=obj["apiVersion"], kind=obj["kind"], opts=opts, **fields)
