"""Task rows (skillship.tasks.status) and ad-hoc runs (skillship.tasks.runs) from plain Job dicts (the cluster side is
in tests/e2e/test_cli_tasks.py)."""

from __future__ import annotations

import datetime
import json

import pytest

from skillship.checks.validation import load_workspace
from skillship.manifests import stack_objects
from skillship.plan import plan_deployment
from skillship.stack.stackfiles import load_stack
from skillship.tasks.runs import (
    RunError,
    adhoc_run,
    inline_message,
    new_activation_id,
    parse_payload,
    payload_from_message,
    run_envelope,
    run_job_name,
)
from skillship.tasks.status import exit_state, task_row
from skillship_runtime.contract import ARGV_MESSAGE_LIMIT, MESSAGE_LIMIT
from tests.conftest import REPO
from tests.support.jsondocs import miscased_keys

NOW = datetime.datetime(2026, 11, 24, 12, 0, 0, tzinfo=datetime.UTC)


def _job(status: dict | None = None, **labels: str) -> dict:
    return {
        "metadata": {
            "name": "hello-1234abcd",
            "creationTimestamp": "2026-11-24T11:58:00Z",
            "labels": {"skillship.io/skill": "hello", **labels},
            "annotations": {"skillship.io/skill-name": "Hello", "skillship.io/action-name": "hello"},
        },
        "status": status or {},
    }


def test_rows_of_each_state():
    done = task_row(
        _job(
            {
                "succeeded": 1,
                "startTime": "2026-11-24T11:58:10Z",
                "completionTime": "2026-11-24T11:59:00Z",
                "conditions": [{"type": "Complete", "status": "True"}],
            }
        ),
        [],
        NOW,
    )
    assert (done.skill, done.action, done.kind, done.state, done.attempts) == (
        "Hello",
        "hello",
        "deployed",
        "Succeeded",
        1,
    )
    assert (done.age_seconds, done.duration_seconds) == (120, 50)
    # In --json, as in the stack outputs: camelCase
    assert (done.as_json()["ageSeconds"], done.as_json()["durationSeconds"]) == (120, 50)
    assert miscased_keys(done.as_json()) == []

    failed = task_row(
        _job(
            {
                "failed": 2,
                "startTime": "2026-11-24T11:58:10Z",
                "conditions": [
                    {
                        "type": "Failed",
                        "status": "True",
                        "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit",
                        "lastTransitionTime": "2026-11-24T11:58:40Z",
                    }
                ],
            }
        ),
        [],
        NOW,
    )
    assert (failed.state, failed.attempts, failed.duration_seconds) == ("Failed", 2, 30)
    assert failed.message == "BackoffLimitExceeded: Job has reached the specified backoff limit"

    pod = {
        "metadata": {"creationTimestamp": "2026-11-24T11:58:01Z"},
        "status": {
            "containerStatuses": [
                {"name": "istio-proxy", "state": {"running": {}}},
                {"name": "task", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}},
            ]
        },
    }
    older = {"metadata": {"creationTimestamp": "2026-11-24T11:50:00Z"}, "status": {"message": "old"}}
    running = task_row(
        _job({"active": 1, "startTime": "2026-11-24T11:59:30Z"}, **{"skillship.io/task": "run"}), [pod, older], NOW
    )
    assert (running.kind, running.state, running.duration_seconds) == ("run", "Running", 30)
    assert running.message == "ImagePullBackOff: no such image"
    assert task_row(_job(), [], NOW).state == "Pending"


@pytest.mark.parametrize(
    "states, expected",
    [
        (["Succeeded", "Succeeded"], "Succeeded"),
        (["Succeeded", "Running"], "Running"),
        (["Pending"], "Running"),
        (["Running", "Failed"], "Failed"),
        ([], "Nothing"),  # no task is no success: a CI gate must not pass on it
    ],
)
def test_exit_state(states, expected):
    assert exit_state(states) == expected


