"""`skillship validate` and `skillship new`, as a user calls them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from skillship.cli import app
from tests.conftest import REPO
from tests.support.jsondocs import check_document

runner = CliRunner()


def test_validate_example_exits_zero():
    result = runner.invoke(app, ["validate", str(REPO / "skills")])
    assert result.exit_code == 0, result.output
    assert "valid - 3 skill(s), 1 agent(s): 0 error(s), 0 warning(s)" in result.stderr


def test_validate_broken_exits_one_and_names_file_line_field(example_copy):
    skill = example_copy / "skills/hello/skill.yaml"
    skill.write_text(skill.read_text().replace("action: hello", "action: nope"))
    result = runner.invoke(app, ["validate", str(example_copy)])
    assert result.exit_code == 1
    line = next(n for n, t in enumerate(skill.read_text().splitlines(), 1) if "action: nope" in t)
    assert f"skills/hello/skill.yaml:{line}: inputs[0].routing.all.action: error:" in result.stdout
    assert "nothing can be deployed" in result.stderr


def test_validate_json_report_is_machine_readable(example_copy):
    (example_copy / "skills/hello/invoke/request/message.json").write_text("{")
    result = runner.invoke(app, ["validate", "--json", str(example_copy)])
    assert result.exit_code == 1
    report = check_document(json.loads(result.stdout))
    assert report["version"] == 1 and report["valid"] is False and report["errors"] == 1
    [diagnostic] = report["diagnostics"]
    assert set(diagnostic) == {"file", "line", "field", "severity", "code", "message"}
    assert (diagnostic["code"], diagnostic["line"], diagnostic["severity"]) == ("invoke-json", 1, "error")


def test_validate_missing_directory_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such directory" in result.stderr


@pytest.mark.parametrize("kind", ["job", "daemon"])
def test_new_skill_validates(example_copy, kind):
    result = runner.invoke(app, ["new", "fresh-skill", "--type", kind, "-w", str(example_copy)])
    assert result.exit_code == 0, result.output
    created = example_copy / "skills/fresh-skill"
    assert sorted(p.relative_to(created).as_posix() for p in created.rglob("*") if p.is_file()) == [
        "actions/fresh-skill/.dockerignore",
        "actions/fresh-skill/Dockerfile",
        "actions/fresh-skill/main.py",
        "actions/fresh-skill/requirements.txt",
        "invoke/request/message.json",
        "skill.yaml",
    ]
    assert "FROM python:3.12.8-slim-bookworm" in (created / "actions/fresh-skill/Dockerfile").read_text()
    check = runner.invoke(app, ["validate", "--json", str(example_copy)])
    assert check.exit_code == 0, check.stdout
    assert "fresh-skill" in json.loads(check.stdout)["skills"]


def test_new_skill_leaves_python_caches_out_of_its_image_at_any_depth(example_copy):
    """Docker anchors ignore patterns at the context root: without `**/`, running the code locally
    would put nested caches into the image and move its tag for nothing."""
    from skillship.images.digest import context_files, digest_context

    runner.invoke(app, ["new", "cached", "-w", str(example_copy)])
    context = example_copy / "skills/cached/actions/cached"
    before = digest_context(context)
    for cache in (context / "__pycache__", context / "pkg" / "__pycache__"):
        cache.mkdir(parents=True)
        (cache / "main.cpython-312.pyc").write_bytes(b"\x00" * 64)
    (context / "pkg" / "util.pyc").write_bytes(b"\x00" * 8)
    assert not any("pyc" in name or "__pycache__" in name for name in context_files(context))
    assert digest_context(context) == before


def test_new_job_runs_locally_with_its_message(example_copy):
    runner.invoke(app, ["new", "runme", "-w", str(example_copy)])
    skill = example_copy / "skills/runme"
    message = (skill / "invoke/request/message.json").read_text()
    done = subprocess.run(
        [sys.executable, str(skill / "actions/runme/main.py"), message], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == 'Received: {"text": "hello from runme"}'


def test_new_job_reads_a_large_message_from_a_file(example_copy, tmp_path):
    runner.invoke(app, ["new", "bigmsg", "-w", str(example_copy)])
    message = tmp_path / "message.json"
    message.write_text(json.dumps({"payload": {"text": "x" * 200_000}}))
    done = subprocess.run(
        [sys.executable, str(example_copy / "skills/bigmsg/actions/bigmsg/main.py"), f"@{message}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(done.stdout) > 200_000


@pytest.mark.parametrize("name", ["1abc", "with space", "trailing-", "x" * 21, "a/b", "ünï"])
def test_new_refuses_bad_names_and_writes_nothing(example_copy, name):
    before = sorted(p.name for p in (example_copy / "skills").iterdir())
    result = runner.invoke(app, ["new", name, "-w", str(example_copy)])
    assert result.exit_code == 2
    assert "must start with a letter" in result.stderr
    assert sorted(p.name for p in (example_copy / "skills").iterdir()) == before


def test_new_refuses_an_existing_skill(example_copy):
    before = (example_copy / "skills/hello/skill.yaml").read_text()
    result = runner.invoke(app, ["new", "hello", "-w", str(example_copy)])
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert (example_copy / "skills/hello/skill.yaml").read_text() == before


def test_warnings_alone_exit_zero_and_are_shown(example_copy):
    consumer = example_copy / "skills/consumer/skill.yaml"
    consumer.write_text(consumer.read_text().replace("    port: 5000\n", ""))  # daemon-port: a warning
    result = runner.invoke(app, ["validate", "-w", str(example_copy)])
    assert result.exit_code == 0, result.output
    assert "daemon-port" in result.output
