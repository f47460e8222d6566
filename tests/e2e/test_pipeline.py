"""The CI pipeline's script (`skillship-pipeline`, which the CI files of skillship/templates/ci/
call) against the suite's real node and registry: a pull request's preview, a deploy of dev gated
on its tasks, a promotion of dev's very digests to a second stack, and the ways it must stop.

One fixture runs the stages in the order a team's pipeline would, on a copy of the project whose
code it edits between them; each test checks one part of what happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.e2e.stacks import make_stack
from tests.realnode.buildkit import BUILDER
from tests.support.jsondocs import check_document
from tests.support.project import copy_project

pytestmark = [pytest.mark.e2e, pytest.mark.realnode, pytest.mark.xdist_group("realnode")]
DEV, PROD = "pdev", "pprod"
HELLO = Path("skills/hello/actions/hello/main.py")


@dataclass
class Stage:
    code: int
    report: dict
    log: str  # what the CI log shows (stderr)


def _stack_files(project: Path, registry) -> None:
    common = {"kubernetes:context": "e2e", "skillship:istioMode": "none", "skillship:activeDeadlineSeconds": 180}
    dev = {
        **common,
        "skillship:namespace": f"skillship-{DEV}",
        "skillship:registry": f"{registry.host}/skillship",
        "skillship:registryUsername": registry.USERNAME,
        "skillship:builder": BUILDER,
    }
    # The promoted stack pulls dev's digests from dev's registry, with its own pull Secret.
    prod = {
        **common,
        "skillship:namespace": f"skillship-{PROD}",
        "skillship:promoteFrom": DEV,
        "skillship:registry": f"{registry.host}/skillship",
        "skillship:registryUsername": registry.USERNAME,
    }
    for name, config in ((DEV, dev), (PROD, prod)):
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))


def _jobs(kube, stack: str) -> dict[str, dict]:
    from kubernetes import client

    found = client.BatchV1Api(kube).list_namespaced_job(
        f"skillship-{stack}", label_selector=f"skillship.io/stack={stack}"
    )
    return {
        j.metadata.labels["skillship.io/skill"]: {
            "name": j.metadata.name,
            "uid": j.metadata.uid,
            "image": j.spec.template.spec.containers[0].image,
        }
        for j in found.items
    }


def _namespaces(kube) -> set[str]:
    from kubernetes import client

    return {n.metadata.name for n in client.CoreV1Api(kube).list_namespace().items}


@pytest.fixture(scope="module")
def pipeline(real_node, engine_bin, tmp_path_factory) -> dict:
    from kubernetes import config

    project = copy_project(tmp_path_factory.mktemp("pipeline-project"))
    _stack_files(project, real_node.registry)
    backend = tmp_path_factory.mktemp("pipeline-backend")
    dev = make_stack(DEV, project, engine_bin, real_node.cluster, backend, extra_env=real_node.pulumi_env())
    prod = make_stack(PROD, project, engine_bin, real_node.cluster, backend, extra_env=real_node.pulumi_env())
    kube = config.new_client_from_config(str(real_node.cluster.kubeconfig))
    # What the CI's secret store gives the job: the state passphrase (in dev.env), the registry
    # password and the kubeconfig's text; the kubeconfig file itself is not handed over.
    secrets = {
        "SKILLSHIP_REGISTRY_PASSWORD": real_node.registry.password,
        "SKILLSHIP_KUBECONFIG_DATA": real_node.cluster.kubeconfig.read_text(),
    }
    env = {**os.environ, **{k: v for k, v in dev.env.items() if k != "KUBECONFIG"}, **secrets}
    env.pop("KUBECONFIG", None)

    def stage(*args: str) -> Stage:
        done = subprocess.run(
            [sys.executable, "-m", "skillship_pipeline", *args, "--json"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=900,
            env=env,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return Stage(done.returncode, check_document(json.loads(done.stdout)), done.stderr)

    seen: dict = {"project": project, "secrets": secrets}
    summary = project / "preview.md"
    before = _namespaces(kube)
    seen["preview"] = stage("preview", "--stack", DEV, "--summary", str(summary))
    seen["summary"] = summary.read_text() if summary.exists() else ""
    seen["namespaces"] = (before, _namespaces(kube))

    seen["deploy"] = stage("deploy", "--stack", DEV, "--timeout", "120")
    seen["dev_jobs"] = _jobs(kube, DEV)
    seen["promote"] = stage("promote", "--stack", PROD, "--timeout", "120")
    seen["prod_jobs"] = _jobs(kube, PROD)

    original = (project / HELLO).read_text()
    (project / HELLO).write_text(original + "\n# a change dev has not run yet\n")
    seen["early_promote"] = stage("promote", "--stack", PROD, "--timeout", "120")
    seen["prod_jobs_after_refusal"] = _jobs(kube, PROD)

    (project / HELLO).write_text("import sys\nprint('failing on purpose')\nsys.exit(1)\n" + original)
    seen["failing_deploy"] = stage("deploy", "--stack", DEV, "--timeout", "120")
    seen["wrong_stage"] = stage("deploy", "--stack", PROD)

    prod.destroy()
    dev.destroy()
    return seen


def test_a_pull_requests_preview_passes_writes_the_preview_and_changes_nothing(pipeline):
    preview = pipeline["preview"]
    assert preview.code == 0, preview.log[-3000:]
    assert [s["step"] for s in preview.report["steps"]] == ["validate", "render", "preview"]
    assert "### `pulumi preview` of stack `pdev`:" in pipeline["summary"] and "to create" in pipeline["summary"]
    before, after = pipeline["namespaces"]
    assert after == before and f"skillship-{DEV}" not in after


def test_deploy_builds_runs_and_passes_the_status_gate(pipeline):
    deploy = pipeline["deploy"]
    assert deploy.code == 0, deploy.log[-3000:]
    steps = {s["step"]: s for s in deploy.report["steps"]}
    assert list(steps) == ["validate", "up", "status"]
    assert steps["up"]["imageSteps"] == {"create": 3} and steps["status"]["exitCode"] == 0
    assert set(pipeline["dev_jobs"]) == {"hello", "producer"}


def test_promotion_builds_nothing_and_runs_the_very_digests_dev_ran(pipeline):
    promote = pipeline["promote"]
    assert promote.code == 0, promote.log[-3000:]
    steps = {s["step"]: s for s in promote.report["steps"]}
    assert list(steps) == ["validate", "check promotion", "up", "status"]
    assert steps["up"]["imageSteps"] == {}  # not one image built, nor even declared
    dev, prod = pipeline["dev_jobs"], pipeline["prod_jobs"]
    assert {skill: job["image"] for skill, job in prod.items()} == {skill: job["image"] for skill, job in dev.items()}
    assert all("@sha256:" in job["image"] for job in prod.values())


def test_promoting_contents_dev_has_not_run_is_refused_before_anything_changes(pipeline):
    early = pipeline["early_promote"]
    assert early.code == 1
    assert "stack 'pdev' built action hello/hello from other contents" in early.log
    assert [s["step"] for s in early.report["steps"]] == ["validate", "check promotion"]
    assert pipeline["prod_jobs_after_refusal"] == pipeline["prod_jobs"]


def test_a_failing_task_stops_the_pipeline_naming_the_skill(pipeline):
    failing = pipeline["failing_deploy"]
    assert failing.code == 1
    [up] = [s for s in failing.report["steps"] if s["step"] == "up"]
    assert up["exitCode"] == 1 and "BackoffLimitExceeded" in up["error"], up
    assert "task of skill 'hello' runs as Job skillship-pdev/hello-" in up["error"]  # beside its logs command
    assert "status" not in [s["step"] for s in failing.report["steps"]]


def test_a_promoted_stack_is_not_deployed_by_the_deploy_stage(pipeline):
    wrong = pipeline["wrong_stage"]
    assert wrong.code == 2 and "run the promote stage for it" in wrong.log
    assert wrong.report["steps"] == []


def test_no_secret_reaches_the_ci_log_or_the_reports(pipeline):
    password = pipeline["secrets"]["SKILLSHIP_REGISTRY_PASSWORD"]
    for name in ("preview", "deploy", "promote", "early_promote", "failing_deploy"):
        stage = pipeline[name]
        assert password not in stage.log and password not in json.dumps(stage.report), name
    assert password not in pipeline["summary"]