@pytest.fixture(scope="module")
def deployed_job() -> dict:
    """The hello Job exactly as the staging stack declares it (native sidecar, secrets, labels)."""
    config = load_stack(REPO, "staging")
    workspace, _ = load_workspace(REPO)
    plan = plan_deployment(workspace, config.settings, project_dir=REPO, secret_properties=config.secret_properties)
    [job] = [
        o
        for o in stack_objects(plan)
        if o["kind"] == "Job" and o["metadata"]["labels"]["skillship.io/skill"] == "hello"
    ]
    # What the API server adds once the Job exists: a selector and controller labels.
    job["spec"]["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    job["spec"]["template"]["metadata"]["labels"].update({"batch.kubernetes.io/controller-uid": "u-1", "job-name": "x"})
    job["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    return job


def test_an_adhoc_run_changes_only_name_message_and_activation(deployed_job):
    envelope = run_envelope(
        json.loads(inline_message(deployed_job)), activation_id="hello-abc", payload={"n": 1}, replace_payload=True
    )
    made = adhoc_run(deployed_job, envelope, name="hello-run-1", retention_seconds=60)
    job = made.job
    assert made.config_map is None and made.name == "hello-run-1"
    assert job["metadata"]["namespace"] == deployed_job["metadata"]["namespace"]
    assert job["metadata"]["labels"] == {**deployed_job["metadata"]["labels"], "skillship.io/task": "run"}
    assert not any(k.startswith(("pulumi.com/", "kubectl.kubernetes.io/")) for k in job["metadata"]["annotations"])
    assert job["metadata"]["annotations"]["skillship.io/activation-id"] == "hello-abc"
    assert "selector" not in job["spec"] and job["spec"]["ttlSecondsAfterFinished"] == 60
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert "job-name" not in labels and "batch.kubernetes.io/controller-uid" not in labels
    assert labels["skillship.io/task"] == "run"
    container, original = (
        job["spec"]["template"]["spec"]["containers"][0],
        deployed_job["spec"]["template"]["spec"]["containers"][0],
    )
    message = json.loads(container["args"][0])
    assert message["payload"] == {"n": 1} and message["activationId"] == message["sessionId"] == "hello-abc"
    assert {e["name"]: e.get("value") for e in container["env"]}["SKILLSHIP_ACTIVATION_ID"] == "hello-abc"
    strip = lambda c: {**c, "args": None, "env": [e for e in c["env"] if e["name"] != "SKILLSHIP_ACTIVATION_ID"]}  # noqa: E731
    assert strip(container) == strip(original)
    assert deployed_job["spec"]["selector"]  # the deployed Job itself is untouched


def test_a_large_run_message_moves_to_a_config_map_and_a_huge_one_is_refused(deployed_job):
    base = json.loads(inline_message(deployed_job))
    big = run_envelope(base, activation_id="a", payload="x" * (ARGV_MESSAGE_LIMIT + 1), replace_payload=True)
    made = adhoc_run(deployed_job, big, name="hello-run-2", retention_seconds=0)
    container = made.job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["@/var/run/skillship/message/message.json"]
    assert {"name": "message", "configMap": {"name": "hello-run-2-message"}} in made.job["spec"]["template"]["spec"][
        "volumes"
    ]
    assert json.loads(made.config_map["data"]["message.json"])["payload"] == big["payload"]
    assert made.config_map["immutable"] is True

    huge = run_envelope(base, activation_id="a", payload="x" * MESSAGE_LIMIT, replace_payload=True)
    with pytest.raises(RunError, match=f"at most {MESSAGE_LIMIT}"):
        adhoc_run(deployed_job, huge, name="hello-run-3", retention_seconds=0)


def test_without_a_new_payload_a_run_repeats_the_deployed_one(deployed_job):
    base = json.loads(inline_message(deployed_job))
    again = run_envelope(base, activation_id="b")
    assert again["payload"] == base["payload"] and again["activationId"] == "b"


def test_run_names_and_activations_are_fresh_and_valid(deployed_job):
    names = {run_job_name(deployed_job) for _ in range(20)}
    assert len(names) == 20 and all(len(n) <= 63 and n.startswith("hello-run-") for n in names)
    assert new_activation_id(deployed_job) != new_activation_id(deployed_job)


@pytest.mark.parametrize(
    "text, error",
    [
        ("{", "not valid JSON"),
        ("[1]", "must be a JSON object with a 'payload'"),
        ('{"name": "x"}', "must be a JSON object with a 'payload'"),
        ('{"payload": 1, "properties": {"a": 1}}', "a run uses the stack's properties"),
    ],
)
def test_bad_message_files(text, error):
    with pytest.raises(RunError, match=error):
        payload_from_message(text, "m.json")


def test_payloads():
    assert payload_from_message('{"payload": {"a": [1]}}', "m.json") == {"a": [1]}
    assert parse_payload('"text"') == "text"
    with pytest.raises(RunError, match="--payload: not valid JSON"):
        parse_payload("{nope")


def test_no_task_exits_one_in_status_and_run_wait():
    from skillship.cli._common import Exit
    from skillship.cli._watch import exit_code

    # `run --wait` whose Job was deleted before its result was read sees no row: not a success.
    assert exit_code([]) is Exit.FAILED
