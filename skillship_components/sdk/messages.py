"""The Python SDK's own debug messages, dropped unless someone asks for them.

The SDK reports its progress through `pulumi.log.debug`: four or five messages for every resource
it registers ("registering resource", "resource registration prepared", "... successful"). Each
is a blocking RPC to the engine, which turns it into an event for the CLI's display, the
Automation API's event log and a cloud backend alike, where it is dropped unless the run is a
`--debug` one. A preview of 100 skills (624 resources) sent 2,805 of them; without them an
unchanged `up` took 19% less time and 14% to 16% less CPU (`git show c9d0bba:bench/README.md`,
"What changed the numbers").

The program's own messages (`pulumi.log.info` and `warn`) are untouched. SKILLSHIP_SDK_DEBUG=1
keeps the SDK's debug messages, for a run with `--debug`, as SKILLSHIP_SDK_AS_SHIPPED=debug-messages
does (switches.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pulumi.log

from skillship_components.sdk.switches import is_left_as_shipped

NAME = "debug-messages"


def _dropped(msg: str, resource: object = None, stream_id: int | None = None, ephemeral: bool | None = None) -> None:
    """`pulumi.log.debug`'s signature, sending nothing."""


def drop_sdk_debug_messages(environ: Mapping[str, str] = os.environ) -> bool:
    """Replace `pulumi.log.debug` (which the SDK calls through the module, so every caller sees the
    change) with a function that sends nothing; returns whether it did."""
    if is_left_as_shipped(NAME, environ):
        return False
    pulumi.log.debug = _dropped
    return True
