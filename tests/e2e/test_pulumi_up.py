"""`pulumi up` for real: the Pulumi engine built from source drives the real program against a real
kube-apiserver and Job controller, with a local file backend and passphrase secrets.

The Python language host (`pulumi-language-python`) is the one piece the Go module proxy does not
serve; the program is hosted instead by the Python SDK's own language runtime server (Automation
API, inline program running __main__.py), which the CLI reaches with `--client`.
One fixture makes a user's successive deployments of one stack, in order, and records what the
cluster held after each; every test checks one part of that record.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from harness.stacks import make_stack as _stack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
NAMESPACE = "skillship-e2e"
SELECTOR = "skillship.io/stack=e2e"


@pytest.fixture(scope="module")
def backend(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("backend")


def _jobs(kube, skill: str | None = None) -> list[dict]:
    from kubernetes import client

    selector = SELECTOR if skill is None else f"{SELECTOR},skillship.io/skill={skill}"
    jobs = client.BatchV1Api(kube).list_namespaced_job(NAMESPACE, label_selector=selector).items
    return sorted(
        (
            {
                "skill": j.metadata.labels["skillship.io/skill"],
                "name": j.metadata.name,
                "uid": j.metadata.uid,
                "conditions": {c.type for c in (j.status.conditions or []) if c.status == "True"},
            }
            for j in jobs
        ),
        key=lambda j: (j["skill"], j["name"]),
    )


def _by_skill(jobs: list[dict]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for job in jobs:
        assert job["skill"] not in found, f"two Jobs of skill {job['skill']}: {jobs}"
        found[job["skill"]] = job
    return found


def _namespace_gone(kube, timeout: float = 60) -> bool:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.CoreV1Api(kube).read_namespace(NAMESPACE)
        except ApiException as exc:
            return exc.status == 404
        time.sleep(0.5)
    return False


@pytest.fixture(scope="module")
def lifecycle(project, engine_bin, cluster, node, backend, kube) -> dict:
    """A user's successive deployments of the e2e stack, and what the cluster held after each."""
    from kubernetes import client

    e2e = _stack("e2e", project, engine_bin, cluster, backend)
    custom = client.CustomObjectsApi(kube)
    seen: dict = {}
    seen["first"] = e2e.up()
    seen["first_jobs"] = _jobs(kube)
    seen["accounts"] = sorted(
        a.metadata.name
        for a in client.CoreV1Api(kube).list_namespaced_service_account(NAMESPACE, label_selector=SELECTOR).items
    )
    seen["sidecars"] = sorted(
        o["metadata"]["name"]
        for o in custom.list_namespaced_custom_object("networking.istio.io", "v1", NAMESPACE, "sidecars")["items"]
    )
    seen["peer_modes"] = [
        o["spec"]["mtls"]["mode"]
        for o in custom.list_namespaced_custom_object("security.istio.io", "v1", NAMESPACE, "peerauthentications")[
            "items"
        ]
    ]
    seen["network_policies"] = len(client.NetworkingV1Api(kube).list_namespaced_network_policy(NAMESPACE).items)

    seen["second"] = e2e.up()
    seen["second_jobs"] = _jobs(kube)
    seen["second_state"] = json.loads(e2e.export())["deployment"]["resources"]

    seen["new_message"] = e2e.up({"skillship:messages": {"hello": {"payload": {"name": "again"}}}})
    seen["new_message_jobs"] = _jobs(kube)

    node.outcomes[NAMESPACE, "hello"] = "fail"
    seen["failure"] = e2e.failing_up({"skillship:messages": {"hello": {"payload": {"name": "fails"}}}})
    seen["failure_jobs"] = _jobs(kube, "hello")

    node.outcomes[NAMESPACE, "hello"] = "succeed"
    seen["rerun"] = e2e.up()
    seen["rerun_jobs"] = _jobs(kube, "hello")

    seen["destroy"] = e2e.destroy()
    seen["namespace_gone"] = _namespace_gone(kube)
    seen["sidecars_left"] = custom.list_cluster_custom_object("networking.istio.io", "v1", "sidecars")["items"]
    seen["jobs_left"] = len(client.BatchV1Api(kube).list_job_for_all_namespaces(label_selector=SELECTOR).items)
    return seen


def test_up_creates_the_objects_and_reports_succeeded_tasks(lifecycle):
    tasks = lifecycle["first"]["outputs"]["tasks"]
    assert {k: v["state"] for k, v in tasks.items()} == {"hello": "Succeeded", "producer": "Succeeded"}
    assert tasks["hello"]["succeeded"] == 1 and tasks["hello"]["completionTime"]
    jobs = _by_skill(lifecycle["first_jobs"])
    assert set(jobs) == {"hello", "producer"} and all("Complete" in j["conditions"] for j in jobs.values())
    assert jobs["hello"]["name"] == tasks["hello"]["job"]
    assert lifecycle["accounts"] == ["consumer", "hello", "producer"]
    assert lifecycle["sidecars"] == ["consumer", "hello", "producer"]
    assert lifecycle["peer_modes"] == ["STRICT"]
    assert lifecycle["network_policies"] == 3


