"""The real Pulumi program (__main__.py) under the real SDK's mocks: what each stack declares."""

from __future__ import annotations

import json
import shutil

import pytest

from skillship.checks.validation import load_workspace
from skillship.manifests import stack_objects
from skillship.manifests.identity import docker_config_json
from skillship.plan import plan_deployment
from skillship.stack.settings import StackSettings
from tests.support.jsondocs import miscased_keys
from tests.support.program import CI_REGISTRY_PASSWORD, REPO, run_program, stack_config

JOB = "kubernetes:batch/v1:Job"
SECRET_VALUE = "s3cr3t-token-value"


def dev(**extra):
    return run_program("dev", {**stack_config("dev"), **extra.pop("config", {})}, **extra)


def test_local_stack_renders_through_its_own_provider_and_builds_nothing():
    run = run_program("local", stack_config("local"))
    assert run.error is None, run.error
    [provider] = run.of_type("pulumi:providers:kubernetes")
    assert provider["inputs"]["renderYamlToDirectory"] == str(REPO / "rendered/local/pulumi")
    assert run.kubernetes() and all(r["provider"].startswith(provider["urn"]) for r in run.kubernetes())
    assert run.of_type("docker-build:index:Image") == []
    assert run.of_type("skillship:index:SkillImage") == []  # no component that would hold nothing
    assert {k: v["state"] for k, v in run.exports["tasks"].items()} == {"hello": "Rendered", "producer": "Rendered"}


