"""`skillship graph`: the agents' wiring drawn as Mermaid and DOT, from the wires validation and
the planner use; jobs run one after another are drawn apart from records sent to a daemon."""

from __future__ import annotations

import json
import re

import pytest

from harness.project import cli_in
from skillship.checks.validation import load_workspace
from skillship.output.graph import render_graph, workspace_graph
from tests.support.jsondocs import check_document

EXAMPLE_MERMAID = """\
flowchart LR
  s0("consumer<br/><small>daemon</small>")
  s1["hello"]
  s2["producer"]
  s2 -->|"records → records"| s0
"""

CHAIN = """\
camel: 1.0.0
name: chain
title: hello, then producer
skills:
  - {skillName: hello, refId: hello-1}
  - {skillName: producer, refId: producer-1}
mappings:
  - from: {skill: {refId: hello-1, output: response}}
    to: {skill: {refId: producer-1, input: request}}
"""


def test_the_example_workspace_as_mermaid(example_copy):
    workspace, diagnostics = load_workspace(example_copy)
    assert diagnostics.ok
    assert render_graph(workspace_graph(workspace), "mermaid") == EXAMPLE_MERMAID


def test_jobs_chained_by_an_agent_are_drawn_as_an_order_not_as_records(example_copy):
    (example_copy / "agents" / "chain.yaml").write_text(CHAIN)
    workspace, diagnostics = load_workspace(example_copy)
    assert diagnostics.ok, diagnostics.items
    drawn = workspace_graph(workspace)
    edges = {(e.sender, e.receiver): e.chained for e in drawn.edges}
    assert edges == {("hello", "producer"): True, ("producer", "consumer"): False}
    mermaid = render_graph(drawn, "mermaid")
    assert 's1 -.->|"response → request (then)"| s2' in mermaid and 's2 -->|"records → records"| s0' in mermaid
    dot = render_graph(drawn, "dot")
    assert '"hello" -> "producer" [label="response → request (then)", style=dashed];' in dot
    assert '"producer" -> "consumer" [label="records → records"];' in dot
    only = workspace_graph(workspace, only={"hello"})
    assert [n.skill for n in only.nodes] == ["hello", "producer"]  # hello and what it is wired to


def test_dot_quotes_every_name_and_label_so_any_name_reads_back(example_copy):
    workspace, _ = load_workspace(example_copy)
    dot = render_graph(workspace_graph(workspace), "dot")
    assert dot.startswith("digraph workspace {\n") and dot.endswith("}\n")
    statements = [line.strip() for line in dot.splitlines()[3:-1]]
    statement = re.compile(r'"[^"\\]*"( -> "[^"\\]*")? \[label="(?:[^"\\]|\\.)*"(, style=\w+)?\];')
    assert statements and all(statement.fullmatch(s) for s in statements), statements


def test_the_command_draws_a_sharded_stack_with_a_subgraph_per_shard(project):
    stack = project / "stacks/Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + "  skillship:shards: {count: 2, by: agent}\n")
    result = cli_in(project, "graph", "--stack", "dev", "--json")
    assert result.exit_code == 0, result.output
    document = check_document(json.loads(result.stdout))
    shards = {row["skill"]: row["shard"] for row in document["skills"]}
    assert set(shards) == {"hello", "producer", "consumer"} and None not in shards.values()
    assert shards["producer"] == shards["consumer"]  # by agent: one agent, one shard
    for shard in set(shards.values()):
        assert f'subgraph shard{shard}["shard {shard}"]' in document["graph"]
    dot = cli_in(project, "graph", "--stack", "dev", "--format", "dot")
    assert dot.exit_code == 0 and "subgraph cluster_shard" in dot.stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("--skill", "ghost"), 2, "no skill named ghost"),
        (("--format", "svg"), 2, "svg"),
        (("--stack", "nope"), 2, "unknown stack"),
    ],
)
def test_bad_requests_are_usage_errors(project, args, code, needle):
    result = cli_in(project, "graph", *args)
    assert result.exit_code == code and needle in result.output


def test_an_invalid_workspace_is_not_drawn(project):
    (project / "skills/hello/skill.yaml").write_text("name: [broken\n")
    result = cli_in(project, "graph")
    assert result.exit_code == 1 and "skillship validate" in result.output and "flowchart" not in result.output
