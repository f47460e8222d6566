"""`skillship-pipeline` before any stage runs: what it needs, said in one line, also as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conftest import REPO

PIPELINE = Path(sys.executable).parent / "skillship-pipeline"


def _pipeline(*args: str, path: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path}
    return subprocess.run([str(PIPELINE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("stage", ["preview", "deploy", "promote"])
def test_without_the_pulumi_cli_every_stage_says_so_at_once(stage, tmp_path):
    # A PATH with the tools a runner has, and no pulumi.
    bare = tmp_path / "bin"
    bare.mkdir()
    done = _pipeline(stage, "--stack", "dev", "--json", path=f"{bare}:/usr/bin:/bin")
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: skillship-pipeline runs the Pulumi CLI, and there is no `pulumi` on PATH")
    assert json.loads(done.stdout) == {
        "error": line.removeprefix("error: "),
        "exitCode": 2,
        "skillshipVersion": version("skillship"),
    }


def test_an_unknown_stack_is_json_too_with_json(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pulumi").write_text("#!/bin/sh\nexit 0\n")  # found on PATH; never reached
    (fake / "pulumi").chmod(0o755)
    done = _pipeline("deploy", "--stack", "nowhere", "--json", path=f"{fake}:/usr/bin:/bin")
    assert done.returncode == 2
    report = json.loads(done.stdout)
    assert report["exitCode"] == 2 and "unknown stack 'nowhere'" in report["error"]


@pytest.mark.parametrize("stage", ["preview", "deploy"])
def test_skill_and_all_together_are_a_usage_error_before_any_work(stage, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pulumi").write_text("#!/bin/sh\nexit 0\n")  # found on PATH; never reached
    (fake / "pulumi").chmod(0o755)
    done = _pipeline(stage, "--stack", "dev", "--skill", "hello", "--all", "--json", path=f"{fake}:/usr/bin:/bin")
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout)["error"].startswith("--skill deploys some skills only and --all every stack")
    assert "validate" not in done.stderr  # refused before the workspace was read
