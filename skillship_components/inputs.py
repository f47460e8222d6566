"""The stack output `inputs`: the digest of what this `up` declared (skillship.stack_digest), which
`skillship-pipeline` compares before its next deploy to skip a stack whose inputs did not change.

It resolves only once every task, schedule and image of the stack has: a failed task fails the `up`,
and an `up` that fails records no digest, so the next deploy runs again whatever its inputs. An
`up` of some skills only (`skillship-pipeline deploy --skill`) records none either: the others'
inputs may have changed and not been deployed.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi

from skillship.plan import DeploymentPlan
from skillship.stack.stackfiles import StackFileError, load_stack
from skillship.stack_digest import REGISTRY_PASSWORD_ENV, SOME_SKILLS_ONLY_ENV, stack_digest


def inputs_output(root: Path, plan: DeploymentPlan, *after: pulumi.Output[Any]) -> pulumi.Output[dict[str, Any] | None]:
    if os.environ.get(SOME_SKILLS_ONLY_ENV):
        return pulumi.Output.from_input(None)
    try:
        # The settings the program read (pulumi.Config), with the files' other facts (the context).
        config = replace(load_stack(root, plan.settings.pulumi_stack), settings=plan.settings)
    except StackFileError:
        return pulumi.Output.from_input(None)  # settings from elsewhere than the files: no digest, no skip
    digest = stack_digest(config, plan, registry_password=os.environ.get(REGISTRY_PASSWORD_ENV) or None)
    return pulumi.Output.all(*after).apply(lambda _: digest.as_output())
