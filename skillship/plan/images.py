"""What each action's image is made of and called: its repository, and the content digest of its
build context with the named contexts its Dockerfile uses (the runtime's)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import cache
from pathlib import Path

from skillship.checks.names import action_name
from skillship.images.digest import ContextDigest, ContextError
from skillship.paths import display_path
from skillship.plan.dockerfile import RUNTIME_CONTEXT
from skillship.plan.problems import StackProblems
from skillship.source.models import Action

NamedContexts = tuple[tuple[str, Path], ...]


def image_repository(action: Action, skill: str, registry: str | None) -> str:
    """FORMAT.md: `image` is a bare name (the registry is prefixed) or a full registry path."""
    image = action.image or action_name(skill, action.name)
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"{registry.rstrip('/')}/{image}" if registry else image


@cache  # the import system's search is slow, and an installed package does not move mid-run
def runtime_context() -> Path:
    """The folder of the skillship_runtime package: the whole build context named skillship-runtime."""
    spec = importlib.util.find_spec("skillship_runtime")
    if spec is None or spec.origin is None:
        raise RuntimeError("the skillship_runtime package is not installed beside skillship")
    return Path(spec.origin).parent


class ContextDigests:
    """Content digests of build contexts, and of the named contexts their Dockerfiles use."""

    def __init__(self, digester: Callable[[Path], ContextDigest], problems: StackProblems) -> None:
        self.digester = digester
        self.problems = problems
        self._runtime: ContextDigest | None = None

    def of(self, context: Path, *, uses_runtime: bool) -> tuple[ContextDigest, NamedContexts] | None:
        """None, after naming the file in `problems`, when docker could not send the context."""
        try:
            digest = self.digester(context)
            if not uses_runtime:
                return digest, ()
            if self._runtime is None:
                self._runtime = self.digester(runtime_context())
        except ContextError as exc:
            self.problems.file(
                "build-context", f"build context {display_path(context)}: {exc.reason}", display_path(Path(exc.path))
            )
            return None
        # The runtime is part of what the image is built from: a new runtime is a new image.
        return digest.combined(self._runtime), ((RUNTIME_CONTEXT, runtime_context()),)
