"""Pull credentials through the stack (docs/settings.md, Registry credentials): a stack with a
registry user declares a dockerconfigjson Secret for its registry's host, and every skill's
ServiceAccount names it, so nodes need no credentials of their own."""

from __future__ import annotations

import base64
import json

import pytest

from skillship.manifests import namespace_objects
from skillship.manifests.identity import docker_config_json, service_account
from skillship.stack.settings import PULL_SECRET_NAME, SettingsError, StackSettings
from tests.support.program import CI_REGISTRY_PASSWORD, run_program, stack_config

SECRET = "kubernetes:core/v1:Secret"
ACCOUNT = "kubernetes:core/v1:ServiceAccount"
IMAGE = "docker-build:index:Image"


def settings(**values) -> StackSettings:
    return StackSettings.from_config("dev", {"registry": "registry.example.com:5000/team", **values})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"registryUsername": "ci"}, PULL_SECRET_NAME),
        ({"registryPullUsername": "reader"}, PULL_SECRET_NAME),
        ({}, None),  # no user: nothing to log in with
        ({"registryUsername": "ci", "imagePullSecret": "none"}, None),
        ({"registryUsername": "ci", "imagePullSecret": "team-registry"}, "team-registry"),
        ({"imagePullSecret": "team-registry"}, "team-registry"),
        ({"registryUsername": "ci", "imagePullSecret": ""}, PULL_SECRET_NAME),  # Pulumi.yaml's empty default
        ({"registryUsername": "ci", "target": "render"}, None),  # a render stack pulls nothing
    ],
)
def test_which_secret_the_accounts_name(values, expected):
    chosen = settings(**values)
    assert chosen.pull_secret == expected
    assert chosen.declares_pull_secret == (expected == PULL_SECRET_NAME)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"imagePullSecret": "Team_Registry"}, "neither 'auto', 'none' nor the name of a Secret"),
        ({"imagePullSecret": "x" * 254}, "neither 'auto', 'none' nor the name of a Secret"),
        ({"imagePullSecret": "team\n"}, "neither 'auto', 'none' nor the name of a Secret"),
        ({"imagePullSecret": 3}, "valid string"),
    ],
)
def test_a_bad_pull_secret_is_named(values, problem):
    with pytest.raises(SettingsError) as refused:
        settings(**values)
    assert "skillship:imagePullSecret" in str(refused.value) and problem in str(refused.value)


def test_a_registry_user_without_a_registry_is_refused():
    with pytest.raises(SettingsError) as refused:
        StackSettings.from_config("staging", {"registryUsername": "reader", "promoteFrom": "dev"})
    assert "needs 'registry'" in str(refused.value)


def test_the_pull_login_is_for_the_registry_host_alone_and_pulls_as_the_pull_user():
    chosen = settings(registryUsername="ci", registryPullUsername="reader")
    config = json.loads(docker_config_json(chosen, "t0ken"))
    login = config["auths"]["registry.example.com:5000"]
    assert list(config["auths"]) == ["registry.example.com:5000"]
    assert login["username"] == "reader" and login["password"] == "t0ken"
    assert base64.b64decode(login["auth"]).decode() == "reader:t0ken"
    assert chosen.pull_password_key == "registryPullPassword"
    assert settings(registryUsername="ci").pull_password_key == "registryPassword"


def test_render_shows_the_secret_without_its_password():
    [secret] = [o for o in namespace_objects(settings(registryUsername="ci")) if o["kind"] == "Secret"]
    assert secret["type"] == "kubernetes.io/dockerconfigjson" and secret["metadata"]["name"] == PULL_SECRET_NAME
    login = json.loads(secret["stringData"][".dockerconfigjson"])["auths"]["registry.example.com:5000"]
    assert login == {"username": "ci", "password": "<redacted>", "auth": "<redacted>"}


def _dev(**config):
    secret_keys = tuple(key for key in config if key.endswith("Password"))
    return run_program("dev", {**stack_config("dev"), **config}, secret_keys=secret_keys)


def _accounts(run) -> dict[str, list]:
    return {r["inputs"]["metadata"]["name"]: r["inputs"].get("imagePullSecrets") for r in run.of_type(ACCOUNT)}


def test_the_program_declares_the_pull_secret_as_a_secret_and_every_account_names_it():
    run = _dev()
    assert run.error is None, run.error
    [secret] = [r for r in run.of_type(SECRET) if r["inputs"]["metadata"]["name"] == PULL_SECRET_NAME]
    assert secret["secretInputs"] == ["stringData"] and "stringData" in secret["additionalSecretOutputs"]
    login = json.loads(secret["inputs"]["stringData"][".dockerconfigjson"])["auths"]["registry.example.com"]
    assert base64.b64decode(login["auth"]).decode() == f"skillship-ci:{CI_REGISTRY_PASSWORD}"
    assert _accounts(run) == {name: [{"name": PULL_SECRET_NAME}] for name in ("hello", "producer", "consumer")}
    # The namespace's Secret comes before the accounts that name it.
    accounts = run.of_type(ACCOUNT)
    assert all(secret["urn"] in account["dependencies"] for account in accounts)


def test_pull_credentials_may_differ_from_push_credentials():
    run = _dev(registryPullUsername="reader", registryPullPassword="read-only", registryPassword="push-secret")
    assert run.error is None, run.error
    [secret] = [r for r in run.of_type(SECRET) if r["inputs"]["metadata"]["name"] == PULL_SECRET_NAME]
    login = json.loads(secret["inputs"]["stringData"][".dockerconfigjson"])["auths"]["registry.example.com"]
    assert (login["username"], login["password"]) == ("reader", "read-only")
    pushes = {r["inputs"]["registries"][0]["username"] for r in run.of_type(IMAGE)}
    assert pushes == {"skillship-ci"}


@pytest.mark.parametrize(
    ("config", "key"),
    [({}, "skillship:registryPassword"), ({"registryPullUsername": "reader"}, "skillship:registryPullPassword")],
)
def test_a_registry_user_without_a_password_deploys_nothing(config, key):
    run = run_program("dev", {**stack_config("dev"), **config, "registryPassword": None})
    assert run.error is not None and key in run.error["message"], run.error
    assert "pulumi config set --secret" in run.error["message"] and run.kubernetes() == []


@pytest.mark.parametrize("choice", ["none", "team-registry"])
def test_nodes_credentials_or_an_existing_secret_declare_none(choice):
    run = _dev(imagePullSecret=choice)
    assert run.error is None, run.error
    assert [r for r in run.of_type(SECRET) if r["inputs"]["type"] == "kubernetes.io/dockerconfigjson"] == []
    expected = None if choice == "none" else [{"name": choice}]
    assert set(map(str, _accounts(run).values())) == {str(expected)}


def test_the_account_builder_names_no_secret_when_the_stack_has_none():
    from skillship.checks.validation import load_workspace
    from skillship.plan import plan_deployment
    from tests.support.program import REPO

    workspace, _ = load_workspace(REPO)
    bare = StackSettings.from_config("dev", {"registry": "r.example/x", "namespace": "skillship-dev"})
    plan = plan_deployment(workspace, bare, project_dir=REPO)
    assert all("imagePullSecrets" not in service_account(task, bare) for task in plan.tasks)
