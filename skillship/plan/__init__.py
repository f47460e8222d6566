"""What a stack deploys: one task per job action and one daemon per daemon action, each with its
image, message and names, planned from a validated workspace and the stack's settings.

The public names live here; the modules behind them each change for one reason (see
`deployment`, which composes them). They load on first use: a command that only reads a label's
name, or spells a message, needs no planner.
"""

from typing import TYPE_CHECKING

from skillship.lazy import lazy_exports

if TYPE_CHECKING:  # what the type checker sees: the same names, eagerly
    from skillship.plan.deployment import plan_deployment
    from skillship.plan.envelope import canonical_json
    from skillship.plan.model import DaemonPlan, DeploymentPlan, PlanError, TaskPlan, Workload
    from skillship.plan.properties import secret_env_name

_HOMES = {
    "plan_deployment": "deployment",
    "canonical_json": "envelope",
    "DaemonPlan": "model",
    "DeploymentPlan": "model",
    "PlanError": "model",
    "TaskPlan": "model",
    "Workload": "model",
    "secret_env_name": "properties",
}

__all__ = [
    "DaemonPlan",
    "DeploymentPlan",
    "PlanError",
    "TaskPlan",
    "Workload",
    "canonical_json",
    "plan_deployment",
    "secret_env_name",
]


__getattr__ = lazy_exports(__name__, _HOMES)
