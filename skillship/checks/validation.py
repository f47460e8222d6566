"""Rules that a workspace must follow before anything is deployed from it, in the order they run:
each skill (checks.skills, its routing in checks.routing), then across skills and agents
(checks.agents).

Each check adds located Diagnostics and never raises, so one run reports every problem.
"""

from __future__ import annotations

from pathlib import Path

from skillship.checks.agents import check_agent, check_job_loops, check_unique_skills
from skillship.checks.skills import check_invoke_messages, check_skill
from skillship.source.diagnostics import Diagnostics
from skillship.source.workspace import Workspace, read_workspace


def load_workspace(path: Path | str) -> tuple[Workspace, Diagnostics]:
    """Read and validate a workspace in one pass: the entry point for the CLI and the program."""
    diagnostics = Diagnostics()
    workspace = read_workspace(Path(path), diagnostics)
    validate_workspace(workspace, diagnostics)
    return workspace, diagnostics


def validate_workspace(workspace: Workspace, diagnostics: Diagnostics) -> None:
    for source in workspace.skills:
        check_skill(source, diagnostics, workspace.boundary)
        check_invoke_messages(source, diagnostics, workspace.boundary)
    check_unique_skills(workspace, diagnostics)
    for agent in workspace.agents:
        check_agent(agent, workspace, diagnostics)
    check_job_loops(workspace, diagnostics)


def validation_summary(skill_count: int, agent_count: int, diagnostics: Diagnostics) -> tuple[str, str]:
    """`skillship validate`'s last line, which the pipeline's log repeats, in two parts: the verdict
    ("valid" or "invalid", which the CLI colours) and the rest, from its " - " on."""
    summary = f"{skill_count} skill(s), {agent_count} agent(s): "
    summary += f"{len(diagnostics.errors)} error(s), {len(diagnostics.warnings)} warning(s)"
    if diagnostics.ok:
        return "valid", f" - {summary}"
    return "invalid", f" - {summary}; nothing can be deployed until the errors are fixed"
