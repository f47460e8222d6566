"""The one place that reads `pulumi.Config` into Skillship's typed settings.

Every `skillship:` key of the stack is read, so a misspelt key is an error rather than a silently
ignored default. Secret keys never enter StackSettings: they stay Pulumi secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from skillship.stack.misfiled import misfiled_keys, misfiled_message
from skillship.stack.settings import (
    CONFIG_NAMESPACE,
    SECRET_KEYS,
    SettingsError,
    StackSettings,
    config_value,
    parse_shard_stack,
)
from skillship.stack.stackfiles import StackConfig, StackFileError, UnknownStack, find_project, load_stack


@dataclass(frozen=True)
class StackInputs:
    settings: StackSettings
    # skill -> names of secure properties the stack sets (values stay secret)
    secret_properties: dict[str, list[str]] = field(default_factory=dict)
    secret_values: pulumi.Output[dict[str, dict[str, str]]] | None = None  # skill -> property -> value, secret
    registry_password: pulumi.Output[str] | None = None
    registry_pull_password: pulumi.Output[str] | None = None  # the password of registryPullUsername
    # For a shard stack: the kubeconfig context of its environment's file, which its own
    # provider uses (a shard's stack config holds only secrets, so the default provider has none).
    kube_context: str | None = None


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


def read_stack_inputs(project_dir: Path | None = None) -> StackInputs:
    """The stack's settings and secrets; for a shard stack, the settings of its environment's file
    (skillship.stack.shards) and the secrets of its own config."""
    misfiled = misfiled_keys(
        set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env()), pulumi.get_project()
    )
    if misfiled:
        raise pulumi.RunError(f"{misfiled_message(misfiled)} Nothing was deployed.")
    shard = _shard_config(project_dir, pulumi.get_stack())
    values: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    passwords: dict[str, pulumi.Output[str]] = {}
    for key, (raw, secret) in stack_config().items():
        name = key.split(":", 1)[1]
        if name in SECRET_KEYS:
            if not secret:
                raise pulumi.RunError(f"{key} holds a secret in plain text: set it with `pulumi config set --secret`")
            if name == "secrets":
                secrets = config_value(raw) or {}
                if not isinstance(secrets, dict) or not all(isinstance(v, dict) for v in secrets.values()):
                    raise pulumi.RunError(f"{key} must map each skill to its secure property values")
            else:
                passwords[name] = pulumi.Output.secret(raw)
        else:
            values[name] = config_value(raw)
    secret_properties = {skill: sorted(props) for skill, props in secrets.items()}
    if shard is not None:
        settings = shard.settings
        # Its own config holds Pulumi.yaml's defaults of every key too, so what it may not set is
        # checked in its stack file (skillship.stack.stackfiles), where a user would have set it.
        _check_shard(shard, secret_properties, passwords=set(passwords))
    else:
        try:
            settings = StackSettings.from_config(pulumi.get_stack(), values)
        except SettingsError as exc:
            raise pulumi.RunError(str(exc)) from None
    if settings.declares_pull_secret and settings.pull_password_key not in passwords:
        raise pulumi.RunError(
            f"stack {settings.pulumi_stack!r} pulls its images as {settings.pull_username!r} and has no "
            f"{CONFIG_NAMESPACE}:{settings.pull_password_key}: set it with `pulumi config set --secret "
            f"{CONFIG_NAMESPACE}:{settings.pull_password_key}`, or set {CONFIG_NAMESPACE}:imagePullSecret "
            "(docs/settings.md, Registry credentials). Nothing was deployed."
        )
    return StackInputs(
        settings=settings,
        secret_properties=secret_properties,
        secret_values=pulumi.Output.secret(secrets) if secrets else None,
        registry_password=passwords.get("registryPassword"),
        registry_pull_password=passwords.get(settings.pull_password_key),
        kube_context=shard.kube_context if shard is not None else None,
    )


def _shard_config(project_dir: Path | None, stack: str) -> StackConfig | None:
    """The settings of a stack named as a shard of a sharded environment of the project, else None."""
    if parse_shard_stack(stack) is None:
        return None
    try:
        config = load_stack(project_dir or find_project(Path.cwd()), stack)
    except UnknownStack:
        return None  # a stack of that name with no file, that no sharded environment claims
    except StackFileError as exc:
        raise pulumi.RunError(str(exc)) from None
    return config if config.settings.shard is not None else None


def _check_shard(shard: StackConfig, secrets: dict[str, list[str]], *, passwords: set[str]) -> None:
    """A shard deploys with its environment's settings and needs every secret that environment sets."""
    environment = shard.environment
    assert environment is not None
    stack, source = shard.settings.pulumi_stack, shard.settings.stack
    missing = [
        f"{CONFIG_NAMESPACE}:secrets.{skill}.{prop}"
        for skill, props in sorted(environment.secret_properties.items())
        for prop in props
        if prop not in secrets.get(skill, ())
    ]
    missing += [
        f"{CONFIG_NAMESPACE}:{key}"
        for key in ("registryPassword", "registryPullPassword")
        if key in environment.secret_keys and key not in passwords
    ]
    if missing:
        raise pulumi.RunError(
            f"stack {stack!r} is a shard of {source!r} and lacks secrets {source!r} sets: {', '.join(missing)}; "
            f"copy each with `pulumi config cp KEY --stack {source} --dest {stack}` (docs/scale.md, Shards)"
        )
