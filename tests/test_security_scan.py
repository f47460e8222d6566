"""A Kubernetes security scanner (checkov, in a virtualenv of its own) finds nothing in what we deploy.

Two findings are accepted, each for a reason (docs/objects.md: "Security"):
- CKV_K8S_15 (imagePullPolicy Always): cluster stacks run images by digest, which cannot change
  under the same reference, so IfNotPresent is correct and saves a registry round trip per pod.
- CKV_K8S_43 (image by digest) in `render` output only: a render has built nothing, so it names the
  content tag. The Jobs `pulumi up` declares are scanned too, and there the digest rule must pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.program import REPO, run_program, stack_config
from tests.test_render import render

pytestmark = pytest.mark.scanner
STACKS = ["local", "dev", "staging", "prod"]
ACCEPTED_EVERYWHERE = {"CKV_K8S_15"}
ACCEPTED_IN_RENDER = {"CKV_K8S_43"}


@pytest.fixture(scope="module")
def checkov() -> str:
    path = os.environ.get("SKILLSHIP_CHECKOV") or shutil.which("checkov")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the scanner: .ci/run installs checkov and sets SKILLSHIP_CHECKOV")
        pytest.skip("checkov is not installed (.ci/run installs it in its own virtualenv)")
    return path


def scan(checkov: str, folder: Path) -> list[dict]:
    done = subprocess.run(
        [
            checkov,
            "-d",
            str(folder),
            "--framework",
            "kubernetes",
            "--quiet",
            "--compact",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if not done.stdout.strip():
        raise AssertionError(f"checkov printed nothing: {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    assert all(r.get("check_type") == "kubernetes" for r in reports)
    assert sum(r["summary"]["passed"] for r in reports) > 0, "the scanner checked nothing"
    return [check for r in reports for check in r["results"]["failed_checks"]]


def test_rendered_manifests_have_no_findings(checkov, tmp_path):
    for stack in STACKS:
        assert render(REPO, stack, tmp_path / stack).exit_code == 0
    findings = [
        f"{f['check_id']} {f['check_name']} in {Path(f['file_path']).name}"
        for f in scan(checkov, tmp_path)
        if f["check_id"] not in ACCEPTED_EVERYWHERE | ACCEPTED_IN_RENDER
    ]
    assert findings == []


def test_deployed_jobs_run_images_by_digest_and_have_no_findings(checkov, tmp_path):
    for stack in ("dev", "staging", "prod"):
        run = run_program(stack, stack_config(stack))
        assert run.error is None, run.error
        for resource in run.kubernetes():
            obj = run.manifest(resource)
            (tmp_path / f"{stack}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml").write_text(yaml.safe_dump(obj))
    findings = [
        f"{f['check_id']} {f['check_name']} in {Path(f['file_path']).name}"
        for f in scan(checkov, tmp_path)
        if f["check_id"] not in ACCEPTED_EVERYWHERE
    ]
    assert findings == []
