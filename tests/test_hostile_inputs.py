"""Hostile or broken workspaces: each is a located diagnostic from `validate`, in bounded time and
memory, never a traceback, and nothing outside the workspace is read. Each case crashed, hung or
read outside the workspace before it was added here (docs/validation.md)."""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skillship.checks.validation import load_workspace
from skillship.cli import app
from skillship.plan import DeploymentPlan
from tests.conftest import REPO, line_of

runner = CliRunner()
HELLO = "skills/hello/skill.yaml"


def _errors(root: Path) -> list[tuple[str, str, int | None, str]]:
    _, diagnostics = load_workspace(root)
    return [(d.code, Path(d.file).name, d.line, d.message) for d in diagnostics.errors]


def _edit(root: Path, relative: str, old: str, new: str) -> Path:
    path = root / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    "damage", ["!: camel: 1.0.0", "camel: 2001-02-30"], ids=["unknown-tag-on-a-key", "a-date-that-does-not-exist"]
)
def test_a_value_yaml_cannot_construct_is_a_located_error_not_a_crash(example_copy, damage):
    """Found by the loader fuzz test: PyYAML raises for these while building the value, after the
    text has parsed."""
    _edit(example_copy, HELLO, "camel: 1.0.0", damage)
    [(code, file, line, message)] = _errors(example_copy)
    assert (code, file, line) == ("yaml-syntax", "skill.yaml", 1)
    assert message.startswith("not valid YAML: bad scalar value")


