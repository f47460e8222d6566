"""`skillship status`, `logs` and `run` against the real API server and Job controller.

A stack of its own (`cli`, written into the project copy) is deployed once with `pulumi up`
(without waiting, so a failing task does not stop the deployment); the fake node ends hello's task
well and producer's badly (two attempts: backoffLimit 1). The CLI then runs as a user runs it: a
`skillship` process in the project folder, with KUBECONFIG.
"""

from __future__ import annotations

import json
import select
import time

import pytest
import yaml

from harness.stacks import make_stack
from skillship.about import installed_version
from tests.e2e.cli import Cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
NAMESPACE = "skillship-cli"
STACK_FILE = {
    "config": {
        "kubernetes:context": "e2e",
        "skillship:namespace": NAMESPACE,
        "skillship:buildImages": False,
        "skillship:images": {
            "hello": "registry.example.com/skillship/hello:e2e",
            "producer": "registry.example.com/skillship/producer:e2e",
            "consumer": "registry.example.com/skillship/consumer:e2e",
        },
        "skillship:istioMode": "native",
        "skillship:wait": False,
        "skillship:backoffLimit": 1,
        "skillship:activeDeadlineSeconds": 120,
        "skillship:runRetentionSeconds": 15,
    }
}
ROW_KEYS = {
    "skill",
    "action",
    "job",
    "kind",
    "state",
    "attempts",
    "created",
    "ageSeconds",
    "durationSeconds",
    "message",
}


