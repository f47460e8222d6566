from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillship.checks.names import action_name, is_label_value, k8s_name

DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("hello",), "hello"),
        (("cortex/simplejob-skill",), "cortex-simplejob-skill"),
        (("My_Skill",), "my-skill"),
        (("a__b//c",), "a-b-c"),
        (("-x-",), "x"),
        (("!!!",), "x"),
    ],
)
def test_readable_names(parts, expected):
    assert k8s_name(*parts) == expected


def test_long_names_are_truncated_with_a_stable_hash():
    long = "s" * 80
    name = k8s_name(long)
    assert len(name) == 63 and name == k8s_name(long)
    assert name != k8s_name("s" * 81)  # different originals keep different names


def test_action_named_like_its_skill_is_not_repeated():
    assert action_name("hello", "hello") == "hello"
    assert action_name("hello", "Train") == "hello-train"


@given(st.text(min_size=0, max_size=120))
def test_every_name_is_a_dns_label_and_a_label_value(text):
    name = k8s_name(text)
    assert DNS_1123_LABEL.match(name) and len(name) <= 63
    assert is_label_value(name)
