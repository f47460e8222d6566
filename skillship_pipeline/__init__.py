"""The steps of a CI deploy pipeline, in one entry point that both CI files call (`ci/`) and the
end-to-end suite runs: `skillship-pipeline preview|deploy|promote --stack NAME` (docs/pipelines.md).

It runs the project's own program through Pulumi's Automation API, the way `pulumi up` runs it,
and the `skillship` commands a user runs. Unlike `skillship` itself, it needs Pulumi installed
(the `deploy` extra).
"""
