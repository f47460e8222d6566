"""Cortex workspaces as they are (tests/fixtures/cortex-variants, FORMAT.md's variants): every
skill validates and renders manifests the strict schemas accept, or is told, at a file and line,
a true reason; and what `validate --stack` accepts, `render` renders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from harness.project import cli_in
from harness.schemas import schema_errors
from skillship.checks.validation import load_workspace
from skillship.manifests import stack_objects
from skillship.plan import PlanError, plan_deployment
from skillship.stack.settings import StackSettings
from tests.conftest import FIXTURES, line_of

VARIANTS = FIXTURES / "cortex-variants"
NURSLINE = "registry.example.com/team/nursline@sha256:" + "a" * 64
SETTINGS = {
    "target": "render",
    "buildImages": False,
    "registry": "registry.example.com/team",
    "messages": {"routed": {"payload": {}}},
}


@pytest.fixture()
def variants(tmp_path) -> Path:
    root = tmp_path / "variants"
    shutil.copytree(VARIANTS, root)
    return root


def _plan(root: Path, **values):
    workspace, diagnostics = load_workspace(root)
    assert diagnostics.errors == [], [d.render() for d in diagnostics.errors]
    settings = StackSettings.from_config("v", {**SETTINGS, **values})
    return plan_deployment(workspace, settings, project_dir=root)


def test_every_variant_validates_and_each_warning_is_located():
    workspace, diagnostics = load_workspace(VARIANTS)
    assert diagnostics.errors == []
    assert {s.skill.name for s in workspace.skills} >= {"trainer", "makefile-only", "routed", "cortex/simplejob-skill"}
    for warning in diagnostics.warnings:
        assert Path(warning.file).exists() and warning.message, warning
        if warning.code not in ("unused-build-context",):  # a folder, which has no line
            assert warning.line is not None, warning


def test_what_the_variants_deploy_passes_the_strict_schemas():
    objects = stack_objects(_plan(VARIANTS, images={"makefile-only/hw/nursline": NURSLINE}))
    assert {(o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] in ("Job", "Deployment")} >= {
        ("Deployment", "trainer-hw-predict"),
        ("Deployment", "makefile-only-hw-nursline"),
        ("Deployment", "daemon1"),
    }
    for obj in objects:
        assert schema_errors(obj) == [], (obj["kind"], obj["metadata"]["name"])


def test_an_action_json_declares_an_action_built_from_its_own_folder():
    plan = _plan(VARIANTS)
    train = plan.task("trainer")
    assert (train.action.name, train.context) == ("train-example", VARIANTS / "skills/trainer/train")
    assert train.action.command == ["python", "/app/train.py"]  # `cmd`
    assert train.action.environment_variables == {"MODE": "full"}
    [predict] = [d for d in plan.daemons if d.skill == "trainer"]
    assert (predict.action.name, predict.name, predict.port) == ("hw/predict", "trainer-hw-predict", 5000)
    assert predict.repository == "registry.example.com/team/c12e/predict"  # `docker`, a bare name
    assert predict.context == VARIANTS / "skills/trainer/predict"


def test_a_podspec_gives_its_resources_and_env_and_is_told_what_it_cannot_give():
    [job] = [
        o for o in stack_objects(_plan(VARIANTS)) if o["kind"] == "Job" and "train-example" in o["metadata"]["name"]
    ]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {
        "requests": {"cpu": "2", "memory": "4Gi", "ephemeral-storage": "10Gi"},
        # the stack's cpu limit (1) is below the request (2): the request is the limit
        "limits": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"},
    }
    assert {"name": "BATCH", "value": "64"} in container["env"] and {"name": "MODE", "value": "full"} in container[
        "env"
    ]
    assert [v["name"] for v in job["spec"]["template"]["spec"]["volumes"]] == ["tmp"]  # no hostPath
    _, diagnostics = load_workspace(VARIANTS)
    podspec = VARIANTS / "skills/trainer/train/podspec.json"
    ignored = [(d.line, d.field) for d in diagnostics.warnings if d.code == "podspec-ignored"]
    assert ignored == [
        (line_of(podspec, '"/containers/0/volumeMounts"'), "[2].path"),
        (line_of(podspec, '"/volumes"'), "[3].path"),
    ]


@pytest.mark.parametrize(
    ("podspec", "words"),
    [
        ({"path": "/containers/0/resources"}, "resources take"),
        ([{"path": "/containers/0/resources", "value": {"limits": {"memory": "lots"}}}], "'lots' is not a resource"),
        (
            [{"path": "/containers/0/resources", "value": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}],
            "the request 2 is more than the limit 1",
        ),
        ([{"value": 1}], 'an entry needs a "path"'),
        ("[{", "not valid JSON"),
    ],
)
def test_a_podspec_kubernetes_would_refuse_is_a_located_error(variants, podspec, words):
    file = variants / "skills/trainer/train/podspec.json"
    file.write_text(
        podspec if isinstance(podspec, str) else json.dumps(podspec if isinstance(podspec, list) else [podspec])
    )
    _, diagnostics = load_workspace(variants)
    [error] = diagnostics.errors
    assert (error.code, error.file) == ("podspec", str(file)) and error.line is not None and words in error.message


def test_an_older_skills_test_payload_is_its_message():
    assert _plan(VARIANTS).task("trainer").envelope["payload"] == {"epochs": 1}


def test_an_agent_at_the_workspace_root_gives_its_values_and_name():
    envelope = _plan(VARIANTS).task("trainer").envelope
    assert envelope["agentName"] == "team"
    assert envelope["properties"] == {"learning.rate": "0.01"}  # its entry for the skill, over the default
    assert envelope["headers"] == {"X-Team": "ml"}  # headers.X-Team, set by the agent


def test_an_action_only_a_makefile_declares_is_told_and_deployed_once_given_an_image():
    workspace, diagnostics = load_workspace(VARIANTS)
    skill = VARIANTS / "skills/makefile-only/skill.yaml"
    [warning] = [d for d in diagnostics.warnings if d.code == "routing-undeclared-action"]
    assert (Path(warning.file).resolve(), warning.line) == (skill, line_of(skill, "action: hw/nursline"))
    assert "Makefile may build it, but Skillship does not read Makefiles" in warning.message
    assert warning.field == "inputs[0].routing.all.action"
    assert "It is not deployed until you add an action.json" in warning.message
    assert "skillship:images 'makefile-only/hw/nursline'" in warning.message
    assert [d for d in _plan(VARIANTS).daemons if d.skill == "makefile-only"] == []
    [daemon] = [
        d for d in _plan(VARIANTS, images={"makefile-only/hw/nursline": NURSLINE}).daemons if d.skill == "makefile-only"
    ]
    assert (daemon.image_by_tag, daemon.action.type) == (NURSLINE, "daemon")  # its runtime: cortex/daemons


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (lambda d: (d / "train/action.json").write_text('{"name": '), "yaml-syntax", "not valid YAML"),
        (lambda d: (d / "train/action.json").write_text('{"actionType": "job"}'), "schema", "'name' is missing"),
        (
            lambda d: (d / "train/Dockerfile").unlink(),
            "missing-dockerfile",
            "an action.json declares the build context it sits in",
        ),
        (
            lambda d: (d / "predict/action.json").write_text('{"name": "train-example"}'),
            "duplicate-action",
            "declared already, in",
        ),
    ],
)
def test_an_action_json_that_cannot_be_deployed_is_a_located_error(variants, change, code, words):
    change(variants / "skills/trainer")
    _, diagnostics = load_workspace(variants)
    [error] = diagnostics.errors
    assert error.code == code and words in error.message, error
    assert error.file.startswith(str(variants / "skills/trainer")) and error.line is not None


def _project(root: Path) -> Path:
    (root / "Pulumi.yaml").write_text("name: variants\nruntime: python\nstackConfigDir: stacks\n")
    (root / "stacks").mkdir()
    config = {f"skillship:{k}": v for k, v in SETTINGS.items()}
    (root / "stacks/Pulumi.v.yaml").write_text(yaml.safe_dump({"config": {**config, "skillship:namespace": "v"}}))
    return root


@pytest.mark.parametrize("broken", [None, "routing", "podspec", "unknown-skill"])
def test_validate_and_render_agree(variants, tmp_path, broken):
    project = _project(variants)
    if broken == "routing":
        skill = project / "skills/trainer/skill.yaml"
        skill.write_text(skill.read_text().replace("action: train-example", "action: train-exampel"))
        (project / "skills/trainer/train/action.json").write_text('{"name": "train-exampel"}')
        (project / "skills/trainer/train/Dockerfile").unlink()
    elif broken == "podspec":
        (project / "skills/trainer/train/podspec.json").write_text("{}")
    elif broken == "unknown-skill":
        stack = project / "stacks/Pulumi.v.yaml"
        stack.write_text(stack.read_text() + "  skillship:skills: [trainer, ghost]\n")
    validated = cli_in(project, "validate", "--stack", "v")
    rendered = cli_in(project, "render", "--stack", "v", "--out", str(tmp_path / "out"))
    assert (validated.exit_code, rendered.exit_code) == ((0, 0) if broken is None else (1, 1)), (
        validated.output,
        rendered.output,
    )


def test_a_refused_plan_never_hides_behind_a_valid_workspace(variants):
    """The other way round: nothing `render` refuses passes `validate --stack`, as both run one plan."""
    workspace, diagnostics = load_workspace(variants)
    assert diagnostics.ok
    with pytest.raises(PlanError):
        plan_deployment(workspace, StackSettings.from_config("v", {**SETTINGS, "messages": {}}), project_dir=variants)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("method", "GET", "method must be POST, PUT or PATCH"), ("path", "invoke", "path must start with '/'")],
)
def test_a_daemons_path_and_method_are_checked_where_they_are_written(variants, field, value, words):
    skill = variants / "skills/nested/group/daemon1/skill.yaml"
    skill.write_text(skill.read_text().replace("    type: daemon\n", f"    type: daemon\n    {field}: {value}\n", 1))
    _, diagnostics = load_workspace(variants)
    [error] = diagnostics.errors
    assert (error.code, error.line) == ("schema", line_of(skill, f"{field}: {value}")) and words in error.message
