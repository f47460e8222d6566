"""Promotion by digest: a stack (staging, prod) deploys the very image references another stack
(dev) built, pushed and ran, and builds nothing.

Every stack exports `images`: per action (`skill/action`), the reference its tasks and daemons run
(`ref`: registry, tag and digest for a built image) and the content tag of the build context it
was built from (`tag`; null for a prebuilt image). A promoted stack takes each action's `ref` from
its source's `images`, and refuses an action the source has no image for, or built from other
contents than this workspace holds: what it would deploy is then not what the source tested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from skillship.plan import Workload
from skillship.stack.stackfiles import StackFileError, load_stack


class PromotionError(Exception):
    """The source stack cannot vouch for an image this stack deploys."""


def image_key(workload: Workload) -> str:
    return f"{workload.skill}/{workload.action.name}"


def image_output(workload: Workload, ref: str) -> dict[str, Any]:
    """The `images` entry of a workload that runs `ref`."""
    return {"ref": ref, "tag": None if workload.prebuilt_image else workload.digest.tag}


def promoted_ref(images: Mapping[str, Any] | None, workload: Workload, *, source: str) -> str:
    """The reference stack `source` ran for this workload; raises PromotionError naming the action."""
    key = image_key(workload)
    entry = (images or {}).get(key)
    if not isinstance(entry, Mapping) or not isinstance(entry.get("ref"), str):
        known = ", ".join(sorted(images or {})) or "none"
        raise PromotionError(
            f"stack {source!r} has no image for action {key} (its images: {known}); deploy it to {source} first"
        )
    tag = entry.get("tag")
    if tag is not None and tag != workload.digest.tag:
        raise PromotionError(
            f"stack {source!r} built action {key} from other contents ({tag}; this workspace: {workload.digest.tag}):"
            f" deploy this workspace to {source} first, so that what is promoted is what it ran"
        )
    return str(entry["ref"])


def refusals(images: Mapping[str, Any] | None, workloads: list[Workload], *, source: str) -> list[str]:
    """Every action `promoted_ref` would refuse, for a check before anything is deployed. A
    workload with a prebuilt image of this stack's own is not promoted."""
    found = []
    for workload in workloads:
        if workload.prebuilt_image:
            continue
        try:
            promoted_ref(images, workload, source=source)
        except PromotionError as exc:
            found.append(str(exc))
    return found


def image_sources(project_dir: Path, source: str) -> list[str]:
    """The stacks whose `images` a stack promoted from `source` reads: `source` itself, or, for a
    sharded environment of this project, its shard stacks (its base stack runs no image)."""
    try:
        config = load_stack(project_dir, source)
    except StackFileError:
        return [source]  # another project's stack (organization/project/stack), or one without a file
    return config.stacks[1:] if config.settings.is_base else [source]


def merged_images(found: Sequence[Mapping[str, Any] | None]) -> dict[str, Any]:
    """The `images` outputs of several stacks as one (shards deploy disjoint actions)."""
    merged: dict[str, Any] = {}
    for images in found:
        merged.update(images or {})
    return merged
