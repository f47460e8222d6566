"""Declaring a plain Kubernetes object (from the core's builders) as a Pulumi resource."""

from __future__ import annotations

from typing import Any, NamedTuple

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _utilities as provider_sdk

from skillship_components.sdk.read_back import ReadsBackWhatItLists


class Kind(NamedTuple):
    """How the provider SDK's typed class of a built-in kind registers it."""

    token: str  # the resource type, in every URN
    outputs: tuple[str, ...] = ()  # output properties it declares (the provider returns their values)
    secrets: tuple[str, ...] = ()  # fields made secret as inputs and as outputs, whatever was given
    read_back: frozenset[str] = frozenset()  # outputs the program uses (skillship_components/sdk/read_back.py)


BUILT_IN_KINDS: dict[tuple[str, str], Kind] = {
    ("v1", "Namespace"): Kind("kubernetes:core/v1:Namespace", ("status",)),
    ("v1", "ServiceAccount"): Kind("kubernetes:core/v1:ServiceAccount"),
    ("v1", "ConfigMap"): Kind("kubernetes:core/v1:ConfigMap"),
    ("v1", "Secret"): Kind("kubernetes:core/v1:Secret", secrets=("data", "stringData")),
    ("v1", "Service"): Kind("kubernetes:core/v1:Service", ("status",)),
    ("batch/v1", "Job"): Kind("kubernetes:batch/v1:Job", ("status",), read_back=frozenset({"status"})),
    ("batch/v1", "CronJob"): Kind("kubernetes:batch/v1:CronJob", ("status",), read_back=frozenset({"status"})),
    ("apps/v1", "Deployment"): Kind("kubernetes:apps/v1:Deployment", ("status",)),
    ("networking.k8s.io/v1", "NetworkPolicy"): Kind("kubernetes:networking.k8s.io/v1:NetworkPolicy", ("status",)),
}
# The provider plugin's version (and download URL), which picks the default provider: once, not
# per resource (ResourceOptions.merge copies).
PROVIDER_DEFAULTS = provider_sdk.get_resource_opts_defaults()


class BuiltIn(ReadsBackWhatItLists, pulumi.CustomResource):
    """A built-in Kubernetes object, registered as the provider SDK's typed class of its kind
    registers it (type token, inputs, secret fields, provider version), so its URN and inputs are
    the same. Why not the typed classes: importing their generated modules (`core.v1`, `batch.v1`,
    `apps.v1`, `networking.v1`) took 0.3 s of every program's start, a tenth of a 10-skill `up`.
    Left out: the typed Deployment's, NetworkPolicy's and CronJob's aliases to beta API groups no
    Skillship stack ever held."""

    status: pulumi.Output[Any]  # the kinds with `status` among their outputs: only a Job's is read back
    read_back: frozenset[str]  # the outputs the SDK turns into values (skillship_components/sdk/read_back.py)

    def __init__(self, name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions, **overrides: Any) -> None:
        kind = BUILT_IN_KINDS[obj["apiVersion"], obj["kind"]]
        self.read_back = kind.read_back
        props: dict[str, Any] = {**obj, **overrides}
        for field in kind.secrets:
            if props.get(field) is not None:
                props[field] = pulumi.Output.secret(props[field])
        props.update({output: None for output in kind.outputs})
        opts = pulumi.ResourceOptions.merge(PROVIDER_DEFAULTS, opts)
        if kind.secrets:
            secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=list(kind.secrets))
            opts = pulumi.ResourceOptions.merge(opts, secret_outputs)
        super().__init__(kind.token, name, props, opts)
        self.hide_outputs_not_read_back()


def dependencies(opts: pulumi.ResourceOptions | None) -> list[pulumi.Input[pulumi.Resource]]:
    """A component's `depends_on`, for its children: a component's own dependencies do not hold
    back the resources it declares, so each child is given them. An Output of a resource (a
    daemon that serves: skillship_components/daemon_ready.py) holds a child back until it resolves."""
    given = opts.depends_on if opts is not None else None
    if given is None:
        return []
    listed: list[Any] = list(given) if isinstance(given, (list, tuple)) else [given]
    kept: list[pulumi.Input[pulumi.Resource]] = [r for r in listed if isinstance(r, (pulumi.Resource, pulumi.Output))]
    if len(kept) != len(listed):  # an awaitable would need resolving first
        raise TypeError("a Skillship component's depends_on must list resources or Outputs of resources")
    return kept


def declare(name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions, **overrides: Any) -> pulumi.CustomResource:
    """A BuiltIn for built-in kinds, a CustomResource for Istio's; `overrides` replace top-level
    fields with Outputs (a Job's spec that waits for an image digest, a secret's data)."""
    if (obj["apiVersion"], obj["kind"]) in BUILT_IN_KINDS:
        return BuiltIn(name, obj, opts, **overrides)
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    fields.update(overrides)
    return IstioObject(name, api_version=obj["apiVersion"], kind=obj["kind"], opts=opts, **fields)


class IstioObject(ReadsBackWhatItLists, k8s.apiextensions.CustomResource):
    """An Istio object, registered as the provider SDK's CustomResource (same type token and
    inputs); the program reads none of its outputs back (skillship_components/sdk/read_back.py)."""

    read_back: frozenset[str] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hide_outputs_not_read_back()


def plain(value: Any) -> Any:
    """Output values may be typed objects; the core's readers want plain dicts and lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "__dict__") and not isinstance(value, (str, int, float, bool)):
        return {k: plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value
