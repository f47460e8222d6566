"""Every file Skillship reads goes through one door (skillship/source/door.py). Each class of
hostile or careless input the probe of issue #37 found is tried here, through the commands a user
runs, for every kind of file it applies to: a located error, in bounded time, never a traceback, a
hang, a read outside the project, or an echo of what an outside file holds."""

from __future__ import annotations

import json
import os
import resource
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.project import cli_in
from skillship.source import door
from skillship.source.door import MESSAGE, SKILL_FILE, Boundary, FileKind, FileMissing, ReadRefused
from skillship.source.jsontext import JsonRefused, parse_json, unfit_for_json
from skillship.stack.stackfiles import StackFileError, load_stack

SECRET = "runner-credential-0123456789"  # what an outside file holds: never in any output


@contextmanager
def within(seconds: int) -> Iterator[None]:
    """Fails the test, instead of hanging it, when the block takes longer (a read of a named pipe
    waits for a writer forever)."""

    def hung(signum, frame):
        raise AssertionError(f"took longer than {seconds} s: a read waited on something")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _outside_secret(tmp_path: Path) -> Path:
    secret = tmp_path / "runner-home" / "credentials.json"
    secret.parent.mkdir()
    secret.write_text(json.dumps({"token": SECRET}) + "\n")
    return secret


def _replace(path: Path, by: str, target: Path | None = None) -> None:
    """Puts a named pipe, a link (to `target`) or /dev/zero where a file is."""
    path.unlink(missing_ok=True)
    if by == "fifo":
        os.mkfifo(path)
    elif by == "link":
        assert target is not None
        path.symlink_to(target)
    elif by == "device":
        path.symlink_to("/dev/zero")


def _output(result) -> str:
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


# --- the door itself ---------------------------------------------------------------------------


def test_a_regular_file_inside_is_read_whole(tmp_path):
    (tmp_path / "a.json").write_text('{"x": 1}')
    assert door.read_text(tmp_path / "a.json", MESSAGE, Boundary(tmp_path)) == '{"x": 1}'


@pytest.mark.parametrize("by", ["fifo", "device"])
def test_special_files_are_refused_without_waiting_or_reading(tmp_path, by):
    path = tmp_path / "skill.yaml"
    _replace(path, by)
    with within(5), pytest.raises(ReadRefused) as refused:
        door.read_bytes(path, SKILL_FILE)
    assert refused.value.code == "file-special" and "only regular files" in refused.value.message


def test_a_link_out_is_refused_before_a_byte_is_read_and_its_content_never_shown(tmp_path):
    secret = _outside_secret(tmp_path)
    inside = tmp_path / "project"
    inside.mkdir()
    (inside / "message.json").symlink_to(secret)
    with pytest.raises(ReadRefused) as refused:
        door.read_text(inside / "message.json", MESSAGE, Boundary(inside))
    assert refused.value.code == "outside-workspace" and SECRET not in str(refused.value)


def test_a_link_then_dotdot_is_judged_where_the_kernel_goes_not_where_the_text_points(tmp_path):
    """`project/link/../x` is `x` beside the link's target to the kernel, while a lexical clean-up
    makes it `project/x`, inside."""
    secret = _outside_secret(tmp_path)
    project = tmp_path / "project"
    (project / "deep").mkdir(parents=True)
    (project / "link").symlink_to(secret.parent / "sub", target_is_directory=True)
    (secret.parent / "sub").mkdir()
    (project / "credentials.json").write_text('{"payload": {}}')  # what the text seems to name
    sneaky = project / "link" / ".." / "credentials.json"
    assert Boundary(project).escapes(sneaky)
    with pytest.raises(ReadRefused) as refused:
        door.read_text(sneaky, MESSAGE, Boundary(project))
    assert refused.value.code == "outside-workspace" and SECRET not in refused.value.message


def test_size_is_capped_before_reading(tmp_path):
    big = tmp_path / "Dockerfile"
    with open(big, "wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB to a reader, nothing on the disk
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ReadRefused) as refused:
        door.read_bytes(big, door.DOCKERFILE)
    assert refused.value.code == "file-too-large"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # kB


