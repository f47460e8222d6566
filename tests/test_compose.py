"""plan_stack: the one sequence from a workspace on disk to a stack's plan."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from skillship.compose import InvalidStack, InvalidWorkspace, plan_stack
from skillship.images.digest import DigestCache
from skillship.plan import PlanError
from skillship.stack.settings import StackSettings
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
        plan_stack(
            project,
            StackSettings.from_config("dev", stack_config("dev")),
            project_dir=project,
            digests=DigestCache(cache_file),
            stage_done=stages.append,
        )
    assert [d.code for d in caught.value.diagnostics.errors] == ["yaml-syntax"]
    assert "skill.yaml" in str(caught.value) and {s.skill.name for s in caught.value.workspace.skills} == {
        "producer",
        "consumer",
    }
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
    for folder in ("skillship", "skillship_components", "bench"):
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            if any(isinstance(node, ast.Name) and node.id == "plan_deployment" for node in ast.walk(tree)):
                callers.append(str(path.relative_to(REPO)))
    assert callers == ["skillship/compose.py"]


def test_a_stack_problem_names_the_stack_file_line_and_key(project, monkeypatch):
    """What a stack refuses is a located diagnostic, as a workspace's problems are: the key of the
    stack file it comes from, at its line."""
    monkeypatch.chdir(project)
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    text = stack_file.read_text().replace("    - consumer\n", "    - consumer\n    - ghost\n")
    text += "  skillship:properties:\n    hello:\n      colour: red\n"
    stack_file.write_text(text)
    lines = text.splitlines()
    settings = StackSettings.from_config("dev", stack_config_of(stack_file))
    with pytest.raises(InvalidStack) as caught:
        plan_stack(project, settings, project_dir=project)
    found = {(d.code, d.file, d.line, d.field) for d in caught.value.diagnostics}
    assert found == {
        (
            "stack-unknown-property",
            "stacks/Pulumi.dev.yaml",
            lines.index("      colour: red") + 1,
            "skillship:properties.hello.colour",
        ),
        ("stack-unknown-skill", "stacks/Pulumi.dev.yaml", lines.index("    - ghost") + 1, "skillship:skills.3"),
    }
    assert {s.skill.name for s in caught.value.workspace.skills} == {"hello", "producer", "consumer"}


def test_a_stack_problem_of_a_setting_the_file_does_not_hold_is_located_at_its_nearest_key(project, monkeypatch):
    """A key given by other means than the file (`pulumi config set` in memory, the Automation API)."""
    monkeypatch.chdir(project)
    settings = StackSettings.from_config("dev", {**stack_config("dev"), "images": {"ghost": "img"}})
    with pytest.raises(InvalidStack) as caught:
        plan_stack(project, settings, project_dir=project)
    [problem] = caught.value.diagnostics
    config_line = (project / "stacks" / "Pulumi.dev.yaml").read_text().splitlines().index("config:") + 1
    assert (problem.code, problem.file, problem.line, problem.field) == (
        "stack-unknown-skill",
        "stacks/Pulumi.dev.yaml",
        config_line,
        "skillship:images.ghost",
    )


def stack_config_of(path: Path) -> dict:
    import yaml

    config = yaml.safe_load(path.read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("skillship:")}
