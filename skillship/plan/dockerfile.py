"""What the plan reads in an action's Dockerfile, in one pass: whether it uses the runtime's named
build context, and whether its entrypoint stops an Istio sidecar when the job ends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from skillship.source import door
from skillship.source.door import DOCKERFILE, ReadRefused
from skillship.stack.settings import IstioMode

RUNTIME_CONTEXT = "skillship-runtime"  # the named build context that holds skillship_runtime

# The name as a whole word: `COPY --from=skillship-runtime`, `RUN --mount=from=skillship-runtime,...`
# and `FROM skillship-runtime` all read the named context. A mention in a comment counts too: an
# unused context costs the build nothing, a missing one fails it.
_RUNTIME_NAME = re.compile(rf"(?<![\w.-]){re.escape(RUNTIME_CONTEXT)}(?![\w.-])")
_PROXY_AWARE = ("scuttle", "skillship")  # entrypoints that ask Envoy to quit: scuttle, the runtime
_ENTRYPOINT = ("ENTRYPOINT", "CMD")


@dataclass(frozen=True)
class DockerfileFacts:
    path: Path
    uses_runtime: bool
    entrypoint: str  # the words of its ENTRYPOINT and CMD instructions
    entrypoint_line: int | None  # the first of them, 1-based


def read_dockerfile(context: Path) -> DockerfileFacts:
    """An unreadable or missing Dockerfile has no facts (validation reports it)."""
    path = context / "Dockerfile"
    try:
        text = door.read_bytes(path, DOCKERFILE).decode("utf-8", errors="replace")
    except ReadRefused:
        return DockerfileFacts(path, False, "", None)
    entry = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip().upper().startswith(_ENTRYPOINT)
    ]
    return DockerfileFacts(
        path,
        _RUNTIME_NAME.search(text) is not None,
        " ".join(line for _, line in entry),
        entry[0][0] if entry else None,
    )


def stops_the_proxy(command: list[str], dockerfile: DockerfileFacts, mode: IstioMode) -> bool:
    """With a classic Istio sidecar, a job whose entrypoint never asks Envoy to quit never completes;
    every other mode stops the proxy, or has none."""
    if mode is not IstioMode.SIDECAR:
        return True
    words = " ".join([*command, dockerfile.entrypoint])
    return any(tool in words for tool in _PROXY_AWARE)
