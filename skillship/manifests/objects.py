"""The type of what the builders make."""

from typing import Any

# A Kubernetes object (or a part of one) as plain JSON data, the way the API server reads it.
KubeObject = dict[str, Any]
