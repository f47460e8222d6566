"""A daemon's `pulumi up` waits until it serves, and fails as soon as its pods cannot start.

The provider's wait for a Deployment (and for a Service's endpoints) ends only when the rollout
completes or at its timeout, 10 minutes, whatever the pods show. So a daemon's Deployment and
Service are applied without the provider's wait (`pulumi.com/skipAwait`), and the program waits
instead, reading the rollout as `kubectl rollout status` does (skillship.tasks.rollout): the jobs that
send to the daemon are declared only once it serves. A pod of the rollout that cannot start
(skillship.tasks.pod_start) fails the `up` at once, naming Kubernetes' reason.

Pods an earlier `up` left unable to start (an image refused before the pull Secret was fixed)
are deleted at the first look, so their ReplicaSet makes new ones that try again now, not at
the end of the kubelet's back-off (up to 5 minutes). Those new pods get up to three more fresh
starts, after pauses of 3, 6 and 12 s, if they cannot start either: the kubelet reads pull Secrets
from a cache its watch keeps, which can lag an update (in CI, the `up` that fixed the password saw
a replacement refused with the old one, and once the replacement's replacement too). The daemon is
otherwise left as Kubernetes has it:
docs/objects.md ("A daemon that cannot start") says why.

Only `pulumi up` of a stack that waits watches, as for tasks (skillship_components/start_watch.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_monitor

from skillship.stack.settings import StackSettings
from skillship.tasks.pod_start import CANNOT_START
from skillship.tasks.rollout import current_pods, daemon_failure_message, pending_from_before, rollout_state
from skillship_components.cluster_client import cluster_api

# Looks come quickly at first, as the provider's own wait reacts to events, then every 2 s: a
# daemon's rollout usually completes within a few seconds of its pods starting.
FIRST_POLL_SECONDS = 0.25
POLL_SECONDS = 2.0
READY_TIMEOUT_SECONDS = 600  # the provider's own wait for a Deployment, which this one replaces
# A cluster silent this long fails the wait: an API server restarting comes back sooner, and one
# that cannot be reached (a provider that found it so still reports unchanged objects) never does.
UNANSWERED_SECONDS = 30.0
# Fresh starts of pods that cannot start: one at the first look, for pods that failed before this
# `up`; then, for the pods that replaced them (the kubelet's Secret cache), more after pauses that
# double from this one: 3, 6 and 12 s, about 21 s at most before a password still wrong fails.
FRESH_STARTS = 4
FRESH_START_PAUSE_SECONDS = 3.0
# The cluster's calls run on threads of their own: the SDK's calls to the engine use the loop's
# default executor. A few threads serve every daemon of the program.
_cluster_calls = ThreadPoolExecutor(max_workers=4, thread_name_prefix="skillship-daemon-ready")

Tell = Callable[[str, str, pulumi.Resource | None], None]  # (severity, message, the component it is about)


class NotServing(pulumi.RunError):
    """A daemon that cannot start, or did not serve in time: the `up` fails with this."""


@dataclass(frozen=True)
class Look:
    deployment: dict[str, Any]
    replica_sets: list[dict[str, Any]]
    pods: list[dict[str, Any]]


class DaemonRollout(Protocol):
    """What the wait needs of the cluster (ClusterRollout; the tests' fakes)."""

    server: str  # the API server's address, for errors

    def look(self) -> Look: ...

    def delete_pods(self, names: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class WatchedDaemon:
    skill: str
    deployment: str  # the Deployment's name
    namespace: str
    component: pulumi.Resource | None  # where progress and failure are shown


def serving(
    settings: StackSettings,
    daemon: WatchedDaemon,
    deployment: pulumi.CustomResource,
    selector: dict[str, str],
    *,
    kube_context: str | None,
) -> pulumi.Output[Any]:
    """The Deployment, once the daemon serves: what its senders depend on. Known at once (no wait)
    in a preview, a render or fire-and-forget stack, or under the SDK's mocks."""
    if not settings.wait or settings.renders or pulumi.runtime.is_dry_run() or isinstance(get_monitor(), MockMonitor):
        return pulumi.Output.from_input(deployment)

    async def when_serving(_: Any) -> pulumi.CustomResource:
        def connect() -> DaemonRollout:
            api = cluster_api(kube_context)
            return ClusterRollout(api, daemon.namespace, daemon.deployment, selector)

        await wait_until_serving(connect, daemon, settings)
        return deployment

    # After the provider has applied the Deployment (its id), so the rollout read is of this spec.
    return deployment.id.apply(when_serving)


def tell_engine(severity: str, message: str, resource: pulumi.Resource | None) -> None:
    if severity == "error":
        pulumi.log.error(message, resource=resource)
    else:
        pulumi.log.info(message, resource=resource, ephemeral=True)


async def wait_until_serving(
    connect: Callable[[], DaemonRollout],
    daemon: WatchedDaemon,
    settings: StackSettings,
    *,
    poll: float = POLL_SECONDS,
    timeout: float = READY_TIMEOUT_SECONDS,
    unanswered: float = UNANSWERED_SECONDS,
    fresh_start_pause: float = FRESH_START_PAUSE_SECONDS,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    tell: Tell = tell_engine,
) -> None:
    """Returns once the rollout is complete; raises NotServing when it cannot be."""
    loop = asyncio.get_running_loop()
    where = f"Deployment {daemon.namespace}/{daemon.deployment}"
    try:
        rollout = await loop.run_in_executor(_cluster_calls, connect)
    except Exception as exc:  # noqa: BLE001 said, and nothing that sends to the daemon is declared
        raise _failed(f"cannot read the rollout of {where} ({exc})", daemon, tell) from None
    started, first, said, pause = loop.time(), True, "", min(FIRST_POLL_SECONDS, poll)
    began = now()
    answered, fresh_starts = started, 0
    while True:
        try:
            look = await loop.run_in_executor(_cluster_calls, rollout.look)
        except Exception as exc:  # noqa: BLE001 a missed look is retried, while the cluster may come back
            look = None
            if loop.time() - answered >= unanswered:
                message = f"cannot read the rollout of {where} from {rollout.server}: {exc}"
                raise _failed(message, daemon, tell) from None
        if look is not None:
            answered = loop.time()
            state = rollout_state(
                look.deployment,
                look.replica_sets,
                look.pods,
                now=now(),
                unschedulable_seconds=settings.unschedulable_seconds,
            )
            if state.ready:
                return
            cannot_start = state.failure is not None and state.failure.reason in CANNOT_START
            pods = current_pods(look.deployment, look.replica_sets, look.pods)
            # At the first look, the pods an earlier `up` left unable to start; after that, the pods
            # that replaced them, once (module docstring). Pods this `up` made fail it at once.
            if first:
                stale = pending_from_before(pods, began)
            elif 0 < fresh_starts < FRESH_STARTS:
                stale = [str(p["metadata"]["name"]) for p in pods if (p.get("status") or {}).get("phase") == "Pending"]
            else:
                stale = []
            if cannot_start and stale:
                if not first:
                    await asyncio.sleep(fresh_start_pause * 2 ** (fresh_starts - 1))
                fresh_starts += 1
                # Should the delete fail, the kubelet's own retry, after its back-off, is what is waited for.
                with contextlib.suppress(Exception):
                    await loop.run_in_executor(_cluster_calls, rollout.delete_pods, stale)
            elif state.failure is not None:
                message = daemon_failure_message(
                    skill=daemon.skill, namespace=daemon.namespace, deployment=daemon.deployment, failure=state.failure
                )
                raise _failed(message, daemon, tell)
            elif state.waiting_for != said:
                said = state.waiting_for
                waiting = f"waiting for daemon of skill {daemon.skill!r} to serve ({where}): {said}"
                tell("info", waiting, daemon.component)
            first = False
        if loop.time() - started >= timeout:
            still = said or "no answer from the cluster"
            raise _failed(
                f"daemon of skill {daemon.skill!r} did not serve within {timeout:.0f} s ({where}): {still}. "
                f"More with: kubectl rollout status --namespace {daemon.namespace} deployment/{daemon.deployment}",
                daemon,
                tell,
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, poll)


def _failed(message: str, daemon: WatchedDaemon, tell: Tell) -> NotServing:
    """Shown against the daemon's component; the `up` then fails with a line of its own."""
    tell("error", message, daemon.component)
    return NotServing(f"daemon of skill {daemon.skill!r} does not serve; nothing that sends to it was deployed")


class ClusterRollout:
    """A Deployment, its ReplicaSets and their pods, through the official Kubernetes client."""

    def __init__(self, api: Any, namespace: str, name: str, selector: dict[str, str]) -> None:
        from kubernetes import client

        self.apps = client.AppsV1Api(api)
        self.core = client.CoreV1Api(api)
        self.server = str(api.configuration.host)
        self.namespace, self.name = namespace, name
        self.selector = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))

    def look(self) -> Look:
        # The API server's JSON as it comes (camelCase dicts, what skillship.tasks.rollout reads): the
        # client's typed models cost CPU to build and to turn back, for every daemon at every look.
        raw = {"_request_timeout": (5, 30), "_preload_content": False}
        deployment = self.apps.read_namespaced_deployment(self.name, self.namespace, **raw)
        replica_sets = self.apps.list_namespaced_replica_set(self.namespace, label_selector=self.selector, **raw)
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=self.selector, **raw)
        return Look(_json(deployment), _json(replica_sets)["items"] or [], _json(pods)["items"] or [])

    def delete_pods(self, names: Sequence[str]) -> None:
        from kubernetes.client.exceptions import ApiException

        for name in names:
            try:
                self.core.delete_namespaced_pod(name, self.namespace, _request_timeout=(5, 30))
            except ApiException as exc:
                if exc.status != 404:  # gone already: what was wanted
                    raise


def _json(response: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(response.data)
    return found
