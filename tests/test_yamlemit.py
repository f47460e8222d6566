"""The manifest writer: whatever it writes, a YAML reader reads back as the same data."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from skillship.output.yamlemit import scalar, to_yaml

keys = st.text(max_size=12)
values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=800, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_round_trip_through_a_yaml_reader(obj):
    assert yaml.safe_load(to_yaml(obj)) == obj


@pytest.mark.parametrize(
    "text",
    [
        "true",
        "No",
        "on",
        "NULL",
        "y",
        "~",
        "",
        "1.0",
        "0x1F",
        "1e3",
        "2026-11-24",
        "12:30",
        ".inf",
        "-",
        "a: b",
        "a #b",
        "- x",
        "@x",
        "*x",
        "&x",
        "!x",
        "%x",
        "'x'",
        '"x"',
        "x\ny",
        "tab\there",
        "\u2028",
        "\x85",
        "\x7f",
        "\ufeff",
        "é",
        "emoji 😀",
        "{}",
        "[]",
        "? x",
        "| x",
        "> x",
    ],
)
def test_strings_that_could_be_misread_stay_strings(text):
    assert yaml.safe_load(to_yaml({"k": text})) == {"k": text}
    assert yaml.safe_load(to_yaml({text: 1})) == {text: 1}


def test_plain_where_it_is_safe_and_sorted_keys():
    text = to_yaml(
        {"metadata": {"name": "hello-1a2b", "labels": {"app.kubernetes.io/name": "hello"}}, "apiVersion": "batch/v1"}
    )
    assert text == "apiVersion: batch/v1\nmetadata:\n  labels:\n    app.kubernetes.io/name: hello\n  name: hello-1a2b\n"


def test_unsupported_values_are_refused():
    with pytest.raises(TypeError):
        scalar(1.5)


def test_remembered_strings_are_bounded_and_written_the_same(monkeypatch):
    from skillship.output import yamlemit

    monkeypatch.setattr(yamlemit, "_STRINGS", {})
    monkeypatch.setattr(yamlemit, "_STRINGS_MAX", 5)
    first = [to_yaml({"k": f"value {index}", "yes": "no"}) for index in range(50)]
    again = [to_yaml({"k": f"value {index}", "yes": "no"}) for index in range(50)]
    assert first == again
    assert len(yamlemit._STRINGS) == 5
    assert yaml.safe_load(first[42]) == {"k": "value 42", "yes": "no"}


def test_lists_of_mappings_and_lists_nest_as_block_yaml():
    obj = {
        "containers": [{"name": "a", "ports": [{"containerPort": 1}, {"containerPort": 2}]}, {"name": "b"}],
        "matrix": [[1, 2], [], [[3]]],
        "empty": [{}],
    }
    text = to_yaml(obj)
    assert text == (
        "containers:\n"
        "- name: a\n"
        "  ports:\n"
        "  - containerPort: 1\n"
        "  - containerPort: 2\n"
        "- name: b\n"
        "empty:\n"
        "- {}\n"
        "matrix:\n"
        "- - 1\n"
        "  - 2\n"
        "- []\n"
        "- - - 3\n"
    )
    assert yaml.safe_load(text) == obj
