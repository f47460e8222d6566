"""What the Python SDK reads back of each Kubernetes object: only the outputs the program uses.

When the engine has registered a resource it answers with the resource's outputs; for a
Kubernetes object, the live object as the API server returned it (metadata with its managed
fields, the spec with every default filled in, the status). The SDK turns the whole answer into
Python values (`rpc.resolve_outputs`: a walk over the protobuf Struct, then another to translate
names and types) for every resource of every `up` and `preview`, whether the program reads a
field or not. The program reads one output of all its Kubernetes objects: a Job's status (the
task's summary is made of it).

A resource that says what it reads back (a `read_back` attribute, a set of output names; see
skillship_components/kubernetes.py) has the engine's answer, and its own inputs, cut down to those
names before the SDK turns them into values. Its other outputs would resolve as an output the
provider did not return resolves, to None, and a program that came to read one would see a None
that is not the cluster's: so they are taken off the resource (`ReadsBackWhatItLists`), and
reading one raises `NotReadBack`, naming the list to add it to. Nothing that reaches the engine
changes: the inputs, the state and the diff are the same. A resource without the attribute (the
image builder, the providers, the components) is left as the SDK ships.
SKILLSHIP_SDK_AS_SHIPPED=read-back reads everything back (switches.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pulumi
from pulumi.runtime import rpc

from skillship_components.sdk.switches import is_left_as_shipped

NAME = "read-back"

ATTRIBUTE = "read_back"
# Outputs of every resource that the SDK resolves on its own, never through the cut.
ALWAYS_READ = frozenset({"urn", "id"})


class NotReadBack(AttributeError):
    """The program read an output its resource does not list as read back."""


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
    if is_left_as_shipped(NAME, environ):
        return False
    if not isinstance(rpc.resolve_outputs, ReadBackOnly):  # a second call changes nothing
        rpc.resolve_outputs = ReadBackOnly(rpc.resolve_outputs)
    return True


def cut_is_on() -> bool:
    return isinstance(rpc.resolve_outputs, ReadBackOnly)


class ReadsBackWhatItLists:
    """For a resource class with a `read_back` set: once the SDK has made its outputs (in the
    resource's `__init__`), `hide_outputs_not_read_back` takes the unlisted ones off it while the
    cut is on, and reading one raises NotReadBack instead of giving an Output that resolves to None."""

    _not_read_back: frozenset[str] = frozenset()

    def hide_outputs_not_read_back(self) -> None:
        if not cut_is_on():
            return
        listed = getattr(self, ATTRIBUTE) | ALWAYS_READ
        hidden = frozenset(n for n, v in vars(self).items() if isinstance(v, pulumi.Output) and n not in listed)
        for name in hidden:
            del self.__dict__[name]
        self._not_read_back = hidden

    def __getattr__(self, name: str) -> object:  # only for names the instance and its class lack
        if name in self._not_read_back:
            raise NotReadBack(
                f"{type(self).__name__} output {name!r} is not read back: the program reads only "
                f"{sorted(getattr(self, ATTRIBUTE))}; add {name!r} to its read_back "
                "(skillship_components/kubernetes.py)"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
