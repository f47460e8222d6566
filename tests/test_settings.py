"""Stack settings: Pulumi.yaml and skillship/stack/settings.py agree, and bad values are named."""

from __future__ import annotations

import json

import pytest
import yaml

from skillship.stack.settings import SECRET_KEYS, SettingsError, StackSettings
from skillship.stack.stackfiles import StackFileError, load_stack, read_project_file, stack_files
from tests.conftest import REPO

PROJECT = yaml.safe_load((REPO / "Pulumi.yaml").read_text())


def test_pulumi_yaml_defaults_are_the_settings_defaults():
    fields = {f.alias or name: f for name, f in StackSettings.model_fields.items()}
    defaults = StackSettings.from_config("any", {"target": "render"}).model_dump(by_alias=True)
    for key, declaration in PROJECT["config"].items():
        assert key in fields, f"Pulumi.yaml declares {key!r}, which StackSettings does not know"
        expected = defaults[key] if key != "target" else fields[key].default
        if hasattr(expected, "value"):
            expected = expected.value
        assert declaration["default"] == ("" if expected is None else expected), key


def test_every_stack_file_loads():
    assert set(stack_files(REPO)) == {"local", "dev", "staging", "prod", "e2e"}
    modes = {stack: load_stack(REPO, stack).settings.istio_mode.value for stack in stack_files(REPO)}
    assert modes == {"local": "none", "dev": "sidecar", "staging": "native", "prod": "ambient", "e2e": "native"}
    assert load_stack(REPO, "local").settings.renders


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"namespace": "Bad_Name"}, "skillship:namespace: 'Bad_Name' is not a Kubernetes namespace name"),
        ({"cpuLimit": "lots"}, "skillship:cpuLimit: 'lots' is not a Kubernetes quantity"),
        ({"istioMode": "mesh"}, "skillship:istioMode: Input should be 'none', 'sidecar', 'native' or 'ambient'"),
        ({"backoffLimit": -1}, "skillship:backoffLimit: Input should be greater than or equal to 0"),
        ({"wait": "perhaps"}, "skillship:wait: Input should be a valid boolean"),
        ({"egressHosts": ["example.com"]}, "must read namespace/host"),
        ({"target": "cluster", "registry": ""}, "a cluster stack that builds images needs 'registry'"),
        ({"namespce": "x"}, "skillship:namespce: unknown setting; did you mean skillship:namespace?"),
        ({"registryPasword": "x"}, "unknown setting; did you mean skillship:registryPassword?"),
        ({"colour": "x"}, "skillship:colour: unknown setting (see docs/settings.md)"),  # nothing near it
        ({"promoteFrom": "dev"}, "a render stack cannot take its images from another stack"),
        (
            {"target": "cluster", "buildImages": False, "promoteFrom": "org/skillship/dev"},
            "cannot take its images from itself",
        ),
        ({"target": "cluster", "buildImages": False, "promoteFrom": "dev stack"}, "'dev stack' is not a stack name"),
    ],
)
def test_bad_settings_are_named(values, fragment):
    with pytest.raises(SettingsError) as caught:
        StackSettings.from_config("dev", {"target": "render", **values})
    assert any(fragment in problem for problem in caught.value.problems), caught.value.problems


def test_a_promoted_stack_builds_nothing_and_needs_no_registry():
    settings = StackSettings.from_config("prod", {"target": "cluster", "promoteFrom": "staging"})
    assert settings.promote_from == "staging" and not settings.builds
    assert StackSettings.from_config("dev", {"target": "cluster", "registry": "r.example.com"}).builds


def test_text_values_from_pulumi_config_are_converted():
    settings = StackSettings.from_config("dev", {"target": "render", "wait": "false", "backoffLimit": "3"})
    assert (settings.wait, settings.backoff_limit) == (False, 3)


def test_secret_keys_are_never_settings():
    for key in SECRET_KEYS:
        assert key not in {f.alias or n for n, f in StackSettings.model_fields.items()}