def test_bytes_that_are_not_utf8_are_located_at_their_offset(tmp_path):
    (tmp_path / "skill.yaml").write_bytes(b"name: h\xe9llo\n")
    with pytest.raises(ReadRefused) as refused:
        door.read_text(tmp_path / "skill.yaml", SKILL_FILE)
    assert (refused.value.code, refused.value.byte) == ("file-encoding", 7)
    assert "at byte 7" in refused.value.message


def test_a_missing_file_and_a_dangling_link_are_missing(tmp_path):
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for path in (tmp_path / "absent", tmp_path / "dangling"):
        with pytest.raises(FileMissing):
            door.read_bytes(path, SKILL_FILE)


_KIND = FileKind("test file", 4096)


@st.composite
def _entries(draw):
    """What may sit where a file is expected: content of any size, bytes of any encoding, a pipe,
    a folder, links to each, inside or outside, dangling, or through `..`."""
    shape = draw(st.sampled_from(["file", "fifo", "folder", "link-in", "link-out", "dangling", "dotdot", "device"]))
    content = draw(
        st.one_of(
            st.binary(max_size=64),
            st.text(max_size=64).map(lambda t: t.encode("utf-8")),
            st.integers(0, 3).map(lambda n: b"x" * (4096 + n - 1)),  # around the limit
        )
    )
    return shape, content


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry=_entries())
def test_the_door_answers_every_shape_with_bytes_or_a_located_refusal(tmp_path_factory, entry):
    shape, content = entry
    base = tmp_path_factory.mktemp("door")
    project, outside = base / "project", base / "outside"
    project.mkdir()
    outside.mkdir()
    (outside / "secret").write_bytes(SECRET.encode())
    (project / "inner").write_bytes(content)
    target = project / "target"
    if shape == "file":
        target.write_bytes(content)
    elif shape == "fifo":
        os.mkfifo(target)
    elif shape == "folder":
        target.mkdir()
    elif shape == "link-in":
        target.symlink_to(project / "inner")
    elif shape == "link-out":
        target.symlink_to(outside / "secret")
    elif shape == "dangling":
        target.symlink_to(project / "nowhere")
    elif shape == "device":
        target.symlink_to("/dev/zero")
    elif shape == "dotdot":
        (project / "hop").symlink_to(outside, target_is_directory=True)
        target = project / "hop" / ".." / "outside" / "secret"
    with within(5):
        try:
            data = door.read_bytes(target, _KIND, Boundary(project))
        except FileMissing:
            assert shape == "dangling"
            return
        except ReadRefused as refused:
            assert SECRET not in refused.message
            expected = {
                "fifo": {"file-special"},
                "device": {"file-special"},
                "folder": {"file-unreadable"},
                "link-out": {"outside-workspace"},
                "dotdot": {"outside-workspace"},
                "file": {"file-too-large"},
                "link-in": {"file-too-large"},
            }[shape]
            assert refused.code in expected, (shape, refused.code)
            if refused.code == "file-too-large":
                assert len(content) > _KIND.limit
            return
    assert shape in ("file", "link-in") and data == content and len(data) <= _KIND.limit


# --- JSON --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"payload": {"n": NaN}}', "NaN is not a JSON number"),
        ('{"payload": {"n": -Infinity}}', "-Infinity is not a JSON number"),
        ('{"payload": {"n": 1e999}}', "beyond the numbers JSON can carry"),
        ('{"payload": {"n": ' + "9" * 5000 + "}}", "an integer of 5000 digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"payload": ', "not valid JSON"),
    ],
    ids=["nan", "infinity", "overflow", "long-integer", "deep", "truncated"],
)
def test_json_that_cannot_travel_is_refused_with_its_place(text, problem):
    started = time.monotonic()
    with pytest.raises(JsonRefused) as refused:
        parse_json(text)
    assert problem in refused.value.message and time.monotonic() - started < 2
    if problem != "nested too deeply":
        assert refused.value.line == 1 and refused.value.column is not None


def test_values_from_yaml_are_checked_for_json_too():
    assert unfit_for_json({"payload": {"a": [1, 2.5, "x", None, True]}}) is None
    assert "inf" in unfit_for_json({"payload": {"a": [float("inf")]}})
    assert "nan" in unfit_for_json({"payload": float("nan")})
    assert "digits" in unfit_for_json({"payload": 10**400})


# --- through the commands, for every kind of file ----------------------------------------------