def _wait_for(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _job(kube, name: str) -> dict:
    from kubernetes import client

    return kube.sanitize_for_serialization(client.BatchV1Api(kube).read_namespaced_job(name, NAMESPACE))


def _jobs(kube) -> list[dict]:
    from kubernetes import client

    items = client.BatchV1Api(kube).list_namespaced_job(NAMESPACE, label_selector="skillship.io/stack=cli").items
    return [kube.sanitize_for_serialization(j) for j in items]


def _finished(job: dict) -> bool:
    return any(
        c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in job["status"].get("conditions") or []
    )


@pytest.fixture(scope="module")
def deployed(project, engine_bin, cluster, node, kube, tmp_path_factory):
    """The `cli` stack, deployed: hello succeeded, producer failed twice."""
    (project / "stacks" / "Pulumi.cli.yaml").write_text(yaml.safe_dump(STACK_FILE))
    node.outcomes.update({(NAMESPACE, "hello"): "succeed", (NAMESPACE, "producer"): "fail"})
    stack = make_stack("cli", project, engine_bin, cluster, tmp_path_factory.mktemp("cli-backend"))
    stack.up()
    _wait_for(lambda: len(_jobs(kube)) == 2 and all(_finished(j) for j in _jobs(kube)), "both tasks to end")
    jobs = {j["metadata"]["labels"]["skillship.io/skill"]: j for j in _jobs(kube)}
    yield {"stack": stack, "jobs": jobs, "cli": Cli(project, {"KUBECONFIG": str(cluster.kubeconfig)})}
    for key in [key for key in node.outcomes if key[0] == NAMESPACE]:
        del node.outcomes[key]
    stack.destroy()


def test_status_rows_and_exit_code_for_a_succeeded_and_a_failed_task(deployed):
    result = deployed["cli"]("status", "--stack", "cli", "--json")
    assert result.code == 1, result.stderr
    report = result.json()
    assert set(report) == {
        "version",
        "stack",
        "namespace",
        "source",
        "exitCode",
        "tasks",
        "schedules",
        "skillshipVersion",
    }
    assert report["version"] == 2  # a key added, none changed: the version stays
    assert report["schedules"] == []  # this stack runs nothing on a schedule
    assert (report["stack"], report["namespace"], report["source"], report["exitCode"]) == (
        "cli",
        NAMESPACE,
        "cluster",
        1,
    )
    rows = {r["skill"]: r for r in report["tasks"]}
    assert all(set(r) == ROW_KEYS for r in report["tasks"])
    assert (rows["hello"]["state"], rows["hello"]["attempts"], rows["hello"]["kind"]) == ("Succeeded", 1, "deployed")
    assert rows["hello"]["job"] == deployed["jobs"]["hello"]["metadata"]["name"]
    assert (rows["producer"]["state"], rows["producer"]["attempts"]) == ("Failed", 2)
    assert rows["producer"]["message"].startswith("BackoffLimitExceeded")
    assert rows["hello"]["ageSeconds"] >= 0 and rows["hello"]["durationSeconds"] is not None

    table = deployed["cli"]("status", "--stack", "cli")
    assert table.code == 1
    assert "Succeeded" in table.stdout and "Failed" in table.stdout and "BackoffLimitExceeded" in table.stdout


def test_status_of_succeeded_tasks_only_exits_zero(deployed):
    result = deployed["cli"]("status", "--stack", "cli", "--skill", "hello", "--json")
    assert result.code == 0, result.stderr
    assert [r["skill"] for r in result.json()["tasks"]] == ["hello"]


def test_status_of_a_skill_without_tasks_is_a_usage_error_never_a_pass(deployed):
    # A typo in a CI gate's --skill must not pass on nothing.
    typo = deployed["cli"]("status", "--stack", "cli", "--skill", "helo")
    assert typo.code == 2, (typo.stdout, typo.stderr)
    assert "no task of 'helo' in stack 'cli'" in typo.stderr and "hello" in typo.stderr
    as_json = deployed["cli"]("status", "--stack", "cli", "--skill", "helo", "--json")
    assert as_json.code == 2 and as_json.json() == {
        "error": as_json.json()["error"],
        "exitCode": 2,
        "skillshipVersion": installed_version(),
    }
    assert "helo" in as_json.json()["error"]


@pytest.fixture(scope="module")
def adhoc(deployed, node, kube):
    """`skillship run hello` while the node holds the pod: running, then ending."""
    cli = deployed["cli"]
    seen: dict = {}
    node.outcomes[NAMESPACE, "hello"] = "hold"
    started = cli("run", "hello", "--stack", "cli", "--payload", '{"name": "ad hoc"}')
    assert started.code == 0, started.stderr
    seen["name"] = started.stdout.strip()
    _wait_for(lambda: (_job(kube, seen["name"])["status"].get("active") or 0) > 0, "the run's pod to run")
    seen["job"] = _job(kube, seen["name"])
    seen["running"] = cli("status", "--stack", "cli", "--skill", "hello", "--json")
    seen["timed_out"] = cli(
        "status", "--stack", "cli", "--skill", "hello", "--wait", "--timeout", "1", "--interval", "0.2"
    )
    node.outcomes[NAMESPACE, "hello"] = "succeed"
    seen["waited"] = cli(
        "status", "--stack", "cli", "--skill", "hello", "--wait", "--timeout", "60", "--interval", "0.3", "--json"
    )
    seen["logs"] = cli("logs", "hello", "--stack", "cli", "--job", seen["name"])
    seen["gone_after_retention"] = _wait_for(
        lambda: all(j["metadata"]["name"] != seen["name"] for j in _jobs(kube)),
        "the run to be deleted after its retention",
        timeout=90,
    )
    return seen


def test_run_starts_a_job_that_matches_the_deployed_template_except_name_and_message(deployed, adhoc):
    deployed_job, run_job = deployed["jobs"]["hello"], adhoc["job"]
    assert run_job["metadata"]["name"] != deployed_job["metadata"]["name"]
    assert run_job["metadata"]["name"].startswith("hello-run-")
    assert run_job["metadata"]["labels"]["skillship.io/task"] == "run"
    assert run_job["spec"]["ttlSecondsAfterFinished"] == 15
    assert not any(k.startswith("pulumi.com/") for k in run_job["metadata"]["annotations"])

    def comparable(job: dict) -> tuple[dict, dict]:
        pod = json.loads(json.dumps(job["spec"]["template"]["spec"]))
        [container] = pod["containers"]
        message = json.loads(container.pop("args")[0])
        container["env"] = [e for e in container["env"] if e["name"] != "SKILLSHIP_ACTIVATION_ID"]
        return pod, message

    deployed_pod, deployed_message = comparable(deployed_job)
    run_pod, run_message = comparable(run_job)
    assert run_pod == deployed_pod  # image, ServiceAccount, secrets, limits, security, volumes
    template_labels = {
        k: v
        for k, v in run_job["spec"]["template"]["metadata"]["labels"].items()
        if "controller-uid" not in k and "job-name" not in k
    }
    deployed_labels = {
        k: v
        for k, v in deployed_job["spec"]["template"]["metadata"]["labels"].items()
        if "controller-uid" not in k and "job-name" not in k
    }
    assert template_labels == {**deployed_labels, "skillship.io/task": "run"}
    assert (
        run_job["spec"]["template"]["metadata"]["annotations"]
        == deployed_job["spec"]["template"]["metadata"]["annotations"]
    )
    assert run_message["payload"] == {"name": "ad hoc"}
    assert run_message["activationId"] != deployed_message["activationId"]
    same = {k: v for k, v in run_message.items() if k not in ("payload", "activationId", "channelId", "sessionId")}
    assert same == {
        k: v for k, v in deployed_message.items() if k not in ("payload", "activationId", "channelId", "sessionId")
    }
    env = {e["name"]: e.get("value") for e in run_job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SKILLSHIP_ACTIVATION_ID"] == run_message["activationId"]


def test_status_shows_the_running_run_and_exits_three_at_the_timeout(adhoc):
    running = adhoc["running"]
    assert running.code == 3, running.stderr
    rows = {r["kind"]: r for r in running.json()["tasks"]}
    assert rows["run"]["job"] == adhoc["name"] and rows["run"]["state"] == "Running"
    assert rows["deployed"]["state"] == "Succeeded"
    assert adhoc["timed_out"].code == 3
    assert "waiting for 2 task(s): 1 running, 1 succeeded" in adhoc["timed_out"].stderr


def test_status_wait_follows_until_the_run_ends(adhoc):
    waited = adhoc["waited"]
    assert waited.code == 0, waited.stderr
    assert {r["state"] for r in waited.json()["tasks"]} == {"Succeeded"}


def test_runs_are_deleted_after_the_stack_retention(adhoc):
    assert adhoc["gone_after_retention"]


def test_logs_of_one_pod_have_no_prefix(adhoc, node):
    logs = adhoc["logs"]
    assert logs.code == 0, logs.stderr
    [pod] = {line.split("/", 1)[0] for line in logs.stdout.splitlines()}
    assert logs.stdout.splitlines() == [f"{pod}/task: starting", f"{pod}/task: done"]
    assert {c for (_, p, c, _) in node.log_requests if p == pod} == {"task"}


def test_logs_of_several_pods_are_prefixed_and_previous_says_there_is_none(deployed):
    logs = deployed["cli"]("logs", "producer", "--stack", "cli")
    assert logs.code == 0, logs.stderr
    lines = logs.stdout.splitlines()
    pods = sorted({line[1:].split("]", 1)[0] for line in lines})
    assert len(pods) == 2 and all(p.startswith(deployed["jobs"]["producer"]["metadata"]["name"]) for p in pods)
    assert sorted(lines) == sorted(f"[{p}] {p}/task: {w}" for p in pods for w in ("starting", "done"))
    # The fake answers as a kubelet does (the real node's suite shows the real one's answer).
    previous = deployed["cli"]("logs", "producer", "--stack", "cli", "--previous")
    assert previous.code == 1 and previous.stdout == ""
    assert sorted(previous.stderr.strip().splitlines()) == [
        f'pod {p}: its container never restarted, so it has no previous log (previous terminated container "task" '
        f'in pod "{p}" not found); a task\'s attempts are pods of their own, and `skillship logs` without --previous '
        "prints each"
        for p in pods
    ]


def _running_pod(kube, job: str) -> str | None:
    from kubernetes import client

    pods = (
        client.CoreV1Api(kube)
        .list_namespaced_pod(NAMESPACE, label_selector=f"batch.kubernetes.io/job-name={job}")
        .items
    )
    return next((p.metadata.name for p in pods if p.status.phase == "Running"), None)


def _line_within(stream, seconds: float) -> bytes:
    ready, _, _ = select.select([stream], [], [], seconds)
    assert ready, f"no line within {seconds} s"
    return stream.readline()


def test_logs_follow_prints_lines_as_the_task_writes_them_and_ends_with_it(deployed, node, kube):
    cli = deployed["cli"]
    node.outcomes[NAMESPACE, "hello"] = "hold"
    job = cli("run", "hello", "--stack", "cli").stdout.strip()
    pod = _wait_for(lambda: _running_pod(kube, job), "the run's pod to run")
    following = cli.start("logs", "hello", "--stack", "cli", "--job", job, "--follow")
    try:
        assert _line_within(following.stdout, 60) == f"{pod}/task: starting\n".encode()
        time.sleep(1)
        assert following.poll() is None, "logs --follow ended while the task still ran"
        node.outcomes[NAMESPACE, "hello"] = "succeed"
        rest, errors = following.communicate(timeout=60)
    finally:
        node.outcomes[NAMESPACE, "hello"] = "succeed"
        if following.poll() is None:
            following.kill()
    assert following.returncode == 0, errors
    assert rest == f"{pod}/task: done\n".encode()


def test_logs_read_the_task_container_where_the_istio_proxy_runs_beside_it(deployed, node, kube):
    """What sidecar injection makes of a task's pod: two containers, the proxy first. Asking for no
    container would be refused by the API server, asking for the first would print the proxy's."""
    from kubernetes import client

    deployed_job = deployed["jobs"]["hello"]
    template = json.loads(json.dumps(deployed_job["spec"]["template"]))
    generated = ("controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name")
    template["metadata"]["labels"] = {k: v for k, v in template["metadata"]["labels"].items() if k not in generated}
    template["spec"]["containers"].insert(
        0, {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.28.0", "args": ["proxy", "sidecar"]}
    )
    name = "hello-meshed"
    labels = {**deployed_job["metadata"]["labels"], "skillship.io/task": "run"}
    body = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels, "annotations": deployed_job["metadata"]["annotations"]},
        "spec": {"backoffLimit": 0, "template": template},
    }
    batch = client.BatchV1Api(kube)
    batch.create_namespaced_job(NAMESPACE, body)
    try:
        _wait_for(lambda: _finished(_job(kube, name)), "the meshed task to end")
        logs = deployed["cli"]("logs", "hello", "--stack", "cli", "--job", name)
    finally:
        batch.delete_namespaced_job(name, NAMESPACE, propagation_policy="Background")
    assert logs.code == 0, logs.stderr
    [pod] = {line.split("/", 1)[0] for line in logs.stdout.splitlines()}
    assert logs.stdout.splitlines() == [f"{pod}/task: starting", f"{pod}/task: done"]
    assert {c for (_, p, c, _) in node.log_requests if p == pod} == {"task"}


def test_logs_say_when_a_pod_has_not_started_or_its_node_is_gone(deployed, node, kube):
    cli = deployed["cli"]
    node.outcomes[NAMESPACE, "hello"] = "pending"
    waiting = cli("run", "hello", "--stack", "cli").stdout.strip()
    _wait_for(lambda: (_job(kube, waiting)["status"].get("active") or 0) > 0, "the pod to be made")
    not_yet = cli("logs", "hello", "--stack", "cli", "--job", waiting)
    assert not_yet.code == 1 and "has not been scheduled to a node yet: no logs yet" in not_yet.stderr

    node.outcomes[NAMESPACE, "hello"] = "vanish"
    vanished = cli("run", "hello", "--stack", "cli", "--wait", "--timeout", "60", "--interval", "0.3")
    assert vanished.code == 0, vanished.stderr
    gone = cli("logs", "hello", "--stack", "cli", "--job", vanished.stdout.strip())
    assert gone.code == 1
    assert "its node departed-node is gone" in gone.stderr and len(gone.stderr.strip().splitlines()) == 1
    node.outcomes[NAMESPACE, "hello"] = "succeed"


def test_run_wait_exits_with_the_result_of_the_task(deployed, node):
    node.outcomes[NAMESPACE, "producer"] = "fail"
    failed = deployed["cli"](
        "run", "producer", "--stack", "cli", "--wait", "--timeout", "60", "--interval", "0.3", "--json"
    )
    assert failed.code == 1, failed.stderr
    report = failed.json()
    assert report["exitCode"] == 1 and report["task"]["state"] == "Failed" and report["task"]["kind"] == "run"


def test_run_with_a_large_message_file_mounts_it_from_a_config_map_owned_by_the_job(deployed, node, kube, tmp_path):
    from kubernetes import client

    node.outcomes[NAMESPACE, "hello"] = "hold"
    message = tmp_path / "big.json"
    message.write_text(json.dumps({"payload": {"name": "x" * 150_000}}))
    started = deployed["cli"]("run", "hello", "--stack", "cli", "--message", str(message), "--json")
    assert started.code == 0, started.stderr
    name = started.json()["job"]
    job = _job(kube, name)
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["@/var/run/skillship/message/message.json"]
    config_map = client.CoreV1Api(kube).read_namespaced_config_map(f"{name}-message", NAMESPACE)
    assert config_map.metadata.owner_references[0].uid == job["metadata"]["uid"]
    envelope = json.loads(config_map.data["message.json"])
    assert envelope["payload"] == {"name": "x" * 150_000}
    assert envelope["activationId"] == started.json()["activationId"]
    node.outcomes[NAMESPACE, "hello"] = "succeed"


def test_bad_runs_change_nothing(deployed, kube, tmp_path):
    cli = deployed["cli"]
    before = sorted(j["metadata"]["name"] for j in _jobs(kube))
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"payload": "y" * 1_000_000}))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    cases = {
        ("run", "consumer"): "skill 'consumer' is not deployed in stack 'cli' (deployed: hello, producer)",
        ("run", "nope"): "skill 'nope' is not deployed in stack 'cli'",
        ("run", "hello", "--message", str(huge)): "is larger than 900000 bytes",
        ("run", "hello", "--message", str(broken)): "not valid JSON",
        ("run", "hello", "--message", str(tmp_path / "missing.json")): "no such file",
        ("run", "hello", "--payload", "{"): "--payload: not valid JSON",
        ("run", "hello", "--payload", "1", "--message", str(broken)): "give --message or --payload, not both",
        ("logs", "nope"): "skill 'nope' has no task in stack 'cli'",
    }
    for args, expected in cases.items():
        result = cli(*args, "--stack", "cli")
        assert result.code == 2, (args, result.stderr)
        assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
    # Nothing new (earlier runs may have reached their retention meanwhile).
    assert set(j["metadata"]["name"] for j in _jobs(kube)) <= set(before)