def test_the_render_provider_takes_no_kubeconfig_from_the_users_shell():
    """The provider refuses a kubeconfig beside renderYamlToDirectory, and its SDK fills an unset
    one from KUBECONFIG: `pulumi up --stack local` failed in any shell that set it."""
    run = run_program("local", stack_config("local"), env={"KUBECONFIG": "/home/someone/.kube/config"})
    assert run.error is None, run.error
    [provider] = run.of_type("pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == ""


def test_components_parent_their_children():
    run = dev()
    assert run.error is None, run.error
    [workspace] = run.of_type("skillship:index:Workspace")
    assert run.by_urn(workspace["parent"])["type"] == "pulumi:pulumi:Stack"
    for token in ("skillship:index:SkillImage", "skillship:index:SkillJob", "skillship:index:SkillDaemon"):
        assert {r["parent"] for r in run.of_type(token)} == {workspace["urn"]}
    assert [r["name"] for r in run.of_type("skillship:index:SkillDaemon")] == ["skillship-consumer"]
    for resource in run.kubernetes():
        parent = run.by_urn(resource["parent"])["type"]
        if resource["type"].endswith((":Namespace", ":PeerAuthentication", ":ServiceAccount", ":Secret")):
            expected = "skillship:index:Workspace"  # the stack's, and each skill's shared identity
        else:
            expected = (
                "skillship:index:SkillDaemon"
                if resource["name"].startswith("skillship-consumer")
                else "skillship:index:SkillJob"
            )
        assert parent == expected, resource["name"]
    for image in run.of_type("docker-build:index:Image"):
        assert run.by_urn(image["parent"])["type"] == "skillship:index:SkillImage"
    urns = [r["urn"] for r in run.resources]
    assert len(urns) == len(set(urns)), "children of two components must not collide"


def test_every_object_keeps_the_resource_name_its_urn_was_made_with():
    """The components name each object `<component>-<suffix>`, the suffixes listed once with the
    objects (skillship/manifests/assemble.py). A name is part of the URN: a renamed suffix would
    replace the object in every deployed stack. These are the names deployed stacks hold."""
    run = dev(config={"secrets": {"hello": {"api.token": SECRET_VALUE}}}, secret_keys=("secrets",))
    assert run.error is None, run.error
    names = sorted((r["type"].rsplit(":", 1)[-1], r["name"]) for r in run.kubernetes())
    assert names == sorted(
        [
            ("AuthorizationPolicy", "skillship-consumer-authz"),
            ("AuthorizationPolicy", "skillship-hello-authz"),
            ("AuthorizationPolicy", "skillship-producer-authz"),
            ("Deployment", "skillship-consumer-deployment"),
            ("Job", "skillship-hello-job"),
            ("Job", "skillship-producer-job"),
            ("Namespace", "skillship-namespace-skillship-dev"),
            ("NetworkPolicy", "skillship-consumer-netpol"),
            ("NetworkPolicy", "skillship-hello-netpol"),
            ("NetworkPolicy", "skillship-producer-netpol"),
            ("PeerAuthentication", "skillship-peerauthentication-skillship-strict-mtls"),
            ("Secret", "skillship-hello-secret"),
            ("Secret", "skillship-secret-skillship-registry-pull"),
            ("Service", "skillship-consumer-service"),
            ("ServiceAccount", "skillship-consumer-sa"),
            ("ServiceAccount", "skillship-hello-sa"),
            ("ServiceAccount", "skillship-producer-sa"),
            ("Sidecar", "skillship-consumer-sidecar"),
            ("Sidecar", "skillship-hello-sidecar"),
            ("Sidecar", "skillship-producer-sidecar"),
        ]
    )


@pytest.mark.parametrize("stack", ["local", "dev", "staging", "prod"])
def test_program_declares_what_render_writes(stack):
    """The program declares exactly the objects `skillship render` writes, once each, pinned to the
    pushed digest where it builds. Both call the same builders, so this shows that the components
    add, drop and change nothing on the way to the engine; it says nothing about whether the objects
    are right. tests/test_render.py does that: Kubernetes' and Istio's schemas, and golden files."""
    run = run_program(stack, stack_config(stack))
    assert run.error is None, run.error
    settings = StackSettings.from_config(stack, stack_config(stack))
    workspace, _ = load_workspace(REPO)
    expected = stack_objects(plan_deployment(workspace, settings, project_dir=REPO))
    declared = [run.manifest(r) for r in run.kubernetes()]
    for obj in declared:
        if obj["kind"] == "Secret" and obj["type"] == "kubernetes.io/dockerconfigjson":
            # The one value render shows <redacted>: the registry password, as CI sets it.
            config = obj["stringData"][".dockerconfigjson"]
            assert config == docker_config_json(settings, CI_REGISTRY_PASSWORD)
            obj["stringData"][".dockerconfigjson"] = docker_config_json(settings, None)
        if obj["kind"] in ("Job", "Deployment", "CronJob"):
            pod = (obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"])["template"]["spec"]
            image = pod["containers"][0]["image"]
            if settings.build_images:
                pushed, _, digest = image.partition("@")
                assert digest.startswith("sha256:") and pushed.endswith(":" + _tag(obj))
                pod["containers"][0]["image"] = pushed

    def key(o):
        return (o["kind"], o["metadata"]["name"])

    assert sorted(declared, key=key) == sorted(expected, key=key)


def _tag(job: dict) -> str:
    return job["metadata"]["labels"]["app.kubernetes.io/version"]


def test_cluster_stack_builds_pushes_and_runs_the_pushed_digest():
    run = dev(config={"registryPassword": "hunter2"}, secret_keys=("registryPassword",))
    assert run.error is None, run.error
    image = run.one("docker-build:index:Image", "skillship-hello-image")
    inputs = image["inputs"]
    context = REPO / "skills/hello/actions/hello"
    assert inputs["push"] is True
    runtime = REPO / "skillship_runtime"
    assert inputs["context"] == {"location": str(context), "named": {"skillship-runtime": {"location": str(runtime)}}}
    assert inputs["dockerfile"] == {"location": str(context / "Dockerfile")}
    [tag] = inputs["tags"]
    assert tag.startswith("registry.example.com/skillship/hello:ctx-")
    [registry] = inputs["registries"]
    assert (registry["address"], registry["username"]) == ("registry.example.com", "skillship-ci")
    job = run.manifest(run.one(JOB, "skillship-hello-job"))
    ref = job["spec"]["template"]["spec"]["containers"][0]["image"]
    assert ref.startswith(f"{tag}@sha256:")  # the pushed tag, pinned to the pushed digest
    assert run.exports["tasks"]["hello"]["image"] == ref
    assert "builder" not in inputs  # buildx's current builder


def test_every_stack_exports_the_image_each_action_runs_and_its_content_tag():
    run = dev(config={"registryPassword": "hunter2"}, secret_keys=("registryPassword",))
    images = run.exports["images"]
    assert set(images) == {"hello/hello", "producer/producer", "consumer/consumer"}
    job = run.manifest(run.one(JOB, "skillship-hello-job"))
    assert images["hello/hello"] == {
        "ref": job["spec"]["template"]["spec"]["containers"][0]["image"],
        "tag": job["metadata"]["labels"]["app.kubernetes.io/version"],
    }


def _promoted_staging(source_images: dict):
    return run_program(
        "staging", {**stack_config("staging"), "promoteFrom": "dev"}, stack_outputs={"dev": {"images": source_images}}
    )


def test_a_promoted_stack_runs_the_very_references_its_source_ran_and_builds_nothing():
    source = dev(config={"registryPassword": "hunter2"}, secret_keys=("registryPassword",)).exports["images"]
    run = _promoted_staging(source)
    assert run.error is None, run.error
    assert run.of_type("docker-build:index:Image") == []
    # (the mocks answer a StackReference to "dev" alone: the images below came through it)
    job = run.manifest(run.one(JOB, "skillship-hello-job"))
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == source["hello/hello"]["ref"]
    deployment = run.manifest(run.one("kubernetes:apps/v1:Deployment", "skillship-consumer-deployment"))
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == source["consumer/consumer"]["ref"]
    assert run.exports["images"] == source  # and staging can be promoted from in turn


@pytest.mark.parametrize(
    "change, refusal",
    [
        (lambda images: images.pop("hello/hello"), "stack 'dev' has no image for action hello/hello"),
        (
            lambda images: images["hello/hello"].update(tag="ctx-00000000000000000000"),
            "stack 'dev' built action hello/hello from other contents (ctx-00000000000000000000; this workspace: ctx-",
        ),
    ],
)
def test_a_promoted_stack_refuses_an_image_its_source_did_not_run_from_this_workspace(change, refusal):
    source = dev(config={"registryPassword": "hunter2"}, secret_keys=("registryPassword",)).exports["images"]
    source = json.loads(json.dumps(source))
    change(source)
    run = _promoted_staging(source)
    assert run.error is not None and refusal in run.error["message"], run.error
    # No Job runs an image nobody vouched for: the hello Job waits on the refused reference.
    assert [r["name"] for r in run.of_type(JOB) if "hello" in r["name"]] == []


def test_the_builder_setting_names_the_buildx_builder_of_every_image():
    run = dev(config={"registryPassword": "hunter2", "builder": "team-buildkit"}, secret_keys=("registryPassword",))
    assert run.error is None, run.error
    images = run.of_type("docker-build:index:Image")
    assert images and {json.dumps(i["inputs"].get("builder")) for i in images} == {'{"name": "team-buildkit"}'}


@pytest.mark.parametrize(
    ("stack", "kinds", "inject", "annotations"),
    [
        ("local", set(), "false", {}),
        (
            "dev",
            {"PeerAuthentication", "AuthorizationPolicy", "Sidecar"},
            "true",
            {
                "sidecar.istio.io/nativeSidecar": "false",
                "proxy.istio.io/config": '{"holdApplicationUntilProxyStarts": true}',
            },
        ),
        (
            "staging",
            {"PeerAuthentication", "AuthorizationPolicy", "Sidecar"},
            "true",
            {"sidecar.istio.io/nativeSidecar": "true"},
        ),
        ("prod", {"PeerAuthentication", "AuthorizationPolicy"}, "false", {}),
    ],
)
def test_istio_objects_and_pod_settings_follow_the_mode(stack, kinds, inject, annotations):
    run = run_program(stack, stack_config(stack))
    assert run.error is None, run.error
    istio = {r["type"] for r in run.kubernetes() if ".istio.io/" in r["type"]}
    tokens = {
        "PeerAuthentication": "kubernetes:security.istio.io/v1:PeerAuthentication",
        "AuthorizationPolicy": "kubernetes:security.istio.io/v1:AuthorizationPolicy",
        "Sidecar": "kubernetes:networking.istio.io/v1:Sidecar",
    }
    assert istio == {tokens[k] for k in kinds}
    # prod runs hello on a schedule: its CronJob's template is the Job (tests/test_schedules.py).
    if stack == "prod":
        job = run.manifest(run.one("kubernetes:batch/v1:CronJob", "skillship-hello-cronjob"))["spec"]["jobTemplate"]
    else:
        job = run.manifest(run.one(JOB, "skillship-hello-job"))
    pod = job["spec"]["template"]["metadata"]
    assert pod["labels"]["sidecar.istio.io/inject"] == inject
    for key, value in annotations.items():
        assert pod["annotations"][key] == value
    env = {e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert ("ISTIO_QUIT_API" in env) == (stack == "dev")
    if stack == "prod":
        assert pod["labels"]["istio.io/dataplane-mode"] == "ambient"
    if kinds:
        peer = run.manifest(run.of_type(tokens["PeerAuthentication"])[0])
        assert peer["spec"] == {"mtls": {"mode": "STRICT"}}


def test_sidecar_egress_is_limited_to_the_stack_hosts():
    run = dev(config={"egressHosts": ["./*", "istio-system/*", "data/api.internal"]})
    sidecar = run.manifest(run.one("kubernetes:networking.istio.io/v1:Sidecar", "skillship-hello-sidecar"))
    assert sidecar["spec"]["egress"] == [{"hosts": ["./*", "istio-system/*", "data/api.internal"]}]
    assert sidecar["spec"]["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert sidecar["spec"]["workloadSelector"] == {
        "labels": {"skillship.io/stack": "dev", "skillship.io/action": "hello"}
    }


def test_succeeded_tasks_are_stack_outputs():
    run = dev()
    assert run.error is None, run.error
    hello = run.exports["tasks"]["hello"]
    assert hello["state"] == "Succeeded"
    assert (hello["succeeded"], hello["failed"]) == (1, 0)
    assert (hello["startTime"], hello["completionTime"]) == ("2026-11-24T10:00:00Z", "2026-11-24T10:00:30Z")
    assert hello["namespace"] == "skillship-dev" and hello["job"].startswith("hello-")
    assert hello["logs"] == f"kubectl logs --namespace skillship-dev job/{hello['job']} --container task"
    assert set(run.exports["tasks"]) == {"hello", "producer"}  # dev deploys only these two
    assert miscased_keys(run.exports["tasks"]["hello"]) == []  # one casing, as in every --json document


def test_failed_task_fails_the_deploy():
    run = dev(outcomes={"hello": "fail"})
    assert run.error is not None
    message = run.error["message"]
    assert "task of skill 'hello' failed (BackoffLimitExceeded: Job has reached the specified backoff limit)" in message
    assert "kubectl logs --namespace skillship-dev job/hello-" in message
    assert "The next `pulumi up` runs failed tasks again." in message
    assert "producer" not in message  # only the failed task is named


def test_every_failed_task_is_named_at_once():
    run = dev(outcomes={"hello": "fail", "producer": "fail"})
    message = run.error["message"]
    assert "task of skill 'hello' failed" in message and "task of skill 'producer' failed" in message


def test_waiting_stack_waits_for_the_deadline_and_reruns_failed_jobs():
    run = dev()
    annotations = run.manifest(run.one(JOB, "skillship-hello-job"))["metadata"]["annotations"]
    assert annotations["pulumi.com/timeoutSeconds"] == str(600 + 120)
    assert annotations["pulumi.com/replaceUnready"] == "true"
    assert "pulumi.com/skipAwait" not in annotations


def test_fire_and_forget_stack_reports_without_gating():
    run = dev(config={"wait": False}, outcomes={"hello": "fail", "producer": "running"})
    assert run.error is None, run.error
    assert run.exports["tasks"]["hello"]["state"] == "Failed"
    assert run.exports["tasks"]["producer"]["state"] == "Running"
    annotations = run.manifest(run.one(JOB, "skillship-hello-job"))["metadata"]["annotations"]
    assert annotations["pulumi.com/skipAwait"] == "true"
    assert "pulumi.com/replaceUnready" not in annotations


def test_secure_property_reaches_the_container_only_through_the_secret():
    run = dev(config={"secrets": {"hello": {"api.token": SECRET_VALUE}}}, secret_keys=("secrets",))
    assert run.error is None, run.error
    secret = run.one("kubernetes:core/v1:Secret", "skillship-hello-secret")
    assert secret["inputs"]["stringData"] == {"api.token": SECRET_VALUE}
    assert "stringData" in secret["secretInputs"]  # the value crosses to the engine marked secret
    assert "stringData" in secret["additionalSecretOutputs"]
    for resource in run.resources:
        if resource is not secret:
            assert SECRET_VALUE not in json.dumps(resource["inputs"]), resource["name"]
    assert SECRET_VALUE not in json.dumps(run.exports)
    job = run.manifest(run.one(JOB, "skillship-hello-job"))
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SKILLSHIP_SECRET_API_TOKEN"]["valueFrom"] == {
        "secretKeyRef": {"name": "hello-secrets", "key": "api.token"}
    }
    assert "api.token" not in job["spec"]["template"]["spec"]["containers"][0]["args"][0]


def test_render_stack_never_holds_secret_values():
    run = run_program(
        "local", {**stack_config("local"), "secrets": {"hello": {"api.token": SECRET_VALUE}}}, secret_keys=("secrets",)
    )
    assert run.error is None, run.error
    secret = run.one("kubernetes:core/v1:Secret", "skillship-hello-secret")
    assert secret["inputs"]["stringData"] == {"api.token": "<redacted>"}
    assert SECRET_VALUE not in json.dumps(run.resources)


def test_plain_text_secret_is_refused_before_anything_is_declared():
    run = dev(config={"secrets": {"hello": {"api.token": SECRET_VALUE}}})
    assert run.error is not None and "plain text" in run.error["message"]
    assert run.kubernetes() == []


def test_unknown_setting_is_named():
    run = dev(config={"namespce": "typo"})
    assert run.error is not None
    assert "skillship:namespce: unknown setting" in run.error["message"]
    assert run.kubernetes() == []


def test_invalid_workspace_deploys_nothing(tmp_path):
    program = tmp_path / "project"
    program.mkdir()
    for item in ("__main__.py", "Pulumi.yaml", "skillship_components", "stacks", "skills", "agents"):
        source = REPO / item
        (shutil.copytree if source.is_dir() else shutil.copy)(source, program / item)
    skill = program / "skills/hello/skill.yaml"
    skill.write_text(skill.read_text().replace("action: hello", "action: missing"))
    run = run_program("dev", stack_config("dev"), program_dir=program)
    assert run.error is not None
    assert "the workspace is invalid; nothing was deployed" in run.error["message"]
    assert "skills/hello/skill.yaml:" in run.error["message"] and "routing-unknown-action" in run.error["message"]
    assert [r["type"] for r in run.resources] == ["pulumi:pulumi:Stack"]


def test_stack_problems_are_all_reported_before_anything_is_declared():
    run = dev(config={"skills": ["hello", "ghost"], "properties": {"hello": {"nope": 1}}})
    assert run.error is not None
    assert "names skill 'ghost'" in run.error["message"] and "'nope'" in run.error["message"]
    assert run.kubernetes() == []


def test_jobs_that_send_records_wait_for_their_receiver_and_know_where_it_is():
    run = run_program("staging", stack_config("staging"))
    assert run.error is None, run.error
    deployment = run.one("kubernetes:apps/v1:Deployment", "skillship-consumer-deployment")
    service = run.one("kubernetes:core/v1:Service", "skillship-consumer-service")
    producer = run.one(JOB, "skillship-producer-job")
    assert {deployment["urn"], service["urn"]} <= set(producer["dependencies"])
    hello = run.one(JOB, "skillship-hello-job")
    assert deployment["urn"] not in hello["dependencies"]  # hello sends nothing to the consumer
    env = {
        e["name"]: e.get("value") for e in run.manifest(producer)["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert json.loads(env["SKILLSHIP_TARGETS"]) == {
        "records": ["http://consumer.skillship-staging.svc.cluster.local:5000/records/records"]
    }
    [policy] = [r for r in run.kubernetes() if r["name"] == "skillship-consumer-authz"]
    assert run.manifest(policy)["spec"]["rules"][0]["from"] == [
        {"source": {"principals": ["cluster.local/ns/skillship-staging/sa/producer"]}}
    ]


def _program_with_agent(tmp_path, mappings: list[dict]):
    program = tmp_path / "project"
    program.mkdir()
    for item in ("__main__.py", "Pulumi.yaml", "skillship_components", "stacks", "skills", "agents"):
        source = REPO / item
        (shutil.copytree if source.is_dir() else shutil.copy)(source, program / item)
    agent = {
        "camel": "1.0.0",
        "name": "chain",
        "title": "chain",
        "skills": [{"skillName": "hello", "refId": "h"}, {"skillName": "producer", "refId": "p"}],
        "mappings": mappings,
    }
    (program / "agents/chain.yaml").write_text(json.dumps(agent))
    return program


def test_a_job_mapped_to_another_job_runs_after_it(tmp_path):
    program = _program_with_agent(
        tmp_path,
        [
            {
                "from": {"skill": {"refId": "h", "output": "response"}},
                "to": {"skill": {"refId": "p", "input": "request"}},
            }
        ],
    )
    run = run_program("staging", stack_config("staging"), program_dir=program)
    assert run.error is None, run.error
    hello, producer = run.one(JOB, "skillship-hello-job"), run.one(JOB, "skillship-producer-job")
    assert hello["urn"] in producer["dependencies"]
    assert producer["urn"] not in hello["dependencies"]


def test_jobs_mapped_in_a_loop_are_refused_before_anything_is_declared(tmp_path):
    program = _program_with_agent(
        tmp_path,
        [
            {
                "from": {"skill": {"refId": "h", "output": "response"}},
                "to": {"skill": {"refId": "p", "input": "request"}},
            },
            {
                "from": {"skill": {"refId": "p", "output": "records"}},
                "to": {"skill": {"refId": "h", "input": "request"}},
            },
        ],
    )
    run = run_program("staging", stack_config("staging"), program_dir=program)
    assert run.error is not None
    assert (
        "jobs mapped in a loop can never start: hello -> producer -> hello" in run.error["message"]
        or "jobs mapped in a loop can never start: producer -> hello -> producer" in run.error["message"]
    )
    assert run.kubernetes() == []


def test_programs_made_by_an_earlier_init_still_import_their_component():
    """`skillship init` once wrote `from skillship_components.workspace import Workspace, WorkspaceArgs`."""
    from skillship_components.deployment import StackDeployment, StackDeploymentArgs
    from skillship_components.workspace import Workspace, WorkspaceArgs

    assert (Workspace, WorkspaceArgs) == (StackDeployment, StackDeploymentArgs)
    assert StackDeployment.TYPE == "skillship:index:Workspace"  # in every URN of every stack


BOTH_WAYS_PROGRAM = """
import json
import re
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from skillship_components.kubernetes import BuiltIn

TYPED = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}


def keyword(field):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\\1", field).lower()


for index, obj in enumerate(json.loads((Path(__file__).parent / "objects.json").read_text())):
    fields = {keyword(k): v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    TYPED[obj["apiVersion"], obj["kind"]](f"typed-{index}", **fields)
    BuiltIn(f"builtin-{index}", obj, pulumi.ResourceOptions())
"""


@pytest.mark.parametrize("stack", ["local", "dev", "staging", "prod", "e2e"])
def test_a_built_in_object_registers_exactly_as_the_provider_sdks_typed_class_would(stack, tmp_path):
    """declare() registers built-in kinds as BuiltIn, not through the SDK's generated classes (their
    import took 0.3 s of every program's start). Stacks deployed either way must not see a diff:
    the same type token (so the same URN), inputs, secret inputs and outputs, and provider version.
    The one difference: the typed Deployment's and NetworkPolicy's aliases to beta API groups."""
    from skillship.compose import plan_stack
    from skillship_components.kubernetes import BUILT_IN_KINDS

    settings = StackSettings.from_config(stack, stack_config(stack))
    objects = [
        o
        for o in stack_objects(plan_stack(REPO, settings, project_dir=REPO))
        if (o["apiVersion"], o["kind"]) in BUILT_IN_KINDS
    ]
    objects.append(  # a Secret with both of its secret fields set
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "n"},
            "data": {"a": "YQ=="},
            "stringData": {"b": "b"},
        }
    )
    assert {o["kind"] for o in objects} >= {"ServiceAccount", "Job", "Secret"}
    (tmp_path / "__main__.py").write_text(BOTH_WAYS_PROGRAM)
    (tmp_path / "objects.json").write_text(json.dumps(objects))
    run = run_program(stack, stack_config(stack), program_dir=tmp_path)
    assert run.error is None, run.error
    registered = {r["name"]: r for r in run.resources}
    aliased = set()
    for index, obj in enumerate(objects):
        typed, built_in = registered[f"typed-{index}"], registered[f"builtin-{index}"]
        if typed["aliases"]:
            aliased.add(obj["kind"])
        assert built_in["aliases"] == 0
        for key in ("type", "inputs", "additionalSecretOutputs", "version", "custom"):
            assert built_in[key] == typed[key], (obj["kind"], key)
        # The harness notes secret paths as they resolve, in no set order.
        assert sorted(built_in["secretInputs"]) == sorted(typed["secretInputs"]), obj["kind"]
        assert built_in["urn"] == typed["urn"].replace(f"::typed-{index}", f"::builtin-{index}")
    assert aliased <= {"Deployment", "NetworkPolicy", "CronJob"}  # aliases to beta groups no stack held
    assert sorted(registered[f"builtin-{len(objects) - 1}"]["secretInputs"]) == ["data", "stringData"]


def test_the_sdk_still_lists_the_stacks_keys_and_their_secrecy(monkeypatch):
    """skillship_components.config.stack_config relies on pulumi.runtime.config internals (pulumi.Config
    cannot list keys): if an SDK release moves them, this fails, not a deployment."""
    import pulumi

    from skillship_components.config import stack_config

    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_SECRET_KEYS", raising=False)
    pulumi.runtime.set_all_config(
        {"skillship:namespace": "team-a", "skillship:registryPassword": "s3cret", "kubernetes:context": "kind"},
        secret_keys=["skillship:registryPassword"],
    )
    try:
        assert stack_config() == {
            "skillship:namespace": ("team-a", False),
            "skillship:registryPassword": ("s3cret", True),
        }
    finally:
        pulumi.runtime.set_all_config({}, secret_keys=[])
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"skillship:wait": "false"}))
    assert stack_config() == {"skillship:wait": ("false", False)}


def test_the_suffixes_of_every_kind_of_object_are_the_ones_deployed_stacks_hold():
    """All suffixes, including those of objects the example stack lacks (a large message's
    ConfigMap, an egress policy): each is part of a URN in some deployed stack."""
    from dataclasses import fields

    from skillship.manifests import DaemonObjects, SkillIdentity, TaskObjects

    def suffixes(kind):
        return [f.metadata["suffix"] for f in fields(kind)]

    assert suffixes(TaskObjects) == ["message", "netpol", "egress", "authz", "sidecar", "job", "cronjob"]
    assert suffixes(DaemonObjects) == ["netpol", "egress", "authz", "sidecar", "deployment", "service"]
    assert suffixes(SkillIdentity) == ["sa", "secret"]
    assert TaskObjects.WORKLOAD == {"job", "cronjob"} and DaemonObjects.WORKLOAD == {"deployment", "service"}
