"""Typed models of what users write: skills, their parts, and agents.

They accept every variant of ../shared/FORMAT.md (loose type spellings, `$ref` or listed or absent
parameters, ports as strings, `environmentVariables` strings, ...) and normalise it once, so later
stages never see the variants. Cross-file rules live in `skillship.checks.validation`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skillship.source.jsontext import unfit_for_json

RUNTIME_JOBS = "cortex/jobs"
RUNTIME_DAEMONS = "cortex/daemons"
RUNTIME_EXTERNAL_API = "cortex/external-api"
KNOWN_RUNTIMES = (RUNTIME_JOBS, RUNTIME_DAEMONS, RUNTIME_EXTERNAL_API)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


def _scalar_to_str(value: Any) -> Any:
    """YAML turns `1.0.0`-like or numeric values into numbers; real files mean them as text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return value


class Parameter(_Model):
    """One parameter of an input or output, or a `$ref` to a named type."""

    name: str | None = None
    ref: str | None = Field(default=None, alias="$ref")
    type: str | None = None
    title: str | None = None
    description: str | None = None
    required: bool = False

    _text = field_validator("name", "ref", "type", mode="before")(_scalar_to_str)

    @model_validator(mode="after")
    def _named_or_ref(self) -> Parameter:
        if not self.name and not self.ref:
            raise ValueError("a parameter needs a 'name' or a '$ref'")
        return self


def _parameters(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    raise ValueError("parameters must be a list of {name, type, ...} or {$ref: TypeName}")


class RoutingTarget(_Model):
    action: str | None = None
    runtime: str | None = None
    output: str | None = None

    _text = field_validator("action", "runtime", "output", mode="before")(_scalar_to_str)


class RoutingRule(RoutingTarget):
    match: Any = None


class Routing(_Model):
    """`all:` routing, or routing by `property`/`field` with `rules` and a `default`."""

    all: RoutingTarget | None = None
    property: str | None = None
    field: str | None = None
    rules: list[RoutingRule] = []
    default: RoutingTarget | None = None

    _lists = field_validator("rules", mode="before")(_none_to_list)

    def targets(self) -> list[tuple[tuple[str | int, ...], RoutingTarget]]:
        """Every target with its path inside `routing`, for checks that apply to all of them."""
        found: list[tuple[tuple[str | int, ...], RoutingTarget]] = []
        if self.all is not None:
            found.append((("all",), self.all))
        found.extend((("rules", i), rule) for i, rule in enumerate(self.rules))
        if self.default is not None:
            found.append((("default",), self.default))
        return found


class Input(_Model):
    name: str
    title: str | None = None
    parameters: list[Parameter] = []
    routing: Routing | None = None

    _name = field_validator("name", mode="before")(_scalar_to_str)
    _params = field_validator("parameters", mode="before")(_parameters)


class Output(_Model):
    name: str
    title: str | None = None
    parameters: list[Parameter] = []

    _name = field_validator("name", mode="before")(_scalar_to_str)
    _params = field_validator("parameters", mode="before")(_parameters)


class Property(_Model):
    name: str
    title: str | None = None
    description: str | None = None
    type: str | None = None
    required: bool = False
    default_value: Any = Field(default=None, alias="defaultValue")
    secure: bool = False
    valid_values: list[Any] | None = Field(default=None, alias="validValues")

    _name = field_validator("name", "type", mode="before")(_scalar_to_str)

    @property
    def kind(self) -> str | None:
        """The type compared case-insensitively: `String`, `string` -> `string`."""
        return self.type.lower() if self.type else None


_ENV_PAIR = re.compile(
    r'\s*(?:"(?P<qkey>[^"]*)"|(?P<key>[^=,\n"]+?))\s*=\s*(?:"(?P<qvalue>[^"]*)"|(?P<value>[^,\n]*?))\s*(?:[,\n]|$)'
)


def parse_environment_variables(text: str) -> dict[str, str]:
    """Parse `"KEY"="value"` pairs, separated by commas or newlines (quotes optional)."""
    result: dict[str, str] = {}
    position = 0
    text = text.strip()
    while position < len(text):
        match = _ENV_PAIR.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f'expected "KEY"="value" pairs, could not read {text[position : position + 30]!r}')
        key = match.group("qkey") if match.group("qkey") is not None else match.group("key")
        value = match.group("qvalue") if match.group("qvalue") is not None else match.group("value")
        if not key or not key.strip():
            raise ValueError("an environment variable has an empty name")
        result[key.strip()] = value
        position = match.end()
    return result


