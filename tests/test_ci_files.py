"""The CI files `skillship init --ci` writes (skillship/templates/ci/) are checked by the tools
made for them, use only pinned actions, keep every secret in the CI's store, and run the
pipeline's stages in the right order. The GitLab file runs end to end, with what its stages do,
in tests/e2e/test_installed_project.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from skillship.stack.stackfiles import load_stack
from tests.conftest import REPO

CI_TEMPLATES = REPO / "skillship" / "templates" / "ci"
WORKFLOW = CI_TEMPLATES / "github-workflow.yml"
GITLAB = CI_TEMPLATES / "gitlab-ci.yml"
# A tag can be moved to other code; a commit cannot. The comment says which release it is.
_PINNED = re.compile(r"^\s*-?\s*uses:\s*(?P<action>[\w.-]+/[\w.-]+)@(?P<commit>\S+)(?:\s+#\s*(?P<release>\S+))?$")


@pytest.fixture(scope="module")
def actionlint() -> Path:
    done = subprocess.run(
        ["bash", str(REPO / "tools" / "actionlint" / "build.sh")], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def _check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    command = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert command, "check-jsonschema is in the test extra"
    return subprocess.run([command, "--builtin-schema", schema, str(path)], capture_output=True, text=True, timeout=120)


def _broken_copy(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert old in text
    copy = tmp_path / source.name
    copy.write_text(text.replace(old, new, 1))
    return copy


def test_actionlint_passes_the_workflow_and_refuses_a_broken_one(actionlint, tmp_path):
    done = subprocess.run([str(actionlint), str(WORKFLOW)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = _broken_copy(tmp_path, WORKFLOW, "needs: deploy-dev", "needs: deploy-staging")
    refused = subprocess.run([str(actionlint), str(broken)], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "deploy-staging" in refused.stdout, refused.stdout


@pytest.mark.parametrize(
    ("schema", "path", "old", "new"),
    [
        ("vendor.github-workflows", WORKFLOW, "runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04"),
        ("vendor.gitlab-ci", GITLAB, "when: manual", "when: by-hand"),
    ],
)
def test_the_published_schemas_pass_each_file_and_refuse_a_broken_one(schema, path, old, new, tmp_path):
    done = _check_jsonschema(schema, path)
    assert done.returncode == 0, done.stdout + done.stderr
    refused = _check_jsonschema(schema, _broken_copy(tmp_path, path, old, new))
    assert refused.returncode == 1, refused.stdout


def test_every_action_is_pinned_to_a_commit_named_by_its_release():
    lines = [line for line in WORKFLOW.read_text().splitlines() if re.match(r"^\s*-?\s*uses:", line)]
    pins = [_PINNED.match(line) for line in lines]
    assert lines and None not in pins, lines
    unpinned = [p.group(0) for p in pins if p and not re.fullmatch(r"[0-9a-f]{40}", p["commit"])]
    unnamed = [p.group(0) for p in pins if p and not re.fullmatch(r"v\d+\.\d+\.\d+", p["release"] or "")]
    assert unpinned == [] and unnamed == []
    commits: dict[str, set[str]] = {}
    for pin in pins:
        assert pin is not None
        commits.setdefault(pin["action"], set()).add(f"{pin['commit']} {pin['release']}")
    assert all(len(found) == 1 for found in commits.values()), commits  # one release of each, everywhere


def test_secrets_come_from_the_ci_secret_store_only():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    secret_like = re.compile(r"PASSPHRASE|TOKEN|PASSWORD|KUBECONFIG")
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and secret_like.search(str(key)):
                    found.append((key, value))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(workflow)
    assert found
    assert all(re.fullmatch(r"\$\{\{ (secrets|github)\.[A-Za-z_.]+ \}\}", value) for _, value in found), found
    gitlab = yaml.safe_load(GITLAB.read_text())
    assert not secret_like.search(" ".join(gitlab.get("variables", {})))  # set in GitLab's settings, not here


def _commands(scripts: list[str]) -> list[str]:
    return [line.strip() for script in scripts for line in script.splitlines() if "skillship-pipeline" in line]


def test_both_files_preview_deploy_and_promote_in_order():
    workflow = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    github = {name: _commands([s.get("run", "") for s in job["steps"]]) for name, job in workflow.items()}
    gitlab_file = yaml.safe_load(GITLAB.read_text())
    gitlab = {
        name: _commands(job["script"]) for name, job in gitlab_file.items() if isinstance(job, dict) and "script" in job
    }
    expected = {
        "preview": ["skillship-pipeline preview --stack dev --summary preview.md"],
        "deploy-dev": ["skillship-pipeline deploy --stack dev"],
        "promote-staging": ["skillship-pipeline promote --stack staging"],
        "promote-prod": ["skillship-pipeline promote --stack prod"],
        "nightly-dev": ["skillship-pipeline deploy --stack dev --all --refresh"],
    }
    assert github == expected and gitlab == expected
    assert (workflow["promote-staging"]["needs"], workflow["promote-prod"]["needs"]) == (
        "deploy-dev",
        "promote-staging",
    )
    assert (gitlab_file["promote-staging"]["needs"], gitlab_file["promote-prod"]["needs"]) == (
        ["deploy-dev"],
        ["promote-staging"],
    )
    # Approval: GitHub's environments with required reviewers, GitLab's manual jobs.
    assert [workflow[j]["environment"] for j in ("promote-staging", "promote-prod")] == ["staging", "prod"]
    branch_rules = [
        r for j in ("promote-staging", "promote-prod") for r in gitlab_file[j]["rules"] if "SOURCE" not in r["if"]
    ]
    assert branch_rules and all(r.get("when") == "manual" for r in branch_rules)


def _gitlab_runs(job: dict, variables: dict[str, str]) -> bool:
    """Whether a GitLab job runs in a pipeline of these variables: its first rule that matches
    decides (the rules here compare one variable with a string or another variable)."""
    for rule in job["rules"]:
        left, _, right = rule["if"].partition(" == ")
        value = variables.get(left.strip().lstrip("$"))
        wanted = right.strip()
        wanted = variables.get(wanted.lstrip("$")) if wanted.startswith("$") else wanted.strip('"')
        if value == wanted:
            return rule.get("when", "on_success") != "never"
    return False


def test_the_nightly_run_deploys_every_stack_of_dev_and_nothing_else():
    gitlab_file = yaml.safe_load(GITLAB.read_text())
    jobs = {name: job for name, job in gitlab_file.items() if isinstance(job, dict) and "script" in job}
    on_main = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}
    scheduled = {**on_main, "CI_PIPELINE_SOURCE": "schedule"}
    assert sorted(name for name, job in jobs.items() if _gitlab_runs(job, scheduled)) == ["nightly-dev"]
    assert sorted(name for name, job in jobs.items() if _gitlab_runs(job, on_main)) == [
        "deploy-dev",
        "promote-prod",
        "promote-staging",
    ]
    workflow = yaml.safe_load(WORKFLOW.read_text())
    events = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert "schedule" in events and "workflow_dispatch" in events
    jobs = workflow["jobs"]
    assert "schedule" in jobs["nightly-dev"]["if"] and "schedule" not in jobs["deploy-dev"]["if"]
    # A push's deploy and the nightly one deploy the same stacks: never at once.
    assert jobs["nightly-dev"]["concurrency"]["group"] == jobs["deploy-dev"]["concurrency"]["group"]


def test_the_stacks_the_files_promote_take_dev_images():
    """staging runs what dev ran, and prod what staging ran: dev's digests all the way."""
    assert load_stack(REPO, "staging").settings.promote_from == "dev"
    assert load_stack(REPO, "prod").settings.promote_from == "staging"
    assert load_stack(REPO, "dev").settings.builds


def test_the_pipeline_without_pulumi_says_what_to_install():
    code = (
        "import runpy, sys; sys.modules['pulumi'] = None; runpy.run_module('skillship_pipeline', run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "install skillship[deploy]" in done.stderr


def test_the_github_preview_keeps_one_comment_and_skips_forks():
    preview = yaml.safe_load(WORKFLOW.read_text())["jobs"]["preview"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in preview["if"]
    [post] = [s["run"] for s in preview["steps"] if "gh pr comment" in s.get("run", "")]
    assert post.split() == [
        "gh",
        "pr",
        "comment",
        '"$PR"',
        "--body-file",
        "preview.md",
        "--edit-last",
        "--create-if-none",
    ]
