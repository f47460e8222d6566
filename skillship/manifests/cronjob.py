"""The batch/v1 CronJob of a scheduled task: the task's Job, as the template of every run.

The template is the Job `build_job` makes (the restricted pod, its ServiceAccount and Secret, the
Istio handling of the stack's mode, the message inline or mounted), with one difference: each run
is an activation of its own. The runtime keys the records a job sends by its activation id, and
a receiver drops keys it has seen, so every run takes the id from its own Job's name (the
`batch.kubernetes.io/job-name` label the Job controller puts on its pods), which a retry of the same
run keeps. `pulumi up` does not wait for runs: nothing waits on a CronJob (docs/objects.md).
"""

from __future__ import annotations

from skillship.checks.names import TASK_CONTAINER, cron_job_name
from skillship.manifests import pod
from skillship.manifests.job import build_job
from skillship.manifests.labels import LABEL_TASK_KIND, SCHEDULED_KIND, metadata, version_label
from skillship.manifests.objects import KubeObject
from skillship.plan import TaskPlan
from skillship.stack.settings import StackSettings
from skillship_runtime.contract import ACTIVATION_ENV

RUN_NAME_LABEL = "batch.kubernetes.io/job-name"
# Runs kept after they end, for `skillship status` and `logs` to read: the last few of each outcome.
SUCCESSFUL_RUNS_KEPT = 3
FAILED_RUNS_KEPT = 3


def build_cron_job(task: TaskPlan, settings: StackSettings, *, image: pod.ImageRef) -> KubeObject:
    schedule = task.schedule
    if schedule is None:
        raise ValueError(f"task {task.key!r} has no schedule")
    # A Job of its own, built for this template (never copied: under `pulumi up` its image is an
    # Output, which cannot be copied), so its env list can be changed in place.
    job = build_job(task, settings, image=image)
    template = job["spec"]
    for container in template["template"]["spec"]["containers"]:
        if container["name"] == TASK_CONTAINER:
            container["env"] = [_per_run(variable) for variable in container["env"]]
    meta = metadata(cron_job_name(task.name), task, settings, **version_label(task))
    spec: KubeObject = {
        "schedule": schedule.cron,
        "timeZone": schedule.time_zone,
        "concurrencyPolicy": schedule.concurrency,
        "suspend": schedule.suspend,
        "successfulJobsHistoryLimit": SUCCESSFUL_RUNS_KEPT,
        "failedJobsHistoryLimit": FAILED_RUNS_KEPT,
        # Its runs say what they are, so `skillship status` tells them from a stack's tasks.
        "jobTemplate": {
            "metadata": {"labels": {**job["metadata"]["labels"], LABEL_TASK_KIND: SCHEDULED_KIND}},
            "spec": template,
        },
    }
    if schedule.starting_deadline_seconds is not None:
        spec["startingDeadlineSeconds"] = schedule.starting_deadline_seconds
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta, "spec": spec}


def _per_run(variable: KubeObject) -> KubeObject:
    if variable["name"] != ACTIVATION_ENV:
        return variable
    return {"name": ACTIVATION_ENV, "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{RUN_NAME_LABEL}']"}}}
