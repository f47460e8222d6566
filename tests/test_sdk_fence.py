"""The SDK adaptations' one entry point: the version gate, a switch each, the program's one call."""

from __future__ import annotations

import ast
import asyncio
import tomllib

import pulumi
import pulumi.log
import pulumi.runtime.stack
import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc

from skillship_components.sdk import adapt_sdk, gate
from skillship_components.sdk.switches import AS_SHIPPED_VARIABLE, DEBUG_VARIABLE, NAMES, UnknownAdaptation
from tests.support.program import REPO


@pytest.fixture
def sdk(monkeypatch):
    """The four places the adaptations change, put back after each test; and the warnings given."""
    monkeypatch.setattr(pulumi.log, "debug", pulumi.log.debug)
    monkeypatch.setattr(pulumi.runtime.stack, "asyncio", asyncio)
    monkeypatch.setattr(rpc, "resolve_outputs", rpc.resolve_outputs)
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", sdk_resource._get_stack_trace)
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    return warnings


def _as_shipped() -> dict[str, object]:
    return {
        "debug-messages": pulumi.log.debug,
        "output-wait": pulumi.runtime.stack.asyncio,
        "read-back": rpc.resolve_outputs,
        "stack-traces": sdk_resource._get_stack_trace,
    }


def _changed(before: dict[str, object]) -> set[str]:
    return {name for name, value in _as_shipped().items() if value is not before[name]}


@pytest.mark.parametrize("installed", [str(gate.LOWEST), "3.250.1", str(gate.NEWEST)])
def test_an_sdk_in_the_tested_range_gets_every_adaptation_and_no_warning(sdk, tmp_path, installed):
    before = _as_shipped()
    assert adapt_sdk(tmp_path, {}, installed) == NAMES
    assert _changed(before) == set(NAMES)
    assert sdk == []


@pytest.mark.parametrize("installed", ["3.230.0", "3.272.1", "3.300.0", "4.0.0", "3.273.0.dev1", "not-a-version"])
def test_an_sdk_outside_the_tested_range_is_left_as_it_ships_with_one_warning(sdk, tmp_path, installed):
    before = _as_shipped()
    assert adapt_sdk(tmp_path, {}, installed) == ()
    assert _changed(before) == set()
    assert len(sdk) == 1
    assert f"the Pulumi SDK installed is {installed}" in sdk[0] and "3.231.0 to 3.272.0" in sdk[0]


@pytest.mark.parametrize("name", NAMES)
def test_each_adaptation_has_a_switch_of_its_own(sdk, tmp_path, name):
    before = _as_shipped()
    applied = adapt_sdk(tmp_path, {AS_SHIPPED_VARIABLE: f" {name} "}, str(gate.NEWEST))
    assert applied == tuple(n for n in NAMES if n != name)
    assert _changed(before) == set(applied)


@pytest.mark.parametrize(
    "environ", [{DEBUG_VARIABLE: "1"}, {AS_SHIPPED_VARIABLE: "all"}, {AS_SHIPPED_VARIABLE: ",".join(NAMES)}]
)
def test_the_debug_variable_or_all_leaves_the_whole_sdk_as_it_ships(sdk, tmp_path, environ):
    before = _as_shipped()
    assert adapt_sdk(tmp_path, environ, str(gate.NEWEST)) == ()
    assert _changed(before) == set()


def test_an_unknown_name_is_refused_naming_the_known_ones_and_changes_nothing(sdk, tmp_path):
    before = _as_shipped()
    with pytest.raises(UnknownAdaptation, match=r"names 'readback': the adaptations are debug-messages, "):
        adapt_sdk(tmp_path, {AS_SHIPPED_VARIABLE: "readback"}, str(gate.NEWEST))
    assert _changed(before) == set()


def test_the_gates_range_is_the_one_pyproject_admits_and_ci_installs():
    """The floor is the deploy extra's (tools/lowest-versions.sh installs it), the cap the test
    extra's (the suite installs the newest under it): the range the adaptations are tested in."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]

    def specifier(extra: str):
        (found,) = [Requirement(r).specifier for r in extras[extra] if Requirement(r).name == "pulumi"]
        return found

    assert {s.operator: Version(s.version) for s in specifier("deploy")}[">="] == gate.LOWEST
    assert {s.operator: Version(s.version) for s in specifier("test")}["<="] == gate.NEWEST
    assert gate.outside_tested(gate.installed_sdk()) is None, "this suite runs an SDK outside the gate's range"


@pytest.mark.parametrize("program", ["__main__.py", "skillship/templates/project/__main__.py"])
def test_the_program_and_every_init_made_project_call_the_one_entry_point(program):
    """No program copies the adaptations' calls: each imports `adapt_sdk` and nothing else of them."""
    tree = ast.parse((REPO / program).read_text())
    imported = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("skillship_components.sdk")
        for alias in node.names
    }
    assert imported == {("skillship_components.sdk", "adapt_sdk")}
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert calls.count("adapt_sdk") == 1
