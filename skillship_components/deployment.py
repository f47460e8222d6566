"""StackDeployment: the whole deployment of one stack, declared by __main__.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from skillship.checks.names import TASK_CONTAINER
from skillship.compose import InvalidWorkspace, plan_stack
from skillship.manifests import namespace_objects
from skillship.manifests.identity import docker_config_json
from skillship.output.render import output_problem
from skillship.plan import DeploymentPlan, PlanError, TaskPlan, Workload
from skillship.plan.handoff import planned_share
from skillship.plan.promotion import PromotionError, image_key, image_output, image_sources, merged_images, promoted_ref
from skillship.stack.settings import PULL_SECRET_NAME
from skillship.tasks.status import TaskFailed, check_tasks, task_summary
from skillship_components.config import StackInputs
from skillship_components.inputs import inputs_output
from skillship_components.kubernetes import declare, plain
from skillship_components.schedules import schedule_summaries
from skillship_components.skill_daemon import SkillDaemon, SkillDaemonArgs
from skillship_components.skill_identity import declare_identity
from skillship_components.skill_image import SkillImage, SkillImageArgs
from skillship_components.skill_job import SkillJob, SkillJobArgs
from skillship_components.start_watch import WatchedTask, watch_task_starts


@dataclass(frozen=True)
class StackDeploymentArgs:
    root: Path
    inputs: StackInputs


class StackDeployment(pulumi.ComponentResource):
    """Validates and plans first: an invalid workspace or stack declares nothing at all."""

    # The type is part of every child's URN: a new one would replace every object of every stack.
    TYPE = "skillship:index:Workspace"

    tasks: pulumi.Output[dict[str, dict[str, Any]]]  # skillship.tasks.status.task_summary by task key
    schedules: pulumi.Output[dict[str, dict[str, Any]]]  # skillship.tasks.schedules.schedule_summary by key
    skills: list[str]  # the skills this stack deploys (a shard's share of its environment)
    images: pulumi.Output[dict[str, dict[str, Any]]]  # skillship.plan.promotion.image_output by skill/action
    inputs: pulumi.Output[dict[str, Any] | None]  # skillship.stack_digest.StackDigest.as_output, once all ended

    def __init__(self, name: str, args: StackDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        plan = _plan(args)
        super().__init__(self.TYPE, name, None, opts)
        settings = plan.settings
        for warning in plan.warnings:
            pulumi.log.warn(warning.render(), resource=self)
        options = pulumi.ResourceOptions(parent=self)
        if args.inputs.kube_context is not None:  # a shard: its environment's cluster (StackInputs)
            provider = k8s.Provider(f"{name}-cluster", context=args.inputs.kube_context, opts=options)
            options = pulumi.ResourceOptions(parent=self, provider=provider)
        if settings.renders:
            # kubeconfig="": left unset, the provider SDK fills it from KUBECONFIG, and the provider
            # refuses a kubeconfig beside renderYamlToDirectory (a user's shell often sets it).
            provider = k8s.Provider(
                f"{name}-render",
                render_yaml_to_directory=str(args.root / settings.output_dir / "pulumi"),
                kubeconfig="",
                opts=options,
            )
            options = pulumi.ResourceOptions(parent=self, provider=provider)

        shared: list[pulumi.Resource] = []
        for obj in namespace_objects(settings):  # the namespace first, then what lives in it
            shared.append(
                declare(
                    f"{name}-{obj['kind'].lower()}-{obj['metadata']['name']}",
                    obj,
                    pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(depends_on=list(shared))),
                    **_secret_values(obj, args.inputs),
                )
            )
        # The base stack of a sharded environment holds the namespace; its shards hold the skills.
        self.skills = sorted({w.skill for w in (*plan.daemons, *plan.tasks)}) if not settings.is_base else []
        if settings.is_base:
            self.tasks = pulumi.Output.from_input({})
            self.schedules = pulumi.Output.from_input({})
            self.images = pulumi.Output.from_input({})
            self.inputs = inputs_output(args.root, plan)
            self.register_outputs({})
            return
        identities: dict[str, list[pulumi.Resource]] = {}
        images = _Images(name, args.root, args.inputs, options)

        def identity(workload: Workload, former_owner: str) -> list[pulumi.Resource]:
            """The skill's ServiceAccount and Secret, once, before the first of its actions."""
            if workload.skill not in identities:
                identities[workload.skill] = declare_identity(
                    name,
                    workload,
                    settings,
                    args.inputs.secret_values,
                    pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(depends_on=list(shared))),
                    former_owner=former_owner,
                )
            return identities[workload.skill]

        # Daemons first: the jobs that send them records wait until they serve (skillship_components/daemon_ready.py).
        receivers: dict[str, list[pulumi.Input[pulumi.Resource]]] = {}
        for daemon in plan.daemons:
            image = images.of(f"{name}-{daemon.name}", daemon)
            component = SkillDaemon(
                f"{name}-{daemon.name}",
                SkillDaemonArgs(daemon, settings, image, args.inputs.kube_context),
                _after(options, *shared, *identity(daemon, SkillDaemon.TYPE)),
            )
            for sender in daemon.senders:
                receivers.setdefault(sender, []).extend(component.ready)
        jobs: list[tuple[TaskPlan, SkillJob]] = []
        scheduled: list[tuple[TaskPlan, SkillJob]] = []
        declared: dict[str, SkillJob] = {}
        for task in plan.ordered_tasks():
            image = images.of(f"{name}-{task.name}", task)
            # A job mapped to another job runs after that job's Job has succeeded (the provider
            # waits for completion), never beside it.
            before = [declared[key].job for key in task.after]
            job = SkillJob(
                f"{name}-{task.name}",
                SkillJobArgs(task, settings, image),
                _after(
                    options, *shared, *identity(task, SkillJob.TYPE), *receivers.get(task.service_account, ()), *before
                ),
            )
            declared[task.key] = job
            (scheduled if task.schedule else jobs).append((task, job))
        watch_task_starts(
            settings,
            [WatchedTask(task.skill, task.job_name, job, job.job_status) for task, job in jobs],
            kube_context=args.inputs.kube_context,
        )
        self.tasks = _summaries(plan, jobs)
        # A scheduled skill runs later, on its clock: nothing waits for it; its state is its own output.
        self.schedules = schedule_summaries(settings, scheduled, kube_context=args.inputs.kube_context)
        self.images = images.output()
        self.inputs = inputs_output(args.root, plan, self.tasks, self.schedules, self.images)
        self.register_outputs({})  # the program exports both as the stack's outputs: not twice


