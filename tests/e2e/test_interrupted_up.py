"""A `pulumi up` killed halfway, and the recovery docs/scale.md documents: with the engine's
checkpoints (pending creates left in the state) and without them (PULUMI_SKIP_CHECKPOINTS: objects
in the cluster that the state does not know). After the documented steps every object is recorded
once, nothing is left orphaned or made twice, and the stack is as a clean `up` leaves it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.engine import project
from harness.stacks import Stack, make_stack
from tests.e2e.conftest import REPO
from tests.e2e.observe import cluster_objects, job_uids, recorded_objects

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
SKILLS = 12  # two agents: chains of 10 and 2 jobs and daemons, so an `up` lasts long enough to be cut
VARIANTS = {"checkpoints": {}, "skip-checkpoints": {"PULUMI_SKIP_CHECKPOINTS": "true"}}


@pytest.fixture(scope="module")
def big_project(tmp_path_factory) -> Path:
    """The project with a generated workspace of SKILLS skills in place of the example's, as the
    engine benchmark lays it out, a stack file (and namespace) per variant."""
    stacks = {f"cut-{variant}": f"skillship-cut-{variant}" for variant in VARIANTS}
    return project(tmp_path_factory.mktemp("interrupted"), SKILLS, stacks)


def _cut(stack: Stack, kube, namespace: str, job_skills: int) -> list[int]:
    """Start `up` and SIGKILL the driver, the CLI and the provider together once some of the
    stack's Jobs exist and not all: as a CI runner losing its machine would."""
    up = subprocess.Popen(
        stack.command("up"), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert up.poll() is None, "`pulumi up` ended before it could be cut: make the stack longer"
            if 2 <= len(job_uids(kube, namespace)) < job_skills:
                break
            time.sleep(0.1)
        else:
            pytest.fail("no Job appeared within 300 s")
    finally:
        # The engine starts each provider in a process group of its own: kill the whole tree, as
        # the machine's loss would, so no provider outlives the test.
        os.killpg(up.pid, signal.SIGSTOP)  # stopped, the CLI starts no provider while the tree is read
        tree = _descendants(up.pid)
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.killpg(up.pid, signal.SIGKILL)
        up.wait()
    return tree


def _running(pid: int) -> bool:
    """Alive, and not a zombie waiting for a parent (in a container, pid 1 may never reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (in parentheses) may hold spaces: the parent pid follows its end.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.fixture(scope="module", params=list(VARIANTS))
def interrupted(request, big_project, engine_bin, cluster, node, kube, tmp_path_factory) -> dict:
    variant = request.param
    name, namespace = f"cut-{variant}", f"skillship-cut-{variant}"
    backend = tmp_path_factory.mktemp(f"backend-{variant}")
    stack = make_stack(name, big_project, engine_bin, cluster, backend, VARIANTS[variant])
    job_skills = sum(1 for p in (big_project / "skills").iterdir() if p.name.startswith("job-"))
    seen: dict = {"variant": variant, "job_skills": job_skills}
    killed = _cut(stack, kube, namespace, job_skills)
    time.sleep(0.5)
    seen["killed"], seen["alive"] = killed, [pid for pid in killed if _running(pid)]
    seen["cut_cluster"] = cluster_objects(kube, name)
    seen["cut_jobs"] = job_uids(kube, namespace)
    seen["cut_recorded"], seen["cut_pending"] = recorded_objects(stack)
    seen["blocked"] = stack.failing_up_result()["error"]

    # The documented recovery (docs/scale.md), step by step, as a user runs it.
    seen["cancel"] = stack.cli("cancel", "--yes", "--non-interactive")
    seen["refresh"] = stack.cli("refresh", "--yes", "--non-interactive", "--clear-pending-creates", "--skip-preview")
    seen["recovered"] = stack.up()
    seen["cluster"] = cluster_objects(kube, name)
    seen["recorded"], seen["pending"] = recorded_objects(stack)
    seen["jobs"] = job_uids(kube, namespace)
    seen["again"] = stack.up()
    seen["destroy"] = stack.destroy()
    seen["left"] = cluster_objects(kube, name)
    return seen


def test_the_cut_left_objects_the_state_does_not_record(interrupted):
    unrecorded = interrupted["cut_cluster"] - set(interrupted["cut_recorded"])
    assert unrecorded, "a cut `up` should have left objects the state does not know"
    if interrupted["variant"] == "checkpoints":
        # The engine saved each finished step: what was in flight is a pending create.
        assert any(op["type"] == "creating" for op in interrupted["cut_pending"]), interrupted["cut_pending"]
        assert interrupted["cut_recorded"], "checkpoints record the steps that finished"
    else:
        # Nothing is saved before the end: the cluster holds objects the state has never heard of.
        assert interrupted["cut_recorded"] == [] and interrupted["cut_pending"] == []


def test_the_cut_killed_the_cli_and_its_providers(interrupted):
    assert len(interrupted["killed"]) >= 2  # the `pulumi` CLI and at least its Kubernetes provider
    assert interrupted["alive"] == []


def test_the_dead_update_keeps_the_stack_locked_until_cancelled(interrupted):
    assert "locked" in interrupted["blocked"], interrupted["blocked"][-2000:]
    assert interrupted["cancel"].returncode == 0, interrupted["cancel"].stderr
    assert interrupted["refresh"].returncode == 0, interrupted["refresh"].stderr


def test_after_recovery_every_object_is_recorded_once_and_nothing_is_orphaned(interrupted):
    recorded = interrupted["recorded"]
    assert len(recorded) == len(set(recorded)), "an object recorded twice"
    assert interrupted["pending"] == []
    assert set(recorded) == interrupted["cluster"]
    assert interrupted["cut_cluster"] <= interrupted["cluster"], "an object made before the cut was lost"


def test_after_recovery_each_task_ran_once_and_succeeded(interrupted):
    tasks = interrupted["recovered"]["outputs"]["tasks"]
    assert len(tasks) == interrupted["job_skills"]
    assert {t["state"] for t in tasks.values()} == {"Succeeded"}
    assert len(interrupted["jobs"]) == interrupted["job_skills"]  # one Job per task
    # The Jobs made before the cut were adopted, not made (and run) again.
    assert {name: interrupted["jobs"].get(name) for name in interrupted["cut_jobs"]} == interrupted["cut_jobs"]


def test_the_recovered_stack_is_steady_and_destroys_cleanly(interrupted):
    assert {op for op, _ in interrupted["again"]["steps"]} <= {"same"}
    assert interrupted["left"] == set()
