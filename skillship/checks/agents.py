"""The rules across skills: unique names, agents and their mappings, and no loop of jobs."""

from __future__ import annotations

import graphlib
from collections import defaultdict
from typing import Any

from skillship.checks.names import action_name, skill_name
from skillship.checks.skills import SUPPORTED_CAMEL
from skillship.source.diagnostics import Diagnostics
from skillship.source.models import (
    Agent,
    MappingEnd,
)
from skillship.source.wiring import agent_wires
from skillship.source.workspace import (
    AgentSource,
    SkillSource,
    Workspace,
)


def check_unique_skills(workspace: Workspace, diagnostics: Diagnostics) -> None:
    """Skill names, and the Kubernetes names they map to, must be unique across the workspace."""
    by_name: dict[str, SkillSource] = {}
    by_k8s: dict[str, SkillSource] = {}
    for source in workspace.skills:
        name = source.skill.name
        line = source.line(("name",))
        if name in by_name:
            diagnostics.error(
                source.display,
                line,
                "name",
                "duplicate-skill",
                f"skill {name!r} is also defined in {by_name[name].display}",
            )
            continue
        by_name[name] = source
        k8s = skill_name(name)
        if k8s in by_k8s:
            other = by_k8s[k8s]
            diagnostics.error(
                source.display,
                line,
                "name",
                "name-collision",
                f"skill {name!r} and skill {other.skill.name!r} ({other.display}) both map to the "
                f"Kubernetes name {k8s!r}; rename one",
            )
        else:
            by_k8s[k8s] = source
    _check_action_name_collisions(workspace, diagnostics)


def _check_action_name_collisions(workspace: Workspace, diagnostics: Diagnostics) -> None:
    owners: dict[str, list[tuple[SkillSource, int]]] = defaultdict(list)
    for source in workspace.skills:
        for index, action in enumerate(source.skill.actions):
            owners[action_name(source.skill.name, action.name)].append((source, index))
    for k8s, places in owners.items():
        if len({(s.skill.name, s.skill.actions[i].name) for s, i in places}) < 2:
            continue
        first_source, first_index = places[0]
        for source, index in places[1:]:
            path = ("actions", index, "name")
            diagnostics.error(
                source.display,
                source.line(path),
                path,
                "name-collision",
                f"action {source.skill.actions[index].name!r} of skill {source.skill.name!r} maps to the "
                f"Kubernetes name {k8s!r}, as does action {first_source.skill.actions[first_index].name!r} "
                f"of skill {first_source.skill.name!r}",
            )


def check_agent(source: AgentSource, workspace: Workspace, diagnostics: Diagnostics) -> None:
    agent: Agent = source.agent
    if agent.camel != SUPPORTED_CAMEL:
        diagnostics.error(
            source.display,
            source.line(("camel",)),
            "camel",
            "camel-version",
            f"unknown camel version {agent.camel!r}; this format is camel {SUPPORTED_CAMEL}",
        )
    seen: dict[str, int] = {}
    for index, ref in enumerate(agent.skills):
        if ref.ref_id in seen:
            path = ("skills", index, "refId")
            diagnostics.error(
                source.display,
                source.line(path),
                path,
                "agent-duplicate-ref",
                f"refId {ref.ref_id!r} is used twice (first at skills[{seen[ref.ref_id]}])",
            )
        else:
            seen[ref.ref_id] = index
        if workspace.skill(ref.skill_name) is None:
            path = ("skills", index, "skillName")
            diagnostics.error(
                source.display,
                source.line(path),
                path,
                "agent-unknown-skill",
                f"skill {ref.skill_name!r} is not in this workspace",
            )
    for index, mapping in enumerate(agent.mappings):
        for side, end in (("from", mapping.source), ("to", mapping.target)):
            _check_mapping_end(source, workspace, ("mappings", index, side), side, end, diagnostics)
    _check_agent_properties(source, workspace, diagnostics)


def _check_agent_properties(source: AgentSource, workspace: Workspace, diagnostics: Diagnostics) -> None:
    """An agent's values reach the properties its skills declare (skillship.plan.agents); say which
    of them reach nobody, and never pass on a secret written in plain text."""
    agent = source.agent
    skills = [s for ref in agent.skills if (s := workspace.skill(ref.skill_name)) is not None]

    def check(path: tuple[Any, ...], name: str, targets: list[SkillSource], whom: str) -> None:
        declared = [p for s in targets for p in s.skill.properties if p.name == name]
        where = source.line((*path, "name"))
        if not declared:
            diagnostics.warning(
                source.display,
                where,
                (*path, "name"),
                "agent-unknown-property",
                f"{whom} declares no property {name!r}; this value reaches no task",
            )
        elif any(p.secure for p in declared):
            diagnostics.warning(
                source.display,
                where,
                (*path, "name"),
                "agent-secure-property",
                f"property {name!r} is secure: its value here is plain text and is not passed "
                "on; set it per stack with `pulumi config set --secret --path`",
            )

    for index, prop in enumerate(agent.properties):
        check(("properties", index), prop.name, skills, "no skill of the agent")
    for index, ref in enumerate(agent.skills):
        target = workspace.skill(ref.skill_name)
        if target is None:
            continue
        for inner, prop in enumerate(ref.properties):
            check(("skills", index, "properties", inner), prop.name, [target], f"skill {ref.skill_name!r}")


