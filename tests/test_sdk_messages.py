"""The SDK's debug messages are dropped before they reach the engine; the program's own are not."""

from __future__ import annotations

import pulumi
import pulumi.log
import pytest
from pulumi.runtime import settings
from pulumi.runtime.proto import engine_pb2

from skillship_components.sdk.messages import drop_sdk_debug_messages
from skillship_components.sdk.switches import DEBUG_VARIABLE as KEEP_VARIABLE


class RecordingEngine:
    """Stands in for the engine's Log RPC: what reached it, by severity."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def Log(self, request: engine_pb2.LogRequest) -> None:  # noqa: N802 (the RPC's name)
        self.sent.append((request.severity, request.message))


@pytest.fixture
def engine(monkeypatch):
    recording = RecordingEngine()
    monkeypatch.setattr(settings, "get_engine", lambda: recording)
    monkeypatch.setattr(pulumi.log, "debug", pulumi.log.debug)  # put back whatever a test replaces
    return recording


def test_debug_messages_stop_reaching_the_engine_and_info_and_warnings_still_do(engine):
    pulumi.log.debug("before")
    assert drop_sdk_debug_messages({}) is True
    pulumi.log.debug("registering resource: ty=kubernetes:batch/v1:Job")
    pulumi.log.info("task of skill 'hello' runs as Job dev/hello")
    pulumi.log.warn("a warning the user must see")
    assert engine.sent == [
        (engine_pb2.DEBUG, "before"),
        (engine_pb2.INFO, "task of skill 'hello' runs as Job dev/hello"),
        (engine_pb2.WARNING, "a warning the user must see"),
    ]


def test_the_sdk_modules_that_send_debug_messages_call_it_through_the_module(engine):
    # The drop reaches them only while they look `debug` up on `pulumi.log` at each call: a module
    # holding a binding of its own (`from pulumi.log import debug`) would keep sending.
    from pulumi import output
    from pulumi.runtime import resource, rpc, stack

    original = pulumi.log.debug
    for module in (resource, rpc, stack, output):
        assert all(value is not original for value in vars(module).values()), module.__name__
    drop_sdk_debug_messages({})
    resource.log.debug("resource registration prepared: ty=t, name=n")
    assert engine.sent == []


@pytest.mark.parametrize("value", ["1", "true", "YES "])
def test_the_variable_keeps_them_for_a_debug_run(engine, value):
    original = pulumi.log.debug
    assert drop_sdk_debug_messages({KEEP_VARIABLE: value}) is False
    assert pulumi.log.debug is original
    pulumi.log.debug("kept")
    assert engine.sent == [(engine_pb2.DEBUG, "kept")]


@pytest.mark.parametrize("value", ["", "0", "no"])
def test_other_values_of_the_variable_drop_them(engine, value):
    assert drop_sdk_debug_messages({KEEP_VARIABLE: value}) is True
    pulumi.log.debug("dropped")
    assert engine.sent == []
