"""Skillship settings filed under the project's own namespace: Pulumi files a key given without
one (`pulumi config set registryPassword ...` in project `acme` writes `acme:registryPassword`),
and Skillship reads only `skillship:` keys. Both readers (the stack files and `pulumi.Config`)
refuse such a setting, or warn of a near one, rather than drop it without a word."""

from __future__ import annotations

from collections.abc import Iterable

from skillship.stack.settings import CONFIG_NAMESPACE, nearest_setting, setting_keys


def misfiled_keys(keys: Iterable[str], project: str) -> list[str]:
    """Config keys that name a Skillship setting under the project's own namespace, where Pulumi
    files a key given without one (`pulumi config set registryPassword ...` in project `acme`
    writes `acme:registryPassword`). Skillship reads only `skillship:` keys, so such a setting
    would be dropped without a word."""
    if project == CONFIG_NAMESPACE:
        return []
    names = setting_keys()
    return sorted(key for key in keys if key.partition(":")[0] == project and key.partition(":")[2] in names)


def near_misfiled_keys(keys: Iterable[str], project: str) -> dict[str, str]:
    """Keys under the project's own namespace that no setting is named, but one nearly is
    (`acme:registyPassword`): key -> the setting it most likely meant. Nothing of Skillship's
    reads them; a program of the user's own might, so they are warned about, not refused."""
    if project == CONFIG_NAMESPACE:
        return {}
    names = setting_keys()
    found = {}
    for key in keys:
        namespace, _, name = key.partition(":")
        if namespace == project and name not in names and (nearest := nearest_setting(name)):
            found[key] = nearest
    return found


def misfiled_message(keys: list[str]) -> str:
    found = ", ".join(keys)
    names = ", ".join(f"{CONFIG_NAMESPACE}:{key.partition(':')[2]}" for key in keys)
    return (
        f"{found}: Skillship reads its settings as {names} and would ignore these (Pulumi files a key "
        f"given without a namespace under the project's name). Set them again with the "
        f"`{CONFIG_NAMESPACE}:` prefix (`pulumi config set [--secret] {CONFIG_NAMESPACE}:NAME ...`) "
        "and remove these."
    )
