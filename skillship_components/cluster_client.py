"""The official Kubernetes client, on the cluster the stack's provider deploys to: what `pulumi up`
reads beside the provider (the pods of tasks that cannot start, the rollouts of daemons)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pulumi

_lock = threading.Lock()
_clients: dict[str | None, Any] = {}  # one per context: a shard's is its environment's


def cluster_api(kube_context: str | None) -> Any:
    """An ApiClient on the kubeconfig and context the provider uses: `kubernetes:kubeconfig` (a path
    or the file's content) or KUBECONFIG, and `kubernetes:context` (a shard's: its environment's).
    Made once per program and context; loading the client costs half a second of CPU."""
    with _lock:
        if kube_context not in _clients:
            _clients[kube_context] = _connect(kube_context)
        return _clients[kube_context]


def _connect(kube_context: str | None) -> Any:
    import yaml
    from kubernetes import config

    provider = pulumi.Config("kubernetes")
    kubeconfig = provider.get("kubeconfig")
    context = kube_context or provider.get("context")
    if kubeconfig and not Path(kubeconfig).expanduser().is_file():
        return config.new_client_from_config_dict(yaml.safe_load(kubeconfig), context=context)
    return config.new_client_from_config(config_file=kubeconfig or None, context=context)
