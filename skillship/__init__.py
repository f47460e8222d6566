"""Skillship: ship batch job skills to Kubernetes. The pure core; it never imports Pulumi.

The names below load on first use, as `skillship.plan`'s do: every `skillship` command starts by
importing this package, and `status`, `logs` and `run` read no workspace, so they need no models.
"""

from typing import TYPE_CHECKING

from skillship.lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _HOMES)