def test_a_second_up_without_changes_changes_nothing(lifecycle):
    assert set(lifecycle["second"]["changes"]) == {"same"}, lifecycle["second"]["changes"]
    assert lifecycle["second_jobs"] == lifecycle["first_jobs"]


def test_the_sdk_sends_no_debug_messages_and_the_programs_own_still_reach_the_log(lifecycle):
    # Without skillship_components/sdk/messages.py the SDK sent four or five per resource (2,805 in a
    # preview of 100 skills), each a blocking call to the engine. What is left is the one the SDK
    # sends registering the stack itself, before the program (and so the drop) starts. A provider's
    # debug messages (the cluster's events) are about a resource and kept.
    assert lifecycle["second"]["unattached_debug"] == [
        "registering resource: ty=pulumi:pulumi:Stack, name=skillship-e2e, custom=False, remote=False"
    ]
    # Each task says where its logs are (skillship_components/skill_job.py), one info message per Job.
    diagnostics = lifecycle["second"]["diagnostics"]
    assert diagnostics.get("info", 0) >= len(lifecycle["second_jobs"]), diagnostics


def _frames(resource: dict) -> list[str]:
    """A state resource's stack trace: its frames' positions, which the engine writes relative to
    the project (`project:///skillship_components/kubernetes.py#60`), or as `file://` URIs outside it."""
    return [frame.get("sourcePosition", "") for frame in resource.get("stackTrace") or []]


def test_the_state_records_only_the_programs_own_frames_for_each_resource(lifecycle):
    """skillship_components/sdk/stack_traces.py: the SDK sent, and the engine kept in the state, every frame
    of the Python stack below each resource's constructor (asyncio's, the SDK's, the host's)."""
    declared = [r for r in lifecycle["second_state"] if r["type"].startswith(("kubernetes:", "skillship:"))]
    assert len(declared) > 20
    for resource in declared:
        frames = _frames(resource)
        assert frames and frames[0] == resource["sourcePosition"], resource["urn"]
        others = [
            f for f in frames if not f.startswith(("project:///__main__.py#", "project:///skillship_components/"))
        ]
        assert others == [], resource["urn"]
    assert all(_frames(r)[-1].startswith("project:///__main__.py#") for r in declared)


def test_a_new_message_replaces_exactly_that_job(lifecycle):
    assert lifecycle["new_message"]["changes"].get("replace") == 1, lifecycle["new_message"]["changes"]
    # Nothing but the one Job moved: every other step the engine took was `same`.
    moved = [(op, kind) for op, kind in lifecycle["new_message"]["steps"] if op != "same"]
    assert moved and {kind for _, kind in moved} == {"kubernetes:batch/v1:Job"}, moved
    before, after = _by_skill(lifecycle["first_jobs"]), _by_skill(lifecycle["new_message_jobs"])
    assert after["producer"] == before["producer"]
    assert after["hello"]["name"] != before["hello"]["name"]
    assert lifecycle["new_message"]["outputs"]["tasks"]["hello"]["state"] == "Succeeded"


def test_a_failing_task_fails_up_naming_the_skill_and_its_logs(lifecycle):
    text = lifecycle["failure"]
    named = re.search(
        r"task of skill 'hello' runs as Job skillship-e2e/(hello-[0-9a-f]{8}); "
        r"its logs: kubectl logs --namespace skillship-e2e job/\1 --container task",
        text,
    )
    assert named, text
    assert "BackoffLimitExceeded" in text
    failed = [j for j in lifecycle["failure_jobs"] if j["name"] == named.group(1)]
    assert failed and "Failed" in failed[0]["conditions"]


def test_the_next_up_runs_the_failed_task_again(lifecycle):
    [failed] = [j for j in lifecycle["failure_jobs"] if "Failed" in j["conditions"]]
    [job] = lifecycle["rerun_jobs"]  # the failed Job was replaced, the older one deleted
    assert job["name"] == failed["name"] and job["uid"] != failed["uid"]
    assert "Complete" in job["conditions"]
    assert lifecycle["rerun"]["outputs"]["tasks"]["hello"]["state"] == "Succeeded"


def test_destroy_leaves_nothing_behind(lifecycle):
    assert lifecycle["namespace_gone"], "the namespace still exists a minute after destroy"
    assert lifecycle["sidecars_left"] == [] and lifecycle["jobs_left"] == 0


def test_local_stack_up_renders_manifests_without_a_cluster(project, engine_bin, cluster, backend, kube):
    import yaml
    from kubernetes import client

    local = _stack("local", project, engine_bin, cluster, backend)
    tasks = local.up()["outputs"]["tasks"]
    assert {v["state"] for v in tasks.values()} == {"Rendered"}
    written = [yaml.safe_load(p.read_text()) for p in sorted((project / "rendered/local/pulumi").rglob("*.yaml"))]
    jobs = sorted(o["metadata"]["name"] for o in written if o and o["kind"] == "Job")
    assert jobs == sorted(t["job"] for t in tasks.values())
    assert {o["kind"] for o in written if o} == {
        "Namespace",
        "ServiceAccount",
        "NetworkPolicy",
        "Job",
        "Deployment",
        "Service",
    }
    assert client.BatchV1Api(kube).list_job_for_all_namespaces(label_selector="skillship.io/stack=local").items == []
    local.destroy()
