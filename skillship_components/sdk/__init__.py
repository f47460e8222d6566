"""The Pulumi SDK's internals that the program adapts, behind one entry point.

Each adaptation is a module of its own, saying what it changes in the SDK and what that is worth:
messages.py (the SDK's debug messages, dropped), outputs.py (its end-of-program wait, linear),
read_back.py (of each object's live state, only what the program reads), stack_traces.py (the
program's frames only). They reach into private parts of the SDK, so `adapt_sdk` applies them only
to an SDK in the range CI tests (gate.py), and each can be left out (switches.py).
docs/scale.md says what each would be as a change to the SDK itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pulumi

from skillship_components.sdk import gate, messages, outputs, read_back, stack_traces
from skillship_components.sdk.switches import NAMES, left_as_shipped


def adapt_sdk(root: Path, environ: Mapping[str, str] = os.environ, installed: str | None = None) -> tuple[str, ...]:
    """Apply every adaptation not switched off to the SDK, if the installed one (or `installed`) is
    in the tested range; else warn once and leave it as it ships. Returns the names applied."""
    left_as_shipped(environ)  # an unknown name is refused before anything changes
    warning = gate.outside_tested(installed if installed is not None else gate.installed_sdk())
    if warning is not None:
        pulumi.log.warn(warning)
        return ()
    applied = {
        messages.NAME: messages.drop_sdk_debug_messages(environ),
        outputs.NAME: outputs.wait_for_outputs_in_one_pass(environ),
        read_back.NAME: read_back.read_back_only_what_is_used(environ),
        stack_traces.NAME: stack_traces.keep_program_frames(root, environ),
    }
    return tuple(name for name in NAMES if applied[name])
