"""Agent mappings resolved against what one stack deploys: where each sender's records go (a
daemon's URL), who may send to each daemon, and which jobs run after which.

A daemon on Skillship's runtime takes batches of records at `/records/<input>`; a daemon of its
own making (its Dockerfile does not use the runtime) is called the way Cortex called it: one
message envelope per record, to the action's `path` with its `method` (default POST to `/`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skillship.checks.names import action_name, skill_name
from skillship.plan.dockerfile import read_dockerfile
from skillship.plan.problems import StackProblems
from skillship.source.models import Action
from skillship.source.wiring import agent_wires, receiver_url
from skillship.source.workspace import SkillSource, Workspace
from skillship.stack.settings import StackSettings
from skillship_runtime.contract import DEFAULT_PORT, ENVELOPE_FORMAT, TARGET_FORMAT, TARGET_METHOD, TARGET_URL


def daemon_port(action: Action) -> int:
    return int(action.port or DEFAULT_PORT)


@dataclass(frozen=True)
class Target:
    """Where one output's records go: `method` None for a receiver on the runtime (batches of
    records), else the method that sends a message envelope per record."""

    url: str
    method: str | None = None
    # The receiving daemon's pods: its action's name (their skillship.io/action label) and port,
    # which a stack that limits egress admits (skillship.manifests.network.egress_policy).
    receiver: str = ""
    port: int = 0

    def as_json(self) -> str | dict[str, Any]:
        """Its entry in SKILLSHIP_TARGETS: a receiver on the runtime is its URL alone."""
        if self.method is None:
            return self.url
        return {TARGET_URL: self.url, TARGET_METHOD: self.method, TARGET_FORMAT: ENVELOPE_FORMAT}


Targets = tuple[tuple[str, tuple[Target, ...]], ...]  # per output, sorted


def targets_json(targets: Targets) -> dict[str, list[str | dict[str, Any]]]:
    return {output: [t.as_json() for t in found] for output, found in targets}


@dataclass
class StackWiring:
    targets: dict[str, dict[str, list[Target]]] = field(default_factory=dict)  # sender skill -> output -> targets
    # (receiver skill, daemon action) -> ServiceAccounts of its senders
    senders: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    after: dict[str, set[str]] = field(default_factory=dict)  # receiver job skill -> sender job skills

    def targets_of(self, skill: str) -> Targets:
        return tuple((output, tuple(found)) for output, found in sorted(self.targets.get(skill, {}).items()))

    def senders_of(self, skill: str, action: str) -> tuple[str, ...]:
        return tuple(sorted(self.senders.get((skill, action), ())))


def stack_wiring(
    workspace: Workspace, settings: StackSettings, deployed: list[SkillSource], problems: StackProblems
) -> StackWiring:
    """A mapping to a skill the stack does not deploy is a warning: those records have nowhere to go."""
    wiring = StackWiring()
    skills = {s.skill.name: s for s in deployed}
    for wire in agent_wires(workspace):
        missing = [name for name in (wire.sender, wire.receiver) if name not in skills]
        if missing:
            if wire.sender in skills:
                problems.setting_warning(
                    "receiver-not-deployed",
                    f"{wire.describe()}, but stack {settings.stack!r} "
                    f"does not deploy {' or '.join(missing)}: those records have nowhere to go",
                    "skills",
                )
            continue
        receiver = skills[wire.receiver]
        action = next((a for a in receiver.skill.actions if a.name == wire.receiver_action), None)
        if action is None:
            continue  # an external API: nothing of ours to wire
        if action.type == "daemon":
            target = _target(receiver, action, wire.input, settings)
            found = wiring.targets.setdefault(wire.sender, {}).setdefault(wire.output, [])
            if target not in found:
                found.append(target)
            wiring.senders.setdefault((wire.receiver, action.name), set()).add(skill_name(wire.sender))
        elif any(a.type == "job" for a in skills[wire.sender].skill.actions):
            wiring.after.setdefault(wire.receiver, set()).add(wire.sender)
    return wiring


def _target(receiver: SkillSource, action: Action, input_name: str, settings: StackSettings) -> Target:
    service = action_name(receiver.skill.name, action.name)
    port = daemon_port(action)
    if read_dockerfile(receiver.build_context(action.name)).uses_runtime:
        return Target(receiver_url(service, settings.namespace, port, input_name), receiver=service, port=port)
    path = action.path or "/"
    return Target(
        f"http://{service}.{settings.namespace}.svc.cluster.local:{port}{path}",
        action.method or "POST",
        receiver=service,
        port=port,
    )
