"""Upgrades: a stack deployed by an earlier Skillship, then previewed by the code of now.

Each case takes a pinned commit's tree (`git archive`, so the repository's history is needed, as a
clone has it), deploys a stack of the example workspace with that code against the suite's control
plane and fake node, then previews the same stack (same backend, same stack file) with the code of
now. A preview is what a user runs first after upgrading: every step it would take is compared
with the case's list of expected changes, each tied to the commit that made it. Anything else, a
replacement or a deletion above all, fails.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from harness.stacks import make_stack
from tests.e2e.conftest import PROJECT_FILES, REPO

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
UNCHANGED = ("same", "read", "refresh")


@dataclass(frozen=True)
class Case:
    commit: str  # the code a user deployed with
    why: str
    # (operation, resource type) -> how many steps the preview may take; any other step fails.
    expected: dict[tuple[str, str], int] = field(default_factory=dict)


# 9fcc765: every object carries the provider's annotations (patchForce, background deletes) on its own
# metadata, so every object the example's e2e stack had is updated once, in place; no Job is
# replaced (a Job is named by its content, and its template is unchanged).
ANNOTATED = {
    ("update", "kubernetes:core/v1:Namespace"): 1,
    ("update", "kubernetes:security.istio.io/v1:PeerAuthentication"): 1,
    ("update", SERVICE_ACCOUNT): 3,
    ("update", "kubernetes:networking.k8s.io/v1:NetworkPolicy"): 3,
    ("update", "kubernetes:networking.istio.io/v1:Sidecar"): 3,
    ("update", "kubernetes:security.istio.io/v1:AuthorizationPolicy"): 3,
    ("update", "kubernetes:apps/v1:Deployment"): 1,
    ("update", "kubernetes:core/v1:Service"): 1,
    ("update", "kubernetes:batch/v1:Job"): 2,
}

CASES = {
    # #39: the core moved into packages, `components` became `skillship_components`, and the SDK's
    # adaptations went behind one fence. Type tokens and names are kept: nothing else may change.
    "stages": Case("229cf17", "the last commit before the stage packages (66e1432)", expected=ANNOTATED),
    # 725ff6a: one ServiceAccount and Secret per skill, declared by the stack's component with an
    # alias to their former place under the skill's first action. The alias must hold: the account
    # is neither deleted nor made again. What else that change and the ones after it changed is
    # listed, each a change a user was told of in its commit.
    "one-account-per-skill": Case(
        "271ca87",
        "the last commit before one ServiceAccount per skill (725ff6a)",
        expected={
            # 725ff6a: the account carries the skill's labels, not an action's; updated in place.
            ("update", "kubernetes:core/v1:ServiceAccount"): 3,
            # 725ff6a: every selector names the stack too. A Deployment's selector is immutable, so
            # the consumer's Deployment is replaced, as that commit said it would be once.
            ("replace", "kubernetes:apps/v1:Deployment"): 1,
            ("create-replacement", "kubernetes:apps/v1:Deployment"): 1,
            ("delete-replaced", "kubernetes:apps/v1:Deployment"): 1,
            ("update", "kubernetes:core/v1:Service"): 1,
            ("update", "kubernetes:networking.k8s.io/v1:NetworkPolicy"): 3,
            ("update", "kubernetes:networking.istio.io/v1:Sidecar"): 3,
            ("update", "kubernetes:security.istio.io/v1:AuthorizationPolicy"): 3,
            # A Job is named by its content: the two tasks' Jobs, whose labels and selectors
            # changed, are new Jobs (each task runs once more, as after any change to it).
            ("replace", "kubernetes:batch/v1:Job"): 2,
            ("create-replacement", "kubernetes:batch/v1:Job"): 2,
            ("delete-replaced", "kubernetes:batch/v1:Job"): 2,
            # 6efd317: no SkillImage component for an image nothing builds (these stacks use
            # prebuilt images); the empty components go, and nothing in the cluster with them.
            ("delete", "skillship:index:SkillImage"): 3,
            # 9fcc765: the objects nothing above changes take the provider's annotations in place.
            ("update", "kubernetes:core/v1:Namespace"): 1,
            ("update", "kubernetes:security.istio.io/v1:PeerAuthentication"): 1,
        },
    ),
}


def _tree(commit: str, into: Path) -> Path:
    """The repository's files at `commit`, as `git archive` gives them."""
    found = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True)
    if found.returncode != 0:
        pytest.fail(f"commit {commit} is not in this clone: the upgrade tests need its history (git fetch --unshallow)")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit], capture_output=True, check=True
    )
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def _stack_file(project: Path, name: str) -> None:
    """The e2e stack's settings (as that commit had them), in a namespace of the case's own."""
    e2e = yaml.safe_load((project / "stacks" / "Pulumi.e2e.yaml").read_text())
    e2e["config"]["skillship:namespace"] = f"skillship-{name}"
    (project / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(e2e))


@pytest.fixture(scope="module", params=sorted(CASES))
def upgrade(request, engine_bin, cluster, node, tmp_path_factory) -> dict:
    name = f"upgrade-{request.param}"[:40]
    case = CASES[request.param]
    work = tmp_path_factory.mktemp(name)
    old = _tree(case.commit, work / "old")
    _stack_file(old, name)
    backend = work / "backend"
    backend.mkdir()
    before = make_stack(name, old, engine_bin, cluster, backend)
    seen: dict = {"case": case, "deployed": before.up()}

    new = work / "new"
    new.mkdir()
    for item in PROJECT_FILES:
        source = REPO / item
        (shutil.copytree if source.is_dir() else shutil.copy)(source, new / item)
    # The stack file the user has: the earlier `up` wrote its encryption salt into it.
    shutil.copy(old / "stacks" / f"Pulumi.{name}.yaml", new / "stacks" / f"Pulumi.{name}.yaml")
    after = make_stack(name, new, engine_bin, cluster, backend)
    seen["preview"] = after.preview()
    seen["destroy"] = after.destroy()
    return seen


def _changes(steps: list[list[str]]) -> Counter:
    return Counter((op, kind) for op, kind in steps if op not in UNCHANGED)


def test_the_earlier_code_deployed_the_stack(upgrade):
    assert upgrade["deployed"]["ok"] and upgrade["deployed"]["steps"], upgrade["deployed"].get("log")


def test_the_preview_of_now_takes_only_the_expected_steps(upgrade):
    case: Case = upgrade["case"]
    changes = _changes(upgrade["preview"]["steps"])
    shown = "\n".join(f"{op} {kind}: {count}" for (op, kind), count in sorted(changes.items()))
    assert dict(changes) == case.expected, f"{case.commit} ({case.why}):\n{shown}\n{upgrade['preview']['log'][-3000:]}"


def test_no_service_account_is_made_again_or_deleted(upgrade):
    touched = [
        op for op, kind in upgrade["preview"]["steps"] if kind == SERVICE_ACCOUNT and op not in (*UNCHANGED, "update")
    ]
    assert touched == []
    assert any(kind == SERVICE_ACCOUNT for _, kind in upgrade["preview"]["steps"])


def test_the_code_of_now_destroys_what_the_earlier_code_made(upgrade):
    assert upgrade["destroy"]["ok"]
