"""The SDK's end-of-program wait for outstanding Outputs: linear with the change, the same outcome.

Each test drives the SDK's own `wait_for_rpcs` over Outputs that resolve one at a time, as a
deployment's do, and counts what `asyncio.wait` is handed."""

from __future__ import annotations

import asyncio

import pulumi
import pulumi.runtime.stack
import pytest
from pulumi.runtime.settings import SETTINGS

from skillship_components.sdk import outputs as adaptation
from skillship_components.sdk.outputs import wait_for_outputs_in_one_pass
from skillship_components.sdk.switches import AS_SHIPPED_VARIABLE, DEBUG_VARIABLE

OUTPUTS = 400
_RUNNING: set[asyncio.Future] = set()


@pytest.fixture
def sdk_stack_module(monkeypatch):
    """Whatever a test does to the SDK's stack module and its outputs is undone after it."""
    monkeypatch.setattr(pulumi.runtime.stack, "asyncio", asyncio)
    with SETTINGS.lock:
        SETTINGS.outputs.clear()
    yield pulumi.runtime.stack
    with SETTINGS.lock:
        SETTINGS.outputs.clear()


@pytest.fixture
def waited(monkeypatch):
    """How many futures each round of the wait was given, in order: each `asyncio.wait` call as
    shipped, each call of the adaptation's own wait with it."""
    sizes: list[int] = []

    def counting(real):
        async def wait(fs, *args, **kwargs):
            fs = list(fs)
            sizes.append(len(fs))
            return await real(fs, *args, **kwargs)

        return wait

    monkeypatch.setattr(asyncio, "wait", counting(asyncio.wait))
    monkeypatch.setattr(adaptation, "_until_all_or_one_fails", counting(adaptation._until_all_or_one_fails))
    return sizes


def _output(future: asyncio.Future) -> pulumi.Output:
    known = asyncio.get_running_loop().create_future()
    known.set_result(True)
    return pulumi.Output(set(), future, known)  # tracked in SETTINGS.outputs, as every Output is


async def _resolving_one_at_a_time(count: int) -> list[pulumi.Output]:
    """`count` Outputs, resolved one per turn of the event loop once the wait has begun."""
    futures = [asyncio.get_running_loop().create_future() for _ in range(count)]
    outputs = [_output(f) for f in futures]

    async def resolve() -> None:
        for index, future in enumerate(futures):
            await asyncio.sleep(0)
            future.set_result(index)

    _RUNNING.add(asyncio.ensure_future(resolve()))  # held: the loop keeps only a weak reference to a task
    await asyncio.sleep(0)  # let the Outputs' own tasks start
    return outputs


async def _values(outputs: list[pulumi.Output]) -> list[object]:
    return [await o.future() for o in outputs]


def test_the_sdk_as_shipped_waits_on_every_pending_output_again_after_each_resolves(sdk_stack_module, waited):
    # The reference the change is measured against: about count squared over two.
    async def run() -> None:
        outputs = await _resolving_one_at_a_time(OUTPUTS)
        await sdk_stack_module.wait_for_rpcs()
        assert await _values(outputs) == list(range(OUTPUTS))

    asyncio.run(run())
    assert sum(waited) > OUTPUTS * OUTPUTS / 4


def test_with_the_change_each_pending_output_is_waited_on_about_once(sdk_stack_module, waited):
    assert wait_for_outputs_in_one_pass({}) is True

    async def run() -> None:
        outputs = await _resolving_one_at_a_time(OUTPUTS)
        await sdk_stack_module.wait_for_rpcs()
        assert await _values(outputs) == list(range(OUTPUTS))  # every one resolved before the wait ended

    asyncio.run(run())
    assert sum(waited) <= 2 * OUTPUTS + 10


async def _one_pending_and(settle, stack_module) -> None:
    """The SDK's end-of-program wait, with one Output the engine never answers and one that
    `settle` ends (a failure, a cancellation), within 5 s."""
    never = asyncio.get_running_loop().create_future()
    _output(never)  # a resource the engine has not answered for yet
    other = asyncio.get_running_loop().create_future()
    _output(other)
    await asyncio.sleep(0)
    settle(other)
    await asyncio.wait_for(stack_module.wait_for_rpcs(), timeout=5)


def test_a_failed_output_is_raised_at_once_while_others_are_still_pending(sdk_stack_module):
    wait_for_outputs_in_one_pass({})

    async def run() -> None:
        await _one_pending_and(lambda f: f.set_exception(RuntimeError("the Job failed")), sdk_stack_module)

    with pytest.raises(RuntimeError, match="the Job failed"):
        asyncio.run(run())


def test_outputs_made_while_the_wait_runs_are_waited_for_too(sdk_stack_module):
    wait_for_outputs_in_one_pass({})
    later: list[pulumi.Output] = []

    async def run() -> None:
        first = asyncio.get_running_loop().create_future()
        second = asyncio.get_running_loop().create_future()

        def when_first_resolves(_: object) -> None:  # an apply's callback making a new Output
            later.append(_output(second))
            asyncio.get_running_loop().call_later(0.05, second.set_result, "second")

        _output(first)
        first.add_done_callback(when_first_resolves)
        asyncio.get_running_loop().call_later(0.01, first.set_result, "first")
        await sdk_stack_module.wait_for_rpcs()
        assert second.done() and await later[0].future() == "second"

    asyncio.run(run())


def test_only_the_sdk_stack_module_sees_the_change_and_everything_else_is_asyncio(sdk_stack_module):
    wait_for_outputs_in_one_pass({})
    seen = sdk_stack_module.asyncio
    assert seen is not asyncio and seen.sleep is asyncio.sleep and seen.FIRST_COMPLETED == asyncio.FIRST_COMPLETED
    assert seen.get_running_loop is asyncio.get_running_loop and seen.Task is asyncio.Task
    assert asyncio.wait is not seen.wait  # the module everyone else imports is untouched


@pytest.mark.parametrize("adapted", [False, True], ids=["as shipped", "adapted"])
def test_a_cancelled_output_ends_the_wait_at_once_as_the_sdk_ships(sdk_stack_module, adapted):
    """The SDK's rounds end when an Output is cancelled, and awaiting it raises: so with the change."""
    if adapted:
        wait_for_outputs_in_one_pass({})

    async def run() -> str:
        try:
            await _one_pending_and(lambda f: f.cancel(), sdk_stack_module)
        except asyncio.CancelledError:
            return "raised CancelledError"
        except TimeoutError:
            return "still waiting after 5 s"
        return "returned"

    assert asyncio.run(run()) == "raised CancelledError"


@pytest.mark.parametrize(
    "environ", [{DEBUG_VARIABLE: "1"}, {DEBUG_VARIABLE: "true"}, {AS_SHIPPED_VARIABLE: "output-wait"}]
)
def test_its_switch_leaves_the_sdk_as_it_ships(sdk_stack_module, environ):
    assert wait_for_outputs_in_one_pass(environ) is False
    assert sdk_stack_module.asyncio is asyncio


def test_another_adaptations_switch_leaves_this_one_on(sdk_stack_module):
    assert wait_for_outputs_in_one_pass({AS_SHIPPED_VARIABLE: "read-back,stack-traces"}) is True
