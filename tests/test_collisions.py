"""Objects that must not collide: one ServiceAccount and Secret per skill, selectors that never
reach another stack's pods, two stacks never in one namespace, unrouted actions said aloud."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from harness.project import PROGRAM_FILES, copy_project
from skillship.checks.validation import load_workspace
from tests.conftest import REPO, line_of
from tests.support.program import run_program, stack_config
from tests.test_render import STACKS, render

HELLO = "skills/hello/skill.yaml"


def _two_actions(root: Path) -> Path:
    """hello gets a second job action, routed from a second input."""
    shutil.copytree(root / "skills/hello/actions/hello", root / "skills/hello/actions/again")
    skill = root / HELLO
    text = skill.read_text()
    text = text.replace(
        "outputs:\n",
        "  - name: retry\n    routing:\n      all:\n        action: again\n"
        "        runtime: cortex/jobs\n        output: response\noutputs:\n",
        1,
    )
    text = text.replace("tags:\n", "  - name: again\n    type: job\n    image: again\ntags:\n", 1)
    skill.write_text(text)
    return skill


def _rendered(folder: Path) -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))]


def test_a_skill_with_two_actions_has_one_service_account_and_one_secret(project, tmp_path):
    _two_actions(project)
    stack = project / "stacks/Pulumi.local.yaml"
    stack.write_text(
        stack.read_text() + "  skillship:secrets:\n    hello:\n      api.token:\n        secure: v1:AAAA\n"
    )
    result = render(project, "local", tmp_path / "out")
    assert result.exit_code == 0, result.output
    objects = _rendered(tmp_path / "out")
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert names.count(("ServiceAccount", "hello")) == 1 and names.count(("Secret", "hello-secrets")) == 1
    jobs = [o for o in objects if o["kind"] == "Job" and o["metadata"]["labels"]["skillship.io/skill"] == "hello"]
    assert len(jobs) == 2
    for job in jobs:
        pod = job["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == "hello"
        refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in pod["containers"][0]["env"] if "valueFrom" in e}
        assert refs == {"hello-secrets"}


def test_the_program_declares_a_skills_identity_once(tmp_path):
    program = copy_project(tmp_path / "project")
    _two_actions(program)
    run = run_program("staging", stack_config("staging"), program_dir=program)
    assert run.error is None, run.error
    accounts = [
        run.manifest(r)["metadata"]["name"]
        for r in run.kubernetes()
        if r["type"] == "kubernetes:core/v1:ServiceAccount"
    ]
    assert sorted(accounts) == ["consumer", "hello", "producer"]
    [account] = [
        r
        for r in run.kubernetes()
        if r["type"] == "kubernetes:core/v1:ServiceAccount" and run.manifest(r)["metadata"]["name"] == "hello"
    ]
    hello_jobs = [
        r
        for r in run.kubernetes()
        if r["type"] == "kubernetes:batch/v1:Job"
        and run.manifest(r)["metadata"]["labels"]["skillship.io/skill"] == "hello"
    ]
    assert len(hello_jobs) == 2 and all(account["urn"] in job["dependencies"] for job in hello_jobs)


def _selectors(obj: dict) -> list[dict]:
    """Every label selector of an object that picks pods."""
    spec, kind = obj.get("spec") or {}, obj["kind"]
    found = []
    if kind == "NetworkPolicy":
        found.append(spec["podSelector"]["matchLabels"])
        found += [
            peer["podSelector"].get("matchLabels", {}) for rule in spec.get("ingress", []) for peer in rule["from"]
        ]
    elif kind == "AuthorizationPolicy":
        found.append(spec["selector"]["matchLabels"])
    elif kind == "Sidecar":
        found.append(spec["workloadSelector"]["labels"])
    elif kind == "Service":
        found.append(spec["selector"])
    elif kind == "Deployment":
        found.append(spec["selector"]["matchLabels"])
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_selector_names_its_stack(tmp_path, stack):
    assert render(REPO, stack, tmp_path / "out").exit_code == 0
    selectors = [s for o in _rendered(tmp_path / "out") for s in _selectors(o)]
    assert selectors, "the example has pod selectors in every stack"
    assert all(s.get("skillship.io/stack") == stack for s in selectors), selectors


def test_two_stacks_of_a_project_in_one_namespace_are_refused(project, tmp_path):
    dev = project / "stacks/Pulumi.dev.yaml"
    dev.write_text(
        dev.read_text().replace("skillship:namespace: skillship-dev", "skillship:namespace: skillship-staging")
    )
    result = render(project, "staging", tmp_path / "out")
    assert result.exit_code == 1
    assert "deploys to namespace 'skillship-staging', as stack(s) 'dev' of this project do" in result.stdout
    assert "stacks/Pulumi.staging.yaml:" in result.stdout and "[namespace-shared]" in result.stdout
    assert not (tmp_path / "out").exists()
    program = tmp_path / "program"
    shutil.copytree(project, program)
    copy_project(program, PROGRAM_FILES)
    run = run_program("staging", stack_config("staging"), program_dir=program)
    assert run.error is not None and "as stack(s) 'dev' of this project do" in run.error["message"]
    assert run.kubernetes() == []


def test_an_action_no_input_routes_to_is_a_warning_that_says_it_still_runs(example_copy):
    skill = _two_actions(example_copy)
    skill.write_text(skill.read_text().replace("        action: again\n", "        action: hello\n"))
    _, diagnostics = load_workspace(example_copy)
    assert diagnostics.errors == []
    [warning] = [d for d in diagnostics.warnings if d.code == "unrouted-action"]
    assert warning.line == line_of(skill, "- name: again") and "empty outputName" in warning.message
