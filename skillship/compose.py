"""From a workspace on disk to a stack's plan: the stages, in order, in one place.

`skillship render`, the Pulumi program (skillship_components/deployment.py) and the benchmarks all call
`plan_stack`, and `skillship validate --stack` its second half, so what one of them does and
another does not is answered here: load and validate the workspace, refuse it when invalid, digest
every build context through the project's cache, plan the stack (with what is wrong with it among
the project's stacks), and save the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from skillship.checks.validation import load_workspace
from skillship.images.digest import DigestCache, default_cache_file
from skillship.plan import DeploymentPlan, PlanError, plan_deployment
from skillship.source.diagnostics import Diagnostics
from skillship.source.workspace import Workspace
from skillship.stack.settings import StackSettings
from skillship.stack.stackfiles import project_problems, stack_file_lines


class InvalidWorkspace(Exception):
    """The workspace does not validate: nothing is planned, so nothing can be deployed."""

    def __init__(self, workspace: Workspace, diagnostics: Diagnostics) -> None:
        super().__init__("\n".join(d.render() for d in diagnostics.errors))
        self.workspace = workspace
        self.diagnostics = diagnostics


class InvalidStack(PlanError):
    """The stack cannot deploy the workspace (which validated): its problems, the workspace, and
    everything `skillship validate --stack` would report (the workspace's warnings too)."""

    def __init__(self, workspace: Workspace, validated: Diagnostics, error: PlanError) -> None:
        super().__init__(error.stack, error.diagnostics)
        self.workspace = workspace
        self.report = Diagnostics([*validated.items, *error.diagnostics])


def plan_stack(
    root: Path,
    settings: StackSettings,
    *,
    project_dir: Path,
    secret_properties: Mapping[str, Collection[str]] | None = None,
    digests: DigestCache | None = None,
    among_project_stacks: bool = True,
    stage_done: Callable[[str], None] = lambda stage: None,
) -> DeploymentPlan:
    """The plan of stack `settings.stack` for the workspace at `root`. Raises InvalidWorkspace or
    InvalidStack (every problem at once). `stage_done` hears the name of each stage as it ends;
    the other arguments are plan_workspace's."""
    workspace, diagnostics = load_workspace(root)
    if not diagnostics.ok:
        raise InvalidWorkspace(workspace, diagnostics)
    stage_done("read and validate")
    try:
        plan = plan_workspace(
            workspace,
            settings,
            project_dir=project_dir,
            secret_properties=secret_properties,
            digests=digests,
            among_project_stacks=among_project_stacks,
        )
    except PlanError as exc:
        raise InvalidStack(workspace, diagnostics, exc) from None
    stage_done("plan, digests included")
    return plan


def checked_plan(
    workspace: Workspace,
    diagnostics: Diagnostics,
    settings: StackSettings,
    *,
    project_dir: Path,
    secret_properties: Mapping[str, Collection[str]] | None = None,
) -> DeploymentPlan | None:
    """`skillship validate --stack`'s second half, for a workspace that validated: the stack's plan,
    its warnings added to `diagnostics`; or None, with why it cannot be planned added instead."""
    try:
        plan = plan_workspace(workspace, settings, project_dir=project_dir, secret_properties=secret_properties)
    except PlanError as exc:
        diagnostics.extend(exc.diagnostics)
        return None
    diagnostics.extend(plan.warnings)
    return plan


def plan_workspace(
    workspace: Workspace,
    settings: StackSettings,
    *,
    project_dir: Path,
    secret_properties: Mapping[str, Collection[str]] | None = None,
    digests: DigestCache | None = None,
    among_project_stacks: bool = True,
) -> DeploymentPlan:
    """The plan of a workspace that validated (`skillship validate --stack` has loaded it already).
    `digests` defaults to the project's digest cache, saved afterwards; `among_project_stacks=False`
    skips the check against the project's other stack files (a workspace outside any project).
    Raises plan.PlanError."""
    if digests is None:
        digests = DigestCache(default_cache_file(project_dir))
    problems = project_problems(project_dir, settings.stack, settings.namespace) if among_project_stacks else []
    plan = plan_deployment(
        workspace,
        settings,
        project_dir=project_dir,
        secret_properties=secret_properties,
        digester=digests.digest,
        stack_problems=problems,
        stack_file=stack_file_lines(project_dir, settings.stack),
    )
    digests.save()
    return plan
