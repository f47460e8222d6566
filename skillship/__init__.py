"""Skillship: ship batch job skills to Kubernetes. The pure core; it never imports Pulumi."""

from skillship.diagnostics import Diagnostic, Diagnostics, Severity
from skillship.validation import load_workspace
from skillship.workspace import AgentSource, SkillSource, Workspace

__all__ = ["AgentSource", "Diagnostic", "Diagnostics", "Severity", "SkillSource", "Workspace", "load_workspace"]
