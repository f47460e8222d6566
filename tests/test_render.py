"""`skillship render`: schema-valid, deterministic, golden, and exact about what a change touches."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.schemas import schema_errors
from skillship.cli import app
from skillship.output.render import MARKER
from tests.conftest import REPO
from tests.support.jsondocs import check_document

STACKS = ["local", "dev", "staging", "prod", "e2e"]
GOLDEN = REPO / "tests" / "golden"
runner = CliRunner()


def render(project: Path, stack: str, out: Path, *args: str):
    cwd = os.getcwd()
    os.chdir(project)
    try:
        return runner.invoke(app, ["render", "--stack", stack, "--out", str(out), *args])
    finally:
        os.chdir(cwd)


def files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.glob("*.yaml"))}


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_manifest_passes_strict_schemas(tmp_path, stack):
    result = render(REPO, stack, tmp_path / stack)
    assert result.exit_code == 0, result.output
    rendered = files(tmp_path / stack)
    assert rendered
    for name, text in rendered.items():
        assert schema_errors(yaml.safe_load(text)) == [], name


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_manifests_match_the_golden_files(tmp_path, stack):
    """Every change to what we deploy shows in review. SKILLSHIP_UPDATE_GOLDEN=1 rewrites them (never in CI)."""
    result = render(REPO, stack, tmp_path / stack)
    assert result.exit_code == 0, result.output
    golden = GOLDEN / stack
    if os.environ.get("SKILLSHIP_UPDATE_GOLDEN") == "1" and not os.environ.get("CI"):
        shutil.rmtree(golden, ignore_errors=True)
        golden.mkdir(parents=True)
        for name, text in files(tmp_path / stack).items():
            (golden / name).write_text(text)
    assert files(tmp_path / stack) == files(golden)


def _templates(obj: dict) -> list[dict]:
    """The pod (or Job) templates inside an object, at any depth."""
    found = []
    for key, value in obj.items():
        if isinstance(value, dict):
            found += ([value] if key in ("template", "jobTemplate") else []) + _templates(value)
    return found


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_every_object_tells_the_provider_how_to_apply_and_delete_it_and_no_template_does(tmp_path, stack):
    """Skillship's apply takes its fields back from any other manager (a hand edit, the shard a
    moved skill left), and its deletes wait for no pass of the garbage collector; on a template
    the annotations would themselves be a change, and re-run a Job."""
    assert render(REPO, stack, tmp_path / stack).exit_code == 0
    objects = [yaml.safe_load(text) for text in files(tmp_path / stack).values()]
    kinds = {obj["kind"] for obj in objects}
    assert {"Job", "Deployment", "ServiceAccount", "NetworkPolicy", "Namespace"} <= kinds, kinds
    assert sum(len(_templates(obj)) for obj in objects) >= 2  # a Job's and a Deployment's at least
    for obj in objects:
        annotations = obj["metadata"]["annotations"]
        assert annotations["pulumi.com/patchForce"] == "true", obj["metadata"]["name"]
        assert annotations["pulumi.com/deletionPropagationPolicy"] == "background", obj["metadata"]["name"]
        for template in _templates(obj):
            assert not any(
                key.startswith("pulumi.com/") for key in (template.get("metadata") or {}).get("annotations", {})
            )


def test_rendering_twice_gives_identical_files(tmp_path):
    assert render(REPO, "dev", tmp_path / "a").exit_code == 0
    assert render(REPO, "dev", tmp_path / "b").exit_code == 0
    assert files(tmp_path / "a") == files(tmp_path / "b")


def test_one_changed_file_changes_exactly_one_tag_and_one_job(project, tmp_path):
    assert render(project, "staging", tmp_path / "before").exit_code == 0
    main = project / "skills/hello/actions/hello/main.py"
    main.write_text(main.read_text() + "# a change\n")
    assert render(project, "staging", tmp_path / "after").exit_code == 0
    before, after = files(tmp_path / "before"), files(tmp_path / "after")
    changed = {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}
    jobs = {n for n in changed if "-job-" in n}
    assert len(jobs) == 2 and all("-job-hello-" in n for n in jobs)  # the old Job goes, a new one comes
    assert changed == jobs
    [old] = [n for n in jobs if n in before]
    [new] = [n for n in jobs if n in after]
    old_image = yaml.safe_load(before[old])["spec"]["template"]["spec"]["containers"][0]["image"]
    new_image = yaml.safe_load(after[new])["spec"]["template"]["spec"]["containers"][0]["image"]
    assert old_image.split(":")[0] == new_image.split(":")[0] and old_image != new_image


def test_render_json_lists_every_file(tmp_path):
    result = render(REPO, "prod", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    report = check_document(json.loads(result.stdout))
    assert report["stack"] == "prod"
    assert [Path(o["file"]).name for o in report["objects"]] == sorted(files(tmp_path / "out"))
    assert {o["kind"] for o in report["objects"]} >= {"Namespace", "PeerAuthentication", "Job", "NetworkPolicy"}


def test_render_redacts_secrets(project, tmp_path):
    stack = project / "stacks/Pulumi.local.yaml"
    stack.write_text(
        stack.read_text() + "  skillship:secrets:\n    hello:\n      api.token:\n        secure: v1:AAAA\n"
    )
    result = render(project, "local", tmp_path / "out")
    assert result.exit_code == 0, result.output
    [secret] = [yaml.safe_load(t) for n, t in files(tmp_path / "out").items() if "-secret-" in n]
    assert secret["stringData"] == {"api.token": "<redacted>"}
    assert "v1:AAAA" not in "".join(files(tmp_path / "out").values())


def test_show_secrets_needs_the_pulumi_cli(project, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    stack = project / "stacks/Pulumi.local.yaml"
    stack.write_text(
        stack.read_text() + "  skillship:secrets:\n    hello:\n      api.token:\n        secure: v1:AAAA\n"
    )
    result = render(project, "local", tmp_path / "out", "--show-secrets")
    assert result.exit_code == 2
    assert "needs the pulumi CLI" in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_stack_is_a_usage_error(tmp_path):
    result = render(REPO, "qa", tmp_path / "out")
    assert result.exit_code == 2
    assert "unknown stack 'qa' (stacks: dev, e2e, local, prod, staging)" in result.stderr


def test_invalid_workspace_renders_nothing(project, tmp_path):
    skill = project / "skills/hello/skill.yaml"
    skill.write_text(skill.read_text().replace("camel: 1.0.0", "camel: 9"))
    result = render(project, "local", tmp_path / "out")
    assert result.exit_code == 1
    assert "camel-version" in result.stdout
    assert not (tmp_path / "out").exists()


def test_an_unreadable_build_context_fails_render_naming_the_file(project, tmp_path, monkeypatch):
    """root reads every file, so the refusal to read is simulated at the one place files are opened."""
    from skillship.images import digest

    real = digest._content_hash

    def refuse_secret(path, size, mode):
        if path.endswith("/hello/main.py"):
            raise PermissionError(13, "Permission denied", path)
        return real(path, size, mode)

    monkeypatch.setattr(digest, "_content_hash", refuse_secret)
    monkeypatch.setenv("SKILLSHIP_CACHE_DIR", "off")
    result = render(project, "local", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert (
        "skills/hello/actions/hello/main.py: error: build context skills/hello/actions/hello: Permission denied "
        "[build-context]"
    ) in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_render_json_of_an_invalid_workspace_is_validates_report(project, tmp_path):
    """With --json, stdout stays JSON even when nothing is rendered: the report `validate --json` prints."""
    skill = project / "skills/hello/skill.yaml"
    skill.write_text(skill.read_text().replace("camel: 1.0.0", "camel: 9"))
    result = render(project, "local", tmp_path / "out", "--json")
    assert result.exit_code == 1
    report = check_document(json.loads(result.stdout))
    assert report["valid"] is False and report["version"] == 1
    assert [(d["code"], d["file"], d["line"]) for d in report["diagnostics"]] == [
        ("camel-version", "skills/hello/skill.yaml", 1)
    ]
    assert not (tmp_path / "out").exists()


def test_render_refuses_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    result = render(REPO, "local", out)
    assert result.exit_code == 1
    assert "did not write" in result.stderr
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_render_replaces_its_own_earlier_output(tmp_path):
    out = tmp_path / "out"
    assert render(REPO, "dev", out).exit_code == 0
    assert render(REPO, "local", out).exit_code == 0
    assert (out / MARKER).exists()
    assert all("skillship-local" in t for t in files(out).values())


def test_bad_settings_are_a_usage_error_that_writes_nothing(project, tmp_path):
    stack = project / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text() + "  skillship:backoffLimit: 99\n")
    result = render(project, "local", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "backoffLimit" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_big_render_summarises_by_kind_and_lists_every_object_when_asked(tmp_path):
    """Thousands of rows nobody reads were most of a big render's time: past TABLE_ROWS objects the
    table counts them by kind, and --table lists each."""
    from bench.commands import project as bench_project
    from skillship.cli.render import TABLE_ROWS

    project = bench_project(tmp_path, 30)
    summary = render(project, "local", tmp_path / "out")
    assert summary.exit_code == 0, summary.output
    written = sorted((tmp_path / "out").glob("*.yaml"))
    assert len(written) > TABLE_ROWS
    assert f"{len(written)} objects" in summary.stdout and "(--table lists each)" in summary.stdout
    assert written[-1].name not in summary.stdout  # no row per object
    listed = render(project, "local", tmp_path / "out", "--table")
    assert listed.exit_code == 0 and all(p.name in listed.stdout for p in written)
