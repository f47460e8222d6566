"""The agent a skill's tasks run for: its name goes into their messages (`agentName`), and the
property values it sets reach them (FORMAT.md: "skill defaults merged with the agent's and the
deployment's values").

A task runs once per deployment, so it runs for an agent only when its skill belongs to exactly
one; a skill in several agents runs for none of them, and the plan says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skillship.plan.problems import StackProblems
from skillship.source.workspace import SkillSource, Workspace


@dataclass(frozen=True)
class AgentContext:
    name: str = ""
    # agent-level values of properties the skill declares, then those of its own entry in the agent
    properties: dict[str, Any] = field(default_factory=dict)


def agent_context(workspace: Workspace, source: SkillSource, problems: StackProblems) -> AgentContext:
    skill = source.skill
    entries = workspace.agent_entries(skill.name)
    agents = sorted({agent.name for agent, _ in entries})
    if not agents:
        return AgentContext()
    if len(agents) > 1:
        problems.file_warning(
            "several-agents",
            f"skill {skill.name!r} is in agents {', '.join(map(repr, agents))}; its tasks run once per deployment, "
            "for none of them: no agent's properties reach them and their agentName is empty",
            source.display,
            source.line(("name",)),
        )
        return AgentContext()
    declared = {p.name: p for p in skill.properties}
    values: dict[str, Any] = {}
    agent = entries[0][0]
    for prop in agent.properties:
        if prop.name in declared and not declared[prop.name].secure:
            values[prop.name] = prop.value
    for _, ref in entries:
        for prop in ref.properties:
            if prop.name in declared and not declared[prop.name].secure:
                values[prop.name] = prop.value
    return AgentContext(agent.name, values)
