"""What a stack deploys: one task per job action and one daemon per daemon action, each with its
image, message and names, planned from a validated workspace and the stack's settings.

The public names live here; the modules behind them each change for one reason (see
`deployment`, which composes them).
"""

from skillship.plan.deployment import plan_deployment
from skillship.plan.envelope import canonical_json
from skillship.plan.model import DaemonPlan, DeploymentPlan, PlanError, TaskPlan, Workload
from skillship.plan.properties import secret_env_name

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
