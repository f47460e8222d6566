"""Every variant of ../shared/FORMAT.md loads into one normalised shape."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from skillship.source.models import Action, Agent, Input, Property, Skill, parse_environment_variables


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"TEST"="value"', {"TEST": "value"}),
        ("", {}),
        ('"A"="1","B"="2"', {"A": "1", "B": "2"}),
        ('"A"="1"\n"B"="2"\n', {"A": "1", "B": "2"}),
        ('"A"="x,y", "B"=""', {"A": "x,y", "B": ""}),
        ("PLAIN=value", {"PLAIN": "value"}),
    ],
    ids=["one", "empty", "comma", "newline", "quoted-comma", "unquoted"],
)
def test_environment_variable_strings(raw, expected):
    assert parse_environment_variables(raw) == expected


def test_environment_variable_garbage_is_an_error():
    with pytest.raises(ValueError, match="KEY"):
        parse_environment_variables('"A"')


@pytest.mark.parametrize(
    ("port", "expected"), [(5000, 5000), ("5000", 5000), (" 8080 ", 8080), (None, None), ("", None)]
)
def test_ports_as_int_or_string(port, expected):
    assert Action.model_validate({"name": "a", "port": port}).port == expected


@pytest.mark.parametrize("port", ["http", 0, 70000, True, 1.5])
def test_bad_ports_are_rejected(port):
    with pytest.raises(ValidationError, match="port"):
        Action.model_validate({"name": "a", "port": port})


@pytest.mark.parametrize(
    ("parameters", "names", "refs"),
    [
        ({"$ref": "default/TReq"}, [None], ["default/TReq"]),
        ([{"name": "text", "type": "string", "required": True}], ["text"], [None]),
        (None, [], []),
        ([{"$ref": "T"}, {"name": "x"}], [None, "x"], ["T", None]),
    ],
    ids=["ref", "list", "absent", "mixed"],
)
def test_parameters_list_ref_or_absent(parameters, names, refs):
    parsed = Input.model_validate({"name": "request", "parameters": parameters}).parameters
    assert [p.name for p in parsed] == names
    assert [p.ref for p in parsed] == refs


def test_loose_property_types_and_integer_default_on_string():
    prop = Property.model_validate({"name": "daemon.port", "type": "String", "defaultValue": 5000})
    assert (prop.kind, prop.default_value, prop.secure) == ("string", 5000, False)


def test_action_type_is_case_insensitive_and_command_defaults_to_empty():
    action = Action.model_validate({"name": "a", "type": " Daemon ", "command": None})
    assert (action.type, action.command) == ("daemon", [])


def test_unknown_action_type_is_rejected():
    with pytest.raises(ValidationError):
        Action.model_validate({"name": "a", "type": "cron"})


def test_skill_without_actions_and_with_empty_lists():
    skill = Skill.model_validate({"camel": "1.0.0", "name": "cortex/x", "inputs": None, "actions": None})
    assert (skill.name, skill.actions, skill.inputs) == ("cortex/x", [], [])


def test_camel_as_a_number_stays_text_for_a_clear_version_error():
    assert Skill.model_validate({"camel": 1.0, "name": "x"}).camel == "1.0"


def test_routing_by_property_lists_every_target():
    routing = Input.model_validate(
        {
            "name": "r",
            "routing": {"property": "kind", "rules": [{"match": "a", "action": "x"}], "default": {"action": "y"}},
        }
    ).routing
    assert [(path, t.action) for path, t in routing.targets()] == [(("rules", 0), "x"), (("default",), "y")]


def test_agent_mapping_end_must_name_exactly_one_side():
    with pytest.raises(ValidationError, match="exactly one"):
        Agent.model_validate({"name": "a", "mappings": [{"from": {}, "to": {"output": {"signalId": "s"}}}]})
