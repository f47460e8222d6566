"""A sharded environment deployed by `skillship-pipeline` with the real engine, against the suite's
control plane and fake node: the base stack and its shards, in parallel; every object recorded by
exactly one stack; `skillship status` seeing the shards as one deployment; then more shards, so
skills move between stacks without a task running again; one changed skill, which only its shard
deploys; an unchanged environment, which starts no engine, and `--all`, which runs every stack;
one skill alone (`--skill`); and the shards destroyed before the base.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from bench.engine import project
from harness.stacks import Stack, make_stack
from skillship.checks.names import skill_name
from skillship.compose import plan_stack
from skillship.manifests.labels import LABEL_SKILL
from skillship.plan.neighbours import wired_skills
from skillship.stack.stackfiles import load_stack
from tests.e2e.observe import cluster_objects, job_uids, recorded_objects
from tests.support.jsondocs import check_document

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
ENV, NAMESPACE = "shd", "skillship-shd"
SKILLS = 24  # agents of 10, 10 and 4 skills: three groups over two shards, then three


def _set_shards(root: Path, count: int) -> None:
    path = root / "stacks" / f"Pulumi.{ENV}.yaml"
    config = yaml.safe_load(path.read_text())
    config["config"]["skillship:shards"] = {"count": count}
    path.write_text(yaml.safe_dump(config))


def _run(root: Path, env: dict, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=timeout, env=env)


def _stage(root: Path, env: dict, *args: str) -> dict:
    done = _run(root, env, sys.executable, "-m", "skillship_pipeline", *args, "--json")
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
    report = check_document(json.loads(done.stdout))
    report["log"] = done.stderr
    return report


def _skillship(root: Path, env: dict, *args: str) -> dict:
    done = _run(root, env, sys.executable, "-m", "skillship", *args, "--json")
    document = json.loads(done.stdout)
    document["exitCode"] = done.returncode
    return document


def _states(stacks: dict[str, Stack]) -> dict[str, list[tuple[str, str]]]:
    found = {}
    for name, stack in stacks.items():
        recorded, pending = recorded_objects(stack)
        assert pending == [], (name, pending)
        found[name] = recorded
    return found


@pytest.fixture(scope="module")
def sharded(engine_bin, cluster, node, kube, tmp_path_factory) -> dict:
    root = project(tmp_path_factory.mktemp("sharded"), SKILLS, {ENV: NAMESPACE})
    _set_shards(root, 2)
    backend = tmp_path_factory.mktemp("backend-sharded")
    stacks = {name: make_stack(name, root, engine_bin, cluster, backend) for name in (ENV, f"{ENV}.1", f"{ENV}.2")}
    env = {**os.environ, **stacks[ENV].env}
    seen: dict = {"root": root}
    seen["preview"] = _stage(root, env, "preview", "--stack", ENV, "--summary", str(root / "preview.md"))
    seen["summary"] = (root / "preview.md").read_text() if (root / "preview.md").exists() else ""
    seen["deploy"] = _stage(root, env, "deploy", "--stack", ENV, "--timeout", "300")
    assert seen["deploy"]["exitCode"] == 0, seen["deploy"]["log"][-6000:]  # nothing below means anything else
    seen["shards"] = _skillship(root, env, "shards", "--stack", ENV)
    seen["status"] = _skillship(root, env, "status", "--stack", ENV)
    seen["cluster"] = cluster_objects(kube, ENV)
    seen["states"] = _states(stacks)
    seen["jobs"] = job_uids(kube, NAMESPACE)
    seen["outputs"] = {name: json.loads(s.cli("stack", "output", "--json").stdout) for name, s in stacks.items()}

    # Three shards: the groups are hashed again, and some move.
    _set_shards(root, 3)
    stacks[f"{ENV}.3"] = make_stack(f"{ENV}.3", root, engine_bin, cluster, backend)
    seen["shards_after"] = _skillship(root, env, "shards", "--stack", ENV)
    seen["redeploy"] = _stage(root, env, "deploy", "--stack", ENV, "--timeout", "300")
    seen["cluster_after"] = cluster_objects(kube, ENV)
    seen["states_after"] = _states(stacks)
    seen["jobs_after"] = job_uids(kube, NAMESPACE)
    seen["outputs_after"] = {name: json.loads(s.cli("stack", "output", "--json").stdout) for name, s in stacks.items()}

    # A daemon that moved changes: its new shard's apply meets the fields that the field manager of
    # the shard it left still owns, and takes them (pulumi.com/patchForce) rather than fail.
    apps = client.AppsV1Api(kube)
    daemon = seen["moved_daemon"] = _moved_daemon(seen["shards"], seen["shards_after"])
    seen["daemon_version_before"] = _deployment_version(apps, daemon)
    for main in (root / "skills" / daemon / "actions").glob("*/main.py"):
        main.write_text(main.read_text() + "\n# changed\n")
    seen["daemon_change"] = _stage(root, env, "deploy", "--stack", ENV, "--timeout", "300")
    seen["daemon_version_after"] = _deployment_version(apps, daemon)

    # One job's code changes: only the shard that deploys it runs the engine. (Its shard has another
    # job apart from it: --skill below changes both.)
    seen["changed_stack"], skill, seen["left_behind"] = _two_jobs_apart(root, seen["shards_after"])
    for main in (root / "skills" / skill / "actions").glob("*/main.py"):
        main.write_text(main.read_text() + "\n# changed\n")
    seen["one_change"] = _stage(root, env, "deploy", "--stack", ENV, "--timeout", "300")
    seen["history"] = {name: json.loads(s.cli("stack", "history", "--json").stdout) for name, s in stacks.items()}
    seen["outputs_changed"] = {
        name: json.loads(s.cli("stack", "output", "--json").stdout) for name, s in stacks.items()
    }
    # A ServiceAccount deleted by hand, which no input shows: the next deploy starts no engine and
    # leaves it missing; the scheduled run's `--all --refresh` reads the cluster and puts it back.
    core, account = client.CoreV1Api(kube), skill_name(skill)
    core.delete_namespaced_service_account(account, NAMESPACE)
    # And a label the program declares, changed by hand on the daemon's Deployment (another field
    # manager): `--all --refresh` takes it back rather than stop at the conflict.
    [deployment] = apps.list_namespaced_deployment(
        NAMESPACE, label_selector=f"{LABEL_SKILL}={skill_name(daemon)}"
    ).items
    apps.patch_namespaced_deployment(
        deployment.metadata.name, NAMESPACE, {"metadata": {"labels": {"app.kubernetes.io/version": "by-hand"}}}
    )
    seen["again"] = _stage(root, env, "deploy", "--stack", ENV, "--timeout", "300")
    seen["missing_after_skip"] = not core.list_namespaced_service_account(
        NAMESPACE, field_selector=f"metadata.name={account}"
    ).items
    seen["every"] = _stage(root, env, "deploy", "--stack", ENV, "--timeout", "300", "--all", "--refresh")
    seen["back_after_all"] = bool(
        core.list_namespaced_service_account(NAMESPACE, field_selector=f"metadata.name={account}").items
    )
    seen["daemon_version_after_all"] = _deployment_version(apps, daemon)

    # One skill alone (--skill), beside a changed job of the same shard apart from it: only the
    # first is deployed; the next full deploy deploys the other, and skips every other stack.
    for changed_skill in (skill, seen["left_behind"]):
        for main in (root / "skills" / changed_skill / "actions").glob("*/main.py"):
            main.write_text(main.read_text() + "\n# changed again\n")
    seen["one_skill"] = _stage(root, env, "deploy", "--stack", ENV, "--timeout", "300", "--skill", skill)
    seen["after_one_skill"] = _stage(root, env, "deploy", "--stack", ENV, "--timeout", "300")

    # Destroyed as docs/scale.md says: the shards, then the base (which holds the namespace).
    seen["destroyed"] = {name: stacks[name].destroy() for name in (f"{ENV}.1", f"{ENV}.2", f"{ENV}.3", ENV)}
    seen["left"] = cluster_objects(kube, ENV)
    return seen


def _moved_daemon(before: dict, after: dict) -> str:
    """A daemon skill whose shard changed with the shard count."""
    shard_of = {skill: row["stack"] for row in before["stacks"] for skill in row["skills"]}
    moved = sorted(s for row in after["stacks"] for s in row["skills"] if shard_of.get(s) not in (None, row["stack"]))
    daemons = [s for s in moved if s.startswith("daemon-")]  # bench/generate.py's names
    assert daemons, f"no daemon among the skills that moved ({moved}): pick another workspace size"
    return daemons[0]


def _deployment_version(apps, skill: str) -> str:
    [deployment] = apps.list_namespaced_deployment(NAMESPACE, label_selector=f"{LABEL_SKILL}={skill_name(skill)}").items
    return deployment.metadata.labels["app.kubernetes.io/version"]


def _two_jobs_apart(root: Path, shards: dict) -> tuple[str, str, str]:
    """A shard and two of its jobs, the second neither wired to the first nor after it in a chain
    (so no dependent of it, which `--skill` would deploy too)."""
    for row in shards["stacks"]:
        if row["shard"] is None:
            continue
        plan = plan_stack(root, load_stack(root, row["stack"]).settings, project_dir=root)
        after = {task.skill: {key.split("/")[0] for key in task.after} for task in plan.tasks}
        jobs = sorted(s for s in row["skills"] if s.startswith("job-"))
        for job in jobs:
            dependents, grown = set(), True
            while grown:
                found = {s for s, before in after.items() if before & ({job} | dependents)} - dependents
                grown, dependents = bool(found), dependents | found
            apart = [other for other in jobs if other not in {job, *wired_skills(plan, job), *dependents}]
            if apart:
                return row["stack"], job, apart[0]
    raise AssertionError("no shard has two jobs apart: pick another workspace size")


def _shard_skills(shards: dict, stack: str) -> list[str]:
    """The skills `skillship shards --json` lists for a stack."""
    return next(row["skills"] for row in shards["stacks"] if row["stack"] == stack)


def _ups(report: dict) -> dict[str, dict]:
    return {step["stack"]: step for step in report["steps"] if step["step"] == "up"}


def test_the_pipeline_deploys_the_base_then_every_shard(sharded):
    report = sharded["deploy"]
    assert report["exitCode"] == 0, report["log"][-4000:]
    ups = _ups(report)
    assert list(ups) == [ENV, f"{ENV}.1", f"{ENV}.2"]
    assert all(step["exitCode"] == 0 for step in ups.values())
    gate = report["steps"][-1]
    assert gate["step"] == "status" and gate["stacks"] == list(ups)  # one gate, over the whole environment
    assert "--skill" not in report["log"]
    # each shard's log lines carry its name in the CI log
    assert f"[{ENV}.1] " in report["log"] and f"[{ENV}.2] " in report["log"]


def test_the_preview_covers_every_stack_and_changes_nothing(sharded):
    assert sharded["preview"]["exitCode"] == 0, sharded["preview"]["log"][-4000:]
    for name in (ENV, f"{ENV}.1", f"{ENV}.2"):
        assert f"`pulumi preview` of stack `{name}`" in sharded["summary"]


def test_every_object_is_recorded_by_exactly_one_stack(sharded):
    for states, cluster in (
        (sharded["states"], sharded["cluster"]),
        (sharded["states_after"], sharded["cluster_after"]),
    ):
        recorded = [item for objects in states.values() for item in objects]
        assert len(recorded) == len(set(recorded)), "an object recorded by two stacks"
        assert set(recorded) == cluster
    base = {kind for kind, _ in sharded["states"][ENV]}
    assert base == {"kubernetes:core/v1:Namespace", "kubernetes:security.istio.io/v1:PeerAuthentication"}


def test_status_sees_the_shards_as_one_deployment(sharded):
    tasks = sharded["status"]["tasks"]
    job_skills = sum(1 for p in (sharded["root"] / "skills").iterdir() if p.name.startswith("job-"))
    assert len(tasks) == job_skills and {t["state"] for t in tasks} == {"Succeeded"}
    assert sharded["status"]["exitCode"] == 0
    # each shard's outputs hold its share, as `skillship shards` lists it
    listed = {row["stack"]: row["skills"] for row in sharded["shards"]["stacks"]}
    for name, outputs in sharded["outputs"].items():
        assert sorted(outputs["skills"]) == listed[name], name


def test_moved_skills_change_stack_without_running_again(sharded):
    before = {row["stack"]: set(row["skills"]) for row in sharded["shards"]["stacks"]}
    after = {row["stack"]: set(row["skills"]) for row in sharded["shards_after"]["stacks"]}
    moved = {s for name, skills in before.items() for s in skills if s not in after.get(name, set())}
    assert moved, "three shards should move some group: pick another workspace size"
    report = sharded["redeploy"]
    assert report["exitCode"] == 0, report["log"][-4000:]
    released = [s for s in report["steps"] if s["step"] == "release moved skills"]
    assert {skill for step in released for skill in step["skills"]} == moved
    assert all(step["resources"] > 0 for step in released)
    # The cluster kept every object, and every Job its uid: no task ran again, none was deleted.
    assert sharded["cluster_after"] == sharded["cluster"]
    assert sharded["jobs_after"] == sharded["jobs"]
    for name, outputs in sharded["outputs_after"].items():
        assert set(outputs["skills"]) == after[name], name
    deletes = {name: step["changes"].get("delete", 0) for name, step in _ups(report).items()}
    assert deletes == dict.fromkeys(deletes, 0), deletes


def test_a_moved_daemon_changes_in_its_new_shard(sharded):
    report = sharded["daemon_change"]
    assert report["exitCode"] == 0, report["log"][-4000:]
    ran = [name for name, step in _ups(report).items() if not step.get("skipped")]
    assert len(ran) == 1 and _ups(report)[ran[0]]["changes"].get("update", 0) >= 1, _ups(report)
    assert sharded["daemon_version_after"] != sharded["daemon_version_before"]
    assert sharded["moved_daemon"] in sharded["outputs_after"][ran[0]]["skills"]


def test_one_changed_skill_deploys_its_shard_alone(sharded):
    report = sharded["one_change"]
    assert report["exitCode"] == 0, report["log"][-4000:]
    ups = _ups(report)
    changed = sharded["changed_stack"]
    assert [name for name, step in ups.items() if not step.get("skipped")] == [changed], ups
    assert ups[changed]["reason"] == "objects changed since its last update", ups[changed]
    # The one engine run ran in the stage's process: no child's `[stack] ` before its lines.
    assert f"$ pulumi up --stack {changed}" in report["log"] and f"[{changed}] " not in report["log"]
    assert ups[changed]["changes"].get("replace", 0) + ups[changed]["changes"].get("update", 0) > 0
    assert "create" not in ups[changed]["changes"], ups[changed]["changes"]  # no skill moved, none released
    assert not [s for s in report["steps"] if s["step"] == "release moved skills"]
    for name, step in ups.items():
        if name != changed:
            assert step["reason"].startswith("unchanged since its last update ("), (name, step)
            assert f"{name}: unchanged since its last update (" in report["log"]
    # The gate checks the tasks of the shard that ran, its jobs', no other's.
    gate = report["steps"][-1]
    assert gate["step"] == "status" and gate["exitCode"] == 0 and gate["stacks"] == [changed], gate
    jobs = [s for s in _shard_skills(sharded["shards_after"], changed) if s.startswith("job-")]
    assert gate["skills"] == len(jobs) and f"stack {ENV}: {len(jobs)} task(s)" in report["log"]


def test_each_update_records_the_digest_its_program_exported(sharded):
    for name, history in sharded["history"].items():
        newest = history[0]
        assert newest["result"] == "succeeded", (name, newest)
        exported = sharded["outputs_changed"][name]["inputs"]
        assert f" {exported['digest']} " in newest["message"], (name, newest["message"], exported)


def test_an_unchanged_environment_starts_no_engine(sharded):
    report = sharded["again"]
    assert report["exitCode"] == 0, report["log"][-4000:]
    ups = _ups(report)
    assert set(ups) == {ENV, f"{ENV}.1", f"{ENV}.2", f"{ENV}.3"}
    assert all(step["skipped"] and "changes" not in step for step in ups.values()), ups
    assert "nothing to deploy: no stack's inputs changed" in report["log"]
    assert "$ pulumi up" not in report["log"]
    gate = report["steps"][-1]
    assert gate["step"] == "status" and gate["skipped"] and gate["exitCode"] == 0, gate
    assert "$ skillship status" not in report["log"]


def test_skipping_misses_a_change_by_hand_which_all_with_refresh_puts_back(sharded):
    assert sharded["missing_after_skip"], "the skipped deploy should not have seen the deleted ServiceAccount"
    report = sharded["every"]
    assert report["exitCode"] == 0, report["log"][-4000:]
    ups = _ups(report)
    assert set(ups) == {ENV, f"{ENV}.1", f"{ENV}.2", f"{ENV}.3"}
    assert not any(step.get("skipped") for step in ups.values())
    changes = {name: {op: n for op, n in step["changes"].items() if op != "same"} for name, step in ups.items()}
    daemon_stack = next(
        name for name, out in sharded["outputs_after"].items() if sharded["moved_daemon"] in out["skills"]
    )
    expected = {name: {} for name in ups}
    expected[sharded["changed_stack"]]["create"] = 1  # the ServiceAccount
    expected[daemon_stack]["update"] = 1  # the Deployment's label
    assert changes == expected, changes
    assert sharded["back_after_all"]
    assert sharded["daemon_version_after_all"] == sharded["daemon_version_after"]
    assert not [s for s in report["steps"] if s["step"] == "release moved skills"]


def test_one_skill_alone_runs_its_shard_narrowed_and_the_next_deploy_finds_nothing(sharded):
    report = sharded["one_skill"]
    assert report["exitCode"] == 0, report["log"][-4000:]
    changed = sharded["changed_stack"]
    [selection] = [s for s in report["steps"] if s["step"] == "select skills"]
    assert selection["stacks"] == [changed]
    ups = _ups(report)
    assert list(ups) == [changed], ups
    # Its Job replaced, not the other changed job's: the engine counts what it left as "same".
    assert {op: n for op, n in ups[changed]["changes"].items() if op != "same"} == {"replace": 1}
    after = _ups(sharded["after_one_skill"])
    assert after[changed]["reason"] == "its last update deployed some skills only (--skill)", after[changed]
    # Now the job left behind, and nothing more of the skill deployed alone (one Job replaced, not two).
    assert sharded["after_one_skill"]["exitCode"] == 0, sharded["after_one_skill"]["log"][-4000:]
    left = {op: n for op, n in after[changed]["changes"].items() if op != "same"}
    assert left == {"replace": 1}, left
    assert all(step.get("skipped") for name, step in after.items() if name != changed), after


def test_destroying_the_shards_then_the_base_leaves_nothing(sharded):
    assert all(result["ok"] for result in sharded["destroyed"].values())
    assert sharded["left"] == set()
