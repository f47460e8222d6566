"""Real images on a real node: `pulumi up` builds the example workspace with BuildKit, pushes it to a
TLS registry with basic auth, and a kubelet pulls it by digest and runs it (harness/realnode).

One fixture makes a user's successive deployments of one stack, in order, on a copy of the project
whose code it edits between them, and records what the cluster held after each; each test checks
one part of that record.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from harness.project import copy_project
from harness.realnode.buildkit import BUILDER
from harness.realnode.probes import Probe, run_probes
from harness.stacks import make_stack
from tests.e2e.cli import Cli

pytestmark = [pytest.mark.e2e, pytest.mark.realnode, pytest.mark.xdist_group("realnode")]
NAMESPACE = "skillship-node"
SELECTOR = "skillship.io/stack=node"
IMAGE = "docker-build:index:Image"
JOB = "kubernetes:batch/v1:Job"
HELLO = Path("skills/hello/actions/hello/main.py")
CONSUMER = Path("skills/consumer/actions/consumer/main.py")
BROKEN = "import sys\nprint('failing on purpose')\nsys.exit(1)\n"  # put first: the process exits 1
FIXED = "\n# fixed: a line that changes the build context, and so the image\n"
BIG_NAME = "x" * 150_000  # over the 100 kB an argument carries
# Two hosts beyond the cluster (harness/realnode/node.py, serve_outside): the stack admits egress to the
# first only (egressNetworks).
ALLOWED_HOST, REFUSED_HOST, HOST_PORT = "172.31.254.1", "172.31.253.1", 8081
OUTSIDE = "skillship-node-outside"  # a namespace that is not the stack's
JOURNEY_REPOSITORY = "journey"  # under the registry: no other test pushes there


def _stack_file(registry, builder: str | None = None, repository: str = "skillship") -> dict:
    """The stack: `builder` names the suite's buildx instance; without it buildx's current one builds."""
    return {
        "config": {
            **({"skillship:builder": builder} if builder else {}),
            "kubernetes:context": "e2e",
            "skillship:namespace": NAMESPACE,
            "skillship:registry": f"{registry.host}/{repository}",
            "skillship:registryUsername": registry.USERNAME,
            # Envoy cannot run here: no proxy, so the namespace enforces the restricted profile.
            "skillship:istioMode": "none",
            "skillship:activeDeadlineSeconds": 180,
            "skillship:egressNetworks": [f"{ALLOWED_HOST}/32"],
        }
    }


def _steps(result: dict, kind: str) -> Counter:
    return Counter(op for op, type_ in result.get("steps", []) if type_ == kind)


def _changed(result: dict, kind: str) -> int:
    return sum(n for op, n in _steps(result, kind).items() if op != "same")


def _pods(kube, skill: str) -> list:
    from kubernetes import client

    return (
        client.CoreV1Api(kube)
        .list_namespaced_pod(NAMESPACE, label_selector=f"{SELECTOR},skillship.io/skill={skill}")
        .items
    )


def _jobs(kube) -> dict[str, dict]:
    from kubernetes import client

    jobs = client.BatchV1Api(kube).list_namespaced_job(NAMESPACE, label_selector=SELECTOR).items
    return {
        j.metadata.name: {
            "skill": j.metadata.labels["skillship.io/skill"],
            "uid": j.metadata.uid,
            "image": j.spec.template.spec.containers[0].image,
            "conditions": {c.type for c in (j.status.conditions or []) if c.status == "True"},
        }
        for j in jobs
    }


def _consumer_stats(kube, namespace: str = NAMESPACE, selector: str = SELECTOR) -> dict:
    """The consumer's /stats, read through the API server's proxy to its Service."""
    from kubernetes import client

    services = (
        client.CoreV1Api(kube)
        .list_namespaced_service(namespace, label_selector=f"{selector},skillship.io/skill=consumer")
        .items
    )
    [service] = services
    port = service.spec.ports[0].port
    # The API server proxies from the node itself: NetworkPolicy implementations admit a node's
    # own connections to its pods (the kubelet's probes need them), so the consumer's ingress
    # policy, which admits only its senders, lets this through.
    answer = client.CoreV1Api(kube).connect_get_namespaced_service_proxy_with_path(
        f"{service.metadata.name}:{port}", namespace, "stats", _preload_content=False
    )
    return json.loads(answer.data)


def _network_probes(kube, real_node, jobs: dict[str, dict]) -> dict[str, dict[str, dict]]:
    """Who reaches whom on the node: pods standing for hello and producer (their labels, image and
    ServiceAccount), one of no skill, and one with producer's labels in another namespace, each
    trying the consumer's Service and the two hosts beyond the cluster."""
    from kubernetes import client

    core = client.CoreV1Api(kube)
    for host in (ALLOWED_HOST, REFUSED_HOST):
        real_node.node.serve_outside(host, HOST_PORT)
    [service] = core.list_namespaced_service(NAMESPACE, label_selector=f"{SELECTOR},skillship.io/skill=consumer").items
    consumer = (f"{service.metadata.name}.{NAMESPACE}.svc.cluster.local", service.spec.ports[0].port)
    allowed, refused = (ALLOWED_HOST, HOST_PORT), (REFUSED_HOST, HOST_PORT)
    templates = {
        job["skill"]: client.BatchV1Api(kube).read_namespaced_job(name, NAMESPACE).spec.template
        for name, job in jobs.items()
    }

    def labels(skill: str) -> dict[str, str]:
        # Skillship's own labels only: the Job controller's (job-name, controller-uid) would make
        # the Job adopt the probe.
        found = templates[skill].metadata.labels
        return {k: v for k, v in found.items() if k.startswith(("skillship.io/", "app.kubernetes.io/"))}

    pull = core.read_namespaced_secret("skillship-registry-pull", NAMESPACE)
    core.create_namespace({"metadata": {"name": OUTSIDE}})
    core.create_namespaced_secret(OUTSIDE, {"metadata": {"name": "pull"}, "type": pull.type, "data": pull.data})
    image = templates["hello"].spec.containers[0].image
    probes = [
        Probe("as-hello", NAMESPACE, labels("hello"), image, [consumer, allowed, refused], service_account="hello"),
        Probe("as-producer", NAMESPACE, labels("producer"), image, [consumer, refused], service_account="producer"),
        Probe(
            "no-skill", NAMESPACE, {"app": "probe"}, image, [consumer, allowed, refused], pull_secret=pull.metadata.name
        ),
        Probe("outside", OUTSIDE, labels("producer"), image, [consumer], pull_secret="pull"),
    ]
    try:
        run_probes(kube, probes)
    finally:
        core.delete_namespace(OUTSIDE)
    return {p.name: {target: p.outcome.get(f"{target[0]}:{target[1]}") for target in p.targets} for p in probes} | {
        "targets": {"consumer": consumer, "allowed": allowed, "refused": refused}
    }


