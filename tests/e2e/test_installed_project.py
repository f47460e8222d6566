"""Skillship as a user has it: a wheel built from this tree, installed (not editable) into a
virtualenv of its own, and a project started with that install's `skillship init --ci gitlab` in a
folder outside this repository, under a name of its own. Its secrets are set by the commands its
README and docs/settings.md give; then its own `.gitlab-ci.yml` runs under gitlab-ci-local's shell
executor against the real node, as GitLab would run it: a merge request's pipeline (the preview),
then the default branch's (dev's deploy and its gate, the promotion to staging by digest). The
task must succeed and see the secret.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.stacks import make_stack
from tests.conftest import REPO
from tests.e2e.cli import Cli
from tests.support.jsondocs import check_document

pytestmark = [pytest.mark.e2e, pytest.mark.realnode, pytest.mark.xdist_group("realnode")]
PROJECT = "team-jobs"
RUN_FILE = ".gitlab-ci-local.yml"  # the CI file as the shell executor runs it (_shell_runnable)
# What the wheel is built from: the package's own folders and metadata, copied, so the build
# writes nothing (build/, *.egg-info) into the working tree.
PACKAGE_SOURCES = (
    "pyproject.toml",
    "README.md",
    "skillship",
    "skillship_components",
    "skillship_pipeline",
    "skillship_runtime",
)
# The secure property the user adds to the scaffolded skill, and a job that proves it arrived
# without printing it.
SECURE_PROPERTY = "  - {name: api.token, type: String, secure: true}\n"
PRINTS_TOKEN_DIGEST = """\
    import hashlib, os
    token = os.environ.get("SKILLSHIP_SECRET_API_TOKEN", "")
    print("token sha256:", hashlib.sha256(token.encode()).hexdigest() if token else "none")
    return 0
