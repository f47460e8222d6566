"""A project started by `skillship init` deploys with the real engine, as a new user's would."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from harness.stacks import make_stack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_an_initialised_project_renders_through_pulumi_up(tmp_path, engine_bin, cluster):
    project = tmp_path / "team-skills"
    done = subprocess.run([sys.executable, "-m", "skillship", "init", str(project)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    local = make_stack("local", project, engine_bin, cluster, tmp_path / "backend")
    (tmp_path / "backend").mkdir()
    tasks = local.up()["outputs"]["tasks"]
    assert list(tasks) == ["hello"] and tasks["hello"]["state"] == "Rendered"
    written = [yaml.safe_load(p.read_text()) for p in sorted((project / "rendered/local/pulumi").rglob("*.yaml"))]
    assert sorted((o["kind"], o["metadata"]["name"]) for o in written if o) == [
        ("Job", tasks["hello"]["job"]),
        ("Namespace", "team-skills-local"),
        ("NetworkPolicy", "hello-deny-ingress"),
        ("ServiceAccount", "hello"),
    ]
    local.destroy()
