"""The names programs made by `skillship init` before December 2026 import; new programs import
components.deployment (the core has a `Workspace` of its own: the skills and agents on disk)."""

from skillship_components.deployment import StackDeployment as Workspace
from skillship_components.deployment import StackDeploymentArgs as WorkspaceArgs

__all__ = ["Workspace", "WorkspaceArgs"]