"""


# The shell commands in the manual (docs/*.md) and in the README `init` writes, in the order a reader
# meets them; each runs verbatim in the deployed project unless it is here, with why.
NOT_RUN_HERE = {
    "docker buildx create --name team-buildkit --driver remote tcp://buildkitd.example.com:1234": (
        "no docker CLI here; `skillship builder` writes the same instance, and the GitLab jobs above run it"
    ),
    "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt": (
        "the project's .venv is the virtualenv the same pip install of the wheel made (`installed`)"
    ),
    "pulumi up --stack dev": (
        "the Python language host is not built here (docs/development.md); the pipeline's jobs above run `up`"
    ),
}


def doc_commands(project: Path) -> list[str]:
    """Each line of every `sh` block, without its trailing comment."""
    pages = [*sorted((REPO / "docs").glob("*.md")), project / "README.md"]
    commands = []
    for page in pages:
        for block in re.findall(r"^```sh\n(.*?)^```", page.read_text(), re.S | re.M):
            for line in block.splitlines():
                command = re.sub(r"\s+#.*$", "", line).strip()
                if command:
                    commands.append(command)
    return commands


def _run(*command: str | Path, cwd: Path | None = None, timeout: float = 600, **kwargs) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """The wheel, and a virtualenv holding it with the deploy extra, as `pip install` makes it."""
    source = tmp_path_factory.mktemp("skillship-source")
    for item in PACKAGE_SOURCES:
        if (REPO / item).is_dir():
            shutil.copytree(REPO / item, source / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / item, source / item)
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, source)
    [wheel] = dist.glob("skillship-*.whl")
    venv = tmp_path_factory.mktemp("user-venv")
    _run(getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--clear", venv)
    _run(venv / "bin/python", "-m", "pip", "install", "--quiet", f"{wheel}[deploy]")
    return {"wheel": wheel, "dist": dist, "venv": venv}


@pytest.fixture(scope="module")
def gitlab_ci_local() -> Path:
    """The runner for .gitlab-ci.yml files (tools/gitlab-ci-local: from npm, cached)."""
    if shutil.which("rsync") is None:
        pytest.fail(
            "gitlab-ci-local copies the project with rsync, which is missing: run bash tools/node/install-packages.sh"
        )
    if shutil.which("npm") is None:
        pytest.fail("gitlab-ci-local comes from npm: install Node.js 20 or later with npm")
    return Path(_run("bash", REPO / "tools/gitlab-ci-local/install.sh", timeout=900).splitlines()[-1])


def _shell_runnable(ci_file: dict) -> dict:
    """The CI file as the shell executor can run it: without `services`, which only a container
    executor starts (the suite's BuildKit stands in for the service, at BUILDKIT_HOST)."""
    runnable = copy.deepcopy(ci_file)
    for job in runnable.values():
        if isinstance(job, dict):
            job.pop("services", None)
    return runnable


@dataclass
class Stage:
    """One `skillship-pipeline` stage: its exit code, its --json report, and the CI log (stderr)."""

    code: int
    report: dict
    log: str


def _jobs(kube, namespace: str) -> dict[str, str]:
    """Each skill's Job in the namespace, with the image it runs."""
    from kubernetes import client

    found = client.BatchV1Api(kube).list_namespaced_job(namespace)
    return {j.metadata.labels["skillship.io/skill"]: j.spec.template.spec.containers[0].image for j in found.items}


def _namespaces(kube) -> set[str]:
    from kubernetes import client

    return {n.metadata.name for n in client.CoreV1Api(kube).list_namespace().items}


@pytest.fixture(scope="module")
def user_project(installed, real_node, engine_bin, gitlab_ci_local, tmp_path_factory) -> dict:
    from kubernetes import config

    venv = installed["venv"]
    home = tmp_path_factory.mktemp("home")
    project = home / PROJECT
    _run(venv / "bin/skillship", "init", project, "--ci", "gitlab", cwd=home)
    seen: dict = {"project": project}
    # The project's requirement is satisfied by the wheel, from a folder of wheels as docs/pipelines.md
    # tells: pip finds it there and has nothing left to install.
    seen["requirements"] = _run(
        venv / "bin/python",
        "-m",
        "pip",
        "install",
        "--find-links",
        installed["dist"],
        "-r",
        "requirements.txt",
        cwd=project,
    )
    # A folder of the team's own named `components`, as many projects have: the program's package
    # has a name of its own, so neither hides the other (the deploys below import both).
    (project / "components").mkdir()
    (project / "components/__init__.py").write_text('"""The team\'s own helpers."""\nOURS = True\n')
    seen["imported_from"] = _run(
        venv / "bin/python",
        "-c",
        "import skillship_components, skillship; print(skillship.__file__, skillship_components.__file__)",
        cwd=project,
    ).split()
    seen["own_components"] = _run(
        venv / "bin/python", "-c", "import components; print(components.OURS, components.__file__)", cwd=project
    ).split()

    # The user points dev and staging at their cluster and registry (dev builds with the current
    # builder, which the CI job's `skillship builder` sets), and gives the skill a secret.
    common = {
        "kubernetes:context": "e2e",
        "skillship:registry": f"{real_node.registry.host}/{PROJECT}",
        "skillship:registryUsername": real_node.registry.USERNAME,
        "skillship:istioMode": "none",  # no Envoy here
        "skillship:activeDeadlineSeconds": 180,
    }
    for name in ("dev", "staging"):
        path = project / f"stacks/Pulumi.{name}.yaml"
        stack_file = yaml.safe_load(path.read_text())
        stack_file["config"].update(common)
        path.write_text(yaml.safe_dump(stack_file))
    skill = project / "skills/hello/skill.yaml"
    skill.write_text(skill.read_text().replace("properties: []\n", "properties:\n" + SECURE_PROPERTY))
    main = project / "skills/hello/actions/hello/main.py"
    text = main.read_text()
    assert text.count("    return 0\n") == 1
    main.write_text(text.replace("    return 0\n", PRINTS_TOKEN_DIGEST))

    backend = tmp_path_factory.mktemp("user-backend")
    stacks = {
        name: make_stack(name, project, engine_bin, real_node.cluster, backend, extra_env=real_node.pulumi_env())
        for name in ("dev", "staging")
    }
    for stack in stacks.values():
        stack.python = venv / "bin/python"
    pulumi = [engine_bin / "pulumi", "--non-interactive"]
    env = {**os.environ, **stacks["dev"].env}
    token = secrets.token_hex(12)
    # The commands as the README and docs/settings.md give them; a secret comes on standard input
    # (the registry password) or as the value.
    for name in stacks:
        _run(*pulumi, "stack", "init", name, cwd=project, env=env)
        set_secret = [*pulumi, "config", "set", "--stack", name, "--secret"]
        _run(*set_secret, "--path", 'skillship:secrets.hello["api.token"]', token, cwd=project, env=env)
    _run(
        *pulumi,
        "config",
        "set",
        "--stack",
        "dev",
        "--secret",
        "skillship:registryPassword",
        cwd=project,
        env=env,
        input=real_node.registry.password,
    )
    seen["token"] = token
    seen["stack_file_after_config"] = (project / "stacks/Pulumi.dev.yaml").read_text()

    # The repository: main, and a change on a branch for the merge request.
    git = ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    _run(*git, "init", "--quiet", "--initial-branch", "main", cwd=project)
    _run(*git, "add", "--all", cwd=project)
    _run(*git, "commit", "--quiet", "--message", "A project of our own", cwd=project)
    ci_file = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    seen["ci_file"] = ci_file
    (project / RUN_FILE).write_text(yaml.safe_dump(_shell_runnable(ci_file), sort_keys=False))

    # What the runner's job gets: the CI/CD variables the file's header lists, the runner's tools
    # on PATH (the installed Skillship, the Pulumi CLI), and BUILDKIT_HOST set as a project
    # variable over the file's, at the suite's BuildKit. buildx's folder starts empty: the job's
    # `skillship builder` makes the builder.
    buildx = tmp_path_factory.mktemp("runner-buildx")
    runner_env = {
        **{k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "VIRTUAL_ENV", "BUILDX_CONFIG")},
        **{k: v for k, v in stacks["dev"].env.items() if k not in ("KUBECONFIG", "BUILDX_CONFIG", "PATH")},
        "PATH": f"{venv / 'bin'}:{engine_bin}:{os.environ['PATH']}",
        "BUILDX_CONFIG": str(buildx),
        "SKILLSHIP_REGISTRY_PASSWORD": real_node.registry.password,
        "SKILLSHIP_KUBECONFIG_DATA": real_node.cluster.kubeconfig.read_text(),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(installed["dist"]),
    }
    buildkit_host = f"unix://{real_node.buildkit.socket}"

    def pipeline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(gitlab_ci_local),
                "--force-shell-executor",
                "--file",
                RUN_FILE,
                "--no-color",
                "--max-job-name-padding",
                "0",
                "--variable",
                f"BUILDKIT_HOST={buildkit_host}",
                *args,
            ],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=900,
            env=runner_env,
        )

    kube = config.new_client_from_config(str(real_node.cluster.kubeconfig))
    _run(*git, "checkout", "--quiet", "-b", "greeting", cwd=project)
    (project / "skills/hello/actions/hello/main.py").write_text(main.read_text() + "\n# a merge request\n")
    _run(*git, "commit", "--quiet", "--all", "--message", "A change for review", cwd=project)
    before = _namespaces(kube)
    seen["merge_request"] = pipeline(
        "--ignore-predefined-vars", "CI_PIPELINE_SOURCE", "--variable", "CI_PIPELINE_SOURCE=merge_request_event"
    )
    seen["namespaces"] = (before, _namespaces(kube))
    seen["summary"] = (project / "preview.md").read_text() if (project / "preview.md").exists() else ""

    _run(*git, "checkout", "--quiet", "main", cwd=project)
    _run(*git, "merge", "--quiet", "--ff-only", "greeting", cwd=project)
    seen["main"] = pipeline("--manual", "promote-staging")
    seen["jobs"] = {stage: _jobs(kube, f"{PROJECT}-{stage}") for stage in stacks}
    seen["staging_state"] = stacks["staging"].export()
    seen["builders"] = (
        sorted(p.name for p in (buildx / "instances").iterdir()) if (buildx / "instances").exists() else []
    )

    cli = Cli(project, {"KUBECONFIG": str(real_node.cluster.kubeconfig)}, command=(str(venv / "bin/skillship"),))
    seen["status"] = cli("status", "--stack", "dev", "--json")
    seen["logs"] = cli("logs", "hello", "--stack", "dev")

    # Every shell command the manual and the project's README show, verbatim, in this project.
    (project / ".venv").symlink_to(venv)  # the README's set-up, done above by the same pip install
    shell_env = {**runner_env, "KUBECONFIG": str(real_node.cluster.kubeconfig)}
    seen["doc_commands"] = {
        command: subprocess.run(
            ["bash", "-c", command],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=300,
            env=shell_env,
            input=real_node.registry.password if "registryPassword" in command else "",
        )
        for command in doc_commands(project)
        if command not in NOT_RUN_HERE
    }
    shutil.rmtree(project / "skills/my-skill")  # the README's `skillship new my-skill` made it

    # The ways a stage must stop, as a job would meet them: `skillship-pipeline --json` of the
    # install, in the runner's environment.
    def stage(*args: str) -> Stage:
        done = subprocess.run(
            [str(venv / "bin/skillship-pipeline"), *args, "--json"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=900,
            env=runner_env,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return Stage(done.returncode, check_document(json.loads(done.stdout)), done.stderr)

    seen["wrong_stage"] = stage("deploy", "--stack", "staging")
    original = main.read_text()
    main.write_text(original + "\n# a change dev has not run yet\n")
    seen["early_promote"] = stage("promote", "--stack", "staging", "--timeout", "120")
    seen["jobs_after_refusal"] = _jobs(kube, f"{PROJECT}-staging")
    main.write_text("import sys\nprint('failing on purpose')\nsys.exit(1)\n" + original)
    seen["failing_deploy"] = stage("deploy", "--stack", "dev", "--timeout", "120")

    seen["destroy"] = [stacks["staging"].destroy(), stacks["dev"].destroy()]
    return seen


def test_the_wheel_installs_the_cli_and_the_program_outside_the_repository(installed, user_project):
    venv = installed["venv"].resolve()
    assert all(Path(path).resolve().is_relative_to(venv) for path in user_project["imported_from"]), user_project
    assert not any(Path(path).resolve().is_relative_to(REPO) for path in user_project["imported_from"])
    assert user_project["own_components"] == ["True", str(user_project["project"] / "components/__init__.py")]
    assert "Requirement already satisfied: skillship" in user_project["requirements"], user_project["requirements"]
    assert "Successfully installed" not in user_project["requirements"]
    assert not (REPO / "build").exists() and not (REPO / "dist").exists()


def _passed(run: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.split()[1] for line in run.stdout.splitlines() if line.startswith(" PASS ")]


def test_the_merge_requests_pipeline_previews_builds_nothing_it_pushes_and_changes_nothing(user_project):
    run = user_project["merge_request"]
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert _passed(run) == ["preview"], run.stdout[-3000:]
    assert "### `pulumi preview` of stack `dev`:" in user_project["summary"] and "to create" in user_project["summary"]
    assert "Skills this changes: `hello`; what is wired to them:\n\n```mermaid\n" in user_project["summary"]
    before, after = user_project["namespaces"]
    assert before == after


def test_the_main_pipeline_deploys_dev_gated_on_its_tasks_and_promotes_its_digests_to_staging(user_project):
    run = user_project["main"]
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert _passed(run) == ["deploy-dev", "promote-staging"], run.stdout[-3000:]
    assert "promote-prod" not in _passed(run)  # started by hand, and not here
    log = run.stdout + run.stderr  # the runner's log: what the jobs print on stderr comes on its stderr
    assert (
        "deploy-dev > deploy of stack dev: passed" in log
        and "promote-staging > promote of stack staging: passed" in log
    )
    # The job made its builder from BUILDKIT_HOST, and dev built with it; staging built nothing
    # and runs the very digest dev ran.
    assert user_project["builders"] == ["skillship"]
    jobs = user_project["jobs"]
    assert set(jobs["dev"]) == {"hello"} and jobs["staging"] == jobs["dev"] and "@sha256:" in jobs["dev"]["hello"]
    assert "docker-build:index:Image" not in user_project["staging_state"]
    assert all(result["ok"] for result in user_project["destroy"])


def test_the_ci_file_runs_as_users_copy_it_but_for_the_service_the_shell_executor_cannot_start(user_project):
    ci_file = user_project["ci_file"]
    assert ci_file[".buildkit"]["services"][0]["alias"] == "buildkitd"
    ran = yaml.safe_load((user_project["project"] / RUN_FILE).read_text())
    assert ran == {**ci_file, ".buildkit": {k: v for k, v in ci_file[".buildkit"].items() if k != "services"}}


def test_an_initialised_projects_task_succeeds_and_status_says_so(user_project):
    [row] = user_project["status"].json()["tasks"]
    assert user_project["status"].code == 0 and (row["skill"], row["state"]) == ("hello", "Succeeded")


def test_a_secret_set_with_the_documented_command_reaches_the_task_and_no_file_or_log(user_project):
    token = user_project["token"]
    expected = hashlib.sha256(token.encode()).hexdigest()
    assert f"token sha256: {expected}" in user_project["logs"].stdout, user_project["logs"].stdout
    assert token not in user_project["stack_file_after_config"] and "secure:" in user_project["stack_file_after_config"]
    for run in (user_project["merge_request"], user_project["main"]):
        assert token not in run.stdout and token not in run.stderr
    assert token not in user_project["logs"].stdout


def test_every_shell_command_of_the_manual_and_the_projects_readme_runs_as_written(user_project):
    ran = user_project["doc_commands"]
    every = doc_commands(user_project["project"])
    assert set(NOT_RUN_HERE) <= set(every), "a command kept out of the run is no longer in the docs"
    assert len(ran) >= 8 and set(ran) == set(every) - set(NOT_RUN_HERE)
    failed = {
        c: (d.returncode, d.stderr[-1500:]) for c, d in ran.items() if d.returncode != 0 or "Traceback" in d.stderr
    }
    assert failed == {}


def test_a_promoted_stack_is_not_deployed_by_the_deploy_stage(user_project):
    wrong = user_project["wrong_stage"]
    assert wrong.code == 2 and "run the promote stage for it" in wrong.log
    assert wrong.report["steps"] == []


def test_promoting_contents_dev_has_not_run_is_refused_before_anything_changes(user_project):
    early = user_project["early_promote"]
    assert early.code == 1, early.log[-3000:]
    assert "stack 'dev' built action hello/hello from other contents" in early.log
    assert [s["step"] for s in early.report["steps"]] == ["validate", "check promotion"]
    assert user_project["jobs_after_refusal"] == user_project["jobs"]["staging"]


def test_a_failing_task_stops_the_pipeline_naming_the_skill(user_project):
    failing = user_project["failing_deploy"]
    assert failing.code == 1, failing.log[-3000:]
    [up] = [s for s in failing.report["steps"] if s["step"] == "up"]
    assert up["exitCode"] == 1 and "BackoffLimitExceeded" in up["error"], up
    assert f"task of skill 'hello' runs as Job {PROJECT}-dev/hello-" in up["error"]  # beside its logs command
    assert up["imageSteps"] == {"update": 1} or up["imageSteps"] == {"replace": 1}, up["imageSteps"]
    assert "status" not in [s["step"] for s in failing.report["steps"]]


def test_no_registry_password_reaches_a_ci_log_or_a_report(user_project, real_node):
    password = real_node.registry.password
    for run in (user_project["merge_request"], user_project["main"]):
        assert password not in run.stdout and password not in run.stderr
    for name in ("wrong_stage", "early_promote", "failing_deploy"):
        stage = user_project[name]
        assert password not in stage.log and password not in json.dumps(stage.report), name
    assert password not in user_project["summary"]
