"""Opening a stack's settings and its cluster for the commands that talk to a deployed stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skillship.cli._common import Exit, fail
from skillship.cli.cluster import Cluster, ClusterError, connect
from skillship.stack.stackfiles import StackConfig, StackFileError, find_project, load_stack

# A required --stack of the commands that read a deployed stack.
StackOption = Annotated[
    str, typer.Option("--stack", "-s", envvar="SKILLSHIP_STACK", help="The deployed stack (or set SKILLSHIP_STACK).")
]


def deployed_stack(name: str) -> StackConfig:
    """A stack that deploys to a cluster; a render-only stack has no tasks to look at."""
    try:
        stack = load_stack(find_project(Path.cwd()), name)
    except StackFileError as exc:
        fail(str(exc), Exit.USAGE)
    if stack.settings.renders:
        fail(f"stack {name!r} renders manifests and deploys nothing; use a stack whose target is 'cluster'", Exit.USAGE)
    return stack


def open_cluster(stack: StackConfig) -> Cluster:
    try:
        return connect(stack)
    except ClusterError as exc:
        fail(str(exc), Exit.USAGE)
