"""Which stacks of a stage need the engine: those whose inputs changed since their last update.

Each `up` the pipeline runs carries the stack's inputs digest (skillship.stack_digest) in its update
message, so one `pulumi stack history` entry answers both questions a skip needs: was the last
operation on the stack an update that succeeded, and of which inputs? Anything else (no history, a
failed or cancelled update, a refresh, an `up` run by hand, a history that cannot be read) deploys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skillship.stack_digest import VERSION, StackDigest

_RECORDED = re.compile(r"skillship inputs v(?P<version>\d+) (?P<digest>[0-9a-f]{64})(?P<parts>(?: [a-z]+=[0-9a-f]+)*)")
PART_PREFIX = 16  # hex characters of each part kept in the message: enough to say which moved


def update_message(stage: str, digest: StackDigest) -> str:
    """The message of the `up` a stage runs: people read it in `pulumi stack history`, and the
    next stage reads the digest back from it."""
    parts = "".join(f" {name}={value[:PART_PREFIX]}" for name, value in sorted(digest.parts.items()))
    return f"skillship-pipeline {stage}: skillship inputs v{VERSION} {digest.digest}{parts}"


@dataclass(frozen=True)
class Verdict:
    stack: str
    skip: bool
    reason: str  # one line's end: why it deploys, or since when it is unchanged


def recorded_parts(last: Mapping[str, Any] | None) -> dict[str, str]:
    """The parts (their first PART_PREFIX characters) an update's message recorded, if it recorded
    them in this version's way; nothing otherwise."""
    if not last or last.get("kind") != "update" or last.get("result") != "succeeded":
        return {}
    found = _RECORDED.search(str(last.get("message") or ""))
    if found is None or int(found["version"]) != VERSION:
        return {}
    return dict(part.split("=", 1) for part in found["parts"].split())


def same_part(digest: StackDigest, last: Mapping[str, Any] | None, part: str) -> bool:
    """Whether `part` of `digest` is the one the stack's last update recorded."""
    return recorded_parts(last).get(part) == digest.parts[part][:PART_PREFIX]


def verdict(digest: StackDigest, last: Mapping[str, Any] | None) -> Verdict:
    """Skip `digest.stack` only when its last operation was an update that succeeded with these
    very inputs. `last` is the newest entry of its history (None: no history)."""
    stack = digest.stack
    if not last:
        return Verdict(stack, False, "not deployed before")
    # A self-managed backend numbers no update (its version is 0): its time names it instead.
    update = f"update {last['version']}" if last.get("version") else "its last update"
    if last.get("kind") != "update":
        return Verdict(stack, False, f"its last operation was a {last.get('kind') or 'change'}, not an update")
    if last.get("result") != "succeeded":
        return Verdict(stack, False, f"{update} did not succeed ({last.get('result') or 'no result'}){_when(last)}")
    found = _RECORDED.search(str(last.get("message") or ""))
    if found is None and "some skills only" in str(last.get("message") or ""):
        return Verdict(stack, False, f"{update} deployed some skills only (--skill)")
    if found is None:
        return Verdict(stack, False, f"{update} was not made by skillship-pipeline: its inputs are unknown")
    if int(found["version"]) != VERSION:
        return Verdict(stack, False, f"{update} recorded its inputs in an older way")
    if found["digest"] == digest.digest:
        return Verdict(stack, True, f"unchanged since {update}{_when(last)}")
    recorded = recorded_parts(last)
    moved = [name for name, value in sorted(digest.parts.items()) if recorded.get(name) != value[:PART_PREFIX]]
    return Verdict(stack, False, f"{', '.join(moved) or 'inputs'} changed since {update}")


def _when(last: Mapping[str, Any]) -> str:
    ended = str(last.get("endTime") or last.get("startTime") or "")
    return f" ({ended})" if ended else ""
