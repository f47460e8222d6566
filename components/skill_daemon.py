"""SkillDaemon: the policies, Deployment and Service of one daemon action (its skill's
ServiceAccount and Secret are declared once per skill, by the Workspace)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.kubernetes import declare
from skillship.manifests import daemon_objects
from skillship.plan import DaemonPlan
from skillship.settings import StackSettings


@dataclass(frozen=True)
class SkillDaemonArgs:
    daemon: DaemonPlan
    settings: StackSettings
    image: pulumi.Input[str]
    depends_on: tuple[pulumi.Resource, ...] = ()


class SkillDaemon(pulumi.ComponentResource):
    """`ready` lists the Deployment and Service: the jobs that send to this daemon wait for them."""

    TYPE = "skillship:index:SkillDaemon"

    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: SkillDaemonArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, None, opts)
        daemon, settings = args.daemon, args.settings
        objects = daemon_objects(daemon, settings, image=daemon.image_by_tag)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        before: list[pulumi.Resource] = []
        for suffix, obj in (("netpol", objects.network_policy), ("authz", objects.authorization),
                            ("sidecar", objects.sidecar)):
            if obj is not None:
                before.append(declare(f"{name}-{suffix}", obj, child))
        spec = objects.deployment["spec"]
        spec["template"]["spec"]["containers"][0]["image"] = args.image
        after_identity = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[*args.depends_on, *before]))
        deployment = declare(f"{name}-deployment", objects.deployment, after_identity, spec=spec)
        service = declare(f"{name}-service", objects.service, after_identity)
        self.ready = [deployment, service]
        self.register_outputs({"deployment": daemon.name, "port": daemon.port})
