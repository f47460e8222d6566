"""The type of what the builders make."""

from typing import Any

# A Kubernetes object (or a part of one) as plain JSON data, the way the API server reads it.
KubeObject = dict[str, Any]

# How the provider applies and deletes the objects Skillship declares, read from each object's own
# metadata (never a template's, where a new annotation would itself be a change, and re-run a Job):
# - patchForce: Skillship alone declares these objects, so its apply takes a field back from any
#   other field manager rather than fail on the conflict: a `kubectl edit` (the scheduled `--all
#   --refresh` puts the object back), or the shard a moved skill left, whose field manager still
#   owns the fields the new shard then changes.
# - deletionPropagationPolicy background: the API server removes the object at once, and the garbage
#   collector a Job's or a Deployment's pods after it. The provider's default, foreground, makes
#   every deletion wait for a pass of the garbage collector, even an object's with nothing
#   depending on it (bench/README.md, Destroy).
PROVIDER_ANNOTATIONS = {"pulumi.com/patchForce": "true", "pulumi.com/deletionPropagationPolicy": "background"}


def provider_annotated(obj: KubeObject) -> KubeObject:
    """`obj` with PROVIDER_ANNOTATIONS among its annotations."""
    metadata = obj.get("metadata") or {}
    annotations = {**(metadata.get("annotations") or {}), **PROVIDER_ANNOTATIONS}
    return {**obj, "metadata": {**metadata, "annotations": annotations}}
