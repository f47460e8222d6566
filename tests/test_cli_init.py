"""`skillship init` starts a project a user can render and deploy; `new` needs a workspace; one
setting names the workspace that `render` and `pulumi up` both read."""

from __future__ import annotations

import re
import shutil
from importlib import metadata, resources

import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from typer.testing import CliRunner

from harness.project import cli_in, copy_project
from skillship.cli import app
from skillship.stack.stackfiles import load_stack
from tests.conftest import REPO
from tests.support.program import run_program

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


def _requirements(project) -> list[Requirement]:
    lines = (project / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def test_the_project_asks_for_this_skillships_compatible_releases_not_a_path(tmp_path):
    assert runner.invoke(app, ["init", str(tmp_path / "p")]).exit_code == 0
    [wanted] = _requirements(tmp_path / "p")
    assert wanted.name == "skillship" and wanted.extras == {"deploy"} and wanted.url is None
    installed = Version(metadata.version("skillship"))
    assert str(wanted.specifier) == f"~={installed.base_version}"
    assert wanted.specifier.contains(installed.base_version)
    following_patch = Version(f"{installed.major}.{installed.minor}.{installed.micro + 1}")
    next_minor = Version(f"{installed.major}.{installed.minor + 1}.0")
    assert wanted.specifier.contains(following_patch) and not wanted.specifier.contains(next_minor)
    assert not wanted.specifier.contains("0.0.0")  # the unrelated placeholder of the name on PyPI


def _stack_commands(ci_file) -> set[str]:
    return set(re.findall(r"skillship-pipeline \w+ --stack (\w+)", ci_file.read_text()))


@pytest.mark.parametrize(
    ("ci", "path", "template"),
    [
        ("github", ".github/workflows/skillship.yml", "github-workflow.yml"),
        ("gitlab", ".gitlab-ci.yml", "gitlab-ci.yml"),
    ],
)
def test_init_with_a_ci_file_makes_every_stack_it_deploys(tmp_path, ci, path, template):
    project = tmp_path / "data-jobs"
    result = runner.invoke(app, ["init", str(project), "--ci", ci])
    assert result.exit_code == 0, result.output
    ci_file = project / path
    assert ci_file.read_text() == resources.files("skillship.templates").joinpath("ci", template).read_text()
    stacks = {p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (project / "stacks").iterdir()}
    assert stacks == {"local", "dev", "staging", "prod"} and _stack_commands(ci_file) == {"dev", "staging", "prod"}
    for stack in sorted(stacks):
        checked = cli_in(project, "validate", "--stack", stack, "--json")
        assert checked.exit_code == 0, checked.output
    assert load_stack(project, "staging").settings.promote_from == "dev"
    assert load_stack(project, "prod").settings.promote_from == "staging"
    assert load_stack(project, "dev").settings.builds
    readme = (project / "README.md").read_text()
    assert readme.startswith("# data-jobs\n") and path in readme and "## CI" in readme
    # the README's commands are the project's: its stacks and the secret under Skillship's namespace
    assert "pulumi config set --stack dev --secret skillship:registryPassword" in readme
    assert path in result.stderr and "stacks: local, dev, staging, prod" in result.stderr
    assert f"asks for skillship[deploy]~={Version(metadata.version('skillship')).base_version}" in result.stderr


def test_init_without_a_ci_file_makes_the_stacks_one_works_with_by_hand(tmp_path):
    project = tmp_path / "p"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    assert sorted(p.name for p in (project / "stacks").iterdir()) == ["Pulumi.dev.yaml", "Pulumi.local.yaml"]
    assert not (project / ".github").exists() and not (project / ".gitlab-ci.yml").exists()
    assert "## CI" not in (project / "README.md").read_text()
    assert {".venv/", "/rendered/"} <= set((project / ".gitignore").read_text().splitlines())


def test_an_unknown_ci_is_a_usage_error_that_writes_nothing(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "p"), "--ci", "jenkins"])
    assert result.exit_code == 2 and "jenkins" in result.output
    assert not (tmp_path / "p").exists()


def test_init_beside_other_workflows_adds_its_own_and_refuses_to_replace_one(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".github/workflows").mkdir(parents=True)
    (repo / ".github/workflows/lint.yml").write_text("theirs\n")
    assert runner.invoke(app, ["init", str(repo), "--ci", "github"]).exit_code == 0
    assert sorted(p.name for p in (repo / ".github/workflows").iterdir()) == ["lint.yml", "skillship.yml"]
    assert (repo / ".github/workflows/lint.yml").read_text() == "theirs\n"

    other = tmp_path / "other"
    (other / ".github/workflows").mkdir(parents=True)
    (other / ".github/workflows/skillship.yml").write_text("theirs\n")
    (other / ".gitlab-ci.yml").write_text("theirs\n")
    for ci, named in (("github", ".github/workflows/skillship.yml"), ("gitlab", ".gitlab-ci.yml")):
        refused = runner.invoke(app, ["init", str(other), "--ci", ci])
        assert refused.exit_code == 1 and named in refused.stderr, refused.stderr
        assert sorted(p.name for p in other.iterdir()) == [".github", ".gitlab-ci.yml"]
    assert runner.invoke(app, ["init", str(other)]).exit_code == 0  # no CI file asked for: none replaced
    assert (other / ".gitlab-ci.yml").read_text() == "theirs\n"


def test_init_in_an_existing_repository_keeps_its_files_and_refuses_a_project(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".gitignore").write_text("mine\n")
    (repo / "README.md").write_text("theirs")
    started = runner.invoke(app, ["init", str(repo)])
    assert started.exit_code == 0
    assert (repo / ".gitignore").read_text() == "mine\n" and (repo / "README.md").read_text() == "theirs"
    assert "kept the repository's own README.md and .gitignore" in started.stderr
    before = sorted(str(p) for p in repo.rglob("*"))
    again = runner.invoke(app, ["init", str(repo)])
    assert again.exit_code == 1 and "only starts new projects" in again.stderr
    assert sorted(str(p) for p in repo.rglob("*")) == before


def test_new_outside_a_workspace_writes_nothing_and_points_to_init(tmp_path):
    result = cli_in(tmp_path, "new", "fresh")
    assert result.exit_code == 2 and "skillship init" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_render_and_the_program_deploy_the_workspace_the_stack_names(tmp_path):
    project = copy_project(tmp_path / "project", ("__main__.py", "Pulumi.yaml", "skillship_components", "stacks"))
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
    (repo / ".github/workflows").mkdir(parents=True)
    (repo / "README.md").write_text("theirs")
    written = []

    def fail_on_the_last(path, *args, **kwargs):
        written.append(path)
        if path.name == "skill.yaml":  # after the CI file, the stacks and the folders they need
            raise OSError(28, "No space left on device")
        return open(path, *args, **kwargs)

    monkeypatch.setattr(scaffold, "open", fail_on_the_last, raising=False)
    result = runner.invoke(app, ["init", str(repo), "--ci", "github"])
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert repo / ".github/workflows/skillship.yml" in written and len(written) > 10
    assert sorted(str(p.relative_to(repo)) for p in repo.rglob("*")) == [".github", ".github/workflows", "README.md"]
