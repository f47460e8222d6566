"""The skills a skill is wired to in a stack's plan: the jobs its jobs run after or before, and the
daemons it sends records to or receives them from. A deploy of some skills only must not leave one
of them behind when it changed too (skillship_pipeline's `--skill`)."""

from __future__ import annotations

from skillship.checks.names import skill_name
from skillship.plan.model import DeploymentPlan


def wired_skills(plan: DeploymentPlan, skill: str) -> dict[str, str]:
    """Other skill -> how it is wired to `skill`, in words."""
    task_skill = {task.key: task.skill for task in plan.tasks}
    by_account = {skill_name(w.skill): w.skill for w in (*plan.tasks, *plan.daemons)}
    found: dict[str, str] = {}
    for task in plan.tasks:
        for key in task.after:
            before = task_skill.get(key)
            if task.skill == skill and before not in (None, skill):
                found.setdefault(str(before), f"{skill} runs after {before}")
            elif before == skill and task.skill != skill:
                found.setdefault(task.skill, f"{task.skill} runs after {skill}")
    for daemon in plan.daemons:
        senders = {by_account[account] for account in daemon.senders if account in by_account}
        if daemon.skill == skill:
            for sender in sorted(senders - {skill}):
                found.setdefault(sender, f"{sender} sends records to {skill}")
        elif skill in senders:
            found.setdefault(daemon.skill, f"{skill} sends records to {daemon.skill}")
    return found
