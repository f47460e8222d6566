"""A task's identity and the message it runs with: the hash that names its Job and activation, and
the envelope of FORMAT.md around its payload.

The identity covers everything that makes a run a different run (stack, skill, action, image,
payload, properties, where its records go): a change in any of them is a new Job, and nothing else
is. `timestamp` and `token` stay out of the envelope: a timestamp would make every `pulumi up` a
new task, and a token does not belong in a spec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from skillship.checks.names import k8s_name, short_hash

if TYPE_CHECKING:  # annotations only: `skillship run` spells a message without the format's models
    from skillship.source.models import Action
    from skillship.source.workspace import SkillSource

_JOB_NAME_BASE = 54  # + "-" + 8 hex = 63


def canonical_json(value: Any) -> str:
    """One spelling of a value: sorted keys, no spaces. Hashes and messages are made from it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class TaskIdentity:
    job_name: str
    activation_id: str


def task_identity(
    *,
    stack: str,
    agent: str,
    headers: dict[str, Any],
    skill: str,
    action: str,
    name: str,
    image: str,
    payload: Any,
    properties: dict[str, Any],
    targets: dict[str, list[Any]],
) -> TaskIdentity:
    """`image` is the prebuilt reference or the content tag; `name` the action's Kubernetes name."""
    # Parts that older plans lacked are added only when present (the later ones tagged), so tasks
    # without them keep their names.
    optional = [
        *([[[output, found] for output, found in sorted(targets.items())]] if targets else []),
        *([{"agent": agent}] if agent else []),
        *([{"headers": headers}] if headers else []),
    ]
    identity = canonical_json([stack, skill, action, image, payload, properties, *optional])
    return TaskIdentity(
        job_name=f"{k8s_name(name, max_length=_JOB_NAME_BASE)}-{short_hash(identity, 8)}",
        activation_id=f"{name[:40]}-{short_hash(identity, 12)}",
    )


def envelope(
    *,
    activation_id: str,
    skill: str,
    agent: str,
    output_name: str,
    payload: Any,
    properties: dict[str, Any],
    headers: dict[str, Any],
    project: str,
) -> dict[str, Any]:
    """The message a task receives: a fresh activation is its own channel and session."""
    return {
        "activationId": activation_id,
        "agentName": agent,
        "channelId": activation_id,
        "headers": headers,
        "outputName": output_name,
        "payload": payload,
        "projectId": project,
        "properties": properties,
        "sessionId": activation_id,
        "skillName": skill,
    }


def output_name(source: SkillSource, action: Action) -> str:
    """The output the skill's routing names for this action (an input routed to it), else ""."""
    for item in source.skill.inputs:
        if item.routing is not None:
            for _, target in item.routing.targets():
                if target.action == action.name and target.output:
                    return target.output
    return ""
