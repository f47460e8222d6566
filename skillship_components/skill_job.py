"""SkillJob: the message, policies and Job of one task (its skill's ServiceAccount and Secret are
declared once per skill, by the StackDeployment)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from skillship.checks.names import TASK_CONTAINER, cron_job_name
from skillship.manifests import task_objects
from skillship.plan import TaskPlan
from skillship.stack.settings import StackSettings
from skillship.tasks.status import logs_command
from skillship_components.kubernetes import BuiltIn, declare, dependencies


@dataclass(frozen=True)
class SkillJobArgs:
    task: TaskPlan
    settings: StackSettings
    image: pulumi.Input[str]


class SkillJob(pulumi.ComponentResource):
    """One task. `job` is its Job (a scheduled task's CronJob), `job_status` that object's status as
    the provider reports it, `image` what it runs;
    the StackDeployment turns them into the task's summary. What the task must wait for (its
    skill's identity, the daemons it sends to, the jobs before it) comes as `opts.depends_on`, and
    every object of the task waits for it."""

    TYPE = "skillship:index:SkillJob"

    job: pulumi.Resource
    job_status: pulumi.Output[Any]  # the Job's status, as the provider reads it back
    image: pulumi.Output[str]

    def __init__(self, name: str, args: SkillJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, None, opts)
        task, settings = args.task, args.settings
        # The objects come from the core's builders, as `render` writes them, so `render` and
        # `pulumi up` cannot drift apart; only the image reference and secret values differ. The
        # image is the one value that waits for a build: an Output in the spec, so the rest of the
        # spec is known at preview time and no apply is needed.
        objects = task_objects(task, settings, image=args.image)
        waits_for = dependencies(opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=waits_for)

        # The objects and their names' suffixes come from the core (TaskObjects.named); the Job waits
        # for every other one.
        named = objects.named()
        before_job = [declare(f"{name}-{s}", obj, child) for s, obj in named if s not in objects.WORKLOAD]
        after = pulumi.ResourceOptions(parent=self, depends_on=[*waits_for, *before_job])
        [job] = [declare(f"{name}-{s}", obj, after) for s, obj in named if s in objects.WORKLOAD]
        if task.schedule is not None and not settings.renders:
            pulumi.log.info(
                f"skill {task.skill!r} runs on its schedule {task.schedule.cron!r} ({task.schedule.time_zone}) as "
                f"CronJob {settings.namespace}/{cron_job_name(task.name)}; its runs: skillship status --stack "
                f"{settings.stack}",
                resource=self,
            )
        elif settings.wait and not settings.renders:
            # Shown beside the provider's own error when the Job fails: which skill, where its logs are.
            logs = logs_command(namespace=settings.namespace, job=task.job_name, container=TASK_CONTAINER)
            pulumi.log.info(
                f"task of skill {task.skill!r} runs as Job {settings.namespace}/{task.job_name}; its logs: {logs}",
                resource=self,
            )
        # Summaries are made by the StackDeployment, all in one apply: an apply per task costs the SDK
        # time that grows faster than the number of tasks.
        assert isinstance(job, BuiltIn)  # declare() makes a BuiltIn of each built-in kind, a Job's with its status
        self.job = job
        self.job_status = job.status
        self.image = pulumi.Output.from_input(args.image)
        # The Job records its status, and the stack's `tasks` output the summary: the component
        # repeats neither (every repeat is state the engine rewrites after every step).
        self.register_outputs({})