def test_cluster_problems_are_one_line_and_exit_two(deployed, project, tmp_path, cluster):
    cli = deployed["cli"]
    unknown = cli("status", "--stack", "nowhere")
    assert unknown.code == 2 and "unknown stack 'nowhere'" in unknown.stderr

    no_context = yaml.safe_load(yaml.safe_dump(STACK_FILE))
    no_context["config"]["kubernetes:context"] = "missing"
    (project / "stacks" / "Pulumi.nocontext.yaml").write_text(yaml.safe_dump(no_context))
    missing = cli("status", "--stack", "nocontext")
    assert missing.code == 2
    assert (
        "sets kubernetes:context: missing, and the kubeconfig" in missing.stderr and "(it has: e2e)" in missing.stderr
    )

    config = yaml.safe_load(cluster.kubeconfig.read_text())
    from harness.cluster import free_port

    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    closed = tmp_path / "closed-kubeconfig"
    closed.write_text(yaml.safe_dump(config))
    for command in (("status",), ("logs", "hello"), ("run", "hello")):
        down = cli(*command, "--stack", "cli", env={"KUBECONFIG": str(closed)})
        assert down.code == 2, (command, down.stderr)
        assert "cannot reach the cluster of context 'e2e'" in down.stderr, down.stderr
        assert len(down.stderr.strip().splitlines()) == 1, down.stderr

    no_config = cli("status", "--stack", "cli", env={"KUBECONFIG": str(tmp_path / "absent")})
    assert no_config.code == 2 and "no kubeconfig at" in no_config.stderr


def test_status_falls_back_to_the_stack_outputs_and_says_so(deployed, tmp_path, cluster):
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    from harness.cluster import free_port

    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    closed = tmp_path / "closed-kubeconfig"
    closed.write_text(yaml.safe_dump(config))
    stack = deployed["stack"]
    result = deployed["cli"]("status", "--stack", "cli", "--json", env={**stack.env, "KUBECONFIG": str(closed)})
    assert result.code == 2
    assert "cannot reach the cluster" in result.stderr and "showing the stack outputs" in result.stderr
    report = result.json()
    assert report["source"] == "stack-outputs" and report["exitCode"] == 2
    assert {r["skill"]: r["job"] for r in report["tasks"]} == {
        s: j["metadata"]["name"] for s, j in deployed["jobs"].items()
    }
