"""The pipeline validates in its own process (one read and one plan of the workspace serve the whole
stage) and says what `skillship validate --stack` says: the same lines, the same verdict, and nothing
deployed from a workspace or stack that does not validate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PIPELINE = Path(sys.executable).parent / "skillship-pipeline"


def _break_the_stack(project: Path) -> None:
    """A workspace that validates with a warning (an unknown runtime), and a stack that names a skill
    it does not hold: both are said, the warning first."""
    skill = project / "skills" / "hello" / "skill.yaml"
    skill.write_text(skill.read_text().replace("runtime: cortex/jobs", "runtime: 7"))
    stack = project / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("    - consumer\n", "    - consumer\n    - nosuch\n"))


def _break_a_skill(project: Path) -> None:
    skill = project / "skills" / "hello" / "skill.yaml"
    skill.write_text(skill.read_text().replace("required: true", "required: [1]"))


@pytest.mark.parametrize("breaking", [_break_the_stack, _break_a_skill], ids=["stack", "skill"])
def test_the_pipeline_says_what_validate_says_and_deploys_nothing(breaking, project, tmp_path):
    breaking(project)
    cli = subprocess.run(
        [sys.executable, "-m", "skillship", "validate", "--stack", "dev"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert cli.returncode == 1, cli.stderr
    said = [line for line in (cli.stdout + cli.stderr).splitlines() if line.strip()]
    assert any(": error:" in line for line in said) and said[-1].startswith("invalid - ")
    assert breaking is _break_a_skill or any(": warning:" in line for line in said)

    # A pulumi that records each call: none may start before the verdict, and none may change anything.
    calls = tmp_path / "calls"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pulumi").write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexit 0\n')
    (fake / "pulumi").chmod(0o755)
    done = subprocess.run(
        [str(PIPELINE), "deploy", "--stack", "dev", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{fake}:/usr/bin:/bin"},
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [(s["step"], s["exitCode"]) for s in report["steps"]] == [("validate", 1)]
    log = done.stderr.splitlines()
    start = log.index("validate --stack dev (the checks of `skillship validate --stack`)")
    assert log[start + 1 : start + 1 + len(said)] == said
    asked = calls.read_text().splitlines() if calls.exists() else []
    assert all(line.startswith("stack history") for line in asked), asked  # read while validating, nothing else
