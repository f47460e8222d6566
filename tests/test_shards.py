"""Shards (skillship.stack.shards, docs/scale.md): which stack deploys each skill, what a shard may not
split, how a shard stack finds its settings, and that sharding changes which stack declares an
object, never the object."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bench.generate import generate_workspace
from harness.project import copy_project
from skillship.checks.validation import load_workspace
from skillship.manifests import namespace_objects
from skillship.plan import PlanError, plan_deployment
from skillship.stack.settings import SettingsError, ShardName, Shards, StackSettings, parse_shard_stack
from skillship.stack.shards import assign_shards, skill_groups
from skillship.stack.stackfiles import StackFileError, load_stack, project_problems
from tests.support.program import CI_REGISTRY_PASSWORD, run_program, stack_config

CLUSTER = {"target": "cluster", "buildImages": False}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """40 skills, agents of ten chained jobs and daemons (bench.generate)."""
    return generate_workspace(tmp_path_factory.mktemp("shards") / "ws", 40)


def _settings(shards: dict | None, shard: int | None = None, **values) -> StackSettings:
    config = {**CLUSTER, **values, **({"shards": shards} if shards else {})}
    return StackSettings.from_config("dev", config, shard=shard)


def _plan(root: Path, shards: dict | None, shard: int | None = None):
    workspace, diagnostics = load_workspace(root)
    assert diagnostics.ok
    return plan_deployment(workspace, _settings(shards, shard), project_dir=root)


def test_by_agent_keeps_every_agent_in_one_shard_and_uses_every_shard(synthetic):
    workspace, _ = load_workspace(synthetic)
    assignment = assign_shards(workspace, Shards(count=3))
    for source in workspace.agents:
        shards = {assignment[ref.skill_name] for ref in source.agent.skills}
        assert len(shards) == 1, (source.agent.name, shards)
    assert set(assignment) == {s.skill.name for s in workspace.skills}
    assert set(assignment.values()) <= {1, 2, 3}


def test_assignment_is_stable_when_skills_are_added(tmp_path, synthetic):
    """Growing a workspace moves no skill that was there (each moved skill is a delete and a create)."""
    before, _ = load_workspace(synthetic)
    grown = generate_workspace(tmp_path / "ws", 60)  # the same seed: the first 40 skills are the same
    after, _ = load_workspace(grown)
    for by in ("agent", "skill"):
        old = assign_shards(before, Shards(count=4, by=by))
        new = assign_shards(after, Shards(count=4, by=by))
        assert {skill: new[skill] for skill in old} == old, by


def test_agents_sharing_a_skill_are_one_group(tmp_path, synthetic):
    root = tmp_path / "ws"
    shutil.copytree(synthetic, root)
    first = yaml.safe_load((root / "agents" / "agent-0000.yaml").read_text())
    second_file = root / "agents" / "agent-0001.yaml"
    second = yaml.safe_load(second_file.read_text())
    second["skills"].append({"skillName": first["skills"][0]["skillName"], "refId": "shared"})
    second_file.write_text(yaml.safe_dump(second))
    workspace, diagnostics = load_workspace(root)
    assert diagnostics.ok
    groups = skill_groups(workspace)
    members = {ref["skillName"] for ref in first["skills"]} | {ref["skillName"] for ref in second["skills"]}
    assert {groups[name] for name in members} == {"agent:agent-0000"}
    assignment = assign_shards(workspace, Shards(count=5))
    assert len({assignment[name] for name in members}) == 1


def test_each_skill_is_in_exactly_one_shard_and_the_base_has_none(synthetic):
    shards = {"count": 3}
    everything = _plan(synthetic, None)
    base = _plan(synthetic, shards)
    parts = [_plan(synthetic, shards, index) for index in (1, 2, 3)]
    keys = [t.key for p in parts for t in p.tasks] + [d.key for p in parts for d in p.daemons]
    assert sorted(keys) == sorted([t.key for t in everything.tasks] + [d.key for d in everything.daemons])
    assert all(p.tasks or p.daemons for p in parts)  # 4 agents over 3 shards: none is empty
    # the base plans the whole environment (what validate, render and status read) ...
    assert [t.key for t in base.tasks] == [t.key for t in everything.tasks]
    assert base.settings.is_base and base.settings.pulumi_stack == "dev"
    assert [p.settings.pulumi_stack for p in parts] == ["dev.1", "dev.2", "dev.3"]
    # ... and the namespace is the base's alone
    assert namespace_objects(base.settings) and not namespace_objects(parts[0].settings)
    for part in parts:
        for task in part.tasks:
            assert part.shard_of[task.skill] == part.settings.shard


def test_a_shard_runs_a_job_after_the_job_it_follows_within_the_shard(synthetic):
    """Agent chains stay whole, and so does their order."""
    everything = {t.key: t.after for t in _plan(synthetic, None).tasks}
    for index in (1, 2):
        for task in _plan(synthetic, {"count": 2}, index).tasks:
            assert task.after == everything[task.key]


def test_by_skill_refuses_a_job_mapping_across_shards_where_it_is(synthetic):
    with pytest.raises(PlanError) as refused:
        _plan(synthetic, {"count": 4, "by": "skill"}, 1)
    crossing = [d for d in refused.value.diagnostics if d.code == "shard-crossing"]
    assert crossing, refused.value.diagnostics
    first = crossing[0]
    assert first.file.endswith(".yaml") and "agents" in first.file and first.line is not None
    assert "from:" in Path(first.file).read_text().splitlines()[first.line - 1]  # the mapping itself
    assert "shard by agent" in first.message
    # every stack of the environment refuses, the base too: nothing is deployed
    with pytest.raises(PlanError):
        _plan(synthetic, {"count": 4, "by": "skill"})


def test_by_skill_without_agents_splits_skill_by_skill(tmp_path, synthetic):
    root = tmp_path / "ws"
    shutil.copytree(synthetic, root)
    shutil.rmtree(root / "agents")
    (root / "agents").mkdir()
    sizes = [len(_plan(root, {"count": 4, "by": "skill"}, index).tasks) for index in (1, 2, 3, 4)]
    assert sum(sizes) == len(_plan(root, None).tasks) and min(sizes) > 0


@pytest.mark.parametrize(
    ("values", "shard", "says"),
    [
        ({"shards": {"count": 1}}, None, "skillship:shards.count"),
        ({"shards": {"count": 65}}, None, "skillship:shards.count"),
        ({"shards": {"count": 2, "by": "team"}}, None, "skillship:shards.by"),
        ({"shards": {"count": 2, "size": 3}}, None, "unknown setting"),
        ({"shards": {"count": 2}, "target": "render"}, None, "a render stack cannot have shards"),
        ({"shards": {"count": 2}}, 3, "is no shard of 'dev', which has shards 1 to 2"),
        ({}, 1, "which has no skillship:shards"),
        ({"shard": 1}, None, "skillship:shard: unknown setting"),
    ],
)
def test_bad_shard_settings_are_named(values, shard, says):
    with pytest.raises(SettingsError) as bad:
        StackSettings.from_config("dev", {**CLUSTER, **values}, shard=shard)
    assert says in str(bad.value)


def test_shard_stack_names():
    assert parse_shard_stack("dev.3") == ShardName("dev", 3)
    found = parse_shard_stack("team.dev.12")
    assert found is not None and (found.environment, found.index) == ("team.dev", 12)
    assert (
        parse_shard_stack("dev") is None and parse_shard_stack("dev.0") is None and parse_shard_stack("dev.x") is None
    )


def _sharded_project(tmp_path: Path, count: int = 2, project: Path | None = None) -> Path:
    project = project or copy_project(tmp_path / "project")
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    config = yaml.safe_load(stack_file.read_text())
    config["config"]["skillship:shards"] = {"count": count}
    stack_file.write_text(yaml.safe_dump(config))
    return project


def test_a_shard_stack_takes_its_environments_settings(tmp_path):
    project = _sharded_project(tmp_path)
    shard = load_stack(project, "dev.2")
    assert shard.settings.pulumi_stack == "dev.2" and shard.settings.stack == "dev"
    assert shard.settings.namespace == "skillship-dev" and shard.kube_context == "dev"
    assert load_stack(project, "dev").stacks == ["dev", "dev.1", "dev.2"]
    assert shard.stacks == ["dev.2"]
    with pytest.raises(StackFileError, match="is no shard of 'dev', which has shards 1 to 2"):
        load_stack(project, "dev.3")
    with pytest.raises(StackFileError, match=r"unknown stack 'prod\.1'"):
        load_stack(project, "prod.1")  # prod has no shards: no stack of that name


def test_a_shard_file_holds_secrets_only(tmp_path):
    project = _sharded_project(tmp_path)
    own = project / "stacks" / "Pulumi.dev.1.yaml"
    own.write_text(
        yaml.safe_dump(
            {
                "encryptionsalt": "v1:abc",
                "config": {"skillship:registryPassword": {"secure": "v1:xyz"}},
            }
        )
    )
    shard = load_stack(project, "dev.1")
    assert shard.secret_keys == {"registryPassword"}
    # a shard's file is no stack of its own among the project's: it shares no namespace
    assert project_problems(project, "dev", "skillship-dev") == []
    own.write_text(yaml.safe_dump({"config": {"skillship:namespace": "other", "kubernetes:context": "x"}}))
    with pytest.raises(StackFileError) as refused:
        load_stack(project, "dev.1")
    assert "kubernetes:context, skillship:namespace" in str(refused.value) and "Pulumi.dev.yaml" in str(refused.value)


def _objects(run) -> dict[tuple[str, str], dict]:
    return {(r["type"], r["name"]): run.manifest(r) for r in run.kubernetes()}


def test_the_shards_declare_exactly_the_objects_of_the_unsharded_stack(tmp_path):
    """The base's objects and the shards' are disjoint, and together they are, input for input,
    what the environment declares unsharded: the same names, labels and selectors."""
    project = copy_project(tmp_path / "project")  # one folder for both: build contexts are paths
    unsharded = run_program("dev", stack_config("dev"), program_dir=project)
    assert unsharded.error is None, unsharded.error
    _sharded_project(tmp_path, count=2, project=project)
    base = run_program("dev", {**stack_config("dev"), "shards": {"count": 2}}, program_dir=project)
    # Each shard has the registry password, as CI sets it for every stack: it builds and pushes.
    shards = [
        run_program(
            f"dev.{index}",
            {"registryPassword": CI_REGISTRY_PASSWORD},
            secret_keys=("registryPassword",),
            program_dir=project,
        )
        for index in (1, 2)
    ]
    for run in (base, *shards):
        assert run.error is None, run.error
    declared = [_objects(run) for run in (base, *shards)]
    assert sum(len(d) for d in declared) == len({key for d in declared for key in d})  # disjoint
    assert {key: value for d in declared for key, value in d.items()} == _objects(unsharded)
    assert {kind for kind, _ in declared[0]} == {  # what the namespace's skills share: dev uses Istio
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:Secret",  # the registry's pull credentials, which every shard's accounts name
        "kubernetes:security.istio.io/v1:PeerAuthentication",
    }
    assert base.exports["tasks"] == {} and base.exports["skills"] == []
    skills = [run.exports["skills"] for run in shards]
    assert sorted(skills[0] + skills[1]) == sorted(unsharded.exports["skills"])
    assert {**shards[0].exports["tasks"], **shards[1].exports["tasks"]} == unsharded.exports["tasks"]
    # each shard reaches its environment's cluster through a provider of its own
    for run in shards:
        [provider] = run.of_type("pulumi:providers:kubernetes")
        assert provider["inputs"]["context"] == "dev"


def test_a_shard_refuses_settings_and_missing_secrets_of_its_own(tmp_path):
    project = _sharded_project(tmp_path, count=2)
    own_file = project / "stacks" / "Pulumi.dev.1.yaml"  # where `pulumi config set --stack dev.1` writes
    own_file.write_text(yaml.safe_dump({"config": {"skillship:namespace": "elsewhere"}}))
    own_setting = run_program("dev.1", {"namespace": "elsewhere"}, program_dir=project)
    assert own_setting.error is not None and "move skillship:namespace there" in own_setting.error["message"]
    assert own_setting.kubernetes() == []
    own_file.unlink()
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    config = yaml.safe_load(stack_file.read_text())
    config["config"]["skillship:registryPassword"] = {"secure": "v1:AAAA"}
    stack_file.write_text(yaml.safe_dump(config))
    missing = run_program("dev.2", {}, program_dir=project)
    assert (
        missing.error is not None
        and "lacks secrets 'dev' sets: skillship:registryPassword" in (missing.error["message"])
    )
    assert "pulumi config cp KEY --stack dev --dest dev.2" in missing.error["message"]
    assert missing.kubernetes() == []
    given = run_program("dev.2", {"registryPassword": "s3cret"}, secret_keys=("registryPassword",), program_dir=project)
    assert given.error is None, given.error


def test_the_shards_command_lists_every_stack_in_deploy_order(tmp_path):
    import json

    from harness.project import cli_in

    project = _sharded_project(tmp_path, count=3)
    done = cli_in(project, "shards", "--stack", "dev", "--json")
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert [row["stack"] for row in document["stacks"]] == ["dev", "dev.1", "dev.2", "dev.3"]
    assert document["stacks"][0]["skills"] == [] and document["stacks"][0]["shard"] is None
    listed = sorted(skill for row in document["stacks"] for skill in row["skills"])
    assert listed == sorted(stack_config("dev")["skills"])
    # producer and consumer are one agent's: one shard
    [together] = [row for row in document["stacks"] if "producer" in row["skills"]]
    assert "consumer" in together["skills"]
    unsharded = cli_in(project, "shards", "--stack", "prod")
    assert unsharded.exit_code == 2 and "has no skillship:shards" in unsharded.output
    shard = cli_in(project, "shards", "--stack", "dev.2")
    assert shard.exit_code == 2 and "is a shard of 'dev'" in shard.output


def test_a_shard_of_an_unreadable_environment_says_what_is_wrong_with_it(tmp_path):
    project = _sharded_project(tmp_path)
    (project / "stacks" / "Pulumi.dev.1.yaml").write_text("encryptionsalt: v1:abc\n")
    environment = project / "stacks" / "Pulumi.dev.yaml"
    environment.write_text(environment.read_text() + "  skillship:wait: [not, a, bool]\n")
    with pytest.raises(StackFileError) as refused:
        load_stack(project, "dev.1")
    assert "Pulumi.dev.yaml" in str(refused.value) and "skillship:wait" in str(refused.value)


def test_settings_written_as_json_text_read_as_pulumi_reads_them(tmp_path):
    """`pulumi config set skillship:messages '{...}'` (no --path) writes JSON text to the stack
    file; pulumi.Config hands the program that text, which it parses, and so must the file reader
    that shards and `skillship render` use."""
    project = _sharded_project(tmp_path)
    path = project / "stacks" / "Pulumi.dev.yaml"
    config = yaml.safe_load(path.read_text())
    config["config"]["skillship:messages"] = '{"hello": {"payload": {"name": "json text"}}}'
    config["config"]["skillship:egressHosts"] = '["./*"]'
    path.write_text(yaml.safe_dump(config))
    for stack in ("dev", "dev.1"):
        settings = load_stack(project, stack).settings
        assert settings.messages == {"hello": {"payload": {"name": "json text"}}}
        assert settings.egress_hosts == ["./*"]
