"""A stack's inputs digest (skillship.stack_digest): every input, changed in turn, moves the part it
belongs to and no other; what is not an input (a comment, a cache, a fresh token) moves nothing; a
shard's digest is the same planned alone or from its environment's plan; and the pipeline's
decision (skillship_pipeline.skipping) skips only an update that succeeded with these inputs."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.project import PROGRAM_FILES, WORKSPACE_FILES, copy_project
from skillship import stack_digest as digests
from skillship.compose import plan_stack
from skillship.stack.stackfiles import load_stack
from skillship.stack_digest import StackDigest, stack_digest, stack_digests
from skillship_pipeline.skipping import same_part, update_message, verdict

CIPHER = {"secure": "v1:AAAABBBBCCCC"}  # a secure value as Pulumi writes one; never decrypted here


def _digest(project: Path, stack: str = "dev", password: str | None = None) -> StackDigest:
    config = load_stack(project, stack)
    plan = plan_stack(
        project / config.settings.workspace_dir,
        config.settings,
        project_dir=project,
        secret_properties=config.secret_properties,
    )
    return stack_digest(config, plan, registry_password=password)


def _moved(after: StackDigest, before: StackDigest) -> list[str]:
    """The parts that differ between two digests (a part one of them lacks differs)."""
    return sorted(name for name in {*after.parts, *before.parts} if after.parts.get(name) != before.parts.get(name))


def _kubeconfig(path: Path, server: str = "https://10.0.0.1:6443", token: str = "one") -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "other",
                "contexts": [
                    {"name": "dev", "context": {"cluster": "dev-cluster", "user": "ci"}},
                    {"name": "other", "context": {"cluster": "other-cluster", "user": "ci"}},
                ],
                "clusters": [
                    {"name": "dev-cluster", "cluster": {"server": server}},
                    {"name": "other-cluster", "cluster": {"server": "https://10.9.9.9:6443"}},
                ],
                "users": [{"name": "ci", "user": {"token": token}}],
            }
        )
    )
    return path


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = copy_project(tmp_path / "project", WORKSPACE_FILES + PROGRAM_FILES)
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kubeconfig")))
    return root


def _edit_stack(key: str, value) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / "stacks" / "Pulumi.dev.yaml"
        document = yaml.safe_load(path.read_text())
        document["config"][key] = value
        path.write_text(yaml.safe_dump(document))

    return edit


def _append(relative: str, text: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as file:
            file.write(text)

    return edit


def _message(root: Path) -> None:
    path = root / "skills" / "producer" / "invoke" / "request" / "message.json"
    document = json.loads(path.read_text())
    document["payload"] = {**(document.get("payload") or {}), "count": 7}
    path.write_text(json.dumps(document))


def _mapping(root: Path) -> None:
    path = next((root / "agents").glob("*.yaml"))
    document = yaml.safe_load(path.read_text())
    document["mappings"] = []
    path.write_text(yaml.safe_dump(document))


def _edit_project(root: Path) -> None:
    path = root / "Pulumi.yaml"
    document = yaml.safe_load(path.read_text())
    document["options"] = {"refresh": "always"}
    path.write_text(yaml.safe_dump(document))


def _server(root: Path) -> None:
    _kubeconfig(Path(os.environ["KUBECONFIG"]), server="https://10.0.0.2:6443")


# Each input of a stack's objects, and the one part it must move.
CHANGES = {
    "a job's code": (_append("skills/hello/actions/hello/main.py", "\n# changed\n"), {"objects"}),
    "a job's requirements": (_append("skills/producer/actions/producer/requirements.txt", "\n"), {"objects"}),
    "a Dockerfile": (_append("skills/hello/actions/hello/Dockerfile", "\nENV CHANGED=1\n"), {"objects"}),
    "a skill's example message": (_message, {"objects"}),
    "an agent's mappings": (_mapping, {"objects"}),
    "a setting that reaches objects": (_edit_stack("skillship:activeDeadlineSeconds", 601), {"settings", "objects"}),
    "a setting that reaches only the program": (_edit_stack("skillship:buildImages", False), {"settings"}),
    "a secure property set": (
        _edit_stack("skillship:secrets", {"hello": {"api.token": CIPHER}}),
        {"settings", "objects"},
    ),
    "the skills it deploys": (_edit_stack("skillship:skills", ["hello"]), {"settings", "objects", "share"}),
    "another package's setting": (_edit_stack("kubernetes:namespace", "elsewhere"), {"settings"}),
    "the kubeconfig context": (_edit_stack("kubernetes:context", "other"), {"settings", "cluster"}),
    "that context's API server": (_server, {"cluster"}),
    "the program": (_append("__main__.py", "\n# changed\n"), {"program"}),
    "a module of the project's own": (_append("lib/helpers.py", "VALUE = 1\n"), {"program"}),
    "Pulumi.yaml": (_edit_project, {"program"}),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_each_input_moves_its_own_part(project, change):
    edit, moved = CHANGES[change]
    before = _digest(project)
    edit(project)
    after = _digest(project)
    assert after.digest != before.digest
    assert set(_moved(after, before)) == moved


# What is not an input: nothing moves.
SAME = {
    "a comment in the stack file": _append("stacks/Pulumi.dev.yaml", "# a note\n"),
    "a comment in Pulumi.yaml": _append("Pulumi.yaml", "# a note\n"),
    "a fresh token in the kubeconfig": lambda root: _kubeconfig(Path(os.environ["KUBECONFIG"]), token="two"),
    "a virtualenv's files": _append(".venv/lib/site.py", "x = 1\n"),
    "a folder that holds a virtualenv": lambda root: (
        (root / "env").mkdir(),
        (root / "env" / "pyvenv.cfg").write_text("home = /usr\n"),
        (root / "env" / "mod.py").write_text("x = 1\n"),
    ),
    "bytecode caches": _append("skillship_components/__pycache__/x.cpython-311.pyc", "junk"),
    "a render": _append("rendered/dev/manifests/0001-namespace.yaml", "kind: Namespace\n"),
    "another stack's file": _append("stacks/Pulumi.prod.yaml", "\n# changed\n"),
}


@pytest.mark.parametrize("change", sorted(SAME))
def test_what_is_not_an_input_moves_nothing(project, change):
    before = _digest(project)
    SAME[change](project)
    assert _digest(project).as_output() == before.as_output()


def test_a_shards_file_that_holds_only_the_pipelines_password_changes_nothing(project):
    """The pipeline sets the password on a new shard stack, which makes the shard's file."""
    _edit_stack("skillship:shards", {"count": 2})(project)
    before = _digest(project, "dev.2", password="pw")
    (project / "stacks" / "Pulumi.dev.2.yaml").write_text(
        yaml.safe_dump({"encryptionsalt": "v1:salt", "config": {"skillship:registryPassword": CIPHER}})
    )
    assert _digest(project, "dev.2", password="pw").as_output() == before.as_output()