def _alias_bomb(levels: int) -> str:
    lines = ["lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for n in range(1, levels + 1):
        lines.append(f"lol{n}: &lol{n} [" + ", ".join([f"*lol{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_aliases_that_expand_exponentially_are_refused_quickly_where_they_are_used(example_copy):
    skill = example_copy / HELLO
    skill.write_text(skill.read_text() + _alias_bomb(11))  # 9**11 values if expanded: never finishes
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    errors = _errors(example_copy)
    assert time.monotonic() - started < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # kB: well under 200 MB more
    assert [(code, name) for code, name, _, _ in errors] == [("yaml-syntax", "skill.yaml")]
    code, _, line, message = errors[0]
    assert "aliases expand to more than 100,000 values" in message
    assert line is not None and line > line_of(skill, "lol0:")


def test_anchors_used_as_real_files_use_them_still_load(example_copy):
    skill = _edit(example_copy, HELLO, "title: Hello job", "title: &t Hello job\ndescription: *t")
    _edit(example_copy, HELLO, "description: A plain batch job that greets whoever its message names.\n", "")
    workspace, diagnostics = load_workspace(example_copy)
    assert diagnostics.ok, diagnostics.items
    assert workspace.skill("hello").skill.description == "Hello job"
    assert skill.exists()


@pytest.mark.parametrize(
    "text, problem",
    [
        ("a: &a [*a]\n", "refers to a value that contains it"),
        ("a: &a {b: *a}\n", "refers to a value that contains it"),
        ("a: &a\n  <<: *a\n  b: 1\n", "merge a mapping into itself"),
    ],
)
def test_an_alias_inside_its_own_anchor_is_refused_not_a_recursion_error(example_copy, text, problem):
    skill = example_copy / HELLO
    skill.write_text(skill.read_text() + text)
    errors = _errors(example_copy)
    assert [(c, n) for c, n, _, _ in errors] == [("yaml-syntax", "skill.yaml")]
    assert problem in errors[0][3] and errors[0][2] == line_of(skill, "a: &a")


@pytest.mark.parametrize(
    "nesting",
    [
        "tags: " + "[" * 400 + "]" * 400 + "\n",
        "extra:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(300)) + "  " * 301 + "v\n",
    ],
)
def test_nesting_hundreds_of_levels_deep_is_a_located_error(example_copy, nesting):
    skill = example_copy / HELLO
    skill.write_text(skill.read_text().replace("tags:\n  - label: example\n    value: plain job\n", "") + nesting)
    errors = _errors(example_copy)
    assert [(c, n) for c, n, _, _ in errors] == [("yaml-syntax", "skill.yaml")]
    assert "nested more than 100 levels deep" in errors[0][3] and errors[0][2] is not None


def test_a_deeply_nested_message_is_an_error_not_a_crash(example_copy):
    message = example_copy / "skills/hello/invoke/request/message.json"
    message.write_text('{"payload": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert ("invoke-json", "message.json") in [(c, n) for c, n, _, _ in _errors(example_copy)]


@pytest.mark.parametrize("name", ["../../somewhere", "/etc", "a/b", "..", "a\\b"])
def test_an_action_name_that_is_a_path_is_refused_and_nothing_there_is_read(example_copy, tmp_path, name, monkeypatch):
    _edit(example_copy, HELLO, "  - name: hello\n    type: job", f"  - name: {json.dumps(name)}\n    type: job")
    _edit(example_copy, HELLO, "        action: hello\n", f"        action: {json.dumps(name)}\n")
    touched: list[str] = []
    real_stat = os.stat

    def watch(path, *args, **kwargs):
        touched.append(os.fspath(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", watch)
    errors = _errors(example_copy)
    monkeypatch.undo()
    codes = [(c, n, line) for c, n, line, _ in errors]
    assert ("action-name", "skill.yaml", line_of(example_copy / HELLO, f"  - name: {json.dumps(name)}")) in codes, (
        errors
    )
    assert "missing-dockerfile" not in [c for c, *_ in errors]
    root = os.path.realpath(example_copy)
    assert all(os.path.realpath(p).startswith(root) for p in touched), [p for p in touched if not p.startswith(root)]


def test_links_that_lead_out_of_the_workspace_are_refused_never_read(example_copy, tmp_path):
    outside = tmp_path / "outside"
    (outside / "skill").mkdir(parents=True)
    (outside / "skill" / "skill.yaml").write_text((REPO / HELLO).read_text().replace("name: hello", "name: stolen"))
    (outside / "context").mkdir()
    (outside / "context" / "Dockerfile").write_text("FROM scratch\n")
    (outside / "message.json").write_text('{"payload": {"secret": true}}')
    skills = example_copy / "skills"
    (skills / "linked").mkdir()
    (skills / "linked" / "skill.yaml").symlink_to(outside / "skill" / "skill.yaml")  # a linked file
    (skills / "folder").symlink_to(outside / "skill", target_is_directory=True)  # a linked skill folder
    context = skills / "hello" / "actions" / "hello"
    os.rename(context, tmp_path / "moved")
    context.symlink_to(outside / "context", target_is_directory=True)  # a linked build context
    message = skills / "producer" / "invoke" / "request" / "message.json"
    message.unlink()
    message.symlink_to(outside / "message.json")
    workspace, diagnostics = load_workspace(example_copy)
    refused = sorted(Path(d.file).name for d in diagnostics.errors if d.code == "outside-workspace")
    assert refused == ["folder", "hello", "message.json", "skill.yaml"]
    assert "stolen" not in [s.skill.name for s in workspace.skills]


def test_links_inside_the_workspace_are_fine(example_copy):
    shared = example_copy / "shared-context"
    os.rename(example_copy / "skills/hello/actions/hello", shared)
    (example_copy / "skills/hello/actions/hello").symlink_to(shared, target_is_directory=True)
    _, diagnostics = load_workspace(example_copy)
    assert diagnostics.errors == []


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("properties", ["a", "b"], "'properties' must be an object, not list"),
        ("headers", "x", "'headers' must be an object, not str"),
        ("skillName", 3, "'skillName' must be a string, not int"),
    ],
)
def test_a_message_envelope_field_of_the_wrong_type_is_invalid_and_render_never_crashes(
    example_copy, tmp_path, field, value, problem
):
    message = example_copy / "skills/hello/invoke/request/message.json"
    message.write_text(json.dumps({"payload": {"name": "x"}, field: value}, indent=2))
    errors = _errors(example_copy)
    assert [(c, n, line) for c, n, line, _ in errors] == [
        ("invoke-json", "message.json", line_of(message, f'"{field}"'))
    ]
    assert problem in errors[0][3]
    shutil.copy(REPO / "Pulumi.yaml", example_copy)
    shutil.copytree(REPO / "stacks", example_copy / "stacks")
    cwd = os.getcwd()
    os.chdir(example_copy)
    try:
        result = runner.invoke(app, ["render", "--stack", "local", "--out", str(tmp_path / "out")])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert problem in result.output and not (tmp_path / "out").exists()


def _wire(example_copy: Path, loop: bool) -> Path:
    """The agent maps hello's output to producer's input and, with `loop`, producer's back to hello."""
    agent = example_copy / "agents/loop.yaml"
    mappings = [({"refId": "h", "output": "response"}, {"refId": "p", "input": "request"})]
    if loop:
        mappings.append(({"refId": "p", "output": "records"}, {"refId": "h", "input": "request"}))
    agent.write_text(
        json.dumps(
            {
                "camel": "1.0.0",
                "name": "loop",
                "skills": [{"skillName": "hello", "refId": "h"}, {"skillName": "producer", "refId": "p"}],
                "mappings": [{"from": {"skill": a}, "to": {"skill": b}} for a, b in mappings],
            },
            indent=1,
        )
    )
    return agent


def test_jobs_mapped_in_a_loop_are_a_validate_error_at_the_mapping(example_copy):
    agent = _wire(example_copy, loop=True)
    _, diagnostics = load_workspace(example_copy)
    loops = [d for d in diagnostics.errors if d.code == "agent-loop"]
    assert len(loops) == 1 and loops[0].file.endswith("loop.yaml")
    assert "hello" in loops[0].message and "producer" in loops[0].message
    assert loops[0].line in (line_of(agent, '"mappings"') + 1, line_of(agent, '"from"', -1) - 1)
    _wire(example_copy, loop=False)
    assert load_workspace(example_copy)[1].errors == []


def test_a_chain_of_jobs_longer_than_the_recursion_limit_is_ordered(example_copy):
    from skillship.plan import plan_deployment
    from skillship.stack.settings import StackSettings

    workspace, _ = load_workspace(REPO)
    base = plan_deployment(
        workspace, StackSettings.from_config("t", {"target": "render", "buildImages": False}), project_dir=REPO
    ).task("hello")
    count = 3000  # each task runs after the one with the next name: run order is the reverse of name order
    tasks = tuple(
        dataclasses.replace(base, key=f"t{i:05d}", after=(f"t{i + 1:05d}",) if i + 1 < count else ())
        for i in range(count)
    )
    ordered = DeploymentPlan(settings=None, tasks=tasks).ordered_tasks()  # type: ignore[arg-type]
    assert [t.key for t in ordered] == [f"t{i:05d}" for i in reversed(range(count))]


@pytest.mark.parametrize(
    "edit, code, problem",
    [
        (
            (
                "  - name: hello\n    type: job\n    image: hello",
                "  - name: hello\n    type: job\n    image: hello:1.2",
            ),
            "image-tag",
            "has a tag or digest",
        ),
        (
            (
                "  - name: hello\n    type: job\n    image: hello",
                "  - name: hello\n    type: job\n    image: reg.io/x/hello@sha256:" + "a" * 64,
            ),
            "image-tag",
            "has a tag or digest",
        ),
        (
            ('environmentVariables: \'"LOG_LEVEL"="info"\'', "environmentVariables: {'LOG LEVEL': info}"),
            "env-name",
            "printable ASCII without spaces or '='",
        ),
        (("- name: api.token", "- name: api token"), "secret-key", "letters, digits"),
    ],
)
def test_names_the_api_server_would_refuse_are_validate_errors(example_copy, edit, code, problem):
    skill = _edit(example_copy, HELLO, *edit)
    errors = [(c, line, m) for c, _, line, m in _errors(example_copy)]
    assert [c for c, _, _ in errors] == [code], errors
    assert problem in errors[0][2] and errors[0][1] == line_of(skill, edit[1].splitlines()[-1].strip()[:12])


def test_a_daemon_whose_service_name_would_start_with_a_digit_is_refused(example_copy):
    skill = _edit(example_copy, "skills/consumer/skill.yaml", "name: consumer\n", "name: 1consumer\n")
    errors = [(c, m) for c, _, _, m in _errors(example_copy) if c != "agent-unknown-skill"]
    assert [c for c, _ in errors] == ["service-name"], errors
    assert "'1consumer'" in errors[0][1] and skill.exists()