class _Images:
    """What each workload runs, and the stack's `images` output of them."""

    def __init__(self, name: str, root: Path, inputs: StackInputs, options: pulumi.ResourceOptions) -> None:
        self.inputs = inputs
        self.options = options
        self.source = inputs.settings.promote_from
        self.promoted: pulumi.Output[Any] | None = None
        if self.source is not None:
            # A sharded source's images are its shards' (its base stack runs none), merged.
            found = [
                pulumi.StackReference(f"{name}-images-of-{stack}", stack, opts=options).get_output("images")
                for stack in image_sources(root, self.source)
            ]
            self.promoted = pulumi.Output.all(*found).apply(merged_images)
        self.runs: list[tuple[Workload, pulumi.Input[str]]] = []

    def of(self, name: str, workload: Workload) -> pulumi.Input[str]:
        """The reference a build pushed (by digest); the one the source stack ran, for a promoted
        stack (skillship.plan.promotion); or, when nothing is built (a prebuilt image, a stack that does
        not build), the content-tagged name, with no component that would hold nothing and still
        cost a resource in every step and in the state."""
        image: pulumi.Input[str]
        if workload.prebuilt_image:
            image = workload.image_by_tag
        elif self.promoted is not None and self.source is not None:
            source = self.source

            def promoted(found: Any) -> str:
                return _promoted(found, workload, source)

            image = self.promoted.apply(promoted)
        elif not self.inputs.settings.builds:
            image = workload.image_by_tag
        else:
            image = SkillImage(
                name, SkillImageArgs(workload, self.inputs.settings, self.inputs.registry_password), self.options
            ).ref
        self.runs.append((workload, image))
        return image

    def output(self) -> pulumi.Output[dict[str, dict[str, Any]]]:
        if not self.runs:
            return pulumi.Output.from_input({})
        workloads = [workload for workload, _ in self.runs]
        return pulumi.Output.all(*[image for _, image in self.runs]).apply(
            lambda refs: {image_key(w): image_output(w, ref) for w, ref in zip(workloads, refs, strict=True)}
        )


