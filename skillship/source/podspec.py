"""A `podspec.json` of the older layout: what of it applies to an action's pods.

Its entries set one place of the pod spec each (`{"path": "/containers/0/resources", "value":
...}`). Skillship applies the container's resources (requests and limits: cpu, memory,
ephemeral-storage, extended resources such as nvidia.com/gpu) and its plain environment
variables; the pod's volumes, mounts, security and everything else are Skillship's own (its
restricted baseline, the writable /tmp, the message mount), so such entries are not applied, and
each is a located warning that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from skillship.source.diagnostics import Diagnostics
from skillship.source.models import PodSpecPatch
from skillship.source.yamlsource import YamlDocument

_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?")
_RESOURCE = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_CONTAINER = "/containers/0"


_SCALE = {
    "m": 1e-3,
    "": 1,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def quantity(text: str) -> float:
    """The amount a Kubernetes quantity such as `500m`, `2Gi` or `1` stands for."""
    number = text.rstrip("mkMGTPEi")
    return float(number) * _SCALE[text[len(number) :]]


@dataclass(frozen=True)
class PodOverrides:
    """What an action's podspec.json sets: resources by kind (`requests`, `limits`), and plain
    environment variables."""

    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def read_podspec(document: YamlDocument, display: str, diagnostics: Diagnostics) -> PodOverrides:
    data = document.data
    if not isinstance(data, list):
        diagnostics.error(
            display,
            document.line(()),
            None,
            "podspec",
            'a podspec.json is a list of {"path": ..., "value": ...} entries',
        )
        return PodOverrides()
    resources: dict[str, dict[str, str]] = {}
    env: dict[str, str] = {}
    for index, raw in enumerate(data):
        line = document.line((index,))
        try:
            entry = PodSpecPatch.model_validate(raw)
        except ValueError:
            diagnostics.error(display, line, f"[{index}]", "podspec", 'an entry needs a "path" and a "value"')
            continue
        path = entry.path.rstrip("/")
        if path == f"{_CONTAINER}/resources":
            value = entry.value if isinstance(entry.value, dict) else None
            parts = {kind: value.get(kind) for kind in ("requests", "limits") if kind in value} if value else None
        elif path in (f"{_CONTAINER}/resources/requests", f"{_CONTAINER}/resources/limits"):
            parts = {path.rsplit("/", 1)[1]: entry.value}
        elif path == f"{_CONTAINER}/env":
            env.update(_env(entry.value, display, line, index, diagnostics))
            continue
        else:
            diagnostics.warning(
                display,
                line,
                f"[{index}].path",
                "podspec-ignored",
                f"{entry.path} is not applied: the pod's volumes, mounts and security are "
                "Skillship's own (the restricted baseline); resources and env are applied",
            )
            continue
        if not parts:
            diagnostics.error(
                display, line, f"[{index}].value", "podspec", 'resources take {"requests": {...}, "limits": {...}}'
            )
            continue
        for kind, amounts in parts.items():
            checked = _amounts(amounts, display, line, index, diagnostics)
            if checked is not None:
                resources.setdefault(kind, {}).update(checked)
    requests, limits = resources.get("requests", {}), resources.get("limits", {})
    for name in sorted(set(requests) & set(limits)):
        if quantity(requests[name]) > quantity(limits[name]):
            diagnostics.error(
                display,
                document.line(()),
                None,
                "podspec",
                f"{name}: the request {requests[name]} is more than the limit {limits[name]}; "
                "Kubernetes refuses such a pod",
            )
    return PodOverrides(resources, env)


def _amounts(
    amounts: Any, display: str, line: int | None, index: int, diagnostics: Diagnostics
) -> dict[str, str] | None:
    if not isinstance(amounts, dict):
        diagnostics.error(display, line, f"[{index}].value", "podspec", "requests and limits map resources to amounts")
        return None
    checked: dict[str, str] = {}
    for name, amount in amounts.items():
        text = str(amount)
        if not _RESOURCE.fullmatch(str(name)) or not _QUANTITY.fullmatch(text):
            diagnostics.error(
                display,
                line,
                f"[{index}].value",
                "podspec",
                f"{name}: {amount!r} is not a resource and a quantity such as 500m, 2Gi or 1",
            )
            continue
        checked[str(name)] = text
    return checked


def _env(value: Any, display: str, line: int | None, index: int, diagnostics: Diagnostics) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and "value" in item:
            found[item["name"]] = "" if item["value"] is None else str(item["value"])
        else:
            diagnostics.warning(
                display,
                line,
                f"[{index}].value",
                "podspec-ignored",
                f"{item!r} is not applied: only environment variables with a plain value are "
                "(a secret goes in a secure property)",
            )
    return found
