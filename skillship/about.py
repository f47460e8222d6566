"""Which Skillship this is: the installed distribution's version, shown by `--version` and carried
by every `--json` document, so a CI log says which release produced it."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version


@cache
def installed_version() -> str | None:
    """None when run from a source tree that was never installed."""
    try:
        return version("skillship")
    except PackageNotFoundError:
        return None