def test_the_stack_file_as_pulumi_writes_it_again_changes_nothing(project):
    """Making a stack, Pulumi writes its file again: an encryption salt, each value quoted."""
    before = _digest(project)
    path = project / "stacks" / "Pulumi.dev.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"] = {
        key: value if isinstance(value, (str, dict, list)) else json.dumps(value)
        for key, value in document["config"].items()
    }
    document["encryptionsalt"] = "v1:LlfWuOPyn4A=:v1:9XCcEf3ckn4COTRC:5877KvkrnYDFRFgOqleo6pHQcI3ebg=="
    path.write_text(yaml.safe_dump(document))
    assert _digest(project).as_output() == before.as_output()


def test_the_registry_password_is_its_own_part_and_never_in_the_output(project):
    set_by_pipeline = _edit_stack("skillship:registryPassword", CIPHER)
    first = _digest(project, password="hunter2")
    set_by_pipeline(project)  # what the pipeline writes on each run: a new ciphertext, the same password
    assert _digest(project, password="hunter2").as_output() == first.as_output()
    other = _digest(project, password="hunter3")
    assert _moved(other, first) == ["password"]
    text = json.dumps(first.as_output())
    assert "hunter2" not in text
    # Without a password from the pipeline, the file's ciphertext is the input.
    assert _moved(_digest(project), first) == ["password", "settings"]


def test_a_new_ciphertext_of_a_secret_is_a_change_of_settings(project):
    _edit_stack("skillship:secrets", {"hello": {"api.token": CIPHER}})(project)
    before = _digest(project)
    _edit_stack("skillship:secrets", {"hello": {"api.token": {"secure": "v1:DDDDEEEEFFFF"}}})(project)
    assert _moved(_digest(project), before) == ["settings"]


def test_skillships_own_packages_and_versions_are_inputs(project, tmp_path, monkeypatch):
    package = tmp_path / "site" / "fakeskillship"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(digests, "PACKAGES", ("fakeskillship",))
    digests._packages_digest.cache_clear()
    before = _digest(project)
    (package / "__init__.py").write_text("X = 2\n")
    digests._packages_digest.cache_clear()
    assert _moved(_digest(project), before) == ["packages"]
    real = digests.metadata.version
    monkeypatch.setattr(digests.metadata, "version", lambda name: "9.9.9" if name == "pulumi" else real(name))
    digests._packages_digest.cache_clear()
    moved = _digest(project)
    digests._packages_digest.cache_clear()
    assert _moved(moved, before) == ["packages"]


