"""`skillship run`: a new task of a deployed skill, with a new message, without a deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from skillship.checks.names import skill_name
from skillship.cli._common import (
    Exit,
    fail,
    print_json,
    stderr,
    stdout,
)
from skillship.cli._stack import StackOption, deployed_stack, open_cluster
from skillship.cli._watch import IntervalOption, TimeoutOption, WaitShortOption, exit_code, follow, following
from skillship.cli.cluster import Cluster, ClusterError
from skillship.cli.status import live_rows
from skillship.manifests.labels import ANNOTATION_ACTION
from skillship.source import door
from skillship.source.door import MESSAGE, FileMissing, ReadRefused
from skillship.source.jsontext import JsonRefused, parse_json
from skillship.tasks.runs import (
    AdhocRun,
    RunError,
    adhoc_run,
    inline_message,
    message_config_map,
    new_activation_id,
    parse_payload,
    payload_from_message,
    run_envelope,
    run_job_name,
)
from skillship.tasks.schedules import as_job
from skillship.tasks.status import DEPLOYED, task_kind
from skillship_runtime.contract import MESSAGE_FILE, MESSAGE_LIMIT

# The --json document's version: it changes only when a key changes meaning or disappears. 2: the
# task's age_seconds and duration_seconds became ageSeconds and durationSeconds (one casing in all).
JSON_VERSION = 2


def run(
    skill: Annotated[str, typer.Argument(help="The deployed skill (or skill/action) to run.")],
    stack: StackOption,
    message: Annotated[
        Path | None, typer.Option("--message", "-m", help="A message file (JSON object with 'payload').")
    ] = None,
    payload: Annotated[str | None, typer.Option("--payload", help="The payload, as JSON text.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the task and exit with its result.")] = False,
    timeout: TimeoutOption = None,
    interval: IntervalOption = 2.0,
    wait_short: WaitShortOption = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the new task as JSON on stdout.")] = False,
) -> None:
    """Start a new task from the deployed skill's Job; without a message it runs the deployed one again."""
    wait = following(json_output=json_output, wait=wait, wait_short=wait_short)
    if message is not None and payload is not None:
        fail("give --message or --payload, not both", Exit.USAGE)
    try:
        new_payload = _read_payload(message, payload)
    except RunError as exc:
        fail(str(exc), Exit.USAGE)
    config = deployed_stack(stack)
    cluster = open_cluster(config)
    try:
        deployed = _deployed_job(cluster, skill)
        envelope = run_envelope(
            _deployed_envelope(cluster, deployed),
            activation_id=new_activation_id(deployed),
            payload=new_payload,
            replace_payload=new_payload is not _UNSET,
        )
        made = adhoc_run(
            deployed, envelope, name=run_job_name(deployed), retention_seconds=config.settings.run_retention_seconds
        )
        _create(cluster, made)
    except RunError as exc:
        fail(str(exc), Exit.USAGE)
    except ClusterError as exc:
        fail(str(exc), Exit.USAGE)
    started = {
        "version": JSON_VERSION,
        "stack": stack,
        "namespace": cluster.namespace,
        "job": made.name,
        "activationId": envelope["activationId"],
    }
    if json_output and not wait:
        print_json(started)
    elif not json_output:
        stdout.print(made.name)
    if not wait:
        return
    stderr.print(f"started Job {cluster.namespace}/{made.name}; following it")
    try:
        rows = follow(lambda: [r for r in live_rows(cluster) if r.job == made.name], timeout=timeout, interval=interval)
    except ClusterError as exc:
        fail(str(exc), Exit.USAGE)
    code = exit_code(rows)
    if json_output:
        print_json({**started, "exitCode": int(code), "task": rows[0].as_json() if rows else None})
    else:
        state = rows[0].state if rows else "gone before its result was read (deleted: see runRetentionSeconds)"
        stderr.print(f"Job {made.name}: {state}" + (f" ({rows[0].message})" if rows and rows[0].message else ""))
    raise typer.Exit(int(code))


_UNSET = object()


def _read_payload(message: Path | None, payload: str | None) -> Any:
    """The payload given, or _UNSET when none is (a run of the deployed payload again)."""
    if payload is not None:
        if len(payload.encode("utf-8")) > MESSAGE_LIMIT:
            raise RunError(f"--payload is larger than {MESSAGE_LIMIT} bytes")
        return parse_payload(payload)
    if message is None:
        return _UNSET
    try:
        text = door.read_text(message, MESSAGE)
    except FileMissing:
        raise RunError(f"{message}: no such file") from None
    except ReadRefused as exc:
        if exc.code == "file-too-large":
            raise RunError(f"{message} is larger than {MESSAGE_LIMIT} bytes") from None
        raise RunError(f"{message} cannot be read: {exc.message}") from None
    return payload_from_message(text, str(message))


def _deployed_job(cluster: Cluster, skill: str) -> dict[str, Any]:
    """The Job a run is made from: the skill's deployed Job, or, for a skill on a schedule, its
    CronJob's template, as `kubectl create job --from=cronjob/...` makes one."""
    name, _, action = skill.partition("/")
    deployed = [j for j in cluster.jobs() if task_kind(j) == DEPLOYED]
    deployed += [as_job(c) for c in cluster.cron_jobs()]
    mine = [j for j in deployed if (j["metadata"].get("labels") or {}).get("skillship.io/skill") == skill_name(name)]
    if action:
        mine = [j for j in mine if (j["metadata"].get("annotations") or {}).get(ANNOTATION_ACTION) == action]
    if not mine:
        known = sorted({(j["metadata"].get("annotations") or {}).get("skillship.io/skill-name", "?") for j in deployed})
        raise RunError(
            f"skill {skill!r} is not deployed in stack {cluster.stack!r} "
            f"(deployed: {', '.join(known) or 'nothing'}); deploy it with `pulumi up`"
        )
    if len(mine) > 1:
        actions = sorted((j["metadata"].get("annotations") or {}).get(ANNOTATION_ACTION, "?") for j in mine)
        raise RunError(
            f"skill {skill!r} has {len(mine)} deployed job actions; name one: "
            + ", ".join(f"{name}/{a}" for a in actions)
        )
    return mine[0]


def _deployed_envelope(cluster: Cluster, job: dict[str, Any]) -> dict[str, Any]:
    text = inline_message(job)
    if text is None:
        config_map = message_config_map(job)
        if config_map is None:
            raise RunError(f"Job {job['metadata']['name']} carries no message Skillship can read")
        text = cluster.config_map_data(config_map).get(MESSAGE_FILE, "")
    try:
        envelope = parse_json(text)
    except JsonRefused:
        raise RunError(
            f"the message of Job {job['metadata']['name']} is not JSON: it was not made by Skillship"
        ) from None
    if not isinstance(envelope, dict) or "activationId" not in envelope:
        raise RunError(f"the message of Job {job['metadata']['name']} is not a Skillship envelope")
    return envelope


def _create(cluster: Cluster, made: AdhocRun) -> None:
    """The Job, then its message ConfigMap owned by it; if the second fails, the first goes too."""
    created = cluster.create_job(made.job)
    if made.config_map is None:
        return
    owner = {"apiVersion": "batch/v1", "kind": "Job", "name": made.name, "uid": created["metadata"]["uid"]}
    config_map = {**made.config_map, "metadata": {**made.config_map["metadata"], "ownerReferences": [owner]}}
    try:
        cluster.create_config_map(config_map)
    except ClusterError:
        cluster.delete_job(made.name)
        raise
