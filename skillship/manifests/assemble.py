"""All objects of a stack, in a stable order: the single source for `render` and the components."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from skillship.manifests import istio, network
from skillship.manifests.cronjob import build_cron_job
from skillship.manifests.daemon import build_deployment, build_service
from skillship.manifests.identity import message_config_map, pull_secret, secret, service_account
from skillship.manifests.job import build_job
from skillship.manifests.labels import stack_labels
from skillship.manifests.network import deny_ingress
from skillship.manifests.objects import KubeObject, provider_annotated
from skillship.manifests.pod import ImageRef
from skillship.plan import DaemonPlan, DeploymentPlan, TaskPlan, Workload
from skillship.stack.settings import IstioMode, StackSettings


def _named(suffix: str) -> Any:
    """A field holding one object, and the suffix its Pulumi resource is named with
    (`<component>-<suffix>`): listed here once for the components. The suffix is part of the
    object's URN: changing it replaces the object in every deployed stack."""
    return field(metadata={"suffix": suffix})


class _NamedObjects:
    """Objects held in `_named` fields, dependencies first, each with objects.PROVIDER_ANNOTATIONS."""

    def __post_init__(self) -> None:
        for each in fields(self):  # type: ignore[arg-type]
            if (obj := getattr(self, each.name)) is not None:
                object.__setattr__(self, each.name, provider_annotated(obj))  # frozen: set once, here

    def named(self) -> list[tuple[str, KubeObject]]:
        """(suffix, object) of every object present, in the fields' order."""
        found = ((f.metadata["suffix"], getattr(self, f.name)) for f in fields(self))  # type: ignore[arg-type]
        return [(suffix, obj) for suffix, obj in found if obj is not None]

    def all(self) -> list[KubeObject]:
        """Dependencies first: what a workload refers to exists before it."""
        return [obj for _, obj in self.named()]


@dataclass(frozen=True)
class SkillIdentity(_NamedObjects):
    """What every action of a skill shares: declared once per skill, never once per action, so no
    two declarations own one Kubernetes object (deleting either would delete it for both)."""

    service_account: KubeObject = _named("sa")
    secret: KubeObject | None = _named("secret")


@dataclass(frozen=True)
class TaskObjects(_NamedObjects):
    message: KubeObject | None = _named("message")
    network_policy: KubeObject = _named("netpol")
    egress_policy: KubeObject | None = _named("egress")
    authorization: KubeObject | None = _named("authz")
    sidecar: KubeObject | None = _named("sidecar")
    job: KubeObject | None = _named("job")  # a task's one run; None when it runs on a schedule
    cron_job: KubeObject | None = _named("cronjob")  # a scheduled task's runs

    WORKLOAD: ClassVar[frozenset[str]] = frozenset({"job", "cronjob"})  # what waits for every other object


@dataclass(frozen=True)
class DaemonObjects(_NamedObjects):
    network_policy: KubeObject = _named("netpol")
    egress_policy: KubeObject | None = _named("egress")
    authorization: KubeObject | None = _named("authz")
    sidecar: KubeObject | None = _named("sidecar")
    deployment: KubeObject = _named("deployment")
    service: KubeObject = _named("service")

    WORKLOAD: ClassVar[frozenset[str]] = frozenset({"deployment", "service"})


def namespace(settings: StackSettings) -> KubeObject | None:
    if not settings.create_namespace:
        return None
    labels = {**stack_labels(settings), **istio.namespace_labels(settings.istio_mode)}
    # Injected proxies need NET_ADMIN unless Istio's CNI plugin is installed: enforce the
    # restricted profile where no proxy is injected, and warn about it elsewhere.
    level = "enforce" if settings.istio_mode in (IstioMode.NONE, IstioMode.AMBIENT) else "warn"
    labels[f"pod-security.kubernetes.io/{level}"] = "restricted"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": settings.namespace, "labels": labels}}


def namespace_objects(settings: StackSettings) -> list[KubeObject]:
    """What every skill of the stack's namespace shares; a shard's are its base stack's. The pull
    Secret's password is <redacted> here: the program declares it with the value as a secret."""
    if settings.shard is not None:
        return []
    shared = (namespace(settings), pull_secret(settings, password=None), istio.peer_authentication(settings))
    return [provider_annotated(o) for o in shared if o is not None]


def skill_identity(
    workload: Workload, settings: StackSettings, *, secret_values: Mapping[str, str] | None
) -> SkillIdentity:
    return SkillIdentity(
        service_account=service_account(workload, settings), secret=secret(workload, settings, secret_values)
    )


def task_objects(task: TaskPlan, settings: StackSettings, *, image: ImageRef) -> TaskObjects:
    return TaskObjects(
        message=message_config_map(task, settings),
        network_policy=deny_ingress(task, settings),
        egress_policy=network.egress_policy(task, settings),
        authorization=istio.deny_inbound(task, settings),
        sidecar=istio.egress_sidecar(task, settings),
        job=None if task.schedule else build_job(task, settings, image=image),
        cron_job=build_cron_job(task, settings, image=image) if task.schedule else None,
    )


def daemon_objects(daemon: DaemonPlan, settings: StackSettings, *, image: ImageRef) -> DaemonObjects:
    return DaemonObjects(
        network_policy=network.admit_senders(daemon, settings),
        egress_policy=network.egress_policy(daemon, settings),
        authorization=istio.admit_senders(daemon, settings),
        sidecar=istio.egress_sidecar(daemon, settings),
        deployment=build_deployment(daemon, settings, image=image),
        service=build_service(daemon, settings),
    )


def stack_objects(
    plan: DeploymentPlan, *, secret_values: Mapping[str, Mapping[str, str]] | None = None
) -> list[KubeObject]:
    """Every object of the plan, with images referenced by content tag (what `render` shows):
    daemons first, since jobs send records to them."""
    objects = namespace_objects(plan.settings)
    identified: set[str] = set()

    def identity(workload: Workload) -> list[KubeObject]:
        """A skill's shared objects, before the first of its actions that runs as them."""
        if workload.skill in identified:
            return []
        identified.add(workload.skill)
        values = None if secret_values is None else secret_values.get(workload.skill, {})
        return skill_identity(workload, plan.settings, secret_values=values).all()

    for daemon in plan.daemons:
        objects += identity(daemon) + daemon_objects(daemon, plan.settings, image=daemon.image_by_tag).all()
    for task in plan.ordered_tasks():
        objects += identity(task) + task_objects(task, plan.settings, image=task.image_by_tag).all()
    return objects
