"""Splitting one environment's skills over several Pulumi stacks (docs/scale.md, "Shards").

An environment (`dev`, with `skillship:shards` in `stacks/Pulumi.dev.yaml`) is deployed by a base
stack of its own name, which holds the namespace and nothing of any skill, and by shard stacks
`dev.1` ... `dev.N`, which hold the skills. Every object is the one the unsharded environment
would declare, with the same names and labels: sharding changes which stack records an object,
never the object. So `skillship status --stack dev`, which selects by the environment's label,
sees every shard's tasks as one deployment.

A skill's shard is a stable hash, so that adding or removing skills moves no other skill (a skill
that moves is deleted by one stack and created by another: `skillship-pipeline` deploys the stacks
that give skills up first). `by: agent` hashes each group of skills that agents connect (every skill
of an agent, and agents that share a skill), so no agent ever crosses shards; `by: skill` hashes
each skill alone, and refuses, located, a mapping whose order a shard could not keep (a job's
records or its completion awaited across shards).
"""

from __future__ import annotations

import hashlib

from skillship.source.wiring import Wire, agent_wires
from skillship.source.workspace import Workspace
from skillship.stack.settings import Shards


def _bucket(key: str, count: int) -> int:
    """1..count, the same on every machine and every run (not Python's salted hash)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % count + 1


def skill_groups(workspace: Workspace) -> dict[str, str]:
    """Skill -> the key of the group it deploys with: its agents joined (agents sharing a skill are
    one group, keyed by the first of their names), else the skill itself. A mapping's two ends are
    skills of its agent, so no mapping leaves a group."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(a: str, b: str) -> None:
        first, second = sorted((find(a), find(b)))
        parent[second] = first

    for source in workspace.agents:
        agent = f"agent:{source.agent.name}"
        find(agent)
        for ref in source.agent.skills:
            join(agent, f"skill:{ref.skill_name}")
    first_agent: dict[str, str] = {}
    for node in sorted(parent):
        if node.startswith("agent:"):
            first_agent.setdefault(find(node), node)
    groups: dict[str, str] = {}
    for skill in workspace.skills:
        root = find(f"skill:{skill.skill.name}")
        groups[skill.skill.name] = first_agent.get(root, root)
    return groups


def assign_shards(workspace: Workspace, shards: Shards) -> dict[str, int]:
    """Skill -> its shard (1..count)."""
    if shards.by == "skill":
        return {s.skill.name: _bucket(f"skill:{s.skill.name}", shards.count) for s in workspace.skills}
    return {skill: _bucket(group, shards.count) for skill, group in skill_groups(workspace).items()}


def crossing_wires(workspace: Workspace, assignment: dict[str, int]) -> list[Wire]:
    """Mappings whose two skills are in different shards."""
    return [
        w
        for w in agent_wires(workspace)
        if w.sender in assignment and w.receiver in assignment and assignment[w.sender] != assignment[w.receiver]
    ]


def wire_line(workspace: Workspace, wire: Wire) -> tuple[str, int | None]:
    """(file, line) of the agent mapping a wire comes from."""
    for source in workspace.agents:
        agent = source.agent
        if agent.name != wire.agent:
            continue
        for index, mapping in enumerate(agent.mappings):
            start, end = mapping.source.skill, mapping.target.skill
            if start is None or end is None:
                continue
            sender, receiver = agent.skill_ref(start.ref_id), agent.skill_ref(end.ref_id)
            if (
                sender is not None
                and receiver is not None
                and (sender.skill_name, start.output, receiver.skill_name, end.input)
                == (wire.sender, wire.output, wire.receiver, wire.input)
            ):
                return source.display, source.line(("mappings", index))
        return source.display, source.line(("name",))
    return "agents", None
