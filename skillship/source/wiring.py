"""Agent wiring: which skill's output goes to which skill's input (agents/*.yaml `mappings`)."""

from __future__ import annotations

from dataclasses import dataclass

from skillship.source.workspace import Workspace
from skillship_runtime.contract import RECORDS_PATH


@dataclass(frozen=True)
class Wire:
    """One mapping from a skill output to a skill input, with the action the input is routed to."""

    agent: str
    sender: str
    output: str
    receiver: str
    input: str
    receiver_action: str | None  # None: the input routes to no action of the skill (an external API)

    def describe(self) -> str:
        return f"agent {self.agent!r} maps {self.sender}.{self.output} to {self.receiver}.{self.input}"


def agent_wires(workspace: Workspace) -> list[Wire]:
    """Every skill-to-skill mapping of every agent. Validation has checked refs, inputs and outputs;
    what it reported is skipped here."""
    wires: list[Wire] = []
    for source in workspace.agents:
        agent = source.agent
        for mapping in agent.mappings:
            start, end = mapping.source.skill, mapping.target.skill
            if start is None or end is None or not start.output or not end.input:
                continue
            sender_ref, receiver_ref = agent.skill_ref(start.ref_id), agent.skill_ref(end.ref_id)
            if sender_ref is None or receiver_ref is None:
                continue
            receiver = workspace.skill(receiver_ref.skill_name)
            action = None
            if receiver is not None:
                for item in receiver.skill.inputs:
                    if item.name == end.input and item.routing is not None:
                        action = next((t.action for _, t in item.routing.targets() if t.action), None)
            wires.append(
                Wire(agent.name, sender_ref.skill_name, start.output, receiver_ref.skill_name, end.input, action)
            )
    return sorted(set(wires), key=lambda w: (w.sender, w.output, w.receiver, w.input, w.agent))


def receiver_url(service: str, namespace: str, port: int, input_name: str) -> str:
    return f"http://{service}.{namespace}.svc.cluster.local:{port}{RECORDS_PATH}{input_name}"
