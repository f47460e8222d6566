"""plan_stack: the one sequence from a workspace on disk to a stack's plan."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from skillship.compose import InvalidWorkspace, plan_stack
from skillship.digest import DigestCache
from skillship.plan import PlanError
from skillship.settings import StackSettings
from tests.conftest import REPO
from tests.support.program import stack_config


def test_stages_run_in_order_and_the_digests_are_remembered(project, tmp_path):
    settings = StackSettings.from_config("dev", stack_config("dev"))
    stages: list[str] = []
    cache_file = tmp_path / "digests.json"
    plan = plan_stack(project, settings, project_dir=project, digests=DigestCache(cache_file), stage_done=stages.append)
    assert stages == ["read and validate", "plan, digests included"]
    assert {task.skill for task in plan.tasks} == {"hello", "producer"}
    assert cache_file.is_file()  # saved: the next run (render or up) hashes only what changed


def test_an_invalid_workspace_raises_with_every_error_and_plans_nothing(project, tmp_path):
    (project / "skills" / "hello" / "skill.yaml").write_text("name: [\n")
    cache_file = tmp_path / "digests.json"
    stages: list[str] = []
    with pytest.raises(InvalidWorkspace) as caught:
        plan_stack(project, StackSettings.from_config("dev", stack_config("dev")), project_dir=project,
                   digests=DigestCache(cache_file), stage_done=stages.append)
    assert [d.code for d in caught.value.diagnostics.errors] == ["yaml-syntax"]
    assert "skill.yaml" in str(caught.value) and {s.skill.name for s in caught.value.workspace.skills} == {"producer", "consumer"}
    assert stages == [] and not cache_file.exists()


def test_a_stack_sharing_its_namespace_with_another_of_the_project_is_refused(project):
    staging = stack_config("staging")
    settings = StackSettings.from_config("copy", {**staging})
    (project / "stacks" / "Pulumi.copy.yaml").write_text((project / "stacks" / "Pulumi.staging.yaml").read_text())
    with pytest.raises(PlanError, match="deploys to namespace .* as stack\\(s\\) 'staging'"):
        plan_stack(project, settings, project_dir=project)
    assert plan_stack(project, settings, project_dir=project, among_project_stacks=False).tasks


def test_only_the_composer_plans_a_deployment():
    """The CLI, the program and the bench reach plan_deployment through skillship.compose alone."""
    callers = []
    for folder in ("skillship", "components", "bench"):
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            if any(isinstance(node, ast.Name) and node.id == "plan_deployment" for node in ast.walk(tree)):
                callers.append(str(path.relative_to(REPO)))
    assert callers == ["skillship/compose.py"]
