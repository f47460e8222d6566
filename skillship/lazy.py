"""Names a package exports but loads on first use (a module `__getattr__`, PEP 562): every
`skillship` command imports the package, and most need few of the modules behind its names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The package's `__getattr__`: each name in `homes` comes from `package.<its module>`."""

    def load(name: str) -> Any:
        if name in homes:
            return getattr(import_module(f"{package}.{homes[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return load


class LazyModule:
    """A module imported when one of its names is first read: `pulumi.automation` costs the pipeline
    most of a second to import, which a stage that deploys nothing never needs to pay."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(import_module(self._name), attribute)
