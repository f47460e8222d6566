"""The stack trace sent with each resource: the program's own frames, picked by the SDK's rule."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pulumi.runtime
import pytest
from pulumi.runtime import resource as sdk_resource

from skillship_components.sdk.stack_traces import keep_program_frames
from skillship_components.sdk.switches import AS_SHIPPED_VARIABLE, DEBUG_VARIABLE
from tests.support.program import REPO, run_program, stack_config

PROGRAM_FILES = ((REPO / "__main__.py").as_uri(), (REPO / "skillship_components").as_uri() + "/")


def _ours(uri: str) -> bool:
    return uri == PROGRAM_FILES[0] or uri.startswith(PROGRAM_FILES[1])


@pytest.mark.parametrize("stack", ["local", "dev", "prod"])
def test_each_resource_keeps_exactly_the_sdks_frames_that_are_the_programs(stack):
    """Against the SDK's own traces (SKILLSHIP_SDK_DEBUG=1 keeps them) for the same program: the
    same frames of __main__.py and skillship_components/, in the same order; the source position is the first
    of them, the SDK's own wherever the SDK's points into the program."""
    trimmed = run_program(stack, stack_config(stack))
    full = run_program(stack, stack_config(stack), env={DEBUG_VARIABLE: "1"})
    assert trimmed.error is None and full.error is None, (trimmed.error, full.error)
    full_by_urn = {r["urn"]: r for r in full.resources}
    assert sorted(full_by_urn) == sorted(r["urn"] for r in trimmed.resources)
    dropped = 0
    declared = [r for r in trimmed.resources if r["type"] != "pulumi:pulumi:Stack"]  # registered before the program
    for resource in declared:
        sdk = full_by_urn[resource["urn"]]
        expected = [frame for frame in sdk["stackTrace"] if _ours(frame[0])]
        assert resource["stackTrace"] == expected, resource["urn"]
        assert resource["stackTrace"], resource["urn"]  # every resource is declared by the program
        assert resource["sourcePosition"] == resource["stackTrace"][0]
        if _ours(sdk["sourcePosition"][0]):  # else (a provider: the SDK stops in its package) ours is nearer
            assert resource["sourcePosition"] == sdk["sourcePosition"]
        dropped += len(sdk["stackTrace"]) - len(expected)
    # The SDK's traces hold the harness's, asyncio's and the SDK's frames besides: many per resource.
    assert dropped >= 5 * len(declared)


def test_a_job_is_traced_from_the_builder_call_up_to_the_program():
    run = run_program("dev", stack_config("dev"))
    [job] = [r for r in run.kubernetes() if r["type"] == "kubernetes:batch/v1:Job" and "hello" in r["name"]]
    files = [uri.rsplit("/", 2)[-2:] for uri, _ in job["stackTrace"]]
    assert files[0] == ["skillship_components", "kubernetes.py"]  # declare(): where every object is registered
    assert ["skillship_components", "skill_job.py"] in files and files[-1][-1] == "__main__.py"


def test_no_sdk_module_holds_a_binding_of_its_own_to_the_sdks_function():
    """The replacement works because the SDK looks `_get_stack_trace` up in its module each time;
    a module that imported the function by name would keep sending the full trace."""
    original = sdk_resource._get_stack_trace
    holders = []
    for info in pkgutil.walk_packages(pulumi.runtime.__path__, "pulumi.runtime."):
        if info.name.endswith(("_pb2", "_pb2_grpc")) or ".proto" in info.name:
            continue
        module = importlib.import_module(info.name)
        if module is not sdk_resource and any(value is original for value in vars(module).values()):
            holders.append(info.name)
    assert holders == []


@pytest.mark.parametrize(
    "environ", [{DEBUG_VARIABLE: "1"}, {DEBUG_VARIABLE: "YES"}, {AS_SHIPPED_VARIABLE: "stack-traces"}]
)
def test_its_switch_keeps_the_sdks_traces(monkeypatch, tmp_path, environ):
    original = sdk_resource._get_stack_trace
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", original)
    assert keep_program_frames(tmp_path, environ) is False
    assert sdk_resource._get_stack_trace is original


def test_an_sdk_without_the_function_is_left_as_it_is(monkeypatch, tmp_path):
    monkeypatch.delattr(sdk_resource, "_get_stack_trace")
    assert keep_program_frames(tmp_path, {}) is False
    assert not hasattr(sdk_resource, "_get_stack_trace")


def test_frames_outside_the_program_and_relative_names_are_judged_by_their_absolute_path(tmp_path, monkeypatch):
    from skillship_components.sdk.stack_traces import ProgramFrames

    (tmp_path / "skillship_components").mkdir()
    (tmp_path / "skillship_components-old").mkdir()
    monkeypatch.chdir(tmp_path)
    frames = ProgramFrames(tmp_path, Path("skillship_components"))
    assert frames._uri("__main__.py") == (tmp_path / "__main__.py").as_uri()  # relative to the cwd
    assert (
        frames._uri("skillship_components/kubernetes.py") == (tmp_path / "skillship_components/kubernetes.py").as_uri()
    )
    assert frames._uri(str(tmp_path / "skillship_components-old" / "x.py")) is None  # a sibling, not the package
    assert frames._uri(str(tmp_path / "skills" / "main.py")) is None
    assert frames._uri("<frozen runpy>") is None