@pytest.fixture(scope="module")
def journey(real_node, engine_bin, tmp_path_factory) -> dict:
    from kubernetes import client, config

    project = copy_project(tmp_path_factory.mktemp("node-project"))
    (project / "stacks" / "Pulumi.node.yaml").write_text(
        yaml.safe_dump(_stack_file(real_node.registry, BUILDER, repository=JOURNEY_REPOSITORY))
    )
    backend = tmp_path_factory.mktemp("node-backend")
    stack = make_stack("node", project, engine_bin, real_node.cluster, backend, extra_env=real_node.pulumi_env())
    kube = config.new_client_from_config(str(real_node.cluster.kubeconfig))
    token = secrets.token_hex(12)  # hello's secure property api.token, as a user sets it
    secret_config = {
        "skillship:registryPassword": real_node.registry.password,
        'skillship:secrets.hello["api.token"]': token,
    }
    cli = Cli(project, {"KUBECONFIG": str(real_node.cluster.kubeconfig)})
    seen: dict = {"project": project, "kube": kube, "password": real_node.registry.password, "token": token}

    # The first build is a new machine's whatever ran before (the installed project builds a
    # Dockerfile like these): BuildKit's cache emptied, and a repository no run has pushed to.
    seen["cache_records_before_first"] = real_node.buildkit.forget_builds()
    seen["first"] = stack.up(secrets=secret_config)
    seen["first_jobs"] = _jobs(kube)
    seen["hello_pods"] = _pods(kube, "hello")
    seen["namespace_labels"] = client.CoreV1Api(kube).read_namespace(NAMESPACE).metadata.labels
    seen["root_pod"] = _create_root_pod(kube)
    seen["job_specs"] = json.dumps(
        [kube.sanitize_for_serialization(job) for job in client.BatchV1Api(kube).list_namespaced_job(NAMESPACE).items]
    )
    seen["hello_secret"] = client.CoreV1Api(kube).read_namespaced_secret("hello-secrets", NAMESPACE).data
    seen["stats"] = _consumer_stats(kube)
    seen["status"] = cli("status", "--stack", "node", "--json")
    seen["logs"] = cli("logs", "hello", "--stack", "node")
    seen["followed_logs"] = cli("logs", "hello", "--stack", "node", "--follow")
    seen["previous_logs"] = cli("logs", "hello", "--stack", "node", "--previous")
    seen["producer_logs"] = cli("logs", "producer", "--stack", "node")
    # A message too large for an argument: the kubelet mounts it from a ConfigMap beside the
    # read-only root, and the job reads the file its argument names.
    big = project / "big-message.json"
    big.write_text(json.dumps({"payload": {"name": BIG_NAME}}))
    seen["big_run"] = cli(
        "run", "hello", "--stack", "node", "--message", str(big), "--wait", "--timeout", "120", "--json"
    )
    if seen["big_run"].code == 0:
        seen["big_logs"] = cli("logs", "hello", "--stack", "node", "--job", seen["big_run"].json()["job"])
    seen["probes"] = _network_probes(kube, real_node, seen["first_jobs"])

    # An unchanged workspace needs no builder: BuildKit is down for this `up`, so a build, or any
    # call the provider made to the builder, would fail it.
    with real_node.buildkit.down() as reachable:
        seen["builder_reachable_during_unchanged"] = reachable
        seen["unchanged"] = stack.up_result()

    original = (project / HELLO).read_text()
    (project / HELLO).write_text(BROKEN + original)
    seen["failure"] = stack.failing_up_result()
    seen["failure_jobs"] = _jobs(kube)

    (project / HELLO).write_text(original + FIXED)
    seen["fixed"] = stack.up()
    seen["fixed_jobs"] = _jobs(kube)

    # A key of hello's Secret removed by hand, then a new message (so a new Job): the kubelet
    # cannot make the task's container, and `up` says so at once instead of at the deadline.
    client.CoreV1Api(kube).patch_namespaced_secret(
        "hello-secrets", NAMESPACE, [{"op": "remove", "path": "/data/api.token"}]
    )
    started = time.monotonic()
    seen["missing_key"] = stack.failing_up_result(
        config={"skillship:messages": {"hello": {"payload": {"name": "again"}}}}
    )
    seen["missing_key_seconds"] = time.monotonic() - started
    seen["missing_key_job"] = _stopped_job(kube, NAMESPACE, seen["missing_key"]["error"])

    seen["export"] = stack.export()
    (tmp_path_factory.getbasetemp() / "node-export.json").write_text(seen["export"])  # for a look after a failure
    seen["destroy"] = stack.destroy()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        names = [n.metadata.name for n in client.CoreV1Api(kube).list_namespace().items]
        if NAMESPACE not in names:
            break
        time.sleep(1)
    seen["namespaces_after_destroy"] = names
    seen["pods_after_destroy"] = client.CoreV1Api(kube).list_pod_for_all_namespaces(label_selector=SELECTOR).items
    return seen