@pytest.mark.parametrize(
    ("relative", "by"),
    [
        ("skills/hello/skill.yaml", "fifo"),
        ("skills/hello/invoke/request/message.json", "fifo"),
        ("skills/hello/actions/hello/.dockerignore", "fifo"),
        ("skills/hello/actions/hello/Dockerfile", "fifo"),
        ("agents/stream.yaml", "fifo"),
        ("skills/hello/skill.yaml", "device"),
        ("skills/hello/invoke/request/message.json", "device"),
        ("skills/hello/actions/hello/.dockerignore", "device"),
    ],
)
def test_validate_and_render_never_wait_on_a_special_file(project, relative, by):
    _replace(project / relative, by)
    with within(60):
        checked = cli_in(project, "validate", "--json")
        rendered = cli_in(project, "render", "--stack", "local", "--json")
    assert checked.exit_code == 1 and rendered.exit_code == 1, checked.output
    [problem] = [d for d in json.loads(checked.stdout)["diagnostics"] if d["severity"] == "error"]
    assert problem["code"] == "file-special" and problem["file"].endswith(Path(relative).name), problem
    assert "Traceback" not in _output(checked) + _output(rendered)


@pytest.mark.parametrize("stack_file", ["stacks/Pulumi.local.yaml", "Pulumi.yaml"])
def test_a_special_file_as_a_stack_or_project_file_is_refused_at_once(project, stack_file):
    _replace(project / stack_file, "fifo")
    with within(60):
        rendered = cli_in(project, "render", "--stack", "local")
    assert rendered.exit_code != 0 and "named pipe" in _output(rendered) and "Traceback" not in _output(rendered)


def test_the_digest_cache_as_a_named_pipe_is_a_cold_cache(project, tmp_path, monkeypatch):
    from skillship.images.digest import default_cache_file

    monkeypatch.setenv("SKILLSHIP_CACHE_DIR", str(tmp_path / "cache"))
    cache = default_cache_file(project)
    assert cache is not None
    cache.parent.mkdir(parents=True)
    os.mkfifo(cache)
    with within(60):
        rendered = cli_in(project, "render", "--stack", "local", "--out", str(tmp_path / "out"))
    assert rendered.exit_code == 0, _output(rendered)


def test_an_ignore_file_linked_out_of_its_context_is_refused_unread(project, tmp_path):
    secret = _outside_secret(tmp_path)
    ignore = project / "skills/hello/actions/hello/.dockerignore"
    _replace(ignore, "link", secret)
    checked = cli_in(project, "validate", "--json")
    assert checked.exit_code == 1
    [problem] = [d for d in json.loads(checked.stdout)["diagnostics"] if d["severity"] == "error"]
    assert problem["code"] == "outside-workspace" and problem["file"].endswith(".dockerignore")
    rendered = cli_in(project, "render", "--stack", "local")
    assert SECRET not in _output(checked) + _output(rendered) and "Traceback" not in _output(rendered)


def test_a_stack_message_through_a_link_and_dotdot_is_refused(project, tmp_path):
    secret = _outside_secret(tmp_path)
    (project / "hop").symlink_to(secret.parent / "inner", target_is_directory=True)
    (secret.parent / "inner").mkdir()
    (secret.parent / "message.json").write_text('{"payload": {"token": "' + SECRET + '"}}')
    stack = project / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text() + "  skillship:messages:\n    hello: hop/../message.json\n")
    rendered = cli_in(project, "render", "--stack", "local", "--out", str(tmp_path / "out"))
    assert rendered.exit_code == 1 and "outside the project" in _output(rendered)
    assert SECRET not in _output(rendered) and not (tmp_path / "out").exists()


# --- stack files and Pulumi.yaml: the workspace's YAML loader ----------------------------------