def test_a_shard_digests_the_same_planned_alone_or_from_its_environment(project):
    _edit_stack("skillship:shards", {"count": 2})(project)
    environment = load_stack(project, "dev")
    whole = plan_stack(project, environment.settings, project_dir=project)
    shares = set()
    for name in environment.stacks:
        config = load_stack(project, name)
        alone = plan_stack(project, config.settings, project_dir=project)
        from_environment = stack_digest(config, whole, registry_password="pw")
        assert stack_digest(config, alone, registry_password="pw").as_output() == from_environment.as_output(), name
        shares.add(from_environment.parts["objects"])
    assert len(shares) == len(environment.stacks)  # the base and each shard declare objects of their own
    configs = [load_stack(project, name) for name in environment.stacks]
    together = stack_digests(configs, whole, registry_password="pw")
    assert [d.as_output() for d in together] == [
        stack_digest(config, whole, registry_password="pw").as_output() for config in configs
    ]


def test_the_stacks_digested_together_read_the_program_each_time(project):
    """stack_digests reads the project's files once per call, never from an earlier call."""
    _edit_stack("skillship:shards", {"count": 2})(project)
    environment = load_stack(project, "dev")
    whole = plan_stack(project, environment.settings, project_dir=project)
    configs = [load_stack(project, name) for name in environment.stacks]
    before = stack_digests(configs, whole, registry_password=None)
    (project / "__main__.py").write_text((project / "__main__.py").read_text() + "\nprint('changed')\n")
    after = stack_digests(configs, whole, registry_password=None)
    assert [_moved(a, b) for a, b in zip(after, before, strict=True)] == [["program"]] * len(configs)


def test_render_stacks_have_no_cluster_part_to_move(project, monkeypatch):
    before = _digest(project, "local")
    _server(project)
    assert _digest(project, "local").as_output() == before.as_output()


ENTRY = {"kind": "update", "result": "succeeded", "version": 12, "endTime": "2026-12-06 21:03:00"}


def test_the_pipeline_skips_only_an_update_that_succeeded_with_these_inputs(project):
    digest = _digest(project, password="pw")
    recorded = {**ENTRY, "message": update_message("deploy", digest)}
    found = verdict(digest, recorded)
    assert found.skip and found.reason.startswith("unchanged since update 12"), found
    _append("skills/hello/actions/hello/main.py", "\n# changed\n")(project)
    moved = verdict(_digest(project, password="pw"), recorded)
    assert not moved.skip and moved.reason == "objects changed since update 12", moved
    refused = {
        "never deployed": None,
        "a failed update": {**recorded, "result": "failed"},
        "an update under way": {**recorded, "result": "in-progress"},
        "a refresh since": {**recorded, "kind": "refresh"},
        "an up by hand": {**recorded, "message": "fix it"},
        "an older record": {**recorded, "message": recorded["message"].replace(" v1 ", " v0 ")},
    }
    for what, entry in refused.items():
        assert not verdict(digest, entry).skip, what
    # A self-managed backend numbers no update: its time says which.
    unnumbered = verdict(digest, {**recorded, "version": 0, "endTime": "2026-12-06T23:27:49.000Z"})
    assert unnumbered.skip and unnumbered.reason == "unchanged since its last update (2026-12-06T23:27:49.000Z)"


def test_the_update_message_says_each_part_short_and_the_digest_whole(project):
    digest = _digest(project)
    message = update_message("deploy", digest)
    assert digest.digest in message and message.startswith("skillship-pipeline deploy: ")
    assert all(f"{name}={value[:16]} " in message + " " for name, value in digest.parts.items())
    assert sys.getsizeof(message) < 1024


def test_a_stack_whose_skills_are_its_last_updates_has_none_to_release(project):
    """The pipeline releases from a shard's state only skills that left it: it asks the backend
    which only when the stack's `share` moved, or no update of this version recorded it."""
    digest = _digest(project)
    recorded = {**ENTRY, "message": update_message("deploy", digest)}
    _append("skills/hello/actions/hello/main.py", "\n# changed\n")(project)
    changed_code = _digest(project)
    assert same_part(changed_code, recorded, "share") and not same_part(changed_code, recorded, "objects")
    _edit_stack("skillship:skills", ["hello"])(project)
    assert not same_part(_digest(project), recorded, "share")
    for entry in (None, {**recorded, "result": "failed"}, {**recorded, "message": "by hand"}):
        assert not same_part(changed_code, entry, "share"), entry
