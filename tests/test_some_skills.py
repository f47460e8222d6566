"""A deploy of some skills only (`skillship-pipeline deploy --skill`, skillship_pipeline.selected):
which stack and resources it narrows the engine to, and what it refuses before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.project import PROGRAM_FILES, WORKSPACE_FILES, copy_project
from skillship.compose import plan_stack
from skillship.plan.neighbours import wired_skills
from skillship.stack.stackfiles import load_stack
from skillship.stack_digest import stack_digest
from skillship_pipeline import engine
from skillship_pipeline.selected import MESSAGE, Refused, select
from skillship_pipeline.skipping import verdict


@pytest.fixture
def dev(tmp_path, monkeypatch):
    root = copy_project(tmp_path / "project", WORKSPACE_FILES + PROGRAM_FILES)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    config = load_stack(root, "dev")
    plan = plan_stack(root, config.settings, project_dir=root, secret_properties=config.secret_properties)
    return root, config, plan


def _state(*skills: str):
    """A state that holds each of `skills` (one URN each), as engine.resources_of reads it."""

    def resources_of(project: Path, stack: str, asked: set[str]) -> dict[str, set[str]]:
        return {skill: ({f"urn:pulumi:{stack}::p::t::{skill}"} if skill in skills else set()) for skill in asked}

    return resources_of


def _recorded(config, plan, **changed: str):
    """The stack output `inputs` of the last full deploy: today's, with `changed` skills' digests
    as they were before they changed."""
    skills = dict(stack_digest(config, plan, registry_password=None).skills)
    skills.update(changed)

    def outputs_of(project: Path, stack: str) -> dict:
        return {"inputs": {"skills": skills}}

    return outputs_of


def test_the_wiring_of_a_skill_in_words(dev):
    _, _, plan = dev
    assert wired_skills(plan, "producer") == {"consumer": "producer sends records to consumer"}
    assert wired_skills(plan, "consumer") == {"producer": "producer sends records to consumer"}
    assert wired_skills(plan, "hello") == {}


def test_a_skill_alone_narrows_its_stack_to_its_resources(dev):
    root, config, plan = dev
    chosen = select(root, config, plan, ["hello"], None, _state("hello", "producer"), _recorded(config, plan))
    assert chosen.skills == ("hello",)
    assert chosen.targets == {"dev": ["urn:pulumi:dev::p::t::hello"]}


def test_a_skill_whose_daemon_changed_too_is_refused_naming_both(dev):
    root, config, plan = dev
    with pytest.raises(
        Refused,
        match=r"producer sends records to consumer, and consumer changed too: .*"
        r"--skill producer --skill consumer",
    ) as refused:
        select(
            root,
            config,
            plan,
            ["producer"],
            None,
            _state("producer", "consumer"),
            _recorded(config, plan, consumer="0" * 16),
        )
    assert not refused.value.usage
    # Unchanged, the daemon may stay as it is; named too, both go.
    unchanged = select(root, config, plan, ["producer"], None, _state("producer", "consumer"), _recorded(config, plan))
    assert list(unchanged.targets) == ["dev"]
    both = select(
        root,
        config,
        plan,
        ["producer", "consumer"],
        None,
        _state("producer", "consumer"),
        _recorded(config, plan, consumer="0" * 16),
    )
    assert both.skills == ("consumer", "producer")


def test_a_wired_skill_whose_inputs_were_not_recorded_counts_as_changed(dev):
    root, config, plan = dev

    def nothing_recorded(project: Path, stack: str) -> dict:
        raise engine.EngineError("no stack named 'dev' found")

    with pytest.raises(Refused, match="consumer changed too"):
        select(root, config, plan, ["producer"], None, _state("producer", "consumer"), nothing_recorded)


def test_a_skill_the_stack_does_not_deploy_is_a_usage_error(dev):
    root, config, plan = dev
    with pytest.raises(Refused, match=r"deploys no skill 'helo' \(it deploys: consumer, hello, producer\)") as refused:
        select(root, config, plan, ["helo"], None, _state(), _recorded(config, plan))
    assert refused.value.usage


def test_a_skill_not_deployed_yet_waits_for_its_stacks_first_deploy(dev):
    root, config, plan = dev
    with pytest.raises(Refused, match=r"hello not deployed by stack 'dev' yet: its first deploy is the whole"):
        select(root, config, plan, ["hello"], None, _state(), _recorded(config, plan))


def test_after_some_skills_only_the_next_deploy_runs_the_stack(dev):
    root, config, plan = dev
    digest = stack_digest(config, plan, registry_password=None)
    last = {"kind": "update", "result": "succeeded", "message": MESSAGE.format(stage="deploy", skills="hello")}
    found = verdict(digest, last)
    assert not found.skip and found.reason == "its last update deployed some skills only (--skill)"