def _bomb(levels: int) -> str:
    lines = ["lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{n}: &lol{n} [" + ", ".join([f"*lol{n - 1}"] * 9) + "]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (_bomb(11) + "config: {}\n", "aliases expand to more than 100,000 values"),
        ("config: &a\n  skillship:x: *a\n", "not valid YAML"),
        ("config:\n  skillship:messages: " + "[" * 500 + "]" * 500 + "\n", "nested more than"),
        ("config:\n  skillship:namespace: a\n  skillship:namespace: b\n", "skillship:namespace is set twice"),
        ("- config\n", "expected a mapping of settings, not list"),
        ("just text\n", "expected a mapping of settings, not str"),
    ],
    ids=["alias-bomb", "recursive-alias", "deep", "duplicate-key", "list", "scalar"],
)
def test_stack_files_get_the_workspace_loaders_bounds(project, text, problem):
    (project / "stacks/Pulumi.local.yaml").write_text(text)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(StackFileError) as refused:
        load_stack(project, "local")
    assert problem in str(refused.value) and "Pulumi.local.yaml" in str(refused.value)
    assert time.monotonic() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024
    rendered = cli_in(project, "render", "--stack", "local")
    assert rendered.exit_code != 0 and problem in _output(rendered) and "Traceback" not in _output(rendered)


def test_a_bad_byte_in_the_project_file_is_located(project):
    (project / "Pulumi.yaml").write_bytes((project / "Pulumi.yaml").read_bytes() + b"# caf\xe9\n")
    rendered = cli_in(project, "render", "--stack", "local")
    assert rendered.exit_code != 0 and "not UTF-8" in _output(rendered) and "Traceback" not in _output(rendered)


def test_a_bad_byte_in_another_stacks_file_does_not_break_this_one(project, tmp_path):
    (project / "stacks/Pulumi.other.yaml").write_bytes(b"config:\n  skillship:namespace: caf\xe9\n")
    rendered = cli_in(project, "render", "--stack", "local", "--out", str(tmp_path / "out"))
    assert rendered.exit_code == 0, _output(rendered)


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [".inf", "-.inf", ".nan", "1.0e+999"])  # YAML 1.1 floats
def test_a_stack_message_with_a_number_json_cannot_carry_is_refused(project, tmp_path, number):
    stack = project / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text() + f"  skillship:messages:\n    hello:\n      payload:\n        n: {number}\n")
    rendered = cli_in(project, "render", "--stack", "local", "--out", str(tmp_path / "out"))
    assert rendered.exit_code == 1 and "travels as JSON" in _output(rendered), _output(rendered)
    assert not (tmp_path / "out").exists()


def test_a_message_file_with_a_huge_integer_is_located_not_a_traceback(project, tmp_path):
    message = project / "skills/hello/invoke/request/message.json"
    message.write_text('{"payload": {"n": ' + "7" * 5000 + "}}")
    checked = cli_in(project, "validate", "--json")
    assert checked.exit_code == 1
    [problem] = [d for d in json.loads(checked.stdout)["diagnostics"] if d["severity"] == "error"]
    assert (problem["code"], problem["line"]) == ("invoke-json", 1) and "5000 digits" in problem["message"]


# --- values are checked whole ------------------------------------------------------------------

_GOOD_SETTINGS = {
    "namespace": "team-a",
    "cpuLimit": "500m",
    "memoryLimit": "1Gi",
    "registry": "registry.example.com:5000/team",
    "registryUsername": "ci-bot",
    "egressHosts": ["./*", "istio-system/*"],
    "images": {"hello": "registry.example.com/team/hello:1.2@sha256:" + "a" * 64},
    "promoteFrom": "staging",
}


@pytest.mark.parametrize("key", sorted(_GOOD_SETTINGS))
@pytest.mark.parametrize("damage", ["\n", " ", "\t"], ids=["newline", "space", "tab"])
def test_every_checked_setting_is_matched_whole(key, damage):
    """A pattern ending in `$` also matches before a final newline: `team-a\\n` passed as a
    namespace. Each setting accepts its good value, and refuses it with a character after it."""
    from skillship.stack.settings import SettingsError, StackSettings

    StackSettings.from_config("prod", _GOOD_SETTINGS)  # all good as they are
    value = _GOOD_SETTINGS[key]
    if isinstance(value, list):
        damaged: object = [value[0] + damage]
    elif isinstance(value, dict):
        damaged = {name: reference + damage for name, reference in value.items()}
    else:
        damaged = value + damage
    with pytest.raises(SettingsError) as refused:
        StackSettings.from_config("prod", {**_GOOD_SETTINGS, key: damaged})
    assert f"skillship:{key}" in str(refused.value)


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("name: hello", 'name: "hello\\n"', "skill-name"),
        ("name: api.token", 'name: "api.token\\n"', "secret-key"),
    ],
)
def test_names_in_skill_files_are_matched_whole(example_copy, old, new, code):
    from skillship.checks.validation import load_workspace

    skill = example_copy / "skills/hello/skill.yaml"
    text = skill.read_text()
    assert old in text
    skill.write_text(text.replace(old, new, 1))
    _, diagnostics = load_workspace(example_copy)
    assert code in {d.code for d in diagnostics.errors}, diagnostics.items


