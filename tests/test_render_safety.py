"""Careless `render` commands: nothing outside what Skillship made is touched, secrets stay the
owner's, and --json always answers with a JSON document."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from skillship.output.render import MARKER
from tests.support.jsondocs import check_document
from tests.test_render import render

SECRET_STACK = "  skillship:secrets:\n    hello:\n      api.token:\n        secure: v1:AAAA\n"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_out_at_a_regular_file_is_a_usage_error_and_the_file_is_kept(project, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    result = render(project, "local", target)
    assert result.exit_code == 2 and "is a file, not a folder" in result.stderr
    assert target.read_text() == "mine" and "Traceback" not in result.output


@pytest.mark.parametrize("where", [".", ".."])
def test_out_at_the_current_folder_the_project_or_the_workspace_is_refused_and_nothing_is_deleted(project, where):
    before = _snapshot(project)
    result = render(project, "local", Path(where))
    assert result.exit_code == 2, result.output
    assert "render replaces the whole folder" in result.stderr
    assert _snapshot(project) == before


def test_a_sibling_folder_named_like_the_staging_folder_is_never_deleted(project, tmp_path):
    theirs = tmp_path / ".out.rendering"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("not skillship's")
    assert render(project, "local", tmp_path / "out").exit_code == 0
    assert render(project, "local", tmp_path / "out").exit_code == 0
    assert (theirs / "keep.txt").read_text() == "not skillship's"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.rendering", "out", "project"]


@pytest.mark.parametrize("render_dir", ["/", "../elsewhere", "."])
def test_a_render_dir_outside_the_project_is_a_settings_error(project, tmp_path, render_dir):
    stack = project / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text() + f"  skillship:renderDir: {json.dumps(render_dir)}\n")
    before = _snapshot(project)
    result = render(project, "local", tmp_path / "out")
    assert result.exit_code == 2 and "skillship:render_dir" in result.stderr.replace("renderDir", "render_dir")
    assert "must be a folder inside the project" in result.stderr
    assert _snapshot(project) == before and not (tmp_path / "out").exists()


def _fake_pulumi(folder: Path) -> None:
    """Stands in for `pulumi config --show-secrets --json`, the one call --show-secrets makes."""
    folder.mkdir()
    script = folder / "pulumi"
    values = json.dumps(
        {"skillship:secrets": {"value": json.dumps({"hello": {"api.token": "s3cret"}}), "secret": True}}
    )
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{values}\nEOF\n")
    script.chmod(0o755)


def test_show_secrets_writes_files_only_their_owner_can_read(project, tmp_path, monkeypatch):
    _fake_pulumi(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    stack = project / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text() + SECRET_STACK)
    out = tmp_path / "out"
    result = render(project, "local", out, "--show-secrets")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert set(modes.values()) == {0o600}, modes
    assert any("s3cret" in p.read_text() for p in out.iterdir())
    # Without --show-secrets the same folder becomes ordinary again, as readable as the umask allows.
    assert render(project, "local", out).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) & 0o055 == 0o055 & ~_umask()
    assert not any("s3cret" in p.read_text() for p in out.iterdir())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_render_reads_the_stack_from_skillship_stack(project, tmp_path, monkeypatch):
    monkeypatch.setenv("SKILLSHIP_STACK", "dev")
    from skillship.cli import app
    from tests.test_render import runner

    cwd = os.getcwd()
    os.chdir(project)
    try:
        result = runner.invoke(app, ["render", "--out", str(tmp_path / "out")])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert all("skillship-dev" in p.read_text() for p in (tmp_path / "out").glob("*.yaml"))


@pytest.mark.parametrize(
    "case, code, needle",
    [
        ("unknown-stack", 2, "unknown stack 'qa'"),
        ("plan-error", 1, "which is not in the workspace"),
        ("missing-folder", 2, "no such directory"),
        ("unsafe-out", 2, "is a file, not a folder"),
    ],
)
def test_render_json_always_prints_a_json_document(project, tmp_path, case, code, needle):
    out, args, stack = tmp_path / "out", ["--json"], "local"
    if case == "unknown-stack":
        stack = "qa"
    elif case == "plan-error":
        file = project / "stacks/Pulumi.local.yaml"
        file.write_text(file.read_text() + "  skillship:skills: [nosuch]\n")
    elif case == "missing-folder":
        args += ["--workspace", str(tmp_path / "nowhere")]
    else:
        out.write_text("a file")
    result = render(project, stack, out, *args)
    assert result.exit_code == code, result.output
    document = check_document(json.loads(result.stdout))
    if case == "plan-error":  # what the stack refuses comes as validate reports it: located
        [problem] = document["diagnostics"]
        assert document["valid"] is False and needle in problem["message"]
        assert (problem["file"], problem["field"]) == ("stacks/Pulumi.local.yaml", "skillship:skills.0")
    else:
        assert document["exitCode"] == code and needle in document["error"]


def test_render_still_replaces_its_own_output_and_only_that(project, tmp_path):
    out = tmp_path / "out"
    assert render(project, "dev", out).exit_code == 0
    assert render(project, "local", out).exit_code == 0
    assert (out / MARKER).exists() and all("skillship-local" in p.read_text() for p in out.glob("*.yaml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "project"]  # no staging or old folder left


# --- where a render may go, and a swap that cannot lose the last render ------------------------


def test_a_render_dir_that_is_a_link_out_of_the_project_is_refused(project, tmp_path):
    from harness.project import cli_in

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "rendered").symlink_to(elsewhere, target_is_directory=True)
    result = cli_in(project, "render", "--stack", "local")
    assert result.exit_code == 2 and "leads outside the project" in result.stderr, result.output
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("chosen", [False, True], ids=["render-dir", "out"])
def test_a_render_among_the_skills_is_refused_before_it_changes_an_image_tag(project, chosen):
    from harness.project import cli_in

    inside = "skills/hello/actions/hello/rendered"
    if chosen:
        result = cli_in(project, "render", "--stack", "local", "--out", inside)
    else:
        stack = project / "stacks/Pulumi.local.yaml"
        stack.write_text(stack.read_text() + f"  skillship:renderDir: {inside}\n")
        result = cli_in(project, "render", "--stack", "local")
    assert result.exit_code == 2 and "inside their build contexts" in result.stderr, result.output
    assert not (project / "skills/hello/actions/hello/rendered").exists()


def test_the_program_refuses_a_render_dir_among_the_skills_too(tmp_path):
    from harness.project import copy_project
    from tests.support.program import run_program

    project = copy_project(tmp_path / "project")
    run = run_program(
        "local",
        {"target": "render", "renderDir": "skills/hello/actions/hello/out", "buildImages": False},
        program_dir=project,
    )
    assert run.error is not None and "inside their build contexts" in run.error["message"]
    assert run.kubernetes() == []


def _objects(namespace: str) -> list[dict]:
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"m{i}", "namespace": namespace}}
        for i in range(5)
    ]


def test_an_interrupt_while_writing_keeps_the_last_render_and_leaves_no_staging(tmp_path, monkeypatch):
    from skillship.output import render as rendering

    out = tmp_path / "out"
    rendering.write_objects(_objects("old"), out)
    before = _snapshot(out)
    calls = []

    def interrupted(path, text, mode):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(path, text, mode)

    original = rendering._write_new
    monkeypatch.setattr(rendering, "_write_new", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rendering.write_objects(_objects("new"), out)
    assert _snapshot(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_the_swap_leaves_the_new_render_and_nothing_else(tmp_path, monkeypatch, exchange):
    from skillship.output import render as rendering

    out = tmp_path / "out"
    rendering.write_objects(_objects("old"), out)
    if not exchange:
        monkeypatch.setattr(rendering, "_exchange", lambda first, second: False)
    else:
        assert rendering._exchange(tmp_path / "out", tmp_path / "out")  # this kernel exchanges
    rendering.write_objects(_objects("new"), out)
    assert all("namespace: new" in text.decode() for name, text in _snapshot(out).items() if name.endswith(".yaml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_interrupt_between_the_two_renames_puts_the_last_render_back(tmp_path, monkeypatch):
    from skillship.output import render as rendering

    out = tmp_path / "out"
    rendering.write_objects(_objects("old"), out)
    before = _snapshot(out)
    monkeypatch.setattr(rendering, "_exchange", lambda first, second: False)
    real_rename = Path.rename

    def interrupted(self, target):
        if Path(target) == out and self.name.endswith(".rendering"):
            raise KeyboardInterrupt  # the old render is parked, the new one not yet in place
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rendering.write_objects(_objects("new"), out)
    monkeypatch.setattr(Path, "rename", real_rename)
    assert _snapshot(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_render_killed_between_the_renames_is_repaired_by_the_next(tmp_path):
    """A kill cannot be caught: the old render stays parked beside the folder, and the next render
    puts it back before anything else, so a failing next render still leaves it in place."""
    from skillship.output import render as rendering

    out = tmp_path / "out"
    rendering.write_objects(_objects("old"), out)
    before = _snapshot(out)
    out.rename(tmp_path / ".out.previous")  # where the two-rename swap parks it
    with pytest.raises(rendering.RenderError):
        rendering.write_objects([{"kind": "ConfigMap", "metadata": {"name": "../x"}}], out)
    assert _snapshot(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    "output",
    [
        "not json",
        "[]",
        '{"skillship:secrets": []}',
        '{"skillship:secrets": {"value": "[1, 2]"}}',
        '{"skillship:secrets": {"value": {"hello": "flat"}}}',
        '{"skillship:secrets": {"value": {"hello": {"api.token": 7}}}}',
        '{"skillship:secrets": {"value": "{\\"hello\\": {\\"api.token\\": NaN}}"}}',
    ],
)
def test_pulumi_output_of_an_unexpected_shape_is_refused_without_a_crash(output):
    from skillship.cli.render import secrets_in_config_output

    assert secrets_in_config_output(output) is None


def test_pulumi_output_of_the_expected_shape_gives_the_secrets():
    from skillship.cli.render import secrets_in_config_output

    nested = '{"skillship:secrets": {"value": "{\\"hello\\": {\\"api.token\\": \\"t0k\\"}}", "secret": true}}'
    assert secrets_in_config_output(nested) == {"hello": {"api.token": "t0k"}}
    assert secrets_in_config_output("{}") == {} and secrets_in_config_output("") == {}  # no secrets set


def test_a_folder_of_the_users_where_render_would_park_is_never_touched(tmp_path, monkeypatch):
    from skillship.output import render as rendering

    out = tmp_path / "out"
    rendering.write_objects(_objects("old"), out)
    theirs = tmp_path / ".out.previous"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    rendering.write_objects(_objects("new"), out)  # the exchange: the parking place is not used
    monkeypatch.setattr(rendering, "_exchange", lambda first, second: False)
    with pytest.raises(rendering.RenderError, match="is in the way"):
        rendering.write_objects(_objects("newer"), out)
    assert (theirs / "notes.txt").read_text() == "mine"
    assert all("namespace: new" in t.decode() for n, t in _snapshot(out).items() if n.endswith(".yaml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.previous", "out"]