def _check_mapping_end(
    source: AgentSource,
    workspace: Workspace,
    path: tuple[Any, ...],
    side: str,
    end: MappingEnd,
    diagnostics: Diagnostics,
) -> None:
    agent = source.agent
    if end.input is not None:
        if side == "to":
            diagnostics.error(
                source.display, source.line(path), path, "agent-mapping", "a mapping cannot lead into an agent input"
            )
        elif not any(s.matches(end.input.signal_id) for s in agent.inputs):
            p = (*path, "input", "signalId")
            diagnostics.error(
                source.display,
                source.line(p),
                p,
                "agent-unknown-signal",
                f"agent has no input with signalId {end.input.signal_id!r}",
            )
        return
    if end.output is not None:
        if side == "from":
            diagnostics.error(
                source.display, source.line(path), path, "agent-mapping", "a mapping cannot start at an agent output"
            )
        elif not any(s.matches(end.output.signal_id) for s in agent.outputs):
            p = (*path, "output", "signalId")
            diagnostics.error(
                source.display,
                source.line(p),
                p,
                "agent-unknown-signal",
                f"agent has no output with signalId {end.output.signal_id!r}",
            )
        return
    port = end.skill
    if port is None:  # a MappingEnd holds exactly one of input, skill and output
        return
    ref = agent.skill_ref(port.ref_id)
    if ref is None:
        p = (*path, "skill", "refId")
        diagnostics.error(
            source.display,
            source.line(p),
            p,
            "agent-unknown-ref",
            f"refId {port.ref_id!r} is not among the agent's skills",
        )
        return
    skill_source = workspace.skill(ref.skill_name)
    if skill_source is None:
        return  # already reported on the agent's skills list
    skill = skill_source.skill
    wanted = "input" if side == "to" else "output"
    name = port.input if side == "to" else port.output
    p = (*path, "skill", wanted)
    if name is None:
        diagnostics.error(
            source.display,
            source.line((*path, "skill")),
            p,
            "agent-mapping",
            f"the mapping's '{side}' end must name the skill's {wanted}",
        )
    elif (skill.input(name) if side == "to" else skill.output(name)) is None:
        diagnostics.error(
            source.display,
            source.line(p),
            p,
            f"agent-unknown-{wanted}",
            f"skill {skill.name!r} (refId {port.ref_id!r}) has no {wanted} {name!r}",
        )


def check_job_loops(workspace: Workspace, diagnostics: Diagnostics) -> None:
    """Jobs mapped to each other in a loop would each wait for the other: none could ever start.
    Reported at the mapping that closes the loop (graphlib orders without recursion, so a chain of
    thousands of jobs is fine)."""
    jobs = {s.skill.name for s in workspace.skills if any(a.type == "job" for a in s.skill.actions)}
    after: dict[str, set[str]] = defaultdict(set)  # receiver -> the senders it runs after
    for wire in agent_wires(workspace):
        receiver = workspace.skill(wire.receiver)
        action = receiver.skill.action(wire.receiver_action) if receiver and wire.receiver_action else None
        if wire.sender in jobs and action is not None and action.type == "job":
            after[wire.receiver].add(wire.sender)
    places = _mapping_places(workspace)
    while True:
        try:
            graphlib.TopologicalSorter(after).prepare()
            return
        except graphlib.CycleError as exc:
            loop = exc.args[1]  # [a, b, ..., a]: each runs before the next
            sender, receiver = loop[0], loop[1]
            file, line, field = places.get((sender, receiver), ("agents", None, None))
            diagnostics.error(
                file, line, field, "agent-loop", "jobs mapped in a loop can never start: " + " -> ".join(loop)
            )
            after[receiver].discard(sender)  # report each loop once, then look for the next


def _mapping_places(workspace: Workspace) -> dict[tuple[str, str], tuple[str, int | None, tuple[Any, ...]]]:
    """(sender skill, receiver skill) -> the file, line and field of the first mapping between them."""
    places: dict[tuple[str, str], tuple[str, int | None, tuple[Any, ...]]] = {}
    for source in workspace.agents:
        agent = source.agent
        refs = {ref.ref_id: ref.skill_name for ref in agent.skills}
        for index, mapping in enumerate(agent.mappings):
            start, end = mapping.source.skill, mapping.target.skill
            if start is not None and end is not None and start.ref_id in refs and end.ref_id in refs:
                path = ("mappings", index)
                places.setdefault((refs[start.ref_id], refs[end.ref_id]), (source.display, source.line(path), path))
    return places