def test_a_builder_name_is_matched_whole():
    from skillship.stack.settings import SettingsError, StackSettings

    good = {"registry": "registry.example.com/team", "builder": "team-builder"}
    assert StackSettings.from_config("dev", good).builder == "team-builder"
    with pytest.raises(SettingsError, match="skillship:builder"):
        StackSettings.from_config("dev", {**good, "builder": "team-builder\n"})


# --- a workspace that is found, not walked -----------------------------------------------------


def test_validate_where_there_is_no_workspace_says_so_and_reads_nothing(tmp_path):
    home = tmp_path / "home"
    (home / "downloads" / "deep").mkdir(parents=True)
    (home / "downloads" / "deep" / "skill.yaml").write_text("name: [not, read\n")  # would be an error if read
    result = cli_in(home, "validate", "--json")
    assert result.exit_code == 2 and "no workspace here" in _output(result)
    assert json.loads(result.stdout)["exitCode"] == 2


def test_validate_below_a_project_finds_the_projects_workspace(project):
    result = cli_in(project / "skills" / "hello" / "actions", "validate", "--json")
    assert result.exit_code == 0, _output(result)
    assert "hello" in json.loads(result.stdout)["skills"]


def test_the_walk_skips_virtualenvs_and_other_projects(example_copy):
    from skillship.checks.validation import load_workspace

    for folder, marker in (("env", "pyvenv.cfg"), ("vendored", "Pulumi.yaml")):
        other = example_copy / "skills" / folder
        (other / "lib" / "pkg").mkdir(parents=True)
        (other / marker).write_text("")
        (other / "lib" / "pkg" / "skill.yaml").write_text("name: [broken\n")
    workspace, diagnostics = load_workspace(example_copy)
    assert diagnostics.ok, diagnostics.items
    assert sorted(s.skill.name for s in workspace.skills) == ["consumer", "hello", "producer"]


def test_a_walk_past_its_budget_stops_with_an_error(tmp_path, monkeypatch):
    from skillship.checks.validation import load_workspace
    from skillship.source import workspace as reading

    monkeypatch.setattr(reading, "MAX_FOLDERS", 20)
    for n in range(30):
        (tmp_path / "big" / f"folder{n}").mkdir(parents=True)
    _, diagnostics = load_workspace(tmp_path / "big")
    [stopped] = [d for d in diagnostics.errors if d.code == "no-workspace"]
    assert "more than 20 folders" in stopped.message


def test_a_file_name_that_is_not_utf8_in_a_build_context_is_located_not_a_traceback(project, tmp_path):
    context = project / "skills/hello/actions/hello"
    with open(os.path.join(os.fsencode(context), b"notes-\xff.txt"), "wb") as handle:
        handle.write(b"x")
    rendered = cli_in(project, "render", "--stack", "local", "--out", str(tmp_path / "out"))
    checked = cli_in(project, "validate", "--stack", "local", "--json")
    assert rendered.exit_code == 1 and checked.exit_code == 1, _output(rendered)
    assert "not UTF-8 text" in _output(rendered) and "Traceback" not in _output(rendered) + _output(checked)
    [problem] = [d for d in json.loads(checked.stdout)["diagnostics"] if d["severity"] == "error"]
    assert problem["code"] == "build-context" and "notes-" in problem["file"]


def test_an_integer_past_pythons_digit_limit_in_yaml_is_located_and_not_echoed(example_copy):
    from skillship.checks.validation import load_workspace

    skill = example_copy / "skills/hello/skill.yaml"
    skill.write_text(skill.read_text().replace("title: Hello job", "title: Hello job\nextra: " + "9" * 5000, 1))
    _, diagnostics = load_workspace(example_copy)
    [error] = diagnostics.errors
    assert (error.code, error.line) == ("yaml-syntax", 4)
    assert "5000 characters" in error.message and "9" * 100 not in error.message
