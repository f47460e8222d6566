"""Daemons and agent wiring, as `skillship render` and the components build them."""

from __future__ import annotations

import json

import pytest
import yaml

from harness.schemas import schema_errors
from skillship.checks.validation import load_workspace
from skillship.manifests import stack_objects
from skillship.plan import plan_deployment
from skillship.stack.settings import StackSettings
from tests.conftest import REPO

PRODUCER_URL = "http://consumer.wired.svc.cluster.local:5000/records/records"


def objects(root=REPO, **values) -> tuple[list[dict], tuple[str, ...]]:
    workspace, diagnostics = load_workspace(root)
    assert diagnostics.ok, diagnostics.errors
    settings = StackSettings.from_config(
        "wired", {"target": "render", "buildImages": False, "namespace": "wired", "istioMode": "native", **values}
    )
    plan = plan_deployment(workspace, settings, project_dir=root)
    return stack_objects(plan), plan.warnings


def find(found: list[dict], kind: str, name: str) -> dict:
    [obj] = [o for o in found if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


def env_of(obj: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in obj["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_a_daemon_is_a_deployment_and_a_service_with_the_job_baseline():
    found, warnings = objects()
    assert warnings == ()
    deployment, service = find(found, "Deployment", "consumer"), find(found, "Service", "consumer")
    job = find(
        found,
        "Job",
        next(
            o["metadata"]["name"]
            for o in found
            if o["kind"] == "Job" and o["metadata"]["labels"]["skillship.io/skill"] == "hello"
        ),
    )
    pod, job_pod = deployment["spec"]["template"]["spec"], job["spec"]["template"]["spec"]
    [container], [job_container] = pod["containers"], job_pod["containers"]
    assert deployment["spec"]["replicas"] == 1
    assert container["ports"] == [{"name": "http", "containerPort": 5000, "protocol": "TCP"}]
    assert container["readinessProbe"]["tcpSocket"] == {"port": "http"} and container["livenessProbe"]
    assert container["securityContext"] == job_container["securityContext"]
    assert pod["securityContext"] == job_pod["securityContext"]
    assert (pod["serviceAccountName"], pod["automountServiceAccountToken"]) == ("consumer", False)
    assert (
        deployment["spec"]["selector"]["matchLabels"]
        == service["spec"]["selector"]
        == {"skillship.io/stack": "wired", "skillship.io/action": "consumer"}
    )
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 5000, "targetPort": "http", "protocol": "TCP", "appProtocol": "http"}
    ]
    assert env_of(deployment)["PORT"] == "5000"
    assert find(found, "ServiceAccount", "consumer")["automountServiceAccountToken"] is False


def test_senders_learn_where_to_send_and_only_they_may_call_the_receiver():
    found, _ = objects()
    producer = next(
        o for o in found if o["kind"] == "Job" and o["metadata"]["labels"]["skillship.io/skill"] == "producer"
    )
    assert json.loads(env_of(producer)["SKILLSHIP_TARGETS"]) == {"records": [PRODUCER_URL]}
    hello = next(o for o in found if o["kind"] == "Job" and o["metadata"]["labels"]["skillship.io/skill"] == "hello")
    assert "SKILLSHIP_TARGETS" not in env_of(hello)
    policy = find(found, "AuthorizationPolicy", "consumer-senders")
    assert policy["spec"]["action"] == "ALLOW"
    assert policy["spec"]["selector"] == {
        "matchLabels": {"skillship.io/stack": "wired", "skillship.io/action": "consumer"}
    }
    [rule] = policy["spec"]["rules"]
    assert rule["from"] == [{"source": {"principals": ["cluster.local/ns/wired/sa/producer"]}}]
    assert rule["to"] == [{"operation": {"ports": ["5000"], "methods": ["POST"], "paths": ["/records/*"]}}]
    ingress = find(found, "NetworkPolicy", "consumer-ingress")["spec"]["ingress"]
    assert ingress == [
        {
            "from": [
                {
                    "podSelector": {
                        "matchLabels": {"skillship.io/stack": "wired"},
                        "matchExpressions": [{"key": "skillship.io/skill", "operator": "In", "values": ["producer"]}],
                    }
                }
            ],
            "ports": [{"protocol": "TCP", "port": 5000}],
        }
    ]
    assert [e for o in found for e in schema_errors(o)] == []


def test_every_mapped_sender_and_no_other_is_admitted(example_copy):
    agent = {
        "camel": "1.0.0",
        "name": "more",
        "title": "more",
        "skills": [{"skillName": "hello", "refId": "h"}, {"skillName": "consumer", "refId": "c"}],
        "mappings": [
            {
                "from": {"skill": {"refId": "h", "output": "response"}},
                "to": {"skill": {"refId": "c", "input": "records"}},
            }
        ],
    }
    (example_copy / "agents/more.yaml").write_text(yaml.safe_dump(agent))
    found, _ = objects(example_copy, trustDomain="mesh.example.com")
    [rule] = find(found, "AuthorizationPolicy", "consumer-senders")["spec"]["rules"]
    assert rule["from"][0]["source"]["principals"] == [
        "mesh.example.com/ns/wired/sa/hello",
        "mesh.example.com/ns/wired/sa/producer",
    ]


def test_a_receiver_without_deployed_senders_admits_nobody_and_a_lost_output_is_a_warning():
    found, warnings = objects(skills=["consumer", "hello"])
    policy = find(found, "AuthorizationPolicy", "consumer-senders")
    assert "rules" not in policy["spec"]
    assert "ingress" not in find(found, "NetworkPolicy", "consumer-ingress")["spec"]
    _, warnings = objects(skills=["producer"])
    assert [(w.code, w.message) for w in warnings] == [
        (
            "receiver-not-deployed",
            "agent 'stream' maps producer.records to consumer.records, but stack 'wired' does not deploy "
            "consumer: those records have nowhere to go",
        )
    ]


def test_ambient_mode_lets_ztunnel_deliver_and_no_istio_means_no_istio_objects():
    found, _ = objects(istioMode="ambient")
    ports = find(found, "NetworkPolicy", "consumer-ingress")["spec"]["ingress"][0]["ports"]
    assert {"protocol": "TCP", "port": 15008} in ports
    plain, _ = objects(istioMode="none")
    assert not [o for o in plain if "istio.io" in o["apiVersion"]]
    assert find(plain, "NetworkPolicy", "consumer-ingress")["spec"]["ingress"]  # still only the senders


def test_images_that_use_the_runtime_are_tagged_by_it_too(example_copy, monkeypatch):
    workspace, _ = load_workspace(example_copy)
    settings = StackSettings.from_config("t", {"target": "render", "buildImages": False})
    first = plan_deployment(workspace, settings, project_dir=example_copy)
    runtime = first.task("producer").named_contexts
    assert runtime == (("skillship-runtime", REPO / "skillship_runtime"),)
    calls: list = []
    from skillship.images import digest as digest_module

    def fake_digest(path):
        calls.append(path)
        real = digest_module.digest_context(path)
        if path == REPO / "skillship_runtime":
            return digest_module.ContextDigest("0" * 64, real.files, real.bytes)
        return real

    second = plan_deployment(workspace, settings, project_dir=example_copy, digester=fake_digest)
    assert second.task("producer").digest.tag != first.task("producer").digest.tag
    assert calls.count(REPO / "skillship_runtime") == 1  # once per plan, however many images use it


@pytest.mark.parametrize(
    "line",
    [
        "RUN --mount=type=bind,from=skillship-runtime,target=/rt cp /rt/*.py /opt/skillship/skillship_runtime/",
        "FROM skillship-runtime AS runtime",
        'COPY --from=skillship-runtime ["message.py", "/opt/"]',
    ],
)
def test_every_way_a_dockerfile_reads_the_runtime_gets_it_and_its_tag(example_copy, line):
    """Without the named context the build fails; without its digest a new runtime keeps the tag."""
    dockerfile = example_copy / "skills/hello/actions/hello/Dockerfile"
    dockerfile.write_text(
        "\n".join(kept for kept in dockerfile.read_text().splitlines() if "skillship-runtime" not in kept)
        + "\n"
        + line
        + "\n"
    )
    workspace, _ = load_workspace(example_copy)
    settings = StackSettings.from_config("t", {"target": "render", "buildImages": False})
    task = plan_deployment(workspace, settings, project_dir=example_copy).task("hello")
    assert task.named_contexts == (("skillship-runtime", REPO / "skillship_runtime"),)
    dockerfile.write_text(dockerfile.read_text().replace(line, "COPY --from=skillship-runtime-old x /x"))
    workspace, _ = load_workspace(example_copy)
    assert plan_deployment(workspace, settings, project_dir=example_copy).task("hello").named_contexts == ()


def _write_chain(root, names: list[str], *, closed: bool) -> None:
    """One agent mapping each job skill's output to the next one's input (and the last to the
    first when closed)."""
    links = list(zip(names, names[1:] + ([names[0]] if closed else []), strict=False))
    agent = {
        "camel": "1.0.0",
        "name": "chain",
        "title": "chain",
        "skills": [{"skillName": n, "refId": n} for n in names],
        "mappings": [
            {"from": {"skill": {"refId": a, "output": "response"}}, "to": {"skill": {"refId": b, "input": "request"}}}
            for a, b in links
        ],
    }
    (root / "agents").mkdir(exist_ok=True)
    (root / "agents/chain.yaml").write_text(yaml.safe_dump(agent))


def _plan_of(root):
    workspace, diagnostics = load_workspace(root)
    assert diagnostics.ok, diagnostics.errors[:3]
    return plan_deployment(
        workspace, StackSettings.from_config("chain", {"target": "render", "buildImages": False}), project_dir=root
    )


def test_a_chain_of_jobs_longer_than_the_recursion_limit_runs_in_order_and_its_loop_is_named(tmp_path):
    from skillship.scaffold import create_skill

    names = [f"step-{n:04d}" for n in range(1500)]
    for name in names:
        create_skill(skills_dir=tmp_path / "skills", name=name, kind="job")
    _write_chain(tmp_path, names, closed=False)
    after = {t.key: t.after for t in _plan_of(tmp_path).tasks}
    assert after[names[0]] == ()
    assert all(after[b] == (a,) for a, b in zip(names, names[1:], strict=False))

    _write_chain(tmp_path, names, closed=True)
    _, diagnostics = load_workspace(tmp_path)  # validate names the loop, before any plan
    [loop] = [d for d in diagnostics.errors if d.code == "agent-loop"]
    assert loop.message.count(" -> ") == 1500 and names[0] in loop.message and names[-1] in loop.message
    assert loop.file.endswith("chain.yaml") and loop.line is not None


def test_a_daemon_of_its_own_making_is_called_at_its_path_with_its_method(example_copy):
    """A daemon whose image does not carry the runtime is called as on Cortex: senders learn an
    envelope target, and its AuthorizationPolicy admits that method on that path."""
    dockerfile = example_copy / "skills/consumer/actions/consumer/Dockerfile"
    dockerfile.write_text(
        "\n".join(line for line in dockerfile.read_text().splitlines() if "skillship-runtime" not in line) + "\n"
    )
    skill = example_copy / "skills/consumer/skill.yaml"
    skill.write_text(
        skill.read_text().replace("    port: 5000\n", "    port: 5000\n    path: /invoke\n    method: put\n")
    )
    found, _ = objects(example_copy)
    producer = next(
        o for o in found if o["kind"] == "Job" and o["metadata"]["labels"]["skillship.io/skill"] == "producer"
    )
    assert json.loads(env_of(producer)["SKILLSHIP_TARGETS"]) == {
        "records": [
            {"url": "http://consumer.wired.svc.cluster.local:5000/invoke", "method": "PUT", "format": "envelope"}
        ]
    }
    [rule] = find(found, "AuthorizationPolicy", "consumer-senders")["spec"]["rules"]
    assert rule["to"] == [{"operation": {"ports": ["5000"], "methods": ["PUT"], "paths": ["/invoke"]}}]
    assert [e for o in found for e in schema_errors(o)] == []
