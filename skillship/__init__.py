"""Skillship: ship batch job skills to Kubernetes. The pure core; it never imports Pulumi.

The names below load on first use, as `skillship.plan`'s do: every `skillship` command starts by
importing this package, and `status`, `logs` and `run` read no workspace, so they need no models.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the type checker sees: the same names, eagerly
    from skillship.checks.validation import load_workspace
    from skillship.source.diagnostics import Diagnostic, Diagnostics, Severity
    from skillship.source.workspace import AgentSource, SkillSource, Workspace

_HOMES = {
    "AgentSource": "source.workspace",
    "Diagnostic": "source.diagnostics",
    "Diagnostics": "source.diagnostics",
    "Severity": "source.diagnostics",
    "SkillSource": "source.workspace",
    "Workspace": "source.workspace",
    "load_workspace": "checks.validation",
}

__all__ = ["AgentSource", "Diagnostic", "Diagnostics", "Severity", "SkillSource", "Workspace", "load_workspace"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"skillship.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'skillship' has no attribute {name!r}")
