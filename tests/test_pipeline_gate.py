"""The deploy stage's gate (`skillship status --wait`) checks the tasks of the stacks the engine ran:
the whole environment when every stack ran, the skills of the shards that ran otherwise, and nothing
when none did (a stack skipped was last updated with these inputs, an `up` that awaited its tasks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from bench.engine import project
from skillship.checks.validation import load_workspace
from skillship.compose import checked_plan
from skillship.plan import DeploymentPlan
from skillship.stack.stackfiles import load_stack
from skillship_pipeline import stages

ENV = "gated"


def _plan(root: Path, stack: str) -> tuple[stages.Context, DeploymentPlan, list[str]]:
    said: list[str] = []
    config = load_stack(root, stack)
    workspace, diagnostics = load_workspace(root / config.settings.workspace_dir)
    plan = checked_plan(workspace, diagnostics, config.settings, project_dir=root)
    assert plan is not None, [d.render() for d in diagnostics.items]
    context = stages.Context(root, config, None, 30.0, said.append)
    return context, plan, said


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> Path:
    root = project(tmp_path_factory.mktemp("gate"), 24, {ENV: "skillship-gated", "whole": "skillship-whole"})
    path = root / "stacks" / f"Pulumi.{ENV}.yaml"
    config = yaml.safe_load(path.read_text())
    config["config"]["skillship:shards"] = {"count": 3}
    path.write_text(yaml.safe_dump(config))
    return root


@dataclass
class Commands:
    """The `skillship` commands the gate runs, each exiting with `code`."""

    calls: list[tuple[str, ...]] = field(default_factory=list)
    code: int = 0


@pytest.fixture
def commands(monkeypatch) -> Commands:
    seen = Commands()

    def run(context: stages.Context, *args: str) -> int:
        seen.calls.append(args)
        return seen.code

    monkeypatch.setattr(stages, "_skillship", run)
    return seen


def _skills(args: tuple[str, ...]) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == "--skill"]


def test_every_stack_ran_so_every_task_is_checked(sharded, commands):
    context, plan, _ = _plan(sharded, ENV)
    report = stages.Report("deploy", ENV)
    assert stages._gate(context, report, plan, list(context.config.stacks))
    [args] = commands.calls
    assert args[:4] == ("status", "--stack", ENV, "--wait") and _skills(args) == []
    assert report.steps[-1]["stacks"] == [ENV, f"{ENV}.1", f"{ENV}.2", f"{ENV}.3"]


def test_one_shard_ran_so_its_tasks_alone_are_checked(sharded, commands):
    context, plan, said = _plan(sharded, ENV)
    report = stages.Report("deploy", ENV)
    by_shard = {index: sorted(t.skill for t in plan.tasks if plan.shard_of[t.skill] == index) for index in (1, 2, 3)}
    index = max(by_shard, key=lambda i: len(by_shard[i]))
    assert stages._gate(context, report, plan, [f"{ENV}.{index}"])
    [args] = commands.calls
    assert _skills(args) == by_shard[index] and by_shard[index]
    assert not set(_skills(args)) & {t.skill for t in plan.tasks if plan.shard_of[t.skill] != index}
    assert report.steps[-1] == {
        "step": "status",
        "exitCode": 0,
        "stacks": [f"{ENV}.{index}"],
        "skills": len(by_shard[index]),
    }
    assert f"status: the tasks of {ENV}.{index} only" in said


def test_a_failed_task_among_them_fails_the_stage(sharded, commands):
    context, plan, _ = _plan(sharded, ENV)
    report = stages.Report("deploy", ENV)
    commands.code = 1
    assert not stages._gate(context, report, plan, [f"{ENV}.1", f"{ENV}.2"])
    assert report.exit_code == 1 and report.steps[-1]["exitCode"] == 1


@pytest.mark.parametrize("ran", [[], [ENV]], ids=["nothing", "the base alone"])
def test_no_stack_with_tasks_ran_so_nothing_is_checked(sharded, commands, ran):
    context, plan, said = _plan(sharded, ENV)
    report = stages.Report("deploy", ENV)
    assert stages._gate(context, report, plan, ran)
    assert commands.calls == []
    assert report.steps[-1]["skipped"] is True and report.steps[-1]["exitCode"] == 0 and report.exit_code == 0
    assert any(line.startswith("status: no stack that runs tasks was deployed") for line in said)


def test_a_stack_not_sharded_is_checked_whole_or_not_at_all(sharded, commands):
    context, plan, _ = _plan(sharded, "whole")
    assert list(context.config.stacks) == ["whole"]
    assert stages._gate(context, stages.Report("deploy", "whole"), plan, ["whole"])
    assert stages._gate(context, stages.Report("deploy", "whole"), plan, [])
    [args] = commands.calls
    assert args[2] == "whole" and _skills(args) == []
