"""SkillImage: one action's image, built from its build context and pushed, tagged by content."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker_build as docker_build

from skillship.plan import Workload
from skillship.stack.settings import StackSettings


@dataclass(frozen=True)
class SkillImageArgs:
    task: Workload
    settings: StackSettings
    registry_password: pulumi.Output[str] | None = None


class SkillImage(pulumi.ComponentResource):
    """`ref` is what Jobs run: `repository:tag@sha256:...`, the digest the build pushed. Only for
    images Skillship builds (components.deployment runs prebuilt ones by name)."""

    ref: pulumi.Output[str]

    def __init__(self, name: str, args: SkillImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("skillship:index:SkillImage", name, None, opts)
        task, settings = args.task, args.settings
        image = docker_build.Image(
            f"{name}-image",
            # Named contexts (the Skillship runtime) are part of the content tag as well.
            context=docker_build.BuildContextArgs(
                location=str(task.context),
                named={name: docker_build.ContextArgs(location=str(path)) for name, path in task.named_contexts}
                or None,
            ),
            dockerfile=docker_build.DockerfileArgs(location=str(task.context / "Dockerfile")),
            tags=[task.image_by_tag],
            push=True,
            registries=_registries(settings, args.registry_password),
            builder=docker_build.BuilderConfigArgs(name=settings.builder) if settings.builder else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # `ref` names the pushed digest (repository:tag@sha256:...): the Job runs exactly the image
        # this build pushed, whatever the tag does later.
        self.ref = image.ref
        self.register_outputs({})  # the Image records its ref; the stack's `images` output has both


def _registries(settings: StackSettings, password: pulumi.Output[str] | None) -> list[docker_build.RegistryArgs] | None:
    if not settings.registry or not settings.registry_username or password is None:
        return None  # the builder's own credentials (docker login) apply
    return [
        docker_build.RegistryArgs(
            address=settings.registry.split("/", 1)[0],
            username=settings.registry_username,
            password=password,
        )
    ]
