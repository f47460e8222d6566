"""Each kind of broken workspace is reported with file, line and field, and blocks deployment."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from skillship import Severity, load_workspace
from tests.conftest import FIXTURES, REPO, line_of


def test_the_example_workspace_is_valid_without_warnings():
    workspace, diagnostics = load_workspace(REPO / "skills")
    assert diagnostics.items == []
    assert [s.skill.name for s in workspace.skills] == ["consumer", "hello", "producer"]
    assert [a.agent.name for a in workspace.agents] == ["stream"]


def test_the_workspace_root_and_its_skills_folder_read_the_same(example_copy):
    from_root, _ = load_workspace(example_copy)
    from_skills, _ = load_workspace(example_copy / "skills")
    assert [s.file for s in from_root.skills] == [s.file for s in from_skills.skills]
    assert len(from_root.agents) == len(from_skills.agents) == 1


def test_real_world_variants_load_cleanly():
    workspace, diagnostics = load_workspace(FIXTURES / "cortex-variants")
    assert diagnostics.errors == []
    names = sorted(s.skill.name for s in workspace.skills)
    assert names == [
        "cortex/simplejob-skill",
        "daemon1",
        "external-api",
        "legacy_skill",
        "makefile-only",
        "routed",
        "trainer",
    ]
    simple = workspace.skill("cortex/simplejob-skill").skill
    assert simple.actions[0].port == 5000
    assert simple.actions[0].environment_variables == {"TEST": "value", "OTHER": "x"}
    assert simple.inputs[0].routing.all.action == "simplejob"  # `action  :` with extra spaces


def replace(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        path = root / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1))

    return mutate


def append(relative: str, extra: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        path = root / relative
        path.write_text(path.read_text() + extra)

    return mutate


def delete(relative: str) -> Callable[[Path], None]:
    return lambda root: (root / relative).unlink()


@dataclass(frozen=True)
class Broken:
    code: str
    mutate: Callable[[Path], None]
    file: str
    marker: str | None  # text on the reported line (None: no line, e.g. a file-level problem)
    field: str | None
    occurrence: int = 0
    severity: Severity = Severity.ERROR


HELLO = "skills/hello/skill.yaml"
CONSUMER = "skills/consumer/skill.yaml"
AGENT = "agents/stream.yaml"

CASES = {
    "malformed-yaml": Broken(
        "yaml-syntax", replace(HELLO, "title: Hello job", "title: [Hello job"), HELLO, "description:", None
    ),
    "unknown-camel": Broken("camel-version", replace(HELLO, "camel: 1.0.0", "camel: 2.0.0"), HELLO, "camel:", "camel"),
    "missing-dockerfile": Broken(
        "missing-dockerfile",
        delete("skills/hello/actions/hello/Dockerfile"),
        HELLO,
        "  - name: hello",
        "actions[0].name",
    ),
    "routing-to-missing-action": Broken(
        "routing-unknown-action",
        replace(HELLO, "action: hello", "action: helo"),
        HELLO,
        "action: helo",
        "inputs[0].routing.all.action",
    ),
    "daemon-on-jobs-runtime": Broken(
        "routing-runtime",
        replace(CONSUMER, "runtime: cortex/daemons", "runtime: cortex/jobs"),
        CONSUMER,
        "runtime: cortex/jobs",
        "inputs[0].routing.all.runtime",
    ),
    "duplicate-property": Broken(
        "duplicate-property",
        replace(HELLO, "  - name: api.token", "  - name: greeting"),
        HELLO,
        "  - name: greeting",
        "properties[1].name",
        occurrence=-1,
    ),
    "duplicate-skill": Broken(
        "duplicate-skill",
        replace("skills/producer/skill.yaml", "name: producer", "name: hello"),
        "skills/producer/skill.yaml",
        "name: hello",
        "name",
    ),
    "name-collision": Broken(
        "name-collision",
        replace("skills/producer/skill.yaml", "name: producer", "name: Hello"),
        "skills/producer/skill.yaml",
        "name: Hello",
        "name",
    ),
    "agent-unknown-ref": Broken(
        "agent-unknown-ref",
        replace(AGENT, "        refId: consumer-1\n        input", "        refId: consumer-9\n        input"),
        AGENT,
        "refId: consumer-9",
        "mappings[1].to.skill.refId",
    ),
    "agent-unknown-input": Broken(
        "agent-unknown-input",
        replace(AGENT, "input: records", "input: recordz"),
        AGENT,
        "input: recordz",
        "mappings[1].to.skill.input",
    ),
    "agent-unknown-output": Broken(
        "agent-unknown-output",
        replace(AGENT, "output: records", "output: recordz"),
        AGENT,
        "output: recordz",
        "mappings[1].from.skill.output",
    ),
    "agent-unknown-skill": Broken(
        "agent-unknown-skill",
        replace(AGENT, "skillName: consumer", "skillName: nobody"),
        AGENT,
        "skillName: nobody",
        "skills[1].skillName",
    ),
    "agent-unknown-signal": Broken(
        "agent-unknown-signal",
        replace(AGENT, "signalId: stream-ack\n", "signalId: stream-ac\n"),
        AGENT,
        "signalId: stream-ack",
        "mappings[2].to.output.signalId",
    ),
    "placeholder": Broken(
        "unrendered-placeholder",
        replace(HELLO, "title: Hello job", "title: {{skillname}}"),
        HELLO,
        "{{skillname}}",
        "title",
    ),
    "placeholder-in-valid-yaml": Broken(
        "unrendered-placeholder",
        replace(HELLO, "image: hello", "image: '{{skillname}}'"),
        HELLO,
        "{{skillname}}",
        "actions[0].image",
    ),
    "invalid-invoke-json": Broken(
        "invoke-json",
        replace("skills/hello/invoke/request/message.json", '"world"', '"world",'),
        "skills/hello/invoke/request/message.json",
        "  }",
        None,
    ),
    "duplicate-key": Broken("duplicate-key", append(HELLO, "name: hello2\n"), HELLO, "name: hello2", "name"),
    "bad-port": Broken(
        "schema", replace(CONSUMER, "port: 5000", "port: http"), CONSUMER, "port: http", "actions[0].port"
    ),
    "missing-required-field": Broken(
        "schema",
        replace(CONSUMER, "  - name: consumer\n    type: daemon", "  - type: daemon"),
        CONSUMER,
        "  - type: daemon",
        "actions[0].name",
    ),
    "top-level-list": Broken("not-a-mapping", lambda root: (root / HELLO).write_text("- a\n- b\n"), HELLO, "- a", None),
    "routing-without-action": Broken(
        "routing-no-action", replace(HELLO, "        action: hello\n", ""), HELLO, "    all:", "inputs[0].routing.all"
    ),
    "duplicate-action": Broken(
        "duplicate-action",
        replace(
            CONSUMER,
            "actions:\n  - name: consumer\n",
            "actions:\n  - name: consumer\n    type: job\n  - name: consumer\n",
        ),
        CONSUMER,
        "  - name: consumer",
        "actions[1].name",
        occurrence=1,
    ),
    "duplicate-input": Broken(
        "duplicate-input",
        replace(
            HELLO, "inputs:\n  - name: request\n", "inputs:\n  - name: request\n    title: first\n  - name: request\n"
        ),
        HELLO,
        "  - name: request",
        "inputs[1].name",
        occurrence=1,
    ),
    "duplicate-output": Broken(
        "duplicate-output",
        replace(
            HELLO,
            "outputs:\n  - name: response\n",
            "outputs:\n  - name: response\n    title: first\n  - name: response\n",
        ),
        HELLO,
        "  - name: response",
        "outputs[1].name",
        occurrence=1,
    ),
    "agent-duplicate-ref": Broken(
        "agent-duplicate-ref",
        replace(AGENT, "refId: consumer-1\n    title", "refId: producer-1\n    title"),
        AGENT,
        "refId: producer-1",
        "skills[1].refId",
        occurrence=1,
    ),
    # Once skipped by the walk, which lists only files: the skill vanished without a word.
    "skill-yaml-is-a-folder": Broken(
        "file-unreadable", lambda root: ((root / HELLO).unlink(), (root / HELLO).mkdir()), HELLO, None, None
    ),
    "mapping-into-an-agent-input": Broken(
        "agent-mapping",
        replace(
            AGENT,
            "    to:\n      skill:\n        refId: producer-1\n        input: request",
            "    to:\n      input:\n        signalId: stream-start",
        ),
        AGENT,
        "    to:",
        "mappings[0].to",
    ),
    "skill-name": Broken(
        "skill-name", replace(HELLO, "\nname: hello\n", "\nname: hello world\n"), HELLO, "name: hello world", "name"
    ),
    # Root reads any file whatever its mode, so the test makes one no one can read: a link to itself.
    "skill-yaml-unreadable": Broken(
        "file-unreadable",
        lambda root: ((root / HELLO).unlink(), (root / HELLO).symlink_to("skill.yaml")),
        HELLO,
        None,
        None,
    ),
    # Warnings: reported at their line, and the workspace still deploys.
    "skill-name-length": Broken(
        "skill-name-length",
        replace(HELLO, "\nname: hello\n", f"\nname: {'h' * 70}\n"),
        HELLO,
        "name: hhh",
        "name",
        severity=Severity.WARNING,
    ),
    "invalid-default": Broken(
        "invalid-default",
        replace(
            "skills/producer/skill.yaml",
            "    defaultValue: record\n",
            "    defaultValue: record\n    validValues: [a, b]\n",
        ),
        "skills/producer/skill.yaml",
        "defaultValue: record",
        "properties[0].defaultValue",
        severity=Severity.WARNING,
    ),
    "daemon-without-port": Broken(
        "daemon-port",
        replace(CONSUMER, "    port: 5000\n", ""),
        CONSUMER,
        "    type: daemon",
        "actions[0].port",
        severity=Severity.WARNING,
    ),
    "unknown-runtime": Broken(
        "unknown-runtime",
        replace(HELLO, "runtime: cortex/jobs", "runtime: cortex/lambda"),
        HELLO,
        "runtime: cortex/lambda",
        "inputs[0].routing.all.runtime",
        severity=Severity.WARNING,
    ),
    "unknown-output": Broken(
        "unknown-output",
        replace(HELLO, "output: response", "output: responze"),
        HELLO,
        "output: responze",
        "inputs[0].routing.all.output",
        severity=Severity.WARNING,
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_broken_workspace_is_reported_precisely(example_copy, case: Broken):
    case.mutate(example_copy)
    _, diagnostics = load_workspace(example_copy)
    assert diagnostics.ok is (case.severity is Severity.WARNING), [d.render() for d in diagnostics.items]
    matching = [d for d in diagnostics.items if d.code == case.code]
    assert matching, f"no {case.code} in {[d.render() for d in diagnostics.items]}"
    found = matching[0]
    assert found.file.endswith(case.file)
    if case.marker is not None:
        assert found.line == line_of(example_copy / case.file, case.marker, case.occurrence)
    assert found.field == case.field
    assert found.severity is case.severity


def test_all_problems_are_reported_in_one_pass(example_copy):
    for case in (
        CASES["unknown-camel"],
        CASES["routing-to-missing-action"],
        CASES["agent-unknown-input"],
        CASES["invalid-invoke-json"],
    ):
        case.mutate(example_copy)
    _, diagnostics = load_workspace(example_copy)
    assert {"camel-version", "routing-unknown-action", "agent-unknown-input", "invoke-json"} <= {
        d.code for d in diagnostics.errors
    }


def test_warnings_do_not_block(example_copy):
    replace(HELLO, "    secure: true", "    secure: true\n    defaultValue: hunter2")(example_copy)
    _, diagnostics = load_workspace(example_copy)
    assert diagnostics.ok
    assert [d.code for d in diagnostics.warnings] == ["secure-default"]


def test_huge_file_is_refused_not_read(example_copy):
    (example_copy / HELLO).write_text("camel: 1.0.0\n" + "# padding\n" * 200_000)
    _, diagnostics = load_workspace(example_copy)
    assert [d.code for d in diagnostics.errors if d.file.endswith(HELLO)] == ["file-too-large"]


def test_binary_file_is_reported(example_copy):
    (example_copy / HELLO).write_bytes(b"\xff\xfe\x00bad")
    _, diagnostics = load_workspace(example_copy)
    assert "file-encoding" in {d.code for d in diagnostics.errors}


def test_invoke_message_must_be_an_object(example_copy):
    (example_copy / "skills/hello/invoke/request/message.json").write_text(json.dumps([1, 2]))
    _, diagnostics = load_workspace(example_copy)
    assert "invoke-json" in {d.code for d in diagnostics.errors}


def test_an_empty_directory_is_not_a_workspace(tmp_path):
    _, diagnostics = load_workspace(tmp_path)
    assert [d.code for d in diagnostics.errors] == ["no-skills"]


def test_every_invoke_message_is_checked_however_deep_and_folders_are_not_files(example_copy):
    invoke = example_copy / "skills/hello/invoke"
    (invoke / "request/older/broken.json").parent.mkdir(parents=True)
    (invoke / "request/older/broken.json").write_text("{")
    (invoke / "request/notes.txt").write_text("not a message")
    (invoke / "folder.json").mkdir()  # a folder whose name ends in .json is not a message
    _, diagnostics = load_workspace(example_copy)
    assert [(d.code, Path(d.file).name) for d in diagnostics.errors] == [("invoke-json", "broken.json")]


def test_a_job_skill_without_its_message_file_is_warned(example_copy):
    (example_copy / "skills/hello/invoke/request/message.json").unlink()
    (example_copy / "skills/hello/invoke/request/message.json").mkdir()
    _, diagnostics = load_workspace(example_copy)
    assert diagnostics.ok
    assert [d.code for d in diagnostics.warnings] == ["no-message"]


def test_action_folders_that_no_action_names_are_warned_once_hidden_ones_never(example_copy):
    actions = example_copy / "skills/hello/actions"
    (actions / "leftover").mkdir()
    (actions / ".cache").mkdir()
    (actions / "README.md").write_text("a file, not a build context")
    _, diagnostics = load_workspace(example_copy)
    assert [(d.code, Path(d.file).name) for d in diagnostics.warnings] == [("unused-build-context", "leftover")]


def test_an_actions_entry_that_is_a_file_is_reported_not_raised(example_copy):
    actions = example_copy / "skills/hello/actions"
    shutil.rmtree(actions)
    actions.write_text("not a folder")
    _, diagnostics = load_workspace(example_copy)
    assert [d.code for d in diagnostics.errors] == ["missing-dockerfile"]


def test_an_ignore_file_docker_refuses_is_an_error_at_its_line(example_copy):
    """Docker refuses the whole build for a malformed pattern; validation says so first, naming the
    file docker reads (the Dockerfile's own ignore file wins over .dockerignore)."""
    context = example_copy / "skills/hello/actions/hello"
    (context / ".dockerignore").write_text("__pycache__\n[a-\n")
    _, diagnostics = load_workspace(example_copy)
    [error] = diagnostics.errors
    assert (error.code, error.file, error.line) == ("dockerignore", str(context / ".dockerignore"), 2)
    assert (
        error.message
        == "docker refuses this ignore file: pattern '[a-' is malformed (Go's filepath.Match: syntax error in pattern)"
    )
    (context / "Dockerfile.dockerignore").write_text("*.tmp\n!\n")
    [error] = load_workspace(example_copy)[1].errors
    assert (error.file, error.line) == (str(context / "Dockerfile.dockerignore"), 2)
    assert "lone '!'" in error.message
    (context / "Dockerfile.dockerignore").write_text("*.tmp\nx*[\n")  # Go's glob reads it; its expression fails
    [error] = load_workspace(example_copy)[1].errors
    assert error.line == 2 and "not a valid expression" in error.message
    (context / "Dockerfile.dockerignore").write_text("*.tmp\n")
    assert load_workspace(example_copy)[1].errors == []


def test_agent_values_no_skill_declares_or_that_are_secret_are_located_warnings(example_copy):
    agent = example_copy / "agents/stream.yaml"
    agent.write_text(
        agent.read_text()
        .replace("properties: []\n", "properties:\n  - name: colour\n    value: red\n")
        .replace(
            "    refId: producer-1\n",
            "    refId: producer-1\n    properties:\n      - name: api.key\n        value: x\n",
        )
        .replace(
            "skills:\n",
            "skills:\n  - skillName: hello\n    refId: hello-1\n    properties:\n      - name: api.token\n"
            "        value: plain\n",
            1,
        )
    )
    _, diagnostics = load_workspace(example_copy)
    found = {(d.code, d.line, d.field) for d in diagnostics.warnings if d.code.startswith("agent-")}
    lines = agent.read_text().splitlines()
    assert found == {
        ("agent-unknown-property", lines.index("  - name: colour") + 1, "properties[0].name"),
        ("agent-unknown-property", lines.index("      - name: api.key") + 1, "skills[1].properties[0].name"),
        ("agent-secure-property", lines.index("      - name: api.token") + 1, "skills[0].properties[0].name"),
    }


def test_routing_by_value_is_honoured_when_it_leads_one_way_and_refused_where_it_chooses(tmp_path):
    """The variants' `routed` skill routes by property, every rule to one action: nothing to choose.
    A rule to another action would choose per message, which a deployment cannot: refused at the line."""
    root = tmp_path / "ws"
    shutil.copytree(FIXTURES / "cortex-variants", root)
    _, diagnostics = load_workspace(root)
    assert [d for d in diagnostics.errors if "routed" in d.file] == []
    skill = root / "skills/routed/skill.yaml"
    text = skill.read_text().replace(
        "        - match: a\n          action: worker", "        - match: a\n          action: other"
    )
    skill.write_text(text.replace("actions:\n", "actions:\n  - name: other\n    type: job\n", 1))
    (root / "skills/routed/actions/other").mkdir()
    (root / "skills/routed/actions/other/Dockerfile").write_text("FROM scratch\n")
    _, diagnostics = load_workspace(root)
    [error] = [d for d in diagnostics.errors if d.code == "routing-rules"]
    assert (error.line, error.field) == (line_of(skill, "      property: kind"), "inputs[0].routing.property")
    assert "routes by property 'kind' to other (response), worker (response)" in error.message


def test_agent_files_at_the_workspace_root_are_read_and_other_yaml_there_is_not(example_copy):
    (example_copy / "agents/stream.yaml").rename(example_copy / "stream.yaml")
    (example_copy / "agents").rmdir()
    (example_copy / "docker-compose.yml").write_text("services:\n  web: {image: nginx}\n")
    (example_copy / "broken.yaml").write_text("camel: 1.0.0\nname: [\n")  # neither agent nor YAML: left alone
    workspace, diagnostics = load_workspace(example_copy)
    assert diagnostics.errors == []
    assert [a.agent.name for a in workspace.agents] == ["stream"]


@pytest.mark.parametrize(
    ("default", "warned"), [(10, False), (2.5, False), ("10", False), ("1e3", False), ("ten", True), (True, True)]
)
def test_a_number_propertys_default_must_be_a_number(example_copy, default, warned):
    skill = example_copy / "skills/producer/skill.yaml"
    text = skill.read_text().replace(
        "    type: String\n    defaultValue: record\n", f"    type: Number\n    defaultValue: {json.dumps(default)}\n"
    )
    skill.write_text(text)
    _, diagnostics = load_workspace(example_copy)
    found = [d for d in diagnostics.warnings if d.code == "invalid-default"]
    assert bool(found) is warned, found
