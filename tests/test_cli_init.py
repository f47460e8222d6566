"""`skillship init` starts a project a user can render and deploy; `new` needs a workspace; one
setting names the workspace that `render` and `pulumi up` both read."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from skillship.cli import app
from tests.conftest import REPO
from tests.support.program import run_program
from tests.support.project import cli_in, copy_project

runner = CliRunner()


def test_init_starts_a_project_that_validates_renders_and_deploys_under_mocks(tmp_path):
    project = tmp_path / "team-skills"
    result = runner.invoke(app, ["init", str(project)])
    assert result.exit_code == 0, result.output
    assert {"Pulumi.yaml", "__main__.py", "requirements.txt", "stacks", "skills", "agents"} <= {
        p.name for p in project.iterdir()
    }
    assert "name: team-skills" in (project / "Pulumi.yaml").read_text()
    assert cli_in(project, "validate").exit_code == 0
    rendered = cli_in(project, "render", "--stack", "local", "--json")
    assert rendered.exit_code == 0, rendered.output
    assert (project / "rendered/local/manifests").is_dir()
    run = run_program(
        "local", {"target": "render", "namespace": "team-skills-local", "buildImages": False}, program_dir=project
    )
    assert run.error is None, run.error
    assert [r["name"] for r in run.kubernetes() if r["type"] == "kubernetes:batch/v1:Job"] == ["skillship-hello-job"]


def test_the_program_a_project_starts_with_is_this_projects_own():
    template = REPO / "skillship/templates/project/__main__.py"
    assert template.read_text() == (REPO / "__main__.py").read_text()


def test_init_in_an_existing_repository_keeps_its_files_and_refuses_a_project(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".gitignore").write_text("mine\n")
    (repo / "README.md").write_text("theirs")
    assert runner.invoke(app, ["init", str(repo)]).exit_code == 0
    assert (repo / ".gitignore").read_text() == "mine\n" and (repo / "README.md").read_text() == "theirs"
    before = sorted(str(p) for p in repo.rglob("*"))
    again = runner.invoke(app, ["init", str(repo)])
    assert again.exit_code == 1 and "only starts new projects" in again.stderr
    assert sorted(str(p) for p in repo.rglob("*")) == before


def test_new_outside_a_workspace_writes_nothing_and_points_to_init(tmp_path):
    result = cli_in(tmp_path, "new", "fresh")
    assert result.exit_code == 2 and "skillship init" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_render_and_the_program_deploy_the_workspace_the_stack_names(tmp_path):
    project = copy_project(tmp_path / "project", ("__main__.py", "Pulumi.yaml", "components", "stacks"))
    for item in ("skills", "agents"):
        shutil.copytree(REPO / item, project / "fabric" / item)
    shutil.rmtree(project / "fabric/skills/producer")
    shutil.rmtree(project / "fabric/skills/consumer")
    (project / "fabric/agents/stream.yaml").unlink()
    stack = project / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text() + "  skillship:workspace: fabric\n")
    rendered = cli_in(project, "render", "--stack", "local", "--json", "--out", str(tmp_path / "out"))
    assert rendered.exit_code == 0, rendered.output
    jobs = sorted(p.name for p in (tmp_path / "out").glob("*-job-*.yaml"))
    assert len(jobs) == 1 and "-job-hello-" in jobs[0]
    run = run_program(
        "local",
        {"target": "render", "namespace": "skillship-local", "buildImages": False, "workspace": "fabric"},
        program_dir=project,
    )
    assert run.error is None, run.error
    assert [r["name"] for r in run.kubernetes() if r["type"] == "kubernetes:batch/v1:Job"] == ["skillship-hello-job"]
    # -w elsewhere still renders, and says that `pulumi up` deploys the stack's setting
    other = cli_in(project, "render", "--stack", "local", "-w", str(REPO), "--out", str(tmp_path / "other"))
    assert other.exit_code == 0 and "deploys fabric" in other.stderr


def test_init_that_fails_halfway_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    from skillship import scaffold

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("theirs")
    written = []

    def fail_on_the_fifth(path, *args, **kwargs):
        written.append(path)
        if len(written) == 5:
            raise OSError(28, "No space left on device")
        return open(path, *args, **kwargs)

    monkeypatch.setattr(scaffold, "open", fail_on_the_fifth, raising=False)
    result = runner.invoke(app, ["init", str(repo)])
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert [p.name for p in repo.iterdir()] == ["README.md"]