def test_up_builds_pushes_and_runs_every_task_by_digest(journey, real_node):
    assert journey["cache_records_before_first"] == 0  # a cold build
    tasks = journey["first"]["outputs"]["tasks"]
    assert {skill: task["state"] for skill, task in tasks.items()} == {"hello": "Succeeded", "producer": "Succeeded"}
    assert _steps(journey["first"], IMAGE) == Counter(create=3)  # hello, producer, consumer
    images = {job["skill"]: job["image"] for job in journey["first_jobs"].values()}
    for skill, image in images.items():
        assert re.fullmatch(
            rf"{re.escape(real_node.registry.host)}/{JOURNEY_REPOSITORY}/{skill}:ctx-[0-9a-f]+@sha256:[0-9a-f]{{64}}",
            image,
        ), image


def test_the_pods_ran_as_65532_on_a_read_only_root_in_a_restricted_namespace(journey):
    [pod] = journey["hello_pods"]
    container = pod.spec.containers[0]
    assert pod.status.phase == "Succeeded" and pod.spec.node_name == "skillship-node"
    assert container.security_context.read_only_root_filesystem is True
    assert (pod.spec.security_context.run_as_user or container.security_context.run_as_user) == 65532
    # The digest the kubelet pulled is the one the Job names.
    assert pod.status.container_statuses[0].image_id.split("@")[-1] == container.image.split("@")[-1]
    labels = journey["namespace_labels"]
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"


