"""The ServiceAccount and Secret of one skill, declared once whatever the number of its actions."""

from __future__ import annotations

from typing import Any

import pulumi

from skillship.manifests import skill_identity
from skillship.manifests.identity import REDACTED
from skillship.plan import Workload
from skillship.stack.settings import StackSettings
from skillship_components.kubernetes import declare


def declare_identity(
    prefix: str,
    workload: Workload,
    settings: StackSettings,
    secret_values: pulumi.Output[Any] | None,
    opts: pulumi.ResourceOptions,
    *,
    former_owner: str,
) -> list[pulumi.Resource]:
    """The skill's ServiceAccount (and Secret), as children of the Workspace. `former_owner` is the
    type of the component that declared them before they were the skill's (SkillJob or SkillDaemon
    of the skill's first action): an alias keeps a stack deployed then from deleting and making
    them again."""
    objects = skill_identity(workload, settings, secret_values=None)
    old_parent = pulumi.create_urn(f"{prefix}-{workload.name}", former_owner, parent=opts.parent)

    def options(suffix: str, **extra: Any) -> pulumi.ResourceOptions:
        alias = pulumi.Alias(name=f"{prefix}-{workload.name}-{suffix}", parent=old_parent)
        return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[alias], **extra))

    name = f"{prefix}-{workload.service_account}"
    declared: list[pulumi.Resource] = []
    for suffix, obj in objects.named():  # the ServiceAccount, then the Secret when the skill has one
        if obj is objects.secret:
            secret_options = options(suffix, additional_secret_outputs=["stringData", "data"])
            data = secret_data(workload, settings, secret_values)
            declared.append(declare(f"{name}-{suffix}", obj, secret_options, stringData=data))
        else:
            declared.append(declare(f"{name}-{suffix}", obj, options(suffix)))
    return declared


def secret_data(
    workload: Workload, settings: StackSettings, values: pulumi.Output[dict[str, dict[str, str]]] | None
) -> Any:
    if settings.renders or values is None:
        # renderYamlToDirectory writes Secrets in plain text: a render stack never gets the values.
        return {name: REDACTED for name in workload.secure_properties}
    return values.apply(
        lambda all_values: {name: str(all_values[workload.skill][name]) for name in workload.secure_properties}
    )
