"""A skill's properties under a stack: the values the stack sets, checked against what the skill
declares; plain values merged in order (skill default < agent < message < stack); secure ones only
ever by name, since their values travel in the skill's Secret. Properties named `headers.<name>`
are the message's headers, as on Cortex, not its properties."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from skillship.plan.problems import StackProblems
from skillship.source.workspace import SkillSource
from skillship.stack.settings import StackSettings
from skillship_runtime.contract import SECRET_ENV_PREFIX

_ENV_NAME = re.compile(r"[^A-Z0-9]+")


def secret_env_name(prop: str) -> str:
    """The environment variable that carries a secure property: `api.token` -> SKILLSHIP_SECRET_API_TOKEN."""
    return SECRET_ENV_PREFIX + _ENV_NAME.sub("_", prop.upper()).strip("_")


def checked_defaults(
    source: SkillSource, settings: StackSettings, secrets: Collection[str], problems: StackProblems
) -> dict[str, Any]:
    """Checks the stack's property values for a skill, once however many actions it has; returns
    the defaults of its plain properties."""
    skill = source.skill
    declared = {p.name: p for p in skill.properties}
    given = settings.properties.get(skill.name, {})
    for name in sorted(given):
        if name not in declared:
            problems.setting(
                "stack-unknown-property",
                f"skillship:properties.{skill.name} sets {name!r}, which skill {skill.name!r} does not declare",
                "properties",
                skill.name,
                name,
            )
        elif declared[name].secure:
            problems.setting(
                "stack-plain-secret",
                f"skillship:properties.{skill.name}.{name} is a secure property: "
                f"set it with `pulumi config set --secret --path 'secrets.{skill.name}[\"{name}\"]' VALUE`",
                "properties",
                skill.name,
                name,
            )
    for name in sorted(secrets):
        if name not in declared or not declared[name].secure:
            problems.setting(
                "stack-unknown-property",
                f"skillship:secrets.{skill.name} sets {name!r}, which is not a secure property of the skill",
                "secrets",
                skill.name,
                name,
            )
    for prop in skill.properties:
        has_value = prop.name in secrets if prop.secure else (prop.name in given or prop.default_value is not None)
        if prop.required and not has_value:
            problems.setting(
                "required-property",
                f"skill {skill.name!r} requires property {prop.name!r}; stack {settings.stack!r} gives no value",
                "secrets" if prop.secure else "properties",
                skill.name,
                prop.name,
            )
    env_names: dict[str, str] = {}
    for name in sorted(secrets):
        env = secret_env_name(name)
        if env in env_names:
            problems.setting(
                "secret-env-clash",
                f"secure properties {env_names[env]!r} and {name!r} of skill {skill.name!r} share the variable {env}",
                "secrets",
                skill.name,
                name,
            )
        env_names[env] = name
    return {p.name: p.default_value for p in skill.properties if not p.secure and p.default_value is not None}


HEADER_PREFIX = "headers."


def merged_properties(
    source: SkillSource,
    defaults: Mapping[str, Any],
    agent: Mapping[str, Any],
    message: Mapping[str, Any],
    settings: StackSettings,
) -> dict[str, Any]:
    """What a skill's tasks and daemons see: defaults, the agent's, the message's, then the stack's;
    never a secure property's value."""
    merged = {
        **defaults,
        **agent,
        **(message.get("properties") or {}),
        **settings.properties.get(source.skill.name, {}),
    }
    for prop in source.skill.properties:
        if prop.secure:
            merged.pop(prop.name, None)  # secrets travel only through the Secret
    return merged


def split_headers(properties: Mapping[str, Any], message_headers: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(properties, headers): `headers.X-Trace` is the header `X-Trace`, after the message's own."""
    headers = dict(message_headers) if isinstance(message_headers, Mapping) else {}
    plain: dict[str, Any] = {}
    for name, value in properties.items():
        if name.startswith(HEADER_PREFIX) and len(name) > len(HEADER_PREFIX):
            headers[name[len(HEADER_PREFIX) :]] = value
        else:
            plain[name] = value
    return plain, headers