def _stopped_job(kube, namespace: str, error: str) -> dict:
    """The Job an `up` said it stopped, once the Job controller has marked it Failed (since
    Kubernetes 1.31 only after its pods have ended), and its pods still pending or running."""
    from kubernetes import client

    named = re.search(rf"Its Job {namespace}/([a-z0-9-]+) was stopped", error)
    if named is None:
        return {"name": None}
    name, deadline = named.group(1), time.monotonic() + 60
    while True:
        job = client.BatchV1Api(kube).read_namespaced_job(name, namespace)
        conditions = {c.type: c.reason for c in job.status.conditions or [] if c.status == "True"}
        if "Failed" in conditions or time.monotonic() > deadline:
            break
        time.sleep(1)
    pods = client.CoreV1Api(kube).list_namespaced_pod(namespace, label_selector=f"batch.kubernetes.io/job-name={name}")
    return {
        "name": name,
        "conditions": conditions,
        "active": job.status.active,
        "annotations": job.metadata.annotations or {},
        "live_pods": [p.metadata.name for p in pods.items if p.status.phase in ("Pending", "Running")],
    }


def _create_root_pod(kube):
    """A pod asking for root in the stack's namespace, as a user's kubectl would send it: the API
    server's answer (an ApiException), or the pod if it was let in (it must not be)."""
    from kubernetes import client

    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "asks-for-root"},
        "spec": {
            "containers": [{"name": "root", "image": "busybox", "securityContext": {"runAsUser": 0}}],
        },
    }
    try:
        return client.CoreV1Api(kube).create_namespaced_pod(NAMESPACE, body)
    except client.exceptions.ApiException as refused:
        return refused


def test_the_task_itself_reports_user_65532_a_read_only_root_and_no_capabilities(journey):
    """What the running container says of itself (skills/hello prints it on standard error), not
    what Skillship declared."""
    found = re.search(r'^\{"identity": .*\}$', journey["logs"].stdout, re.MULTILINE)
    assert found, journey["logs"].stdout
    seen = json.loads(found.group(0))["identity"]
    assert (seen["uid"], seen["gid"]) == (65532, 65532)
    assert seen["rootReadOnly"] is True and seen["rootWrite"] == "Read-only file system"
    assert seen["capabilities"] == seen["boundingCapabilities"] == "0000000000000000"


