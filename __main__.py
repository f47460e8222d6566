"""The Pulumi program: the stack's settings, one StackDeployment component, the task status outputs."""

from pathlib import Path

import pulumi

from components.config import read_stack_inputs
from components.deployment import StackDeployment, StackDeploymentArgs
from components.sdk_messages import drop_sdk_debug_messages
from components.sdk_outputs import wait_for_outputs_in_one_pass
from components.sdk_read_back import read_back_only_what_is_used
from components.sdk_stack_traces import keep_program_frames
from skillship.gcpolicy import tune_for_batch_run

drop_sdk_debug_messages()  # four or five blocking calls to the engine per resource, shown to nobody
tune_for_batch_run()  # thousands of resources that live until the end: collect less often
wait_for_outputs_in_one_pass()  # the SDK's end-of-program wait, linear in the Outputs instead of quadratic
read_back_only_what_is_used()  # of each Kubernetes object's live state, only what the program reads (a Job's status)
root = Path(__file__).resolve().parent
keep_program_frames(root)  # each resource's stack trace: this program's frames, not the SDK's or asyncio's
inputs = read_stack_inputs(root)
deployment = StackDeployment("skillship", StackDeploymentArgs(root=root, inputs=inputs))
pulumi.export("namespace", inputs.settings.namespace)
pulumi.export("tasks", deployment.tasks)
pulumi.export("images", deployment.images)  # what `promoteFrom` in another stack deploys
pulumi.export("skills", deployment.skills)  # what this stack deploys (a shard: its share)
