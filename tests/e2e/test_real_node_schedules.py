"""Schedules on the real node: a skill that runs every minute, its runs, status, logs and `run`.

One stack of its own deploys `hello` on a schedule of every minute (the real node's CronJob
controller starts its runs, the kubelet runs them). Then, in order: `skillship run` starts a run
at once from the CronJob's template; a changed message, one that makes the job fail, reaches the
next scheduled run, which fails, and `status` says so and exits 1 (one minute's wait shows both).
"""

from __future__ import annotations

import json
import time

import pytest

from harness.realnode.buildkit import BUILDER
from tests.e2e.cli import Cli
from tests.e2e.test_real_node import _stack_of_its_own

pytestmark = [pytest.mark.e2e, pytest.mark.realnode, pytest.mark.xdist_group("realnode")]

NAMESPACE = "skillship-sched"
EVERY_MINUTE = {"hello": {"cron": "* * * * *", "concurrency": "Forbid"}}
RUN_SELECTOR = "skillship.io/stack=sched,skillship.io/task=scheduled"


def _scheduled_runs(kube) -> list:
    from kubernetes import client

    return client.BatchV1Api(kube).list_namespaced_job(NAMESPACE, label_selector=RUN_SELECTOR).items


def _next_run_ending(kube, after: set[str], timeout: float = 150) -> str:
    """The name of the first scheduled run not in `after` that has ended (it starts within a minute)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in _scheduled_runs(kube):
            ended = any(c.type in ("Complete", "Failed") and c.status == "True" for c in job.status.conditions or [])
            if job.metadata.name not in after and ended:
                return job.metadata.name
        time.sleep(2)
    raise AssertionError(f"no scheduled run ended within {timeout:.0f} s")


@pytest.fixture(scope="module")
def nightly(real_node, engine_bin, tmp_path_factory) -> dict:
    from kubernetes import config

    project, stack = _stack_of_its_own(
        "sched",
        real_node,
        engine_bin,
        tmp_path_factory,
        **{
            "skillship:builder": BUILDER,
            "skillship:skills": ["hello"],
            "skillship:schedules": EVERY_MINUTE,
            "skillship:messages": {"hello": {"payload": {"name": "first"}}},
        },
    )
    kube = config.new_client_from_config(str(real_node.cluster.kubeconfig))
    cli = Cli(project, {"KUBECONFIG": str(real_node.cluster.kubeconfig)})
    password = {"skillship:registryPassword": real_node.registry.password}
    seen: dict = {"deployed": stack.up(secrets=password)}

    # Now, from the CronJob's template: a run of its own, followed to its end.
    seen["run"] = cli("run", "hello", "--stack", "sched", "--wait", "--json")
    seen["run_logs"] = cli("logs", "hello", "--stack", "sched", "--job", json.loads(seen["run"].stdout)["job"])

    # A changed message reaches the next scheduled run: one that names no one, which makes hello
    # exit 1, so that run fails, and its log says why (one minute's wait proves both).
    seen["failing"] = stack.up({"skillship:messages": {"hello": {"payload": {}}}}, secrets=password)
    # Every run made so far carries the old message, one made during the `up` too (it may have ended
    # by now): the next run is the first made after the `up`.
    seen["failed_run"] = _next_run_ending(kube, {job.metadata.name for job in _scheduled_runs(kube)})
    seen["failed_status"] = cli("status", "--stack", "sched", "--json")
    seen["failed_table"] = cli("status", "--stack", "sched")
    seen["latest_logs"] = cli("logs", "hello", "--stack", "sched")
    seen["outputs"] = stack.up({"skillship:messages": {"hello": {"payload": {}}}}, secrets=password)["outputs"]
    seen["destroy"] = stack.destroy()
    return seen


def test_up_declares_a_cronjob_waits_for_no_run_and_reports_the_schedule(nightly):
    outputs = nightly["deployed"]["outputs"]
    assert "hello" not in outputs["tasks"]
    schedule = outputs["schedules"]["hello"]
    assert (schedule["cronJob"], schedule["schedule"], schedule["timeZone"], schedule["suspended"]) == (
        "hello",
        "* * * * *",
        "UTC",
        False,
    )
    assert ["create", "kubernetes:batch/v1:CronJob"] in nightly["deployed"]["steps"]
    assert not [s for s in nightly["deployed"]["steps"] if s[1] == "kubernetes:batch/v1:Job"]


def test_skillship_run_starts_a_run_now_from_the_cronjobs_template(nightly):
    run = nightly["run"]
    assert run.code == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["task"]["state"] == "Succeeded" and document["task"]["kind"] == "run"
    assert "Hello, first!" in nightly["run_logs"].stdout


def test_a_changed_message_reaches_the_next_scheduled_run(nightly):
    """The deployed message named "first"; the changed one names no one, and the run says so."""
    logs = nightly["latest_logs"].stdout + nightly["latest_logs"].stderr
    assert "the payload names no one to greet" in logs and "Hello, first!" not in logs
    [row] = json.loads(nightly["failed_status"].stdout)["schedules"]
    assert row["nextRun"] is not None and row["schedule"] == "* * * * *"


def test_a_failed_run_fails_status_with_its_reason_and_logs_show_the_latest_run(nightly):
    status = nightly["failed_status"]
    assert status.code == 1, status.stdout
    document = json.loads(status.stdout)
    [row] = document["schedules"]
    assert row["lastRunJob"] == nightly["failed_run"] and row["lastRunState"] == "Failed"
    assert "BackoffLimitExceeded" in row["lastRunReason"], row
    scheduled = [t for t in document["tasks"] if t["kind"] == "scheduled"]
    assert [t["job"] for t in scheduled] == [nightly["failed_run"]]  # only the latest run of the schedule
    assert "Failed" in nightly["failed_table"].stdout and "schedule(s)" in nightly["failed_table"].stdout
    assert "the payload names no one to greet" in nightly["latest_logs"].stdout + nightly["latest_logs"].stderr


def test_the_stack_output_names_the_last_run_and_its_outcome(nightly):
    last = nightly["outputs"]["schedules"]["hello"]["lastRun"]
    assert last["state"] == "Failed" and last["job"].startswith("hello-"), last
    # Read live at the end of the `up`: that `up` changed nothing of the CronJob, so the provider's
    # copy of its status is as old as the first `up`, before any run.
    assert nightly["outputs"]["schedules"]["hello"]["lastScheduleTime"] is not None


def test_destroy_removes_the_cronjob(nightly):
    assert nightly["destroy"]["ok"]
