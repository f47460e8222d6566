"""`skillship logs`: a task's own log lines, never the Istio proxy's."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Annotated, Any

import typer

from skillship.checks.names import TASK_CONTAINER as CONTAINER
from skillship.checks.names import skill_name
from skillship.cli._common import Exit, fail, stderr
from skillship.cli._stack import StackOption, deployed_stack, open_cluster
from skillship.cli.cluster import Cluster, ClusterError, NoLogs
from skillship.cli.status import JOB_NAME_LABEL
from skillship.manifests.labels import ANNOTATION_ACTION


def logs(
    skill: Annotated[str, typer.Argument(help="The skill (or skill/action) whose task to read.")],
    stack: StackOption,
    job: Annotated[str | None, typer.Option("--job", help="This Job of the skill (default: its newest task).")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep streaming until the task's containers end.")
    ] = False,
    previous: Annotated[
        bool,
        typer.Option(
            "--previous",
            "-p",
            help=(
                "The log of the container before it restarted. Task containers never restart (each attempt is a "
                "pod of its own, and all are shown without this flag): the cluster says so."
            ),
        ),
    ] = False,
) -> None:
    """Print the task container's logs; with several pods, each line starts with its pod's name."""
    config = deployed_stack(stack)
    cluster = open_cluster(config)
    try:
        target = _pick_job(cluster, skill, job)
        pods = sorted(
            cluster.pods(f"{JOB_NAME_LABEL}={target}"),
            key=lambda p: (p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"]),
        )
        if not pods:
            fail(f"Job {target} has no pods yet: no logs to show", Exit.FAILED)
        printed = _print_pods(cluster, pods, previous=previous, follow=follow)
    except ClusterError as exc:
        fail(str(exc), Exit.USAGE)
    if not printed:
        raise typer.Exit(int(Exit.FAILED))


def _pick_job(cluster: Cluster, skill: str, job: str | None) -> str:
    name, _, action = skill.partition("/")
    jobs = [
        j
        for j in cluster.jobs(skill_name(name))
        if not action or (j["metadata"].get("annotations") or {}).get(ANNOTATION_ACTION) == action
    ]
    names = [j["metadata"]["name"] for j in jobs]
    if job is not None:
        if job not in names:
            fail(
                f"Job {job!r} is not a task of skill {skill!r} in stack {cluster.stack!r}"
                f" (its tasks: {', '.join(sorted(names)) or 'none'})",
                Exit.USAGE,
            )
        return job
    if not jobs:
        fail(f"skill {skill!r} has no task in stack {cluster.stack!r} (namespace {cluster.namespace})", Exit.USAGE)
    newest = max(jobs, key=lambda j: (j["metadata"].get("creationTimestamp") or "", j["metadata"]["name"]))
    return str(newest["metadata"]["name"])


def _print_pods(cluster: Cluster, pods: list[dict[str, Any]], *, previous: bool, follow: bool) -> int:
    """Print each pod's log (in parallel when following); returns how many pods gave logs."""
    prefixed = len(pods) > 1
    lock = threading.Lock()
    printed: list[str] = []
    errors: list[ClusterError] = []

    def one(pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        if not (pod.get("spec") or {}).get("nodeName"):
            stderr.print(f"pod {name} has not been scheduled to a node yet: no logs yet")
            return
        try:
            _write(
                cluster.pod_logs(name, CONTAINER, previous=previous, follow=follow),
                f"[{name}] " if prefixed else "",
                lock,
            )
            printed.append(name)
        except NoLogs as exc:
            stderr.print(_no_logs(name, pod, str(exc), previous=previous))
        except ClusterError as exc:
            errors.append(exc)

    if follow and prefixed:
        threads = [threading.Thread(target=one, args=(pod,), daemon=True) for pod in pods]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for pod in pods:
            one(pod)
    if errors:
        raise errors[0]
    return len(printed)


def _no_logs(name: str, pod: dict[str, Any], reason: str, *, previous: bool) -> str:
    node = (pod.get("spec") or {}).get("nodeName")
    if "node" in reason.lower() and "not found" in reason.lower():
        return f"pod {name}: its node {node} is gone, and its logs with it ({reason})"
    if previous and "previous terminated container" in reason:
        return (
            f"pod {name}: its container never restarted, so it has no previous log ({reason}); a task's "
            "attempts are pods of their own, and `skillship logs` without --previous prints each"
        )
    return f"pod {name} has no logs yet: {reason}"


def _write(chunks: Iterable[bytes], prefix: str, lock: threading.Lock) -> None:
    """Whole lines only, each with the pod's prefix, so parallel pods never interleave mid-line."""
    pending = b""
    out = sys.stdout.buffer
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if lines:
            with lock:
                out.write(b"".join(prefix.encode() + line + b"\n" for line in lines))
                out.flush()
    if pending:
        with lock:
            out.write(prefix.encode() + pending + b"\n")
            out.flush()