def test_a_pod_asking_for_root_in_a_skillship_namespace_is_refused_by_the_api_server(journey):
    refused = journey["root_pod"]
    assert getattr(refused, "status", None) == 403, refused
    assert 'violates PodSecurity "restricted' in json.loads(refused.body)["message"], refused.body


def test_status_and_logs_show_what_the_container_printed(journey):
    status, logs = journey["status"], journey["logs"]
    assert status.code == 0, status.stderr
    rows = {row["skill"]: row for row in json.loads(status.stdout)["tasks"]}
    assert rows["hello"]["state"] == "Succeeded"
    assert logs.code == 0, logs.stderr
    # Printed by skills/hello's main.py, inside the container, for the message the Job's argument
    # carries (invoke/request/message.json: world) and the greeting property's default.
    assert re.search(r'\{"greeting": "Hello, world!", "authenticated": (true|false)\}', logs.stdout), logs.stdout


def test_a_message_too_large_for_an_argument_reaches_the_job_through_its_mounted_file(journey):
    run = journey["big_run"]
    assert run.code == 0, (run.stdout, run.stderr)
    assert run.json()["task"]["state"] == "Succeeded"
    logs = journey["big_logs"]
    assert logs.code == 0, logs.stderr
    assert f'"greeting": "Hello, {BIG_NAME}!"' in logs.stdout


def test_logs_follow_a_finished_container_to_its_end_and_previous_gets_the_kubelets_answer(journey):
    """A real kubelet ends a followed stream when the container has ended, and answers 400 for the
    log of a container that never restarted (task containers never do)."""
    followed, previous = journey["followed_logs"], journey["previous_logs"]
    assert followed.code == 0 and followed.stdout == journey["logs"].stdout, followed.stderr
    [pod] = journey["hello_pods"]
    assert previous.code == 1 and previous.stdout == ""
    assert previous.stderr.strip().splitlines() == [
        f"pod {pod.metadata.name}: its container never restarted, so it has no previous log (previous terminated "
        f'container "task" in pod "{pod.metadata.name}" not found); a task\'s attempts are pods of their own, and '
        "`skillship logs` without --previous prints each"
    ], previous.stderr


def test_the_producers_records_reach_the_consumer_through_its_service_once_each(journey):
    stats, logs = journey["stats"], journey["producer_logs"]
    sent = re.search(r"sent (\d+) record\(s\)", logs.stdout)
    assert sent, (logs.stdout, logs.stderr)
    assert int(sent.group(1)) == 10  # skills/producer/invoke/request: count 10
    assert stats == {**stats, "received": 10, "duplicates": 0}, stats


def _reached(journey, probe: str, target: str) -> bool:
    found = journey["probes"][probe][journey["probes"]["targets"][target]]
    assert found is not None, journey["probes"]  # the probe reported on this target
    return found["connected"]


def test_only_the_consumers_senders_reach_it_between_real_pods(journey):
    """kube-router enforces the policies on the node; the refusals held for the probe's 10 s."""
    assert _reached(journey, "as-producer", "consumer"), journey["probes"]
    assert not _reached(journey, "as-hello", "consumer"), journey["probes"]  # another skill of the stack
    assert not _reached(journey, "no-skill", "consumer"), journey["probes"]  # no egress policy: the ingress one
    assert not _reached(journey, "outside", "consumer"), journey["probes"]  # producer's labels, another namespace


def test_a_skills_egress_reaches_the_networks_its_stack_allows_and_no_other(journey):
    assert _reached(journey, "as-hello", "allowed"), journey["probes"]
    assert not _reached(journey, "as-hello", "refused"), journey["probes"]
    assert not _reached(journey, "as-producer", "refused"), journey["probes"]
    # The refused host is there: a pod that no egress policy selects reaches it.
    assert _reached(journey, "no-skill", "refused") and _reached(journey, "no-skill", "allowed"), journey["probes"]


