"""Agent mappings resolved against what one stack deploys: where each sender's records go (a
daemon's URL), who may send to each daemon, and which jobs run after which."""

from __future__ import annotations

from dataclasses import dataclass, field

from skillship.models import Action
from skillship.names import action_name, skill_name
from skillship.plan.problems import StackProblems
from skillship.settings import StackSettings
from skillship.wiring import agent_wires, receiver_url
from skillship.workspace import SkillSource, Workspace
from skillship_runtime.contract import DEFAULT_PORT


def daemon_port(action: Action) -> int:
    return int(action.port or DEFAULT_PORT)


@dataclass
class StackWiring:
    targets: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # sender skill -> output -> URLs
    # (receiver skill, daemon action) -> ServiceAccounts of its senders
    senders: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    after: dict[str, set[str]] = field(default_factory=dict)  # receiver job skill -> sender job skills

    def targets_of(self, skill: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return tuple((output, tuple(urls)) for output, urls in sorted(self.targets.get(skill, {}).items()))

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
            url = receiver_url(
                action_name(wire.receiver, action.name), settings.namespace, daemon_port(action), wire.input
            )
            urls = wiring.targets.setdefault(wire.sender, {}).setdefault(wire.output, [])
            if url not in urls:
                urls.append(url)
            wiring.senders.setdefault((wire.receiver, action.name), set()).add(skill_name(wire.sender))
        elif any(a.type == "job" for a in skills[wire.sender].skill.actions):
            wiring.after.setdefault(wire.receiver, set()).add(wire.sender)
    return wiring
