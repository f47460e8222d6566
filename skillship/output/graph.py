"""A drawing of a workspace's wiring: which job feeds which daemon, which jobs run one after another,
and, for a sharded stack, which stack deploys each skill. As Mermaid (GitHub and GitLab draw it in
Markdown: docs, pull-request comments) or Graphviz's DOT.

People read the wiring of a workspace faster from a drawing than from its agent files; the drawing
is made from the same wires validation and the planner use (skillship.source.wiring).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from skillship.source.wiring import agent_wires
from skillship.source.workspace import Workspace

GraphFormat = Literal["mermaid", "dot"]


@dataclass(frozen=True)
class Node:
    skill: str
    kind: str  # "job", "daemon", "both" (a skill with both kinds of action) or "none"
    agents: tuple[str, ...]
    shard: int | None = None


@dataclass(frozen=True)
class Edge:
    sender: str
    receiver: str
    label: str  # `output → input`
    chained: bool  # job to job: the receiver runs after the sender
    agent: str


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    shards: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "skills": [
                {"skill": n.skill, "kind": n.kind, "agents": list(n.agents), "shard": n.shard} for n in self.nodes
            ],
            "wires": [
                {
                    "from": e.sender,
                    "to": e.receiver,
                    "label": e.label,
                    "order": "after" if e.chained else "records",
                    "agent": e.agent,
                }
                for e in self.edges
            ],
        }


def _kind(workspace: Workspace, skill: str) -> str:
    source = workspace.skill(skill)
    types = {a.type for a in source.skill.actions} if source is not None else set()
    if {"job", "daemon"} <= types:
        return "both"
    return "job" if "job" in types else "daemon" if "daemon" in types else "none"


def workspace_graph(
    workspace: Workspace, shard_of: dict[str, int] | None = None, only: set[str] | None = None
) -> Graph:
    """The graph of every skill (or of `only`, and what is wired to them), in name order."""
    wires = agent_wires(workspace)
    if only is not None:
        wires = [w for w in wires if w.sender in only or w.receiver in only]
        wanted = set(only) | {w.sender for w in wires} | {w.receiver for w in wires}
    else:
        wanted = {s.skill.name for s in workspace.skills}
    agents: dict[str, set[str]] = {}
    for source in workspace.agents:
        for ref in source.agent.skills:
            agents.setdefault(ref.skill_name, set()).add(source.agent.name)
    kinds = {name: _kind(workspace, name) for name in wanted}
    nodes = tuple(
        Node(name, kinds[name], tuple(sorted(agents.get(name, ()))), (shard_of or {}).get(name))
        for name in sorted(wanted)
    )
    edges = tuple(
        Edge(w.sender, w.receiver, f"{w.output} → {w.input}", kinds.get(w.receiver) == "job", w.agent) for w in wires
    )
    return Graph(nodes, edges, dict(shard_of or {}))


def render_graph(graph: Graph, form: GraphFormat) -> str:
    return _mermaid(graph) if form == "mermaid" else _dot(graph)


def _by_shard(graph: Graph) -> tuple[list[tuple[int, list[Node]]], list[Node]]:
    """The nodes of each shard, in shard order, and the nodes of no shard: both formats draw a
    group per shard, then the rest."""
    shards = sorted({n.shard for n in graph.nodes if n.shard is not None})
    groups = [(shard, [n for n in graph.nodes if n.shard == shard]) for shard in shards]
    return groups, [n for n in graph.nodes if n.shard is None]


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: its entity codes for the characters that end or break one."""
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _mermaid(graph: Graph) -> str:
    ids = {node.skill: f"s{index}" for index, node in enumerate(graph.nodes)}
    lines = ["flowchart LR"]

    def node_line(node: Node) -> str:
        label = _mermaid_text(node.skill) + (f"<br/><small>{node.kind}</small>" if node.kind != "job" else "")
        # A job is a box, a daemon a rounded box (it serves), anything else a plain one.
        opening, closing = ("(", ")") if node.kind in ("daemon", "both") else ("[", "]")
        return f'{ids[node.skill]}{opening}"{label}"{closing}'

    groups, lone = _by_shard(graph)
    for shard, nodes in groups:
        lines += [f'  subgraph shard{shard}["shard {shard}"]', *(f"    {node_line(n)}" for n in nodes), "  end"]
    lines += [f"  {node_line(n)}" for n in lone]
    for edge in graph.edges:
        arrow = "-.->" if edge.chained else "-->"
        label = _mermaid_text(edge.label + (" (then)" if edge.chained else ""))
        lines.append(f'  {ids[edge.sender]} {arrow}|"{label}"| {ids[edge.receiver]}')
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot(graph: Graph) -> str:
    lines = ["digraph workspace {", "  rankdir=LR;", "  node [shape=box];"]

    def node_line(node: Node) -> str:
        shape = ", style=rounded" if node.kind in ("daemon", "both") else ""
        label = node.skill if node.kind == "job" else f"{node.skill}\n{node.kind}"
        return f"{_dot_text(node.skill)} [label={_dot_text(label)}{shape}];"

    groups, lone = _by_shard(graph)
    for shard, nodes in groups:
        lines += [f"  subgraph cluster_shard{shard} {{", f"    label={_dot_text(f'shard {shard}')};"]
        lines += [*(f"    {node_line(n)}" for n in nodes), "  }"]
    lines += [f"  {node_line(n)}" for n in lone]
    for edge in graph.edges:
        style = ", style=dashed" if edge.chained else ""
        label = edge.label + (" (then)" if edge.chained else "")
        lines.append(f"  {_dot_text(edge.sender)} -> {_dot_text(edge.receiver)} [label={_dot_text(label)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
