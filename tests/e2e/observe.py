"""What a deployment left in the cluster and in its state, for the end-to-end tests that compare
the two (an interrupted `up`, a sharded environment)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from harness.stacks import Stack

# What Skillship declares in a stack of the `native` Istio mode, by API group/version and kind.
KINDS = (
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.istio.io/v1", "Sidecar"),
    ("security.istio.io/v1", "AuthorizationPolicy"),
    ("security.istio.io/v1", "PeerAuthentication"),
)


def cluster_objects(kube, stack: str) -> set[tuple[str, str]]:
    """(type token, id) of every object labelled as the stack's, as the provider names them."""
    from kubernetes.dynamic import DynamicClient

    found: set[tuple[str, str]] = set()
    # The client caches what the API server serves in a file, by default /tmp/osrcp-<host>.json,
    # which outlives the test and would serve a later cluster at the same address stale kinds.
    with tempfile.TemporaryDirectory(prefix="skillship-discovery-") as folder:
        dynamic = DynamicClient(kube, cache_file=str(Path(folder) / "discovery.json"))
        for api_version, kind in KINDS:
            api = dynamic.resources.get(api_version=api_version, kind=kind)
            for item in api.get(label_selector=f"skillship.io/stack={stack}").items:
                namespace = item.metadata.namespace
                ident = f"{namespace}/{item.metadata.name}" if namespace else item.metadata.name
                found.add((f"kubernetes:{api_version if '/' in api_version else 'core/' + api_version}:{kind}", ident))
    return found


def recorded_objects(stack: Stack) -> tuple[list[tuple[str, str]], list[dict]]:
    """The Kubernetes objects the state records (type token, id), and its pending operations."""
    deployment = json.loads(stack.export())["deployment"]
    objects = [
        (r["type"], r["id"])
        for r in deployment.get("resources", [])
        if r["type"].startswith("kubernetes:") and r.get("id")  # the provider's own type is pulumi:providers:
    ]
    return objects, deployment.get("pending_operations") or []


def job_uids(kube, namespace: str) -> dict[str, str]:
    """Each Job's name and uid: a Job made again has a new uid."""
    from kubernetes import client

    return {j.metadata.name: j.metadata.uid for j in client.BatchV1Api(kube).list_namespaced_job(namespace).items}
