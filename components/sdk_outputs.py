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
provider included (bench/README.md, "What changed the numbers").

`wait_for_outputs_in_one_pass` makes that one call wait with `FIRST_EXCEPTION` instead: a round
ends when every pending Output has resolved, or at once when one fails. What the SDK does with the
round's result is unchanged: it awaits the finished ones, so the first failure is raised as
before, and Outputs made meanwhile are waited for in the next round. Only the SDK's stack module
sees the change (its `asyncio` name is pointed at a module that forwards everything else).
SKILLSHIP_SDK_DEBUG=1 leaves the SDK as it ships.
"""

from __future__ import annotations

import asyncio
import os
import types
from collections.abc import Mapping
from typing import Any

import pulumi.runtime.stack

from components.sdk_messages import keeps_sdk_debug


class _StackModuleAsyncio(types.ModuleType):
    """`asyncio` as pulumi.runtime.stack sees it: every name forwarded, `wait` looked up on each
    call (so whatever `asyncio.wait` is then, a test's counter included), FIRST_COMPLETED turned
    into FIRST_EXCEPTION."""

    def __init__(self) -> None:
        super().__init__("asyncio", "asyncio as the Pulumi SDK's stack module sees it (components/sdk_outputs.py)")

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def wait(fs: Any, *, timeout: float | None = None, return_when: str = asyncio.ALL_COMPLETED) -> Any:
        if return_when == asyncio.FIRST_COMPLETED:
            return_when = asyncio.FIRST_EXCEPTION
        return await asyncio.wait(fs, timeout=timeout, return_when=return_when)


def wait_for_outputs_in_one_pass(environ: Mapping[str, str] = os.environ) -> bool:
    """Point the SDK's stack module at `_StackModuleAsyncio`; returns whether it did."""
    if keeps_sdk_debug(environ):
        return False
    pulumi.runtime.stack.asyncio = _StackModuleAsyncio()  # type: ignore[attr-defined]
    return True