class Action(_Model):
    name: str
    type: Literal["job", "daemon"] = "job"
    image: str | None = None
    command: list[str] = []
    port: int | None = None
    scale_count: int | None = Field(default=None, alias="scaleCount")
    environment_variables: dict[str, str] = Field(default_factory=dict, alias="environmentVariables")
    description: str | None = None
    # A daemon's endpoint for messages, as Cortex called it: skills wired to it send each record,
    # in a message envelope, to this path with this method (unless it serves Skillship's runtime).
    path: str | None = None
    method: str | None = None

    _name = field_validator("name", "image", mode="before")(_scalar_to_str)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("/") or any(c.isspace() for c in value)):
            raise ValueError(f"path must start with '/' and hold no spaces, not {value!r}")
        return value

    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().upper()
            if value not in ("POST", "PUT", "PATCH"):
                raise ValueError(f"method must be POST, PUT or PATCH (a message has a body), not {value!r}")
        return value

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("command", mode="before")
    @classmethod
    def _command(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [_scalar_to_str(part) for part in value]
        return value

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            raise ValueError(f"port must be a number from 1 to 65535, not {value!r}")
        return value

    @field_validator("environment_variables", mode="before")
    @classmethod
    def _env(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, str):
            return parse_environment_variables(value)
        if isinstance(value, dict):
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        raise ValueError('environmentVariables must be a string of "KEY"="value" pairs')


class ActionFile(Action):
    """An `action.json` of the older layout, beside the build context it declares (FORMAT.md):
    `actionType` for `type`, `cmd` for `command`, `docker` for `image`."""

    @model_validator(mode="before")
    @classmethod
    def _older_names(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        renamed = dict(value)
        for old, new in (("actionType", "type"), ("cmd", "command"), ("docker", "image")):
            if old in renamed and new not in renamed:
                renamed[new] = renamed.pop(old)
        return renamed


class PodSpecPatch(_Model):
    """One entry of a `podspec.json`: the value of one place of the pod spec, e.g.
    `{"path": "/containers/0/resources", "value": {"limits": {"memory": "2Gi"}}}`."""

    path: str
    value: Any = None


class Tag(_Model):
    label: str
    value: str | None = None

    _text = field_validator("label", "value", mode="before")(_scalar_to_str)


class Skill(_Model):
    camel: str | None = None
    name: str
    title: str | None = None
    description: str | None = None
    inputs: list[Input] = []
    outputs: list[Output] = []
    properties: list[Property] = []
    actions: list[Action] = []
    tags: list[Tag] = []

    _text = field_validator("camel", "name", mode="before")(_scalar_to_str)
    _lists = field_validator("inputs", "outputs", "properties", "actions", "tags", mode="before")(_none_to_list)

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)

    def input(self, name: str) -> Input | None:
        return next((i for i in self.inputs if i.name == name), None)

    def output(self, name: str) -> Output | None:
        return next((o for o in self.outputs if o.name == name), None)


class MessageEnvelope(BaseModel):
    """What an example message or a stack's message may hold (FORMAT.md: the message). Only the
    types are checked, so a `properties` list is refused here, not by the builders; unknown keys
    stay as they are."""

    model_config = ConfigDict(extra="allow", strict=True)

    payload: Any = None
    properties: dict[str, Any] | None = None
    headers: dict[str, Any] | None = None
    activation_id: str | None = Field(default=None, alias="activationId")
    agent_name: str | None = Field(default=None, alias="agentName")
    channel_id: str | None = Field(default=None, alias="channelId")
    output_name: str | None = Field(default=None, alias="outputName")
    project_id: str | None = Field(default=None, alias="projectId")
    session_id: str | None = Field(default=None, alias="sessionId")
    skill_name: str | None = Field(default=None, alias="skillName")


def envelope_problems(message: Any) -> list[tuple[str, str]]:
    """(field, problem) for each envelope field of the wrong type; [] for a well-typed object."""
    if not isinstance(message, dict):
        return [("", "a message must be a JSON object with a 'payload'")]
    try:
        MessageEnvelope.model_validate(message)
    except ValidationError as exc:
        return [_problem(error) for error in exc.errors(include_url=False)]
    unfit = unfit_for_json(message)  # from YAML (a stack's `messages`): .inf, 1e999, .nan
    return [("", f"a message travels as JSON, and {unfit}")] if unfit else []


def _problem(error: Any) -> tuple[str, str]:
    field = str(error["loc"][0])  # every field checked is a top-level key
    kind = {"dict_type": "an object", "string_type": "a string"}.get(error["type"], error["msg"])
    return field, f"'{field}' must be {kind}, not {type(error['input']).__name__}"


# --- agents -----------------------------------------------------------------------------------


class AgentSignal(_Model):
    """An agent input or output; mappings refer to it by `signalId` (or by name in loose files)."""

    name: str | None = None
    title: str | None = None
    signal_id: str | None = Field(default=None, alias="signalId")
    parameters: list[Parameter] = []

    _text = field_validator("name", "signal_id", mode="before")(_scalar_to_str)
    _params = field_validator("parameters", mode="before")(_parameters)

    def matches(self, reference: str | None) -> bool:
        return reference is not None and reference in (self.signal_id, self.name)


class AgentProperty(_Model):
    name: str
    value: Any = None

    _name = field_validator("name", mode="before")(_scalar_to_str)


class AgentSkill(_Model):
    skill_name: str = Field(alias="skillName")
    ref_id: str = Field(alias="refId")
    title: str | None = None
    properties: list[AgentProperty] = []  # the values this agent gives this skill

    _text = field_validator("skill_name", "ref_id", mode="before")(_scalar_to_str)
    _lists = field_validator("properties", mode="before")(_none_to_list)


class SignalRef(_Model):
    signal_id: str = Field(alias="signalId")

    _text = field_validator("signal_id", mode="before")(_scalar_to_str)


class SkillPort(_Model):
    ref_id: str = Field(alias="refId")
    input: str | None = None
    output: str | None = None

    _text = field_validator("ref_id", "input", "output", mode="before")(_scalar_to_str)


class MappingEnd(_Model):
    """One end of a mapping: an agent input, a skill's input or output, or an agent output."""

    input: SignalRef | None = None
    skill: SkillPort | None = None
    output: SignalRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MappingEnd:
        if sum(x is not None for x in (self.input, self.skill, self.output)) != 1:
            raise ValueError("a mapping end names exactly one of 'input', 'skill' or 'output'")
        return self


class Mapping(_Model):
    source: MappingEnd = Field(alias="from")
    target: MappingEnd = Field(alias="to")


class Agent(_Model):
    camel: str | None = None
    name: str
    title: str | None = None
    inputs: list[AgentSignal] = []
    outputs: list[AgentSignal] = []
    mappings: list[Mapping] = []
    skills: list[AgentSkill] = []
    tags: list[Tag] = []
    properties: list[AgentProperty] = []

    _text = field_validator("camel", "name", mode="before")(_scalar_to_str)
    _lists = field_validator("inputs", "outputs", "mappings", "skills", "tags", "properties", mode="before")(
        _none_to_list
    )

    def skill_ref(self, ref_id: str) -> AgentSkill | None:
        return next((s for s in self.skills if s.ref_id == ref_id), None)
