"""One typed object for everything a stack decides, validated once with clear errors.

Both readers feed it: `skillship_components/config.py` (from `pulumi.Config`, under `pulumi up`) and
`skillship.stack.stackfiles` (from `stacks/Pulumi.<stack>.yaml`, for `skillship render`). Defaults are
decided here; Pulumi.yaml repeats them for whoever reads `pulumi config` (tests/test_settings.py
keeps the two equal).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from skillship.images.buildx import NAME as BUILDER_NAME
from skillship.source.jsontext import JsonRefused, parse_json
from skillship.stack.schedules import Schedule

CONFIG_NAMESPACE = "skillship"
# Keys whose values are secrets: never part of StackSettings, passed on as opaque values.
SECRET_KEYS = frozenset({"registryPassword", "registryPullPassword", "secrets"})
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_STACK_NAME = re.compile(r"([A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+")
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?")
# A Secret's name: a DNS subdomain (RFC 1123), at most 253 characters.
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Image names and references as the distribution library reads them (a registry host with an
# optional port, then lower-case path components), tag and digest optional in a reference.
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_NAME = re.compile(rf"(?:{_HOST}/)?{_PATH}(?:/{_PATH})*")
_IMAGE_REFERENCE = re.compile(
    rf"{_IMAGE_NAME.pattern}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{{32,}})?"
)
# Istio's `namespace/host` of an egress listener: no space, one slash.
_EGRESS_HOST = re.compile(r"[^\s/]+/[^\s/]+")
_LOGIN = re.compile(r"[^\s\x00-\x1f\x7f]+")  # a registry user: no space or control character
# Text settings checked whole against a pattern: field -> (pattern, what the value must be).
_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "registry": (
        _IMAGE_NAME,
        "a registry and repository such as registry.example.com/team "
        "(a host, an optional port, lower-case path parts; no tag, no space)",
    ),
    "registry_username": (_LOGIN, "a registry user name (no space or control character)"),
    "registry_pull_username": (_LOGIN, "a registry user name (no space or control character)"),
    "builder": (BUILDER_NAME, "a buildx builder's name (letters, digits, '_', '.', '-')"),
    "promote_from": (_STACK_NAME, "a stack name (a stack, or organization/project/stack)"),
}
# imagePullSecret's two words; any other value names a Secret the namespace already has.
PULL_SECRET_AUTO, PULL_SECRET_NONE = "auto", "none"
PULL_SECRET_NAME = "skillship-registry-pull"  # the Secret Skillship declares in `auto` mode


# A shard stack's name is its environment's and its number: `dev.3`.
_SHARD_STACK = re.compile(r"(?P<env>.+)\.(?P<index>[1-9][0-9]*)")
MAX_SHARDS = 64


class Shards(BaseModel):
    """`skillship:shards` (skillship.stack.shards): how many shard stacks, and what stays together."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=2, le=MAX_SHARDS)
    by: Literal["agent", "skill"] = "agent"


def shard_stack(environment: str, index: int) -> str:
    return f"{environment}.{index}"


def shard_stacks(environment: str, shards: Shards) -> list[str]:
    return [shard_stack(environment, index) for index in range(1, shards.count + 1)]


@dataclass(frozen=True)
class ShardName:
    environment: str
    index: int


def parse_shard_stack(name: str) -> ShardName | None:
    """`dev.3` -> (dev, 3); None for a name that cannot be a shard's."""
    found = _SHARD_STACK.fullmatch(name)
    if found is None:
        return None
    return ShardName(found["env"], int(found["index"]))


def config_value(raw: Any) -> Any:
    """A config value as both readers take it: objects and lists arrive as JSON text from
    `pulumi.Config`, and `pulumi config set KEY '{...}'` (without --path) writes them to the stack
    file as that text; scalars stay as they are, for pydantic to convert."""
    if isinstance(raw, str) and raw[:1] in ("{", "["):
        try:
            return parse_json(raw)
        except JsonRefused:
            return raw
    return raw


def setting_keys() -> frozenset[str]:
    """Every key a stack may set under `skillship:`, secrets included."""
    names = {field.alias or name for name, field in StackSettings.model_fields.items()} | SECRET_KEYS
    return frozenset(names - {"stack", "shard"})  # known from the stack's name, never a key


def nearest_setting(key: str) -> str | None:
    """The setting `key` most likely meant (a typo is the usual cause), if one is near."""
    nearest = difflib.get_close_matches(key, sorted(setting_keys()), n=1, cutoff=0.75)
    return nearest[0] if nearest else None


