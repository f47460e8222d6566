"""The Python SDK's wait for outstanding outputs at the end of a program, in linear time.

When the program's code has run, the SDK waits until every Output it made has resolved
(`pulumi.runtime.stack.wait_for_rpcs`). It does so in rounds of
`asyncio.wait(pending, return_when=FIRST_COMPLETED)`: each round returns as soon as one Output
resolves, and the next waits again on all the others. Every round adds and removes a callback on
each pending Output, so the wait costs pending Outputs times resolutions: quadratic in the size of
the stack. And most of a deployment happens inside it: the program declares every resource at
once, and their Outputs resolve one by one as the engine gets to each. An unchanged `up` of 250
skills (1,557 resources, 10,327 Outputs pending when the wait began) went through 855 rounds that
waited on 1.98 million Outputs in all; about a tenth of the CPU of the whole `up`, engine and
provider included (`git show c9d0bba:bench/README.md`, "What changed the numbers").

`wait_for_outputs_in_one_pass` makes that one call end its round when every pending Output has
resolved, or at once when one fails or is cancelled (the SDK's own rounds end at either, and the
SDK then awaits it, which raises). What the SDK does with the round's result is unchanged: it
awaits the finished ones, so the first failure is raised as before, and Outputs made meanwhile are
waited for in the next round. Only the SDK's stack module sees the change (its `asyncio` name is
pointed at a module that forwards everything else), and only its FIRST_COMPLETED waits.
SKILLSHIP_SDK_AS_SHIPPED=output-wait leaves the SDK as it ships (switches.py).
"""

from __future__ import annotations

import asyncio
import os
import types
from collections.abc import Mapping
from typing import Any

import pulumi.runtime.stack

from skillship_components.sdk.switches import is_left_as_shipped

NAME = "output-wait"


async def _until_all_or_one_fails(fs: Any, timeout: float | None) -> tuple[set[Any], set[Any]]:
    """`asyncio.wait`'s (done, pending) once every awaitable has finished, or as soon as one raised
    or was cancelled: one callback per awaitable, as one round of `asyncio.wait` adds."""
    futures = {asyncio.ensure_future(f) for f in fs}
    if not futures:
        return set(), set()
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()
    left = len(futures)

    def finished(future: asyncio.Future[Any]) -> None:
        nonlocal left
        left -= 1
        failed = future.cancelled() or future.exception() is not None
        if (left == 0 or failed) and not ended.done():
            ended.set_result(None)

    for future in futures:
        future.add_done_callback(finished)
    try:
        await asyncio.wait_for(asyncio.shield(ended), timeout) if timeout is not None else await ended
    except TimeoutError:
        pass
    finally:
        for future in futures:
            future.remove_done_callback(finished)
    done = {f for f in futures if f.done()}
    return done, futures - done


class _StackModuleAsyncio(types.ModuleType):
    """`asyncio` as pulumi.runtime.stack sees it: every name forwarded, and a FIRST_COMPLETED
    `wait` that ends its round when all are done or one has failed or been cancelled."""

    def __init__(self) -> None:
        super().__init__(
            "asyncio", "asyncio as the Pulumi SDK's stack module sees it (skillship_components/sdk/outputs.py)"
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def wait(fs: Any, *, timeout: float | None = None, return_when: str = asyncio.ALL_COMPLETED) -> Any:
        if return_when == asyncio.FIRST_COMPLETED:
            return await _until_all_or_one_fails(fs, timeout)
        return await asyncio.wait(fs, timeout=timeout, return_when=return_when)


def wait_for_outputs_in_one_pass(environ: Mapping[str, str] = os.environ) -> bool:
    """Point the SDK's stack module at `_StackModuleAsyncio`; returns whether it did."""
    if is_left_as_shipped(NAME, environ):
        return False
    pulumi.runtime.stack.asyncio = _StackModuleAsyncio()  # type: ignore[attr-defined]
    return True