def _promoted(images: Any, workload: Workload, source: str) -> str:
    try:
        return promoted_ref(images, workload, source=source)
    except PromotionError as exc:
        raise pulumi.RunError(f"{exc}. Nothing of this task was deployed.") from None


def _secret_values(obj: dict[str, Any], inputs: StackInputs) -> dict[str, Any]:
    """The pull Secret's real content, a secret Output, in place of the core's <redacted> one (a
    render stack has no pull Secret: its provider would write the password to a file)."""
    password = inputs.registry_pull_password
    if obj["kind"] != "Secret" or obj["metadata"]["name"] != PULL_SECRET_NAME or password is None:
        return {}
    settings = inputs.settings
    return {"stringData": password.apply(lambda value: {".dockerconfigjson": docker_config_json(settings, value)})}


def _after(options: pulumi.ResourceOptions, *resources: pulumi.Input[pulumi.Resource]) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(depends_on=list(resources)))


def _summaries(plan: DeploymentPlan, jobs: list[tuple[TaskPlan, SkillJob]]) -> pulumi.Output[dict[str, dict[str, Any]]]:
    """Every task's summary (skillship.tasks.status.task_summary), in one apply; when the stack waits for
    its tasks, a failed one fails the deployment, naming every failed skill and its logs command."""
    settings = plan.settings
    gate = settings.wait and not settings.renders

    def summarise(values: list[Any]) -> dict[str, Any]:
        statuses, images = values[: len(jobs)], values[len(jobs) :]
        summaries = {
            task.key: task_summary(
                key=task.key,
                job=task.job_name,
                namespace=settings.namespace,
                image=image,
                container=TASK_CONTAINER,
                status=plain(status),
                rendered=settings.renders,
            )
            for (task, _), status, image in zip(jobs, statuses, images, strict=True)
        }
        if gate:
            try:
                check_tasks(summaries)
            except TaskFailed as exc:
                raise pulumi.RunError(str(exc)) from None
        return summaries

    if not jobs:
        return pulumi.Output.from_input({})
    return pulumi.Output.all(*[job.job_status for _, job in jobs], *[job.image for _, job in jobs]).apply(summarise)


def _plan(args: StackDeploymentArgs) -> DeploymentPlan:
    settings = args.inputs.settings
    if settings.renders:
        workspace = args.root / settings.workspace_dir
        problem = output_problem(args.root / settings.output_dir / "pulumi", args.root, workspace)
        if problem is not None:
            raise pulumi.RunError(f"{problem}. Nothing was deployed.")
    # The plan skillship-pipeline made and validated for this very stage, when it handed one.
    planned = planned_share(args.root, settings, args.inputs.secret_properties)
    if planned is not None:
        return planned
    try:
        return plan_stack(
            args.root / settings.workspace_dir,
            settings,
            project_dir=args.root,
            secret_properties=args.inputs.secret_properties,
        )
    except InvalidWorkspace as exc:
        raise pulumi.RunError(f"the workspace is invalid; nothing was deployed:\n{exc}") from None
    except PlanError as exc:
        raise pulumi.RunError(f"{exc}\nNothing was deployed.") from None