def unknown_setting(key: str) -> str:
    """Why `key` is refused, with the setting it most likely meant."""
    nearest = nearest_setting(key)
    meant = f"; did you mean {CONFIG_NAMESPACE}:{nearest}?" if nearest else ""
    return f"unknown setting{meant} (see docs/settings.md)"


class IstioMode(str, Enum):
    """How job pods live with Istio (docs/istio.md)."""

    NONE = "none"  # no injection: no mesh identity, nothing to stop
    SIDECAR = "sidecar"  # classic sidecar: hold the app until Envoy is ready, tell it to quit at the end
    NATIVE = "native"  # Kubernetes native sidecar: Kubernetes stops the proxy when the job ends
    AMBIENT = "ambient"  # ztunnel on the node, no proxy in the pod


class SettingsError(Exception):
    """Bad stack settings; `problems` holds one line per bad key, `keys` the key path of each
    (without `skillship:`; empty for a problem of the whole), for a stack file's line numbers."""

    def __init__(self, stack: str, problems: list[str], keys: list[tuple[str, ...]] | None = None) -> None:
        super().__init__(f"stack {stack!r} has bad settings: " + "; ".join(problems))
        self.stack = stack
        self.problems = problems
        self.keys = keys if keys is not None else [() for _ in problems]


class StackSettings(BaseModel):
    """The settings of one stack. Keys are the `skillship:` config keys, camelCase as in YAML."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    stack: str
    target: Literal["render", "cluster"] = "cluster"
    render_dir: str | None = Field(default=None, alias="renderDir")
    # The workspace this stack deploys, relative to the project (default: the project itself);
    # `pulumi up` and `skillship render` both read it.
    workspace: str | None = None
    namespace: str = "skillship"
    create_namespace: bool = Field(default=True, alias="createNamespace")
    registry: str | None = None
    registry_username: str | None = Field(default=None, alias="registryUsername")
    # Who the cluster pulls as, when not the pushing user (a read-only token, say); its password
    # is the secret registryPullPassword.
    registry_pull_username: str | None = Field(default=None, alias="registryPullUsername")
    # How pods get registry credentials: `auto` declares a pull Secret from the stack's registry
    # user, `none` leaves it to the nodes, any other value names an existing Secret.
    image_pull_secret: str = Field(default=PULL_SECRET_AUTO, alias="imagePullSecret")
    build_images: bool = Field(default=True, alias="buildImages")
    # The buildx builder (a name in $BUILDX_CONFIG/instances, as `docker buildx ls` lists them) that
    # builds the images; unset: buildx's current builder. No Docker daemon is needed either way.
    builder: str | None = None
    images: dict[str, str] = Field(default_factory=dict)
    # Another stack of the project whose images this one deploys, by the very references (tag and
    # digest) that stack built and pushed; nothing is built here. Its `images` output is read
    # through a StackReference (skillship.plan.promotion).
    promote_from: str | None = Field(default=None, alias="promoteFrom")
    skills: list[str] | None = None
    # Per skill: a message object (with `payload`), or the path of a JSON file holding one.
    messages: dict[str, dict[str, Any] | str] = Field(default_factory=dict)
    properties: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Per skill: runs on a clock, as a CronJob, instead of once per `up` (skillship.stack.schedules).
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    wait: bool = True
    backoff_limit: int = Field(default=0, alias="backoffLimit", ge=0, le=20)
    active_deadline_seconds: int = Field(default=1800, alias="activeDeadlineSeconds", ge=1, le=7 * 24 * 3600)
    # A task whose pod no node can take fails after this long (skillship.tasks.pod_start); a pod that
    # cannot pull its image or make its container fails at once.
    unschedulable_seconds: int = Field(default=60, alias="unschedulableSeconds", ge=1, le=24 * 3600)
    # Tasks started by `skillship run` are deleted this long after they end (ttlSecondsAfterFinished).
    run_retention_seconds: int = Field(default=86400, alias="runRetentionSeconds", ge=0, le=30 * 24 * 3600)
    cpu_request: str = Field(default="100m", alias="cpuRequest")
    cpu_limit: str = Field(default="1", alias="cpuLimit")
    memory_request: str = Field(default="128Mi", alias="memoryRequest")
    memory_limit: str = Field(default="512Mi", alias="memoryLimit")
    tmp_size: str = Field(default="256Mi", alias="tmpSize")
    istio_mode: IstioMode = Field(default=IstioMode.NONE, alias="istioMode")
    # Istio's trust domain: AuthorizationPolicy principals read <trustDomain>/ns/<namespace>/sa/<account>.
    trust_domain: str = Field(default="cluster.local", alias="trustDomain")
    egress_hosts: list[str] = Field(default_factory=lambda: ["./*", "istio-system/*"], alias="egressHosts")
    # Enforced by the cluster's network, mesh or not (skillship.manifests.network.egress_policy):
    # unset, skills' pods may connect anywhere; a list, only to DNS, the daemons their records go
    # to, Istio's control plane when proxies are injected, and these networks (CIDRs).
    egress_networks: list[str] | None = Field(default=None, alias="egressNetworks")
    # Split the skills over shard stacks <stack>.1 ... <stack>.<count> (skillship.stack.shards).
    shards: Shards | None = None
    # Which of them this is: never a key of a stack file, known from the Pulumi stack's name. None
    # for the base stack of a sharded environment (the namespace, no skill) and for a stack unsharded.
    shard: int | None = None

    @field_validator(
        "registry",
        "registry_username",
        "registry_pull_username",
        "builder",
        "render_dir",
        "workspace",
        "promote_from",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value  # Pulumi.yaml declares these with default ""

    @field_validator("image_pull_secret", mode="before")
    @classmethod
    def _pull_secret(cls, value: Any) -> Any:
        if value in ("", None):
            return PULL_SECRET_AUTO
        if isinstance(value, str) and value not in (PULL_SECRET_AUTO, PULL_SECRET_NONE):
            if len(value) > 253 or not _DNS_SUBDOMAIN.fullmatch(value):
                raise ValueError(
                    f"{value!r} is neither 'auto', 'none' nor the name of a Secret (lower case, digits, '-', '.')"
                )
        return value

    @field_validator("render_dir", "workspace")
    @classmethod
    def _inside_project(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Folders a stack names are inside the project: render replaces its renderDir whole, so
        `/` or `..` there would delete what Skillship never made."""
        if value is None:
            return None
        path = PurePosixPath(value.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or (info.field_name == "render_dir" and path.parts in ((), (".",))):
            raise ValueError(
                f"{value!r} must be a folder inside the project, given relative to it (no '..', not absolute)"
            )
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _DNS_LABEL.fullmatch(value) or len(value) > 63:
            raise ValueError(f"{value!r} is not a Kubernetes namespace name (lower case, digits, '-')")
        return value

    @field_validator("cpu_request", "cpu_limit", "memory_request", "memory_limit", "tmp_size")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not _QUANTITY.fullmatch(str(value)):
            raise ValueError(f"{value!r} is not a Kubernetes quantity such as 500m, 1, 256Mi or 2Gi")
        return str(value)

    @field_validator("egress_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not _EGRESS_HOST.fullmatch(host):
                raise ValueError(f"egress host {host!r} must read namespace/host, e.g. './*' or 'istio-system/*'")
        return value

    @field_validator(*_SHAPES)
    @classmethod
    def _shaped(cls, value: str | None, info: ValidationInfo) -> str | None:
        """The text settings each checked whole against its pattern (_SHAPES)."""
        assert info.field_name is not None
        pattern, shape = _SHAPES[info.field_name]
        if value is not None and not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {shape}")
        return value

    @field_validator("images")
    @classmethod
    def _references(cls, value: dict[str, str]) -> dict[str, str]:
        for skill, reference in value.items():
            if not isinstance(reference, str) or not _IMAGE_REFERENCE.fullmatch(reference):
                raise ValueError(
                    f"the image of {skill!r}, {reference!r}, is not an image reference such as "
                    "registry.example.com/team/hello:1.2 or ...@sha256:<digest>"
                )
        return value

    @field_validator("egress_networks")
    @classmethod
    def _networks(cls, value: list[str] | None) -> list[str] | None:
        for network in value or ():
            try:
                ipaddress.ip_network(network, strict=True)
            except ValueError:
                raise ValueError(
                    f"egress network {network!r} is not a network in CIDR notation, "
                    "such as 10.20.0.0/16 or 203.0.113.7/32 (host bits zero)"
                ) from None
            if "/" not in network:
                raise ValueError(f"egress network {network!r} needs its prefix length, such as {network}/32")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> StackSettings:
        if self.builds and not self.registry:
            raise ValueError("a cluster stack that builds images needs 'registry'")
        if self.pull_username is not None and not self.registry and self.image_pull_secret == PULL_SECRET_AUTO:
            raise ValueError(
                "a stack with a registry user needs 'registry': the pull Secret holds credentials for its host only"
            )
        if self.promote_from is not None and self.renders:
            raise ValueError(
                "a render stack cannot take its images from another stack (promoteFrom): it deploys nothing"
            )
        if self.promote_from is not None and self.promote_from.rsplit("/", 1)[-1] == self.stack:
            raise ValueError(f"stack {self.stack!r} cannot take its images from itself (promoteFrom)")
        if self.shards is not None and self.renders:
            raise ValueError("a render stack cannot have shards: it deploys nothing to split over stacks")
        if self.shard is not None and (self.shards is None or not 1 <= self.shard <= self.shards.count):
            count = self.shards.count if self.shards is not None else 0
            raise ValueError(
                f"stack {self.pulumi_stack!r} is no shard of {self.stack!r}, which has "
                + (f"shards 1 to {count}" if count else "no skillship:shards")
            )
        return self

    @property
    def pulumi_stack(self) -> str:
        """The Pulumi stack these settings are for: the environment's own, or one of its shards'."""
        return self.stack if self.shard is None else shard_stack(self.stack, self.shard)

    @property
    def is_base(self) -> bool:
        """The base stack of a sharded environment: its namespace, and no skill of its own."""
        return self.shards is not None and self.shard is None

    @property
    def builds(self) -> bool:
        """Whether `pulumi up` builds and pushes images: a cluster stack that is not promoted."""
        return self.target == "cluster" and self.build_images and self.promote_from is None

    @property
    def renders(self) -> bool:
        return self.target == "render"

    @property
    def pull_username(self) -> str | None:
        """Who the cluster pulls images as: the pull user, else the pushing user."""
        return self.registry_pull_username or self.registry_username

    @property
    def pull_password_key(self) -> str:
        """The secret key holding the pull user's password."""
        return "registryPullPassword" if self.registry_pull_username else "registryPassword"

    @property
    def registry_host(self) -> str | None:
        """The registry's host (and port): what credentials are for."""
        return self.registry.split("/", 1)[0] if self.registry else None

    @property
    def pull_secret(self) -> str | None:
        """The Secret every ServiceAccount of the stack names in imagePullSecrets, if any
        (docs/settings.md: Registry credentials)."""
        if self.image_pull_secret == PULL_SECRET_AUTO:
            has_user = self.target == "cluster" and self.pull_username is not None and self.registry is not None
            return PULL_SECRET_NAME if has_user else None
        return None if self.image_pull_secret == PULL_SECRET_NONE else self.image_pull_secret

    @property
    def declares_pull_secret(self) -> bool:
        """Whether this stack declares the pull Secret: with the namespace, so not a shard."""
        return self.shard is None and self.image_pull_secret == PULL_SECRET_AUTO and self.pull_secret is not None

    @property
    def output_dir(self) -> str:
        return self.render_dir or f"rendered/{self.pulumi_stack}"

    @property
    def workspace_dir(self) -> str:
        return self.workspace or "."

    @property
    def uses_istio(self) -> bool:
        return self.istio_mode is not IstioMode.NONE

    def deploys(self, skill: str) -> bool:
        return self.skills is None or skill in self.skills

    @classmethod
    def from_config(cls, stack: str, values: Mapping[str, Any], *, shard: int | None = None) -> StackSettings:
        """Settings from `skillship:`-less keys; raises SettingsError naming every bad key. `stack`
        is the environment, `shard` which of its shard stacks (from the Pulumi stack's name)."""
        if "shard" in values or "stack" in values:
            key = "shard" if "shard" in values else "stack"
            raise SettingsError(stack, [f"{CONFIG_NAMESPACE}:{key}: {unknown_setting(key)}"])
        try:
            return cls.model_validate({**values, "stack": stack, "shard": shard})
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            raise SettingsError(
                stack, [_problem(error) for error in errors], [_key(error) for error in errors]
            ) from None


def _key(error: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(part) for part in error["loc"] if not str(part).startswith(("function-", "union[")))


def _problem(error: Mapping[str, Any]) -> str:
    key = ".".join(_key(error))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = unknown_setting(key)
    return f"{CONFIG_NAMESPACE}:{key}: {message}" if key else message
