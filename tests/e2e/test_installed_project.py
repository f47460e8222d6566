"""Skillship as a user has it: a wheel built from this tree, installed (not editable) into a
virtualenv of its own, and a project started with that install's `skillship init` in a folder
outside this repository, under a name of its own. The project is deployed to the real node with
its secrets set by the commands its README and docs/settings.md give, and its task must succeed
and see the secret.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.e2e.cli import Cli
from tests.e2e.stacks import make_stack
from tests.realnode.buildkit import BUILDER

pytestmark = [pytest.mark.e2e, pytest.mark.realnode, pytest.mark.xdist_group("realnode")]
PROJECT = "team-jobs"
NAMESPACE = "team-jobs-dev"
# What the wheel is built from: the package's own folders and metadata, copied, so the build
# writes nothing (build/, *.egg-info) into the working tree.
PACKAGE_SOURCES = ("pyproject.toml", "README.md", "skillship", "components", "skillship_pipeline", "skillship_runtime")
# The secure property the user adds to the scaffolded skill, and a job that proves it arrived
# without printing it.
SECURE_PROPERTY = "  - {name: api.token, type: String, secure: true}\n"
PRINTS_TOKEN_DIGEST = """\
    import hashlib, os
    token = os.environ.get("SKILLSHIP_SECRET_API_TOKEN", "")
    print("token sha256:", hashlib.sha256(token.encode()).hexdigest() if token else "none")
    return 0
"""


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
def user_project(installed, real_node, engine_bin, tmp_path_factory) -> dict:
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
    seen["imported_from"] = _run(
        venv / "bin/python",
        "-c",
        "import components, skillship; print(skillship.__file__, components.__file__)",
        cwd=project,
    ).split()

    # The user points the dev stack at their cluster and registry, and gives the skill a secret.
    dev = project / "stacks/Pulumi.dev.yaml"
    stack_file = yaml.safe_load(dev.read_text())
    stack_file["config"].update(
        {
            "kubernetes:context": "e2e",
            "skillship:registry": f"{real_node.registry.host}/{PROJECT}",
            "skillship:registryUsername": real_node.registry.USERNAME,
            "skillship:builder": BUILDER,
            "skillship:istioMode": "none",  # no Envoy here
            "skillship:activeDeadlineSeconds": 180,
        }
    )
    dev.write_text(yaml.safe_dump(stack_file))
    skill = project / "skills/hello/skill.yaml"
    skill.write_text(skill.read_text().replace("properties: []\n", "properties:\n" + SECURE_PROPERTY))
    main = project / "skills/hello/actions/hello/main.py"
    text = main.read_text()
    assert text.count("    return 0\n") == 1
    main.write_text(text.replace("    return 0\n", PRINTS_TOKEN_DIGEST))

    stack = make_stack(
        "dev",
        project,
        engine_bin,
        real_node.cluster,
        tmp_path_factory.mktemp("user-backend"),
        extra_env=real_node.pulumi_env(),
    )
    stack.python = venv / "bin/python"
    pulumi = [engine_bin / "pulumi", "--non-interactive"]
    env = {**os.environ, **stack.env}
    _run(*pulumi, "stack", "init", "dev", cwd=project, env=env)
    token = secrets.token_hex(12)
    # The commands as the README and docs/settings.md give them; a secret comes on standard input
    # (the registry password) or as the value.
    set_secret = [*pulumi, "config", "set", "--stack", "dev", "--secret"]
    _run(*set_secret, "skillship:registryPassword", cwd=project, env=env, input=real_node.registry.password)
    _run(*set_secret, "--path", 'skillship:secrets.hello["api.token"]', token, cwd=project, env=env)
    seen["token"] = token
    seen["stack_file_after_config"] = dev.read_text()
    seen["up"] = stack.up_result()
    cli = Cli(project, {"KUBECONFIG": str(real_node.cluster.kubeconfig)}, command=(str(venv / "bin/skillship"),))
    seen["status"] = cli("status", "--stack", "dev", "--json")
    seen["logs"] = cli("logs", "hello", "--stack", "dev")
    seen["destroy"] = stack.destroy()
    return seen


def test_the_wheel_installs_the_cli_and_the_program_outside_the_repository(installed, user_project):
    venv = installed["venv"].resolve()
    assert all(Path(path).resolve().is_relative_to(venv) for path in user_project["imported_from"]), user_project
    assert not any(Path(path).resolve().is_relative_to(REPO) for path in user_project["imported_from"])
    assert "Requirement already satisfied: skillship" in user_project["requirements"], user_project["requirements"]
    assert "Successfully installed" not in user_project["requirements"]
    assert not (REPO / "build").exists() and not (REPO / "dist").exists()


def test_an_initialised_project_deploys_and_its_task_succeeds(user_project):
    up = user_project["up"]
    assert up["ok"], up.get("error")
    assert {skill: task["state"] for skill, task in up["outputs"]["tasks"].items()} == {"hello": "Succeeded"}
    assert up["outputs"]["namespace"] == NAMESPACE
    [row] = user_project["status"].json()["tasks"]
    assert user_project["status"].code == 0 and (row["skill"], row["state"]) == ("hello", "Succeeded")
    assert user_project["destroy"]["ok"]


def test_a_secret_set_with_the_documented_command_reaches_the_task_and_no_file(user_project):
    token = user_project["token"]
    expected = hashlib.sha256(token.encode()).hexdigest()
    assert f"token sha256: {expected}" in user_project["logs"].stdout, user_project["logs"].stdout
    assert token not in user_project["stack_file_after_config"] and "secure:" in user_project["stack_file_after_config"]
    assert token not in user_project["up"].get("log", "") and token not in user_project["logs"].stdout
