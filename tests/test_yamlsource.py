from __future__ import annotations

import pytest

from skillship.source.yamlsource import YamlSyntaxError, parse_yaml


def test_every_key_and_item_keeps_its_line():
    document = parse_yaml("camel: 1.0.0\nactions:\n  - name: a\n\n    port: 5000\n  - name: b\n")
    assert document.data == {"camel": "1.0.0", "actions": [{"name": "a", "port": 5000}, {"name": "b"}]}
    assert document.line(("actions", 0, "port")) == 5
    assert document.line(("actions", 1)) == 6


def test_missing_field_falls_back_to_the_nearest_parent_line():
    document = parse_yaml("a: 1\nactions:\n  - name: a\n")
    assert document.line(("actions", 0, "image")) == 3


def test_duplicate_keys_are_recorded_with_both_lines():
    document = parse_yaml("name: x\ntitle: t\nname: y\n")
    assert document.data["name"] == "y"
    [duplicate] = document.duplicate_keys
    assert (duplicate.path, duplicate.line, duplicate.first_line) == (("name",), 3, 1)


def test_merge_keys_resolve_and_explicit_keys_win():
    document = parse_yaml("base: &b {image: x, port: 1}\naction:\n  <<: *b\n  port: 2\n")
    assert document.data["action"] == {"image": "x", "port": 2}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: [\n", 3),
        ("a: 1\n  b: 2\n", 2),
        ("name: {{skillname}}\n", 1),
        ("a: 'unterminated\n", 2),
        ("name: x\nreleased: 2001-02-30\n", 2),
        ("name: x\n!: camel: 1.0.0\n", 2),
        ("name: x\n? 2023-13-01\n: 1\n", 2),
        ("name: x\nport: !port 80\n", 2),
    ],
    ids=[
        "unclosed-list",
        "bad-indent",
        "placeholder-key",
        "unterminated-quote",
        "a-date-that-does-not-exist",
        "unknown-tag-on-a-key",
        "impossible-date-as-key",
        "unknown-tag-on-a-value",
    ],
)
def test_syntax_errors_carry_a_line(text, line):
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml(text)
    assert caught.value.line == line


def test_empty_document_is_none():
    assert parse_yaml("").data is None
