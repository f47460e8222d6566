"""What the Python SDK reads back of each Kubernetes object: only the outputs the program uses.

When the engine has registered a resource it answers with the resource's outputs; for a
Kubernetes object, the live object as the API server returned it (metadata with its managed
fields, the spec with every default filled in, the status). The SDK turns the whole answer into
Python values (`rpc.resolve_outputs`: a walk over the protobuf Struct, then another to translate
names and types) for every resource of every `up` and `preview`, whether the program reads a
field or not. The program reads one output of all its Kubernetes objects: a Job's status (the
task's summary is made of it).

A resource that says what it reads back (a `read_back` attribute, a set of output names; see
components/kubernetes.py) has the engine's answer, and its own inputs, cut down to those names
before the SDK turns them into values. Its other outputs resolve as an output the provider did not
return resolves: to None (unknown during a preview). Nothing that reaches the engine changes: the
inputs, the state and the diff are the same. A resource without the attribute (the image builder,
the providers, the components) is left as the SDK ships. SKILLSHIP_SDK_DEBUG=1
(components/sdk_messages.py) reads everything back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi.runtime import rpc

from components.sdk_messages import keeps_sdk_debug

ATTRIBUTE = "read_back"


def only(struct: Any, names: Iterable[str]) -> Any:
    """The fields of `struct` (a protobuf Struct) named in `names`, copied into a new Struct."""
    kept = type(struct)()
    for name in names:
        if name in struct.fields:
            kept.fields[name].CopyFrom(struct.fields[name])
    return kept


class ReadBackOnly:
    """`rpc.resolve_outputs` for a resource that names what it reads back; as shipped for the rest."""

    def __init__(self, resolve_outputs: Callable[..., Any]) -> None:
        self.resolve_outputs = resolve_outputs

    def __call__(self, res: Any, serialized_props: Any, outputs: Any, *args: Any, **kwargs: Any) -> Any:
        names = getattr(res, ATTRIBUTE, None)
        if isinstance(names, frozenset):  # not whatever else a resource may hold under that name
            serialized_props, outputs = only(serialized_props, names), only(outputs, names)
        return self.resolve_outputs(res, serialized_props, outputs, *args, **kwargs)


def read_back_only_what_is_used(environ: Mapping[str, str] = os.environ) -> bool:
    """Make the SDK read back, of each resource with a `read_back` set, only those outputs; returns
    whether it did. The SDK's resource module calls `rpc.resolve_outputs` through the module, so
    every registration sees the change."""
    if keeps_sdk_debug(environ):
        return False
    if not isinstance(rpc.resolve_outputs, ReadBackOnly):  # a second call changes nothing
        rpc.resolve_outputs = ReadBackOnly(rpc.resolve_outputs)
    return True
