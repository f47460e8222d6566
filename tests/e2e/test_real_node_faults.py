"""Faults on the real node, each with the outcome docs/objects.md ("When something fails") promises:
the registry down during an `up`, a task's pod deleted while it runs, the API server restarted in
the middle of an `up`, a kube context whose cluster cannot be reached.

One fixture deploys a stack of its own and then, in order, brings each fault about and records
what `up` said and what the cluster held; each test checks one part of that record.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path

import pytest
import yaml

from harness.cluster import free_port
from harness.realnode.buildkit import BUILDER
from tests.e2e.test_real_node import HELLO, _consumer_stats, _stack_of_its_own

pytestmark = [pytest.mark.e2e, pytest.mark.realnode, pytest.mark.xdist_group("realnode")]
NAMESPACE = "skillship-faults"
PRODUCER = Path("skills/producer/actions/producer/main.py")
# The producer of this copy pauses after half its records when its message asks, so that a fault
# can come while it runs with some records delivered and some not.
SEND_LOOP = """    for record in records(count, prefix):
        send_message(record)
"""
PAUSING_SEND_LOOP = """    pause = float((message.get("payload") or {}).get("pauseSeconds", 0))
    for record in records(count, prefix):
        send_message(record)
        if pause and record["sequence"] == count // 2 - 1:
            flush()
            print("paused after half the records", flush=True)
            __import__("time").sleep(pause)
"""


def _jobs(kube) -> dict[str, tuple[str, str]]:
    """skill -> (Job name, uid) of the stack's Jobs."""
    from kubernetes import client

    jobs = client.BatchV1Api(kube).list_namespaced_job(NAMESPACE, label_selector="skillship.io/stack=faults").items
    return {j.metadata.labels["skillship.io/skill"]: (j.metadata.name, j.metadata.uid) for j in jobs}


def _job_counts(kube, name: str) -> dict:
    from kubernetes import client

    status = client.BatchV1Api(kube).read_namespaced_job(name, NAMESPACE).status
    return {"failed": status.failed or 0, "succeeded": status.succeeded or 0}


def _stats(kube) -> dict:
    return _consumer_stats(kube, namespace=NAMESPACE, selector="skillship.io/stack=faults")


def _until(condition, what: str, timeout: float = 120, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{what} did not happen within {timeout} s")


class _InBackground:
    """An `up` in a thread, while the test brings a fault about from the main thread (the API
    server it restarts must be started from the thread that outlives it: harness/cluster.py)."""

    def __init__(self, run) -> None:
        self.result: dict | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(run,), daemon=True)
        self._thread.start()

    def _run(self, run) -> None:
        try:
            self.result = run()
        except BaseException as exc:  # noqa: BLE001 handed to the test
            self.error = exc

    def join(self, timeout: float = 600) -> dict:
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.result is not None, "the up did not end"
        return self.result