def test_a_second_up_without_changes_builds_nothing_changes_nothing_and_needs_no_builder(journey):
    result = journey["unchanged"]
    assert journey["builder_reachable_during_unchanged"] is False  # BuildKit was down throughout
    assert result["ok"], result.get("error")
    assert set(result["changes"]) == {"same"}, result["changes"]
    assert _steps(result, IMAGE) == Counter(same=3) and _changed(result, JOB) == 0


def test_a_task_that_exits_1_fails_up_naming_the_skill_the_reason_and_the_logs(journey):
    failure = journey["failure"]
    text = failure["error"]
    assert _changed(failure, IMAGE) == 1, failure["steps"]  # only hello's context changed
    named = re.search(
        r"task of skill 'hello' runs as Job skillship-node/(hello-[0-9a-f]{8}); "
        r"its logs: kubectl logs --namespace skillship-node job/\1 --container task",
        text,
    )
    assert named, text
    assert "BackoffLimitExceeded" in text
    assert "Failed" in journey["failure_jobs"][named.group(1)]["conditions"]


def test_fixing_the_code_builds_one_image_and_replaces_one_job(journey):
    fixed = journey["fixed"]
    assert _changed(fixed, IMAGE) == 1, fixed["steps"]
    assert _steps(fixed, JOB)["replace"] == 1, fixed["steps"]  # hello's; producer's Job stays
    assert fixed["outputs"]["tasks"]["hello"]["state"] == "Succeeded"
    before = {j["skill"]: (name, j["uid"]) for name, j in journey["first_jobs"].items()}
    after = {j["skill"]: (name, j["uid"]) for name, j in journey["fixed_jobs"].items()}
    assert after["producer"] == before["producer"]  # untouched
    assert after["hello"] != before["hello"]


def test_a_secret_key_removed_by_hand_fails_the_next_task_within_90_seconds_naming_it(journey):
    error = journey["missing_key"]["error"]
    assert journey["missing_key_seconds"] < 90, journey["missing_key_seconds"]
    found = re.search(r"task of skill 'hello' cannot start: CreateContainerConfigError: (.*)", error)
    assert found and "api.token" in found.group(1), error[-4000:]
    stopped = journey["missing_key_job"]
    assert stopped["conditions"].get("Failed") == "DeadlineExceeded", stopped
    assert not stopped["active"] and stopped["live_pods"] == [], stopped
    assert stopped["annotations"]["skillship.io/start-failure"].startswith("CreateContainerConfigError"), stopped


def test_a_secure_property_reaches_the_container_and_no_spec_output_or_state(journey):
    token = journey["token"]
    # hello prints whether SKILLSHIP_SECRET_API_TOKEN reached it: a real kubelet resolved the
    # Secret reference into the container's environment.
    assert '"authenticated": true' in journey["logs"].stdout, journey["logs"].stdout
    assert {base64.b64decode(v).decode() for v in journey["hello_secret"].values()} == {token}
    assert token not in journey["job_specs"]
    assert token not in journey["export"] and token not in journey["logs"].stdout
    for name in ("first", "unchanged", "failure", "fixed", "missing_key", "destroy"):
        assert token not in json.dumps(journey[name], default=str), name


def test_the_registry_password_is_never_in_plain_text(journey):
    password = journey["password"]
    assert password not in journey["export"] and '"ciphertext"' in journey["export"]
    for name in ("first", "unchanged", "failure", "fixed", "missing_key", "destroy"):
        assert password not in json.dumps(journey[name], default=str), name


def test_destroy_leaves_no_object_behind(journey):
    assert NAMESPACE not in journey["namespaces_after_destroy"]
    assert journey["pods_after_destroy"] == []