def test_stack_file_errors_name_the_file(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks/Pulumi.bad.yaml").write_text("config:\n  skillship:istioMode: mesh\n")
    (tmp_path / "stacks/Pulumi.broken.yaml").write_text("config: [\n")
    with pytest.raises(StackFileError, match=r"Pulumi\.bad\.yaml.*istioMode"):
        load_stack(tmp_path, "bad")
    with pytest.raises(StackFileError, match=r"Pulumi\.broken\.yaml:2: not valid YAML"):
        load_stack(tmp_path, "broken")
    with pytest.raises(StackFileError, match=r"unknown stack 'nope' \(stacks: bad, broken\)"):
        load_stack(tmp_path, "nope")


SETTINGS = "config:\n  skillship:namespace: {namespace}\n  skillship:buildImages: false\n"


def test_a_settings_file_read_again_is_its_new_text_and_each_reader_gets_its_own(tmp_path):
    """Files are parsed once per text (a sharded environment's loads read them many times): a file
    rewritten is read anew, a file written back as it was is the same again, and what one reader
    does to its copy another never sees."""
    root = _project(tmp_path, SETTINGS.format(namespace="one"))
    assert load_stack(root, "s").settings.namespace == "one"
    (root / "stacks/Pulumi.s.yaml").write_text(SETTINGS.format(namespace="two"))
    assert load_stack(root, "s").settings.namespace == "two"
    (root / "stacks/Pulumi.s.yaml").write_text(SETTINGS.format(namespace="one"))
    assert load_stack(root, "s").settings.namespace == "one"
    mine = read_project_file(root)
    mine["name"] = "changed"
    mine.clear()
    assert read_project_file(root)["name"] == "x"
    (root / "stacks/Pulumi.s.yaml").write_text("config: [\n")
    with pytest.raises(StackFileError, match="not valid YAML"):
        load_stack(root, "s")


def _project(tmp_path, stack_yaml: str):
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks/Pulumi.s.yaml").write_text(stack_yaml)
    return tmp_path


def test_encrypted_secrets_are_known_by_name_only(tmp_path):
    root = _project(
        tmp_path,
        "config:\n  skillship:target: render\n  skillship:secrets:\n    hello:\n"
        "      api.token:\n        secure: v1:AAAA\n  skillship:registryPassword:\n    secure: v1:BBBB\n",
    )
    config = load_stack(root, "s")
    assert config.secret_properties == {"hello": ["api.token"]}
    assert "v1:AAAA" not in repr(config)


@pytest.mark.parametrize(
    "stack_yaml",
    [
        "config:\n  skillship:secrets:\n    hello:\n      api.token: plain\n",
        "config:\n  skillship:registryPassword: hunter2\n",
    ],
    ids=["property", "registry-password"],
)
def test_plain_text_secrets_in_stack_files_are_refused(tmp_path, stack_yaml):
    with pytest.raises(StackFileError, match="holds a secret in plain text"):
        load_stack(_project(tmp_path, stack_yaml), "s")


def test_a_setting_filed_under_the_projects_name_is_refused_not_dropped(tmp_path):
    """`pulumi config set registryPassword ...` in project `acme` writes `acme:registryPassword`,
    which Skillship would never read: the stack is refused, naming each key and the fix."""
    (tmp_path / "Pulumi.yaml").write_text("name: acme\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks/Pulumi.s.yaml").write_text(
        "config:\n  skillship:target: render\n  acme:namespace: team-a\n"
        "  acme:registryPassword:\n    secure: v1:AAAA\n  acme:myOwnKey: kept\n  kubernetes:context: x\n"
    )
    with pytest.raises(StackFileError) as refused:
        load_stack(tmp_path, "s")
    text = str(refused.value)
    assert "acme:namespace, acme:registryPassword:" in text and "acme:myOwnKey" not in text
    assert "skillship:namespace, skillship:registryPassword" in text and "`skillship:` prefix" in text


def test_a_project_named_skillship_has_no_misfiled_keys():
    from skillship.stack.misfiled import misfiled_keys

    assert misfiled_keys(["skillship:namespace", "acme:namespace"], "skillship") == []
    assert misfiled_keys(["acme:namespace", "acme:stack", "acme:other", "x:namespace"], "acme") == ["acme:namespace"]


def test_pulumi_up_refuses_a_setting_filed_under_the_projects_name_and_declares_nothing():
    from tests.support.program import run_program

    run = run_program(
        "local",
        {"target": "render"},
        project="acme",
        other_config={"acme:registryPassword": "not read", "acme:myOwnKey": "kept"},
    )
    assert run.error is not None, "the program ran"
    message = run.error["message"]
    assert "acme:registryPassword: Skillship reads its settings as skillship:registryPassword" in message, message
    assert "acme:myOwnKey" not in message and "Nothing was deployed." in message
    assert run.kubernetes() == []


def test_a_near_miss_under_the_projects_name_is_a_warning_naming_the_setting(tmp_path):
    """`pulumi config set --secret registyPassword` in project `acme`: no setting has that name, so
    nothing refuses it, and nothing would read it; validate and render warn at its line."""
    from harness.project import cli_in

    runner_project = tmp_path / "acme"
    assert cli_in(tmp_path, "init", "acme").exit_code == 0
    stack = runner_project / "stacks/Pulumi.local.yaml"
    stack.write_text(
        stack.read_text() + "  acme:registyPassword:\n    secure: v1:AAAA\n  acme:myOwnKey: kept\n  acme:zz: 1\n"
    )
    line = len(stack.read_text().splitlines()) - 3  # the near miss's own line
    checked = cli_in(runner_project, "validate", "--stack", "local", "--json")
    assert checked.exit_code == 0, checked.output
    [warning] = json.loads(checked.stdout)["diagnostics"]
    assert (warning["file"], warning["line"], warning["field"]) == (
        "stacks/Pulumi.local.yaml",
        line,
        "acme:registyPassword",
    )
    assert (warning["severity"], warning["code"]) == ("warning", "setting-misfiled")
    assert "did you mean skillship:registryPassword?" in warning["message"]
    rendered = cli_in(runner_project, "render", "--stack", "local")
    assert rendered.exit_code == 0, rendered.output
    assert f"stacks/Pulumi.local.yaml:{line}: acme:registyPassword: warning:" in rendered.stderr
    assert "myOwnKey" not in rendered.stderr + checked.stdout and "acme:zz" not in rendered.stderr + checked.stdout
    assert "v1:AAAA" not in rendered.output + checked.stdout


def test_near_misses_are_only_looked_for_outside_skillships_own_namespace():
    from skillship.stack.misfiled import near_misfiled_keys

    keys = ["acme:registyPassword", "acme:namespace", "acme:myOwnKey", "kubernetes:contxt", "acme:namspace"]
    assert near_misfiled_keys(keys, "acme") == {
        "acme:registyPassword": "registryPassword",
        "acme:namspace": "namespace",
    }
    assert near_misfiled_keys(["skillship:namspace"], "skillship") == {}
