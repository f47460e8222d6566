"""Property-based: whatever a skill.yaml holds, the loader answers with models or located errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skillship import load_workspace
from tests.conftest import REPO

SEEDS = [(REPO / "skills" / name / "skill.yaml").read_text() for name in ("hello", "producer", "consumer")]
SEEDS += [p.read_text() for p in sorted((REPO / "tests/fixtures/cortex-variants/skills").rglob("skill.yaml"))]

yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def text_mutations(draw) -> str:
    """Line-level damage: deletions, duplications, re-indentation, inserted characters, truncation."""
    lines = draw(st.sampled_from(SEEDS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        operation = draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "insert", "truncate"]))
        if operation == "delete":
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, lines[index])
        elif operation == "indent":
            lines[index] = "  " + lines[index]
        elif operation == "dedent":
            lines[index] = lines[index].lstrip()
        elif operation == "insert":
            position = draw(st.integers(0, len(lines[index])))
            junk = draw(st.text(alphabet=":-[]{}&*!|>'\"%@`#, \t{}$", min_size=1, max_size=3))
            lines[index] = lines[index][:position] + junk + lines[index][position:]
        else:
            lines = lines[:index]
    return "\n".join(lines) + "\n"


@st.composite
def structural_mutations(draw) -> str:
    """Valid YAML whose values are replaced by anything at any depth."""
    data = yaml.safe_load(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        node = data
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            key = draw(st.sampled_from(list(node.keys()) if isinstance(node, dict) else list(range(len(node)))))
            if not isinstance(node[key], (dict, list)) or draw(st.booleans()):
                node[key] = draw(yaml_values)
                break
            node = node[key]
        else:
            if isinstance(node, dict):
                node[draw(st.text(max_size=8))] = draw(yaml_values)
    return yaml.safe_dump(data, sort_keys=False)


def _check(workspace_dir: Path, text: str):
    """Loads the skill file `text` in the workspace, checks what holds for any file, and returns
    the load's (workspace, diagnostics)."""
    skill_file = workspace_dir / "skills" / "fuzzed" / "skill.yaml"
    skill_file.write_text(text)
    workspace, diagnostics = load_workspace(workspace_dir)
    line_count = max(1, len(text.splitlines()) + 1)
    for item in diagnostics.items:
        assert item.file and item.message and item.code
        if item.line is not None and item.file.endswith("fuzzed/skill.yaml"):
            assert 1 <= item.line <= line_count
    if diagnostics.ok:
        assert len(workspace.skills) == 1
    return workspace, diagnostics


def _workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    context = root / "skills" / "fuzzed" / "actions"
    for name in ("hello", "producer", "consumer", "simplejob", "daemon1", "worker"):
        (context / name).mkdir(parents=True)
        (context / name / "Dockerfile").write_text("FROM scratch\n")
    return root


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=text_mutations())
def test_damaged_text_never_crashes_the_loader(tmp_path_factory, text):
    _check(_workspace(tmp_path_factory), text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=structural_mutations())
def test_odd_values_never_crash_the_loader(tmp_path_factory, text):
    _check(_workspace(tmp_path_factory), text)


def test_the_unmutated_seeds_load(tmp_path_factory):
    """The mutations start from files that load cleanly: a damaged one's diagnostics are the
    mutation's doing. (Before, this only ran the conditional checks that every fuzzed file gets.)"""
    for seed in SEEDS:
        root = _workspace(tmp_path_factory)
        workspace, diagnostics = _check(root, seed)
        assert diagnostics.ok, [(d.code, d.message) for d in diagnostics.errors]
        [loaded] = workspace.skills
        expected = yaml.safe_load(seed)
        assert loaded.skill.name == expected["name"]
        assert sorted(a.name for a in loaded.skill.actions) == sorted(a["name"] for a in expected.get("actions") or [])
        shutil.rmtree(root)