@pytest.fixture(scope="module")
def faults(real_node, engine_bin, tmp_path_factory) -> dict:
    from kubernetes import client, config

    project, stack = _stack_of_its_own(
        "faults", real_node, engine_bin, tmp_path_factory, **{"skillship:builder": BUILDER, "skillship:backoffLimit": 1}
    )
    source = (project / PRODUCER).read_text()
    assert SEND_LOOP in source
    (project / PRODUCER).write_text(source.replace(SEND_LOOP, PAUSING_SEND_LOOP))
    kube = config.new_client_from_config(str(real_node.cluster.kubeconfig))
    core = client.CoreV1Api(kube)
    seen: dict = {"registry": real_node.registry.host}
    # What the fixture saw so far, for a look after a failure.
    record = tmp_path_factory.getbasetemp() / "faults-record.json"
    keep = lambda: record.write_text(json.dumps(seen, default=str, indent=1))  # noqa: E731
    seen["first"] = stack.up(secrets={"skillship:registryPassword": real_node.registry.password})
    seen["first_jobs"] = _jobs(kube)

    # The registry down while an `up` has an image to build and push.
    (project / HELLO).write_text((project / HELLO).read_text() + "\n# built while the registry is down\n")
    with real_node.registry.down():
        seen["registry_down"] = stack.up_result()
        seen["registry_down_jobs"] = _jobs(kube)
    seen["registry_back"] = stack.up_result()
    seen["registry_back_jobs"] = _jobs(kube)
    keep()

    # A task's pod deleted while it runs, half its records delivered.
    seen["stats_before_delete"] = _stats(kube)
    paused = {"skillship:messages": {"producer": {"payload": {"count": 10, "pauseSeconds": 15}}}}
    up = _InBackground(lambda: stack.up_result(config=paused))

    def paused_pod():
        pods = core.list_namespaced_pod(NAMESPACE, label_selector="skillship.io/skill=producer").items
        for pod in pods:
            if pod.status.phase == "Running" and pod.metadata.name not in seen.get("deleted", ()):
                try:
                    if "paused after half" in core.read_namespaced_pod_log(pod.metadata.name, NAMESPACE):
                        return pod
                except client.exceptions.ApiException:
                    pass
        return None

    pod = _until(paused_pod, "the producer's pause")
    seen["deleted"] = [pod.metadata.name]
    seen["stats_at_delete"] = _stats(kube)
    core.delete_namespaced_pod(pod.metadata.name, NAMESPACE)
    seen["pod_deleted"] = up.join()
    seen["pod_deleted_job"] = _jobs(kube)["producer"]
    seen["pod_deleted_counts"] = _job_counts(kube, seen["pod_deleted_job"][0])
    seen["stats_after_delete"] = _stats(kube)
    keep()

    # The API server restarted while an `up` waits for a task.
    restarted = {"skillship:messages": {"producer": {"payload": {"count": 10, "pauseSeconds": 8}}}}
    up = _InBackground(lambda: stack.up_result(config=restarted))
    previous = seen["pod_deleted_job"][0]
    seen["restart_job"] = _until(
        lambda: (found := _jobs(kube).get("producer")) and found[0] != previous and found, "the new producer Job"
    )
    real_node.cluster.restart_apiserver(down_seconds=3)
    seen["restart"] = up.join()
    seen["restart_converge"] = stack.up_result(config=restarted)
    seen["restart_jobs"] = _jobs(kube)
    seen["restart_counts"] = _job_counts(kube, seen["restart_jobs"]["producer"][0])
    seen["stats_after_restart"] = _stats(kube)
    keep()

    # A kube context whose cluster is down: the kubeconfig names a port where nothing listens.
    closed = yaml.safe_load(real_node.cluster.kubeconfig.read_text())
    closed["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    seen["closed_server"] = closed["clusters"][0]["cluster"]["server"]
    closed_file = tmp_path_factory.mktemp("closed") / "kubeconfig"
    closed_file.write_text(yaml.safe_dump(closed))
    unreachable = dataclasses.replace(stack, env={**stack.env, "KUBECONFIG": str(closed_file)})
    started = time.monotonic()
    seen["cluster_down"] = unreachable.up_result(config={"skillship:messages": {"producer": {"payload": {"count": 3}}}})
    seen["cluster_down_seconds"] = time.monotonic() - started
    seen["cluster_down_jobs"] = _jobs(kube)
    keep()
    stack.destroy()
    return seen


def test_the_registry_down_fails_up_naming_it_and_deploys_nothing_of_the_change(faults):
    failed = faults["registry_down"]
    assert not failed["ok"]
    assert faults["registry"] in failed["error"], failed["error"][-3000:]
    assert "connection refused" in failed["error"].lower(), failed["error"][-3000:]
    # No Job made from an image that was never pushed: every Job is the one of the first `up`.
    assert faults["registry_down_jobs"] == faults["first_jobs"]


def test_the_next_up_after_the_registry_is_back_converges(faults):
    back = faults["registry_back"]
    assert back["ok"], back.get("error")
    assert back["outputs"]["tasks"]["hello"]["state"] == "Succeeded"
    assert faults["registry_back_jobs"]["hello"] != faults["first_jobs"]["hello"]
    assert faults["registry_back_jobs"]["producer"] == faults["first_jobs"]["producer"]


def test_a_task_whose_pod_is_deleted_is_retried_and_its_records_arrive_once(faults):
    result = faults["pod_deleted"]
    assert result["ok"], result.get("error")
    assert result["outputs"]["tasks"]["producer"]["state"] == "Succeeded"
    # One attempt lost with its pod, one that finished: backoffLimit 1 allowed the retry.
    assert faults["pod_deleted_counts"] == {"failed": 1, "succeeded": 1}
    before, at_delete, after = (faults[k] for k in ("stats_before_delete", "stats_at_delete", "stats_after_delete"))
    assert at_delete["received"] - before["received"] == 5  # half was delivered before the pod went
    # Each record kept once. The retry sent all 10 again and the consumer dropped those it had: at
    # least the first 5, and the other 5 too when the deleted pod delivered them in its grace
    # period (its process, PID 1 of the container, does not stop at SIGTERM).
    assert after["received"] - before["received"] == 10, (before, after)
    assert 5 <= after["duplicates"] - before["duplicates"] <= 10, (before, after)


def test_an_api_server_restart_during_up_ends_clearly_and_the_next_up_converges(faults):
    result, converge = faults["restart"], faults["restart_converge"]
    if not result["ok"]:  # it may fail, but clearly: the engine names the connection it lost
        assert "127.0.0.1" in result["error"] or "connection" in result["error"].lower(), result["error"][-3000:]
    assert converge["ok"], converge.get("error")
    assert converge["outputs"]["tasks"]["producer"]["state"] == "Succeeded"
    # The Job made during the restart is the one that ran: none was made twice.
    assert faults["restart_jobs"]["producer"] == faults["restart_job"]
    assert faults["restart_counts"] == {"failed": 0, "succeeded": 1}
    assert faults["stats_after_restart"]["received"] - faults["stats_after_delete"]["received"] == 10


def test_a_cluster_that_cannot_be_reached_fails_up_naming_it_and_changes_nothing(faults):
    result = faults["cluster_down"]
    assert not result["ok"]
    address = faults["closed_server"].removeprefix("https://")
    # In the provider's words (Go's "connection refused"), or the program's where it reads the
    # rollout of an unchanged daemon (Python's "Connection refused").
    assert address in result["error"] and "connection refused" in result["error"].lower(), result["error"][-3000:]
    assert faults["cluster_down_seconds"] < 120, faults["cluster_down_seconds"]
    assert faults["cluster_down_jobs"] == faults["restart_jobs"]
