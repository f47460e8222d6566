"""Which skills a stack may schedule (skillship:schedules): the checks that need the workspace.

A schedule's own fields are checked with the settings (skillship.stack.schedules). Here: a
scheduled skill is one the stack deploys, it has a job to run (a daemon serves all the time), and
no agent chains it with another job. A chain is a job that runs after another job has succeeded,
within one `up`; a scheduled run happens later, on its own, with no `up` to order it, so either
end of a chain would run alone and out of order. Records a scheduled job sends to a daemon reach
it as any job's do.
"""

from __future__ import annotations

from skillship.plan.problems import StackProblems
from skillship.plan.stack_wiring import StackWiring
from skillship.source.workspace import Workspace
from skillship.stack.settings import StackSettings


def check_schedules(
    workspace: Workspace, settings: StackSettings, wiring: StackWiring, problems: StackProblems
) -> None:
    skills = {source.skill.name: source.skill for source in workspace.skills}
    for name in sorted(settings.schedules):
        skill = skills.get(name)
        if skill is None:
            continue  # named as unknown with the other keys that name skills
        if not settings.deploys(name):
            problems.setting(
                "schedule-not-deployed",
                f"skillship:schedules names skill {name!r}, which this stack does not deploy (skillship:skills)",
                "schedules",
                name,
            )
        elif not any(action.type == "job" for action in skill.actions):
            problems.setting(
                "schedule-daemon",
                f"skill {name!r} has no job to run on a schedule: a daemon serves all the time",
                "schedules",
                name,
            )
        else:
            before = sorted(wiring.after.get(name, ()))
            after = sorted(receiver for receiver, senders in wiring.after.items() if name in senders)
            if before or after:
                chained = ", ".join(f"after {s!r}" for s in before) or ", ".join(f"before {s!r}" for s in after)
                problems.setting(
                    "schedule-chained",
                    f"skill {name!r} runs {chained} in an agent's chain: a scheduled run has no `up` to "
                    "order it, so a chained job cannot be scheduled (schedule a skill that ends no chain, "
                    "or take the mapping out of the agent)",
                    "schedules",
                    name,
                )
