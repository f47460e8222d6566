"""The Pulumi program: the stack's settings, one StackDeployment component, the task status outputs."""

from pathlib import Path

import pulumi

from components.sdk_messages import drop_sdk_debug_messages

drop_sdk_debug_messages()  # first: importing the provider's SDK below already sends some
from components.config import read_stack_inputs  # noqa: E402
from components.deployment import StackDeployment, StackDeploymentArgs  # noqa: E402
from skillship.gcpolicy import tune_for_batch_run  # noqa: E402

tune_for_batch_run()  # thousands of resources that live until the end: collect less often
root = Path(__file__).resolve().parent
inputs = read_stack_inputs(root)
deployment = StackDeployment("skillship", StackDeploymentArgs(root=root, inputs=inputs))
pulumi.export("namespace", inputs.settings.namespace)
pulumi.export("tasks", deployment.tasks)
pulumi.export("images", deployment.images)  # what `promoteFrom` in another stack deploys
pulumi.export("skills", deployment.skills)  # what this stack deploys (a shard: its share)
