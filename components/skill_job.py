"""SkillJob: the ServiceAccount, Secret, message, Istio policies and Job of one task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.kubernetes import declare
from skillship.manifests import task_objects
from skillship.manifests.job import CONTAINER, build_job
from skillship.plan import TaskPlan
from skillship.settings import StackSettings
from skillship.status import TaskFailed, check_task, logs_command, task_summary


@dataclass(frozen=True)
class SkillJobArgs:
    task: TaskPlan
    settings: StackSettings
    image: pulumi.Input[str]
    secret_values: pulumi.Output | None = None  # Output[dict[property, value]], secret
    depends_on: tuple[pulumi.Resource, ...] = ()


class SkillJob(pulumi.ComponentResource):
    """`status` is the task's summary (skillship.status.task_summary); it fails the deployment
    when the task failed and the stack waits for tasks."""

    status: pulumi.Output

    def __init__(self, name: str, args: SkillJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("skillship:index:SkillJob", name, None, opts)
        task, settings = args.task, args.settings
        # Shapes from the core, with images by content tag; the Job's spec is rebuilt below with the
        # pushed digest, by the same builder, so `render` and `pulumi up` cannot drift apart.
        objects = task_objects(task, settings, image=task.image_by_tag, secret_values=None)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))

        before_job: list[pulumi.Resource] = [declare(f"{name}-sa", objects.service_account, child)]
        if objects.secret is not None:
            before_job.append(declare(
                f"{name}-secret", objects.secret,
                pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(additional_secret_outputs=["stringData", "data"])),
                stringData=self._secret_data(task, settings, args.secret_values),
            ))
        for suffix, obj in (("message", objects.message), ("netpol", objects.network_policy),
                            ("authz", objects.authorization), ("sidecar", objects.sidecar)):
            if obj is not None:
                before_job.append(declare(f"{name}-{suffix}", obj, child))

        spec = pulumi.Output.from_input(args.image).apply(lambda ref: build_job(task, settings, image=ref)["spec"])
        job = declare(f"{name}-job", objects.job,
                      pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=before_job)), spec=spec)
        summary = pulumi.Output.all(job.status, args.image).apply(
            lambda values: task_summary(
                key=task.key, job=task.job_name, namespace=settings.namespace, image=values[1],
                container=CONTAINER, status=_plain(values[0]), rendered=settings.renders,
            )
        )
        if settings.wait and not settings.renders:
            summary = summary.apply(_fail_on_failed_task)
            # Shown beside the provider's own error when the Job fails: which skill, where its logs are.
            logs = logs_command(namespace=settings.namespace, job=task.job_name, container=CONTAINER)
            pulumi.log.info(f"task of skill {task.skill!r} runs as Job {settings.namespace}/{task.job_name}; "
                            f"its logs: {logs}", resource=self)
        self.status = summary
        self.register_outputs({"status": summary})

    @staticmethod
    def _secret_data(task: TaskPlan, settings: StackSettings, values: pulumi.Output | None) -> Any:
        if settings.renders or values is None:
            # renderYamlToDirectory writes Secrets in plain text: a render stack never gets the values.
            return {name: "<redacted>" for name in task.secure_properties}
        return values.apply(lambda all_values: {name: str(all_values[task.skill][name]) for name in task.secure_properties})


def _fail_on_failed_task(summary: dict) -> dict:
    try:
        return check_task(summary)
    except TaskFailed as exc:
        raise pulumi.RunError(str(exc)) from None


def _plain(value: Any) -> Any:
    """Output values may be typed objects; the status reader wants plain dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__") and not isinstance(value, (str, int, float, bool)):
        return {k: _plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value
