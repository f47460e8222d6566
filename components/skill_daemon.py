"""SkillDaemon: the policies, Deployment and Service of one daemon action (its skill's
ServiceAccount and Secret are declared once per skill, by the StackDeployment)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.kubernetes import declare, dependencies
from skillship.manifests import daemon_objects
from skillship.plan import DaemonPlan
from skillship.settings import StackSettings


@dataclass(frozen=True)
class SkillDaemonArgs:
    daemon: DaemonPlan
    settings: StackSettings
    image: pulumi.Input[str]


class SkillDaemon(pulumi.ComponentResource):
    """`ready` lists the Deployment and Service: the jobs that send to this daemon wait for them.
    What the daemon waits for (its skill's identity) comes as `opts.depends_on`."""

    TYPE = "skillship:index:SkillDaemon"

    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: SkillDaemonArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, None, opts)
        daemon, settings = args.daemon, args.settings
        objects = daemon_objects(daemon, settings, image=args.image)  # an Output when it is built
        waits_for = dependencies(opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=waits_for)
        before: list[pulumi.Resource] = []
        for suffix, obj in (
            ("netpol", objects.network_policy),
            ("egress", objects.egress_policy),
            ("authz", objects.authorization),
            ("sidecar", objects.sidecar),
        ):
            if obj is not None:
                before.append(declare(f"{name}-{suffix}", obj, child))
        after_identity = pulumi.ResourceOptions(parent=self, depends_on=[*waits_for, *before])
        deployment = declare(f"{name}-deployment", objects.deployment, after_identity)
        service = declare(f"{name}-service", objects.service, after_identity)
        self.ready = [deployment, service]
        self.register_outputs({})  # the Deployment and Service record their own state
