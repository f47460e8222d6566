"""SkillDaemon: the policies, Deployment and Service of one daemon action (its skill's
ServiceAccount and Secret are declared once per skill, by the StackDeployment)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from skillship.manifests import daemon_objects
from skillship.manifests.labels import selector_labels
from skillship.plan import DaemonPlan
from skillship.stack.settings import StackSettings
from skillship_components.daemon_ready import WatchedDaemon, serving
from skillship_components.kubernetes import declare, dependencies


@dataclass(frozen=True)
class SkillDaemonArgs:
    daemon: DaemonPlan
    settings: StackSettings
    image: pulumi.Input[str]
    kube_context: str | None = None  # a shard's: its environment's cluster (skillship_components/config.py)


class SkillDaemon(pulumi.ComponentResource):
    """`ready` is what the jobs that send to this daemon wait for: its Service, and its Deployment
    once the daemon serves (skillship_components/daemon_ready.py). What the daemon waits for (its skill's
    identity) comes as `opts.depends_on`."""

    TYPE = "skillship:index:SkillDaemon"

    ready: list[pulumi.Input[pulumi.Resource]]

    def __init__(self, name: str, args: SkillDaemonArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, None, opts)
        daemon, settings = args.daemon, args.settings
        objects = daemon_objects(daemon, settings, image=args.image)  # an Output when it is built
        waits_for = dependencies(opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=waits_for)
        # The objects and their names' suffixes come from the core (DaemonObjects.named); the
        # Deployment and the Service wait for every other one.
        named = objects.named()
        before = [declare(f"{name}-{s}", obj, child) for s, obj in named if s not in objects.WORKLOAD]
        after_identity = pulumi.ResourceOptions(parent=self, depends_on=[*waits_for, *before])
        workload = {s: declare(f"{name}-{s}", obj, after_identity) for s, obj in named if s in objects.WORKLOAD}
        deployment, service = workload["deployment"], workload["service"]
        watched = WatchedDaemon(daemon.skill, objects.deployment["metadata"]["name"], settings.namespace, self)
        served = serving(
            settings, watched, deployment, selector_labels(daemon, settings), kube_context=args.kube_context
        )
        self.ready = [service, served]
        # Recorded, so the `up` waits for (and fails with) the daemon even when nothing sends to it.
        self.register_outputs({"serving": served.apply(_served)})


def _served(_: Any) -> bool:
    return True
