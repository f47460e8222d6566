"""Which adaptations of the SDK a run leaves out, from the environment of `pulumi up`.

SKILLSHIP_SDK_DEBUG=1 leaves the whole SDK as it ships, for a run with `--debug`: its debug
messages, its full stack traces, its own wait for Outputs, and every output read back.
SKILLSHIP_SDK_AS_SHIPPED names the ones to leave out, comma-separated (`read-back,output-wait`), or
`all`: to rule one out when a run misbehaves, or to measure what one is worth.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEBUG_VARIABLE = "SKILLSHIP_SDK_DEBUG"
AS_SHIPPED_VARIABLE = "SKILLSHIP_SDK_AS_SHIPPED"
# Every adaptation, by the name the variable takes; each module's NAME is one of these.
NAMES = ("debug-messages", "output-wait", "read-back", "stack-traces")


class UnknownAdaptation(ValueError):
    """SKILLSHIP_SDK_AS_SHIPPED names something that is not an adaptation."""


def _yes(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes"}


def left_as_shipped(environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """The adaptations this run leaves out; an unknown name is refused, naming the known ones (a
    typo would otherwise leave the SDK adapted while its user believes it is not)."""
    if _yes(environ.get(DEBUG_VARIABLE, "")):
        return frozenset(NAMES)
    given = [name.strip() for name in environ.get(AS_SHIPPED_VARIABLE, "").split(",") if name.strip()]
    if "all" in given:
        return frozenset(NAMES)
    unknown = [name for name in given if name not in NAMES]
    if unknown:
        raise UnknownAdaptation(
            f"{AS_SHIPPED_VARIABLE} names {', '.join(map(repr, unknown))}: the adaptations are "
            f"{', '.join(NAMES)} (or all)"
        )
    return frozenset(given)


def is_left_as_shipped(name: str, environ: Mapping[str, str] = os.environ) -> bool:
    return name in left_as_shipped(environ)