def _stack_of_its_own(name: str, real_node, engine_bin, tmp_path_factory, **config):
    """A copy of the project with stack `name` in namespace skillship-<name>, and that stack."""
    project = copy_project(tmp_path_factory.mktemp(f"{name}-project"))
    stack_file = _stack_file(real_node.registry)
    stack_file["config"].update({"skillship:namespace": f"skillship-{name}", **config})
    (project / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(stack_file))
    backend = tmp_path_factory.mktemp(f"{name}-backend")
    return project, make_stack(name, project, engine_bin, real_node.cluster, backend, extra_env=real_node.pulumi_env())


@pytest.fixture(scope="module")
def wrong_password(real_node, engine_bin, tmp_path_factory) -> dict:
    """A stack of its own namespace deployed with a wrong registry password."""
    from kubernetes import client, config

    _, stack = _stack_of_its_own("badpass", real_node, engine_bin, tmp_path_factory)
    wrong = "not-" + real_node.registry.password[::-1]
    result = stack.failing_up_result(secrets={"skillship:registryPassword": wrong})
    kube = config.new_client_from_config(str(real_node.cluster.kubeconfig))
    jobs = client.BatchV1Api(kube).list_job_for_all_namespaces(label_selector="skillship.io/stack=badpass").items
    return {
        "result": result,
        "wrong": wrong,
        "jobs": jobs,
        "export": stack.export(),
        "registry": real_node.registry.host,
    }


def test_a_wrong_registry_password_fails_up_clearly_and_makes_no_job(wrong_password):
    """The base image comes from the public registry without a login, so every build gets as far as
    its push, and the registry refuses that: the refusal is the registry's own answer to the push."""
    error = wrong_password["result"]["error"]
    for skill in ("hello", "producer", "consumer"):
        pushed = rf"failed to push {re.escape(wrong_password['registry'])}/skillship/{skill}:ctx-[0-9a-f]+: [^\n]*"
        refused = re.search(pushed + r"401 Unauthorized", error)
        assert refused, (skill, error[-3000:])
    assert wrong_password["jobs"] == []
    assert wrong_password["wrong"] not in error and wrong_password["wrong"] not in wrong_password["result"]["log"]
    assert wrong_password["wrong"] not in wrong_password["export"]


@pytest.fixture(scope="module")
def wrong_pull_password(real_node, engine_bin, tmp_path_factory) -> dict:
    """A stack that pushes with the right password and pulls with a wrong one: its images are in
    the registry, and the node, which holds no credentials of its own, is refused them. A task
    (hello) and a daemon (consumer) cannot start; the job that sends to the daemon (producer) must
    not be made. Then the password is fixed, and the next `up` must converge."""
    from kubernetes import client, config

    namespace = "skillship-badpull"
    project, stack = _stack_of_its_own(
        "badpull",
        real_node,
        engine_bin,
        tmp_path_factory,
        **{
            "skillship:builder": BUILDER,
            "skillship:skills": ["hello", "producer", "consumer"],
            "skillship:registryPullUsername": real_node.registry.USERNAME,
        },
    )
    # Images no node has pulled yet: a kubelet that holds an image runs it without asking the
    # registry again (imagePullPolicy IfNotPresent), whatever the credentials.
    for main in (HELLO, CONSUMER):
        (project / main).write_text((project / main).read_text() + "\n# never pulled before\n")
    wrong = "not-" + real_node.registry.password[::-1]
    started = time.monotonic()
    result = stack.failing_up_result(
        secrets={"skillship:registryPassword": real_node.registry.password, "skillship:registryPullPassword": wrong}
    )
    elapsed = time.monotonic() - started
    kube = config.new_client_from_config(str(real_node.cluster.kubeconfig))
    stopped = _stopped_job(kube, namespace, result["error"])
    senders = client.BatchV1Api(kube).list_namespaced_job(namespace, label_selector="skillship.io/skill=producer")
    cli = Cli(project, {"KUBECONFIG": str(real_node.cluster.kubeconfig)})
    seen = {
        "result": result,
        "elapsed": elapsed,
        "wrong": wrong,
        "stopped": stopped,
        "senders": [job.metadata.name for job in senders.items],
        "status": cli("status", "--stack", "badpull", "--json"),
    }
    fixed = stack.up_result(
        secrets={
            "skillship:registryPassword": real_node.registry.password,
            "skillship:registryPullPassword": real_node.registry.password,
        }
    )
    seen["fixed"] = fixed
    seen["fixed_stats"] = _consumer_stats(kube, namespace, "skillship.io/stack=badpull") if fixed["ok"] else {}
    stack.destroy()
    return seen


