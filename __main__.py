"""The Pulumi program: the stack's settings, one StackDeployment component, the task status outputs."""

from pathlib import Path

import pulumi

from skillship.gcpolicy import tune_for_batch_run
from skillship_components.config import read_stack_inputs
from skillship_components.deployment import StackDeployment, StackDeploymentArgs
from skillship_components.sdk import adapt_sdk

root = Path(__file__).resolve().parent
adapt_sdk(root)  # the SDK's internals, made to scale (skillship_components/sdk/; docs/scale.md)
tune_for_batch_run()  # thousands of resources that live until the end: collect less often
inputs = read_stack_inputs(root)
deployment = StackDeployment("skillship", StackDeploymentArgs(root=root, inputs=inputs))
pulumi.export("namespace", inputs.settings.namespace)
pulumi.export("tasks", deployment.tasks)
pulumi.export("schedules", deployment.schedules)  # the scheduled skills' CronJobs and latest runs
pulumi.export("images", deployment.images)  # what `promoteFrom` in another stack deploys
pulumi.export("skills", deployment.skills)  # what this stack deploys (a shard: its share)
pulumi.export("inputs", deployment.inputs)  # its inputs' digest: skillship-pipeline skips it when unchanged
