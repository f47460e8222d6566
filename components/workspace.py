"""Workspace: the whole deployment of one stack, declared by __main__.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.config import StackInputs
from components.kubernetes import declare
from components.skill_image import SkillImage, SkillImageArgs
from components.skill_job import SkillJob, SkillJobArgs
from skillship.manifests import namespace_objects
from skillship.plan import DeploymentPlan, PlanError, plan_deployment
from skillship.validation import load_workspace


@dataclass(frozen=True)
class WorkspaceArgs:
    root: Path
    inputs: StackInputs


class Workspace(pulumi.ComponentResource):
    """Validates and plans first: an invalid workspace or stack declares nothing at all."""

    tasks: pulumi.Output

    def __init__(self, name: str, args: WorkspaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        plan = _plan(args)
        super().__init__("skillship:index:Workspace", name, None, opts)
        settings = plan.settings
        for warning in plan.warnings:
            pulumi.log.warn(warning, resource=self)
        options = pulumi.ResourceOptions(parent=self)
        if settings.renders:
            provider = k8s.Provider(f"{name}-render", render_yaml_to_directory=str(args.root / settings.output_dir / "pulumi"),
                                    opts=options)
            options = pulumi.ResourceOptions(parent=self, provider=provider)

        shared: list[pulumi.Resource] = []
        for obj in namespace_objects(settings):  # the namespace first, then what lives in it
            shared.append(declare(f"{name}-{obj['kind'].lower()}-{obj['metadata']['name']}", obj,
                                  pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(depends_on=list(shared)))))
        statuses = {}
        for task in plan.tasks:
            image = SkillImage(f"{name}-{task.name}", SkillImageArgs(task, settings, args.inputs.registry_password), options)
            job = SkillJob(f"{name}-{task.name}", SkillJobArgs(
                task=task, settings=settings, image=image.ref, secret_values=args.inputs.secret_values,
                depends_on=tuple(shared),
            ), options)
            statuses[task.key] = job.status
        self.tasks = pulumi.Output.all(**statuses) if statuses else pulumi.Output.from_input({})
        self.register_outputs({"tasks": self.tasks})


def _plan(args: WorkspaceArgs) -> DeploymentPlan:
    workspace, diagnostics = load_workspace(args.root)
    if not diagnostics.ok:
        details = "\n".join(d.render() for d in diagnostics.errors)
        raise pulumi.RunError(f"the workspace is invalid; nothing was deployed:\n{details}")
    try:
        return plan_deployment(workspace, args.inputs.settings, project_dir=args.root,
                               secret_properties=args.inputs.secret_properties)
    except PlanError as exc:
        raise pulumi.RunError(f"{exc}\nNothing was deployed.") from None