def _refused_pull_named(seen: dict, kind: str, skill: str) -> str:
    """The failed `up`'s error, after asserting it came within 90 s and named the refused pull of
    `skill`'s pod (a task's or a daemon's) with the registry's own answer and the command to see more."""
    error = seen["result"]["error"]
    assert seen["elapsed"] < 90, seen["elapsed"]
    found = re.search(rf"{kind} of skill '{skill}' cannot start: (ErrImagePull|ImagePullBackOff): (.*)", error)
    assert found, error[-4000:]
    # The registry's own answer, as the kubelet relays it.
    assert re.search(r"401|[Uu]nauthori[sz]ed|authentication required", found.group(2)), found.group(2)
    assert f"kubectl describe pod --namespace skillship-badpull {skill}-" in error
    return str(error)


def test_a_task_whose_image_cannot_be_pulled_fails_up_within_90_seconds_naming_why(wrong_pull_password):
    seen = wrong_pull_password
    error = _refused_pull_named(seen, "task", "hello")
    assert seen["wrong"] not in error and seen["wrong"] not in seen["result"]["log"]


def test_a_task_that_cannot_start_is_stopped_so_it_never_runs_later(wrong_pull_password):
    seen = wrong_pull_password
    stopped = seen["stopped"]
    assert stopped["conditions"].get("Failed") == "DeadlineExceeded", stopped
    assert not stopped["active"] and stopped["live_pods"] == [], stopped
    assert stopped["annotations"]["skillship.io/start-failure"].startswith(("ErrImagePull", "ImagePullBackOff"))
    status = seen["status"]
    assert status.code == 1, (status.stdout, status.stderr)
    [row] = json.loads(status.stdout)["tasks"]
    assert row["state"] == "Failed" and row["message"].startswith(("ErrImagePull", "ImagePullBackOff")), row


def test_a_daemon_whose_image_cannot_be_pulled_fails_up_within_90_seconds_and_no_sender_is_made(wrong_pull_password):
    seen = wrong_pull_password
    error = _refused_pull_named(seen, "daemon", "consumer")
    assert "daemon of skill 'consumer' does not serve; nothing that sends to it was deployed" in error
    assert seen["senders"] == []  # the producer's Job was never made


def test_once_the_pull_password_is_fixed_the_next_up_converges_and_the_records_arrive(wrong_pull_password):
    """The consumer's pods that could not pull are made again at once, not after the kubelet's
    back-off; the stopped task runs again; the producer is made and its records arrive."""
    fixed = wrong_pull_password["fixed"]
    assert fixed["ok"], fixed.get("error", "")[-4000:]
    tasks = fixed["outputs"]["tasks"]
    assert {key: row["state"] for key, row in tasks.items()} == {"hello": "Succeeded", "producer": "Succeeded"}
    stats = wrong_pull_password["fixed_stats"]
    assert stats == {**stats, "received": 10, "duplicates": 0}, stats


def test_no_log_of_the_suite_holds_the_registry_password(journey, wrong_password, wrong_pull_password, real_node):
    values = (real_node.registry.password, wrong_password["wrong"], wrong_pull_password["wrong"], journey["token"])
    logs = [path for path in real_node.directory.rglob("*.log")]
    assert len(logs) >= 8, logs  # every piece's log: control plane, registry, BuildKit, node
    for path in logs:
        text = path.read_text(errors="replace")
        assert not any(value in text for value in values), path
