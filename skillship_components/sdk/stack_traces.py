"""The stack trace the Python SDK sends with every resource, cut down to the program's own frames.

For every resource it registers, the SDK walks the whole Python stack (`traceback.extract_stack`,
reading each frame's source line) and sends every frame below the resource's constructor: the
program's few, then the SDK's, asyncio's, runpy's and the language host's. The engine keeps the
trace in the stack's state, where it was about a quarter of the bytes (`git show c9d0bba:bench/README.md`, "What fills
the state"), and a state is read, rewritten and, with checkpoints, saved after every step.

This replaces the SDK's `_get_stack_trace` with one that picks the same frames by the same rule
(everything outside the third `__init__` up the stack: the Resource's, the Custom or Component
Resource's, the concrete class's) and keeps those of the program's own files: its `__main__.py` and
the components' package (in the checkout, or installed with Skillship). The source position the
SDK derives from the first frame is the SDK's own wherever that pointed into the program (for the
Kubernetes Provider it pointed into the provider's package; it now names the program's line).
SKILLSHIP_SDK_AS_SHIPPED=stack-traces keeps the SDK's full traces (switches.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2

from skillship_components.sdk.switches import is_left_as_shipped

NAME = "stack-traces"

# The components' own files, wherever they are installed: the program's frames, with __main__.py's.
COMPONENTS = Path(__file__).resolve().parents[1]
# How many `__init__` frames lie between the SDK and the code that made the resource (the SDK's rule).
CONSTRUCTOR_FRAMES = 3


class ProgramFrames:
    """A `_get_stack_trace` that keeps only the frames of the program's own files."""

    def __init__(self, root: Path, components: Path = COMPONENTS) -> None:
        self.main = str(root.resolve() / "__main__.py")
        self.components = str(components.resolve()) + os.sep
        self._uris: dict[str, str | None] = {}  # a code object's file name -> its URI, or None: not ours

    def _uri(self, filename: str) -> str | None:
        if filename not in self._uris:
            path = os.path.abspath(filename)
            ours = path == self.main or path.startswith(self.components)
            self._uris[filename] = Path(path).as_uri() if ours else None
        return self._uris[filename]

    def __call__(self) -> source_pb2.StackTrace:
        frame: FrameType | None = sys._getframe(1)
        constructors = 0
        while frame is not None and constructors < CONSTRUCTOR_FRAMES:
            if frame.f_code.co_name == "__init__":
                constructors += 1
            frame = frame.f_back
        kept = []
        while frame is not None:
            uri = self._uri(frame.f_code.co_filename)
            if uri is not None:
                kept.append(source_pb2.StackFrame(pc=source_pb2.SourcePosition(uri=uri, line=frame.f_lineno)))
            frame = frame.f_back
        return source_pb2.StackTrace(frames=kept)


def keep_program_frames(root: Path, environ: Mapping[str, str] = os.environ) -> bool:
    """Make the SDK send only the program's frames with each resource; returns whether it did. An SDK
    without `_get_stack_trace` keeps sending its own traces: slower, and just as correct."""
    if is_left_as_shipped(NAME, environ) or not hasattr(sdk_resource, "_get_stack_trace"):
        return False
    sdk_resource._get_stack_trace = ProgramFrames(root)
    return True
