"""The one place that reads `pulumi.Config` into Skillship's typed settings.

Every `skillship:` key of the stack is read, so a misspelt key is an error rather than a silently
ignored default. Secret keys never enter StackSettings: they stay Pulumi secrets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from skillship.settings import CONFIG_NAMESPACE, SECRET_KEYS, SettingsError, StackSettings


@dataclass(frozen=True)
class StackInputs:
    settings: StackSettings
    # skill -> names of secure properties the stack sets (values stay secret)
    secret_properties: dict[str, list[str]] = field(default_factory=dict)
    secret_values: pulumi.Output[dict[str, dict[str, str]]] | None = None  # skill -> property -> value, secret
    registry_password: pulumi.Output[str] | None = None


def stack_config() -> dict[str, tuple[Any, bool]]:
    """Every `skillship:` key the stack sets: its raw value, and whether it is a secret.

    The one use of `pulumi.runtime.config`, whose module asks programs to use `pulumi.Config`:
    `pulumi.Config` answers for keys it is asked about and cannot list them, and a misspelt key must
    be an error, not a default silently used. tests/test_program.py pins what this relies on, so an
    SDK that changes it fails there, loudly."""
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    return {
        key: (runtime_config.get_config(key), runtime_config.is_config_secret(key))
        for key in sorted(keys)
        if key.startswith(f"{CONFIG_NAMESPACE}:")
    }


def _parse(raw: Any) -> Any:
    """Objects and lists arrive as JSON text; scalars as text that pydantic converts."""
    if isinstance(raw, str) and raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def read_stack_inputs() -> StackInputs:
    values: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    password = None
    for key, (raw, secret) in stack_config().items():
        name = key.split(":", 1)[1]
        if name in SECRET_KEYS:
            if not secret:
                raise pulumi.RunError(f"{key} holds a secret in plain text: set it with `pulumi config set --secret`")
            if name == "secrets":
                secrets = _parse(raw) or {}
                if not isinstance(secrets, dict) or not all(isinstance(v, dict) for v in secrets.values()):
                    raise pulumi.RunError(f"{key} must map each skill to its secure property values")
            else:
                password = pulumi.Output.secret(raw)
        else:
            values[name] = _parse(raw)
    try:
        settings = StackSettings.from_config(pulumi.get_stack(), values)
    except SettingsError as exc:
        raise pulumi.RunError(str(exc)) from None
    return StackInputs(
        settings=settings,
        secret_properties={skill: sorted(props) for skill, props in secrets.items()},
        secret_values=pulumi.Output.secret(secrets) if secrets else None,
        registry_password=password,
    )
