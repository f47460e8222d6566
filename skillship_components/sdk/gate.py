"""The SDK versions the adaptations are tested with, and the check of the installed one.

The adaptations reach into the SDK's private parts, which any release may move. CI runs them with
the lowest SDK pyproject.toml admits (tools/lowest-versions.sh) and with the newest its test extra
admits; outside that range the program leaves the SDK as it ships and says so once: slower, never
wrong. Widen the range in the commit that runs the tests with the new SDK (tests/test_sdk_fence.py
checks that this range and pyproject.toml's bounds agree).
"""

from __future__ import annotations

from importlib import metadata

from packaging.version import InvalidVersion, Version

LOWEST = Version("3.231.0")  # the deploy extra's floor
NEWEST = Version("3.272.0")  # the test extra's cap


def installed_sdk() -> str:
    return metadata.version("pulumi")


def outside_tested(installed: str) -> str | None:
    """None for an SDK in the tested range; else the warning the program gives, once."""
    try:
        version = Version(installed)
    except InvalidVersion:
        version = None
    if version is not None and LOWEST <= version <= NEWEST:
        return None
    return (
        f"the Pulumi SDK installed is {installed}, and Skillship's adaptations of its internals are "
        f"tested with {LOWEST} to {NEWEST}: the SDK runs as it ships, slower on large stacks "
        "(docs/scale.md, 'Adaptations of the SDK'). Install a tested SDK, or a Skillship that "
        "tests this one."
    )
