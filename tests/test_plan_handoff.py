"""The plan a pipeline stage hands to the programs it runs (skillship.plan.handoff): each stack
takes its share of it, the same objects it would plan alone; a plan made for another project,
other settings or other secrets, or a file that is missing or not a plan, is not taken; and the
program under mocks declares what the handed plan holds."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from harness.project import copy_project
from skillship.compose import plan_stack
from skillship.manifests import stack_objects
from skillship.plan import DeploymentPlan
from skillship.plan.handoff import PLANNED_ENV, handed, planned_share
from skillship.stack.stackfiles import load_stack
from tests.support.program import run_program, stack_config


def _shard(project: Path, count: int = 2) -> None:
    path = project / "stacks" / "Pulumi.dev.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["skillship:shards"] = {"count": count}
    path.write_text(yaml.safe_dump(document))


def _environment_plan(project: Path, stack: str = "dev") -> DeploymentPlan:
    config = load_stack(project, stack)
    return plan_stack(
        project / config.settings.workspace_dir,
        config.settings,
        project_dir=project,
        secret_properties=config.secret_properties,
    )


def test_each_stack_takes_the_share_it_would_plan_alone(project):
    _shard(project)
    environment = load_stack(project, "dev")
    plan = _environment_plan(project)
    assert PLANNED_ENV not in os.environ
    with handed(plan, project, environment.secret_properties):
        path = Path(os.environ[PLANNED_ENV])
        assert path.is_file() and (path.parent.stat().st_mode & 0o077) == 0  # the stage's own folder
        for name in environment.stacks:
            config = load_stack(project, name)
            share = planned_share(project, config.settings, config.secret_properties)
            # What the stack's program declares of its own plan (a base stack: none of its skills).
            alone = plan_stack(project, config.settings, project_dir=project).share(config.settings)
            assert share is not None, name
            assert share.settings == config.settings, name
            assert stack_objects(share) == stack_objects(alone), name
            assert [t.key for t in share.tasks] == [t.key for t in alone.tasks], name
    assert PLANNED_ENV not in os.environ and not path.exists()


def test_a_plan_for_other_inputs_is_not_taken(project, tmp_path):
    config = load_stack(project, "dev")
    plan = _environment_plan(project)
    with handed(plan, project, config.secret_properties):
        assert planned_share(project, config.settings, config.secret_properties) is not None
        other = copy_project(tmp_path / "elsewhere")
        assert planned_share(other, config.settings, config.secret_properties) is None
        renamed = config.settings.model_copy(update={"namespace": "skillship-other"})
        assert planned_share(project, renamed, config.secret_properties) is None
        assert planned_share(project, config.settings, {"hello": ["api.token"]}) is None
        written = Path(os.environ[PLANNED_ENV])
        for text in (b"", b"not a pickle", b"\x80\x05K\x01."):  # nothing, garbage, a pickled 1
            written.write_bytes(text)
            assert planned_share(project, config.settings, config.secret_properties) is None
        written.unlink()
        assert planned_share(project, config.settings, config.secret_properties) is None
    assert planned_share(project, config.settings, config.secret_properties) is None  # none handed


def test_a_handed_plan_is_restored_to_what_was_there_before(project, monkeypatch):
    monkeypatch.setenv(PLANNED_ENV, "/somewhere/else")
    config = load_stack(project, "dev")
    with handed(_environment_plan(project), project, config.secret_properties):
        assert os.environ[PLANNED_ENV] != "/somewhere/else"
    assert os.environ[PLANNED_ENV] == "/somewhere/else"


@pytest.mark.parametrize("taken", [True, False], ids=["handed", "for-other-settings"])
def test_the_program_declares_what_the_handed_plan_holds(tmp_path, taken):
    program = copy_project(tmp_path / "project")
    config = load_stack(program, "dev")
    plan = _environment_plan(program)
    assert len(plan.tasks) > 1
    fewer = replace(plan, tasks=plan.tasks[1:])  # a plan the files would not give: seen only if taken
    if not taken:
        fewer = replace(fewer, settings=fewer.settings.model_copy(update={"active_deadline_seconds": 7}))
    with handed(fewer, program, config.secret_properties):
        run = run_program("dev", stack_config("dev"), program_dir=program, env={PLANNED_ENV: os.environ[PLANNED_ENV]})
    assert run.error is None, run.error
    jobs = sorted(
        run.manifest(r)["metadata"]["name"] for r in run.kubernetes() if r["type"] == "kubernetes:batch/v1:Job"
    )
    expected = fewer.tasks if taken else plan.tasks
    assert jobs == sorted(t.job_name for t in expected)
