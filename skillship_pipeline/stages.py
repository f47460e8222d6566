"""The pipeline's stages, each a sequence of steps that stops at the first that fails.

preview  validate --stack, render, `pulumi preview`: what a pull request would change, and
         nothing changed; the preview is written for the pull request (`summary`)
deploy   validate --stack, `pulumi up` (which fails, naming the skill, when a task fails), then
         the gate: `skillship status --wait`, whose exit code is the stage's
promote  the same for a stack with `promoteFrom`: first, that the source stack ran every image
         this workspace would deploy, from these very contents; then up (which builds nothing)
         and the gate

preview and deploy run the engine only for the stacks whose inputs changed since their last update
(skillship_pipeline.skipping; `every_stack` runs it for all), or, given skills, for those skills
alone (skillship_pipeline.selected); the gate checks the tasks of the stacks the engine ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skillship.checks.validation import load_workspace, validation_summary
from skillship.compose import checked_plan, plan_workspace
from skillship.output.graph import render_graph, workspace_graph
from skillship.plan import DeploymentPlan, PlanError, handoff
from skillship.plan.promotion import image_sources, merged_images, refusals
from skillship.stack.settings import parse_shard_stack
from skillship.stack.stackfiles import StackConfig, StackFileError, load_stack
from skillship.stack_digest import REGISTRY_PASSWORD_ENV, stack_digests
from skillship_pipeline import engine, selected, sharded, skipping

OK, FAILED, USAGE = 0, 1, 2
IMAGE_TYPE = "docker-build:index:Image"
HISTORY_READERS = 8  # `pulumi stack history` calls at once: each is a CLI start, mostly waiting on the backend
ENGINE_OPERATION = {"preview": "preview", "deploy": "up"}  # a skipped stack's step is named as a run one's


@dataclass
class Report:
    """What a stage did, for people (each step as it happens) and for machines (`--json`)."""

    stage: str
    stack: str
    exit_code: int = OK
    steps: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None
    changed: dict[str, str] = field(default_factory=dict)  # stack -> why the engine runs for it

    def step(self, name: str, code: int, **details: Any) -> bool:
        self.steps.append({"step": name, "exitCode": code, **details})
        if code != OK:
            self.exit_code = code
        return code == OK

    def fail(self, problem: str, code: int = FAILED) -> Report:
        self.problem, self.exit_code = problem, code
        return self

    def as_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "stage": self.stage,
            "stack": self.stack,
            "exitCode": self.exit_code,
            "problem": self.problem,
            "steps": self.steps,
        }


@dataclass(frozen=True)
class Context:
    project: Path
    config: StackConfig
    registry_password: str | None
    status_timeout: float
    say: Callable[[str], None]  # progress and the tools' output, for the CI log (stderr)
    parallel: int = 0  # shard stacks deployed at once (0: all)
    every_stack: bool = False  # --all: run the engine for stacks whose inputs did not change too
    refresh: bool = False  # --refresh: each stack's engine reads the cluster first
    skills: tuple[str, ...] = ()  # --skill: only these skills' resources, and what depends on them


def _skillship(context: Context, *args: str) -> int:
    """A `skillship` command as a user runs it, its output in the CI log."""
    context.say(f"$ skillship {' '.join(args)}")
    done = subprocess.run(
        [sys.executable, "-m", "skillship", *args], cwd=context.project, capture_output=True, text=True
    )
    for text in (done.stdout, done.stderr):
        if text.strip():
            context.say(text.rstrip())
    return done.returncode


def _validate(context: Context, report: Report) -> DeploymentPlan | None:
    """The checks of `skillship validate --stack`, in this process, its lines in the CI log; the
    plan they make is the one the stage compares, selects and releases from. A thousand skills take
    a second or two to read and plan: the pipeline does it once, not once per command."""
    settings = context.config.settings
    context.say(f"validate --stack {settings.pulumi_stack} (the checks of `skillship validate --stack`)")
    workspace, diagnostics = load_workspace(context.project / settings.workspace_dir)
    plan = None
    if diagnostics.ok:
        plan = checked_plan(
            workspace,
            diagnostics,
            settings,
            project_dir=context.project,
            secret_properties=context.config.secret_properties,
        )
    for item in diagnostics.items:
        context.say(item.render())
    context.say("".join(validation_summary(len(workspace.skills), len(workspace.agents), diagnostics)))
    return plan if report.step("validate", OK if diagnostics.ok else FAILED) else None


@dataclass(frozen=True)
class Changed:
    """The stacks a stage runs the engine for, each update's message, and the plan they came from;
    for a stage of some skills only, the URNs each stack's engine is narrowed to."""

    stacks: list[str]
    messages: Mapping[str, str]
    plan: DeploymentPlan
    targets: Mapping[str, list[str]] = field(default_factory=dict)
    # Stacks whose skills are those of their last update (the digest's `share`): none left them.
    same_share: frozenset[str] = frozenset()


def _engine(
    context: Context, report: Report, operation: str, changed: Changed
) -> list[tuple[str, engine.Outcome]] | None:
    """`preview` or `up` of `changed.stacks`, some or all of the stage's Pulumi stacks: for a sharded
    environment its base stack first, then its shards at once (docs/scale.md, Shards), each with its
    update's message (skipping.update_message) and targets, if any; each program takes its share
    of the stage's plan (skillship.plan.handoff). Each stack's outcome; None when any failed."""
    with handoff.handed(changed.plan, context.project, context.config.secret_properties):
        return _engines(context, report, operation, changed)


def _engines(
    context: Context, report: Report, operation: str, changed: Changed
) -> list[tuple[str, engine.Outcome]] | None:
    stacks, messages, targets = changed.stacks, changed.messages, changed.targets
    every = context.config.stacks
    outcomes: list[tuple[str, engine.Outcome]] = []
    if every[0] in stacks:
        first = _one_stack(context, report, operation, every[0], messages.get(every[0]), targets.get(every[0]))
        if first is None:
            return None
        outcomes.append((every[0], first))
    shards = [name for name in every[1:] if name in stacks]
    if not shards:
        return outcomes
    # Skills that moved shard are not deployed alone (their new shard holds none of their resources).
    moving = [name for name in shards if name not in changed.same_share] if operation == "up" and not targets else []
    if moving and not _release_moved_skills(context, report, moving, changed.plan):
        return None
    if len(shards) == 1 and not outcomes:
        # The stage's only engine run (a change in one shard): in this process, as a stack that is
        # not sharded runs, without a child's start. Only one program's SDK globals fit a process.
        alone = _one_stack(context, report, operation, shards[0], messages.get(shards[0]), targets.get(shards[0]))
        return None if alone is None else [(shards[0], alone)]
    ran = sharded.run_all(
        context.project,
        shards,
        operation,
        context.parallel,
        context.say,
        messages,
        refresh=context.refresh,
        targets=targets,
    )
    ok = True
    for name, outcome in ran:
        ok = _record(context, report, operation, name, outcome) and ok
    return [*outcomes, *ran] if ok else None


def _histories(context: Context, pool: ThreadPoolExecutor) -> list[Future[dict[str, Any] | None]]:
    """Each stack's newest history entry, read (by the `pulumi` CLI, one call per stack) while the
    stage validates and plans the workspace; none is read when the stage runs every stack anyway."""
    if context.every_stack or context.skills:
        return []
    return [pool.submit(engine.last_update, context.project, name) for name in context.config.stacks]


def _changed(
    context: Context, report: Report, stage: str, plan: DeploymentPlan, asked: list[Future[dict[str, Any] | None]]
) -> Changed | None:
    """The stage's stacks whose inputs changed (all of them with --all), one line each on why, and
    the update message of each; None when a stack's digest cannot be made (its file is unreadable)."""
    every = context.config.stacks
    engine.find_as_the_program(context.project)
    try:
        configs = [context.config if name == every[0] else load_stack(context.project, name) for name in every]
        digests = stack_digests(configs, plan, registry_password=context.registry_password)
    except StackFileError as exc:
        report.step("compare inputs", FAILED, error=str(exc))
        return None
    history = [future.result() for future in asked]
    messages = {d.stack: skipping.update_message(stage, d) for d in digests}
    if context.every_stack:
        context.say(f"--all: {len(every)} stack(s), changed or not")
        return Changed(every, messages, plan)
    changed = []
    same_share = frozenset(
        d.stack for d, last in zip(digests, history, strict=True) if skipping.same_part(d, last, "share")
    )
    for digest, last in zip(digests, history, strict=True):
        found = skipping.verdict(digest, last)
        if found.skip:
            context.say(f"{found.stack}: {found.reason}: skipped")
            report.step(ENGINE_OPERATION[stage], OK, stack=found.stack, skipped=True, reason=found.reason)
        else:
            context.say(f"{found.stack}: {found.reason}")
            report.changed[found.stack] = found.reason
            changed.append(found.stack)
    if not changed:
        context.say(f"nothing to {stage}: no stack's inputs changed since its last update (--all runs them all)")
    return Changed(changed, messages, plan, same_share=same_share)


def _some_skills(context: Context, report: Report, stage: str, plan: DeploymentPlan) -> Changed | None:
    """The stacks and resources a stage of `--skill` runs the engine for (skillship_pipeline.selected);
    None, with the report failed, when it is refused."""
    try:
        chosen = selected.select(context.project, context.config, plan, context.skills, context.registry_password)
    except (StackFileError, engine.EngineError) as exc:
        report.step("select skills", FAILED, error=str(exc))
        return None
    except selected.Refused as exc:
        report.fail(str(exc), USAGE if exc.usage else FAILED)
        return None
    for stack, urns in chosen.targets.items():
        here = sorted(skill for skill in chosen.skills if selected.stack_of(plan, skill) == stack)
        context.say(f"{stack}: {', '.join(here)} only: {len(urns)} resource(s) and what depends on them")
    report.step("select skills", OK, skills=list(chosen.skills), stacks=sorted(chosen.targets))
    message = selected.MESSAGE.format(stage=stage, skills=",".join(chosen.skills))
    stacks = [name for name in context.config.stacks if name in chosen.targets]
    return Changed(stacks, dict.fromkeys(stacks, message), plan, chosen.targets)


def _one_stack(
    context: Context,
    report: Report,
    operation: str,
    stack: str,
    message: str | None = None,
    targets: list[str] | None = None,
) -> engine.Outcome | None:
    context.say(f"$ pulumi {operation} --stack {stack}")
    try:
        opened = engine.open_stack(context.project, stack, registry_password=context.registry_password)
        outcome = engine.run(opened, operation, context.say, message=message, refresh=context.refresh, targets=targets)
    except engine.EngineError as exc:
        report.step(operation, FAILED, error=str(exc), stack=stack)
        return None
    return outcome if _record(context, report, operation, stack, outcome) else None


def _record(context: Context, report: Report, operation: str, stack: str, outcome: engine.Outcome) -> bool:
    details: dict[str, Any] = {"stack": stack, "changes": outcome.changes, "imageSteps": outcome.steps_of(IMAGE_TYPE)}
    if stack in report.changed:
        details["reason"] = report.changed[stack]
    if not outcome.ok:
        context.say(f"{stack}: {outcome.error}")
        return report.step(operation, FAILED, error=outcome.error, **details)
    return report.step(operation, OK, **details)


def _release_moved_skills(context: Context, report: Report, shards: list[str], plan: DeploymentPlan) -> bool:
    """A skill whose shard changed (more shards, an agent regrouped) leaves its former shard's state
    before any shard deploys, and stays in the cluster: the shard it moved to adopts its objects.
    Were it deleted by one stack while another created it, two `up`s at once would race. `shards` are
    the ones to look in: those whose skills are not known to be their last update's (Changed.same_share)."""
    try:
        existing = engine.stack_names(context.project)
        for name in shards:
            shard = parse_shard_stack(name)
            index = shard.index if shard is not None else None
            if name not in existing:
                continue  # deployed for the first time: nothing to release
            deployed = engine.outputs_of(context.project, name).get("skills") or []
            moved = {skill for skill in deployed if plan.shard_of.get(skill) not in (None, index)}
            if not moved:
                continue
            context.say(f"{name}: {len(moved)} skill(s) moved to other shards: {', '.join(sorted(moved))}")
            dropped = engine.forget(context.project, name, moved)
            report.step("release moved skills", OK, stack=name, skills=sorted(moved), resources=len(dropped))
    except engine.EngineError as exc:
        return report.step("release moved skills", FAILED, error=str(exc))
    return True


def _gate(context: Context, report: Report, plan: DeploymentPlan, ran: list[str]) -> bool:
    """`skillship status --wait` over the tasks of the stacks the engine ran (`ran`): every task of
    the environment when they are all of its stacks, else the skills of the shards among them. A
    stack skipped was last updated with these inputs, and that `up` awaited its tasks."""
    stack = context.config.settings.pulumi_stack
    every = context.config.stacks
    command = ["status", "--stack", stack, "--wait", "--timeout", str(context.status_timeout)]
    if set(every) <= set(ran):
        return report.step("status", _skillship(context, *command), stacks=list(every))
    deployed = [name for name in ran if name != every[0]]  # the base holds no task
    shards = {shard.index for shard in map(parse_shard_stack, deployed) if shard is not None}
    skills = sorted({task.skill for task in plan.tasks if plan.shard_of.get(task.skill) in shards})
    if not skills:
        reason = "no stack that runs tasks was deployed"
        context.say(f"status: {reason}; the tasks were awaited by their stacks' last updates (--all checks them all)")
        return report.step("status", OK, stacks=[], skipped=True, reason=reason)
    context.say(f"status: the tasks of {', '.join(deployed)} only")
    code = _skillship(context, *command, *(arg for skill in skills for arg in ("--skill", skill)))
    return report.step("status", code, stacks=deployed, skills=len(skills))


def preview(context: Context, summary: Path | None) -> Report:
    report = Report("preview", context.config.settings.pulumi_stack)
    with ThreadPoolExecutor(max_workers=HISTORY_READERS) as pool:
        asked = _histories(context, pool)
        plan = _validate(context, report)
        if plan is None:
            return report
        with tempfile.TemporaryDirectory(prefix="skillship-render-") as folder:
            out = Path(folder) / "manifests"
            if not report.step("render", _skillship(context, "render", "--stack", report.stack, "--out", str(out))):
                return report
        found = _found(context, report, "preview", plan, asked)
    if found is None:
        return report
    stacks = found.stacks
    outcomes = _engine(context, report, "preview", found)
    if outcomes is not None and summary is not None:
        outcomes += [(name, _unchanged_preview(report, name)) for name in context.config.stacks if name not in stacks]
        outcomes.sort(key=lambda item: context.config.stacks.index(item[0]))
        # Drawn once, above the first stack's preview.
        _, drawing = _change_drawing(context, {w for _, outcome in outcomes for w in outcome.touched})
        parts = [
            _summary(name, outcome, drawing if index == 0 else "") for index, (name, outcome) in enumerate(outcomes)
        ]
        summary.write_text(comment_text(parts), encoding="utf-8")
        context.say(f"preview written to {summary}")
    return report


def _change_drawing(context: Context, workloads: set[str]) -> tuple[set[str], str]:
    """The skills whose workloads the preview would change, and the part of the workspace's wiring
    they touch, as Mermaid (which GitHub and GitLab draw). One read of the workspace serves both."""
    if not workloads:
        return set(), ""
    settings = context.config.settings
    workspace, diagnostics = load_workspace(context.project / settings.workspace_dir)
    if not diagnostics.ok:
        return set(), ""  # validate passed a moment ago: nothing to draw is better than a failed stage
    try:
        plan = plan_workspace(
            workspace, settings, project_dir=context.project, secret_properties=context.config.secret_properties
        )
    except PlanError:
        return set(), ""
    skills = {w.skill for w in (*plan.tasks, *plan.daemons) if w.name in workloads}
    if not skills:
        return set(), ""
    graph = workspace_graph(workspace, dict(plan.shard_of) or None, skills)
    names = ", ".join(f"`{skill}`" for skill in sorted(skills))
    mermaid = render_graph(graph, "mermaid")
    return skills, f"Skills this changes: {names}; what is wired to them:\n\n{FENCE}mermaid\n{mermaid}{FENCE}\n\n"


def deploy(context: Context) -> Report:
    report = Report("deploy", context.config.settings.pulumi_stack)
    if context.config.settings.promote_from is not None:
        return report.fail(
            f"stack {report.stack!r} takes its images from {context.config.settings.promote_from!r}: "
            "run the promote stage for it",
            USAGE,
        )
    with ThreadPoolExecutor(max_workers=HISTORY_READERS) as pool:
        asked = _histories(context, pool)
        plan = _validate(context, report)
        if plan is None:
            return report
        found = _found(context, report, "deploy", plan, asked)
    if found is None:
        return report
    outcomes = _engine(context, report, "up", found)
    if outcomes is not None:
        _gate(context, report, plan, [name for name, _ in outcomes])
    return report


def _found(
    context: Context, report: Report, stage: str, plan: DeploymentPlan, asked: list[Future[dict[str, Any] | None]]
) -> Changed | None:
    return (
        _some_skills(context, report, stage, plan) if context.skills else _changed(context, report, stage, plan, asked)
    )


def _unchanged_preview(report: Report, stack: str) -> engine.Outcome:
    """What the preview comment says of a stack not previewed: why."""
    skipped = (s["reason"] for s in report.steps if s.get("stack") == stack and s.get("skipped"))
    return engine.Outcome(True, f"not previewed: {next(skipped, 'it deploys none of the skills asked for')}")


def promote(context: Context) -> Report:
    report = Report("promote", context.config.settings.pulumi_stack)
    source = context.config.settings.promote_from
    if source is None:
        return report.fail(f"stack {report.stack!r} has no promoteFrom: there is nothing to promote it from", USAGE)
    plan = _validate(context, report)
    if plan is None:
        return report
    refused = _check_promotion(context, source, plan)
    if not report.step("check promotion", FAILED if refused else OK, source=source, refused=refused):
        for line in refused:
            context.say(f"error: {line}")
        return report.fail(f"stack {source!r} did not run every image stack {report.stack!r} would deploy")
    outcomes = _engine(context, report, "up", Changed(list(context.config.stacks), {}, plan))
    if outcomes is not None:
        _gate(context, report, plan, [name for name, _ in outcomes])
    return report


def _check_promotion(context: Context, source: str, plan: DeploymentPlan) -> list[str]:
    """Before anything is deployed: what the promoted stack would refuse, action by action."""
    try:
        images = merged_images(
            [
                engine.outputs_of(context.project, stack).get("images")
                for stack in image_sources(context.project, source)
            ]
        )
    except engine.EngineError as exc:
        return [f"the outputs of stack {source!r} cannot be read: {exc}"]
    return refusals(images, [*plan.tasks, *plan.daemons], source=source)


# GitHub refuses a comment longer than this (characters); GitLab's notes allow more.
COMMENT_LIMIT = 65_536
FENCE = "```"


def comment_text(parts: list[str], limit: int = COMMENT_LIMIT) -> str:
    """The previews (one per stack) as one pull-request comment, cut to fit: a big environment's
    preview can run past the limit, and a comment refused whole would show nothing. Each stack
    keeps an equal share, so every stack's heading and the start of its preview stay; a cut says
    so, and where the whole preview is (the job's artifact, which the CI files upload)."""
    text = "\n".join(parts)
    if len(text) <= limit:
        return text
    notice = (
        f"\n\n*Cut to fit a comment ({len(text):,} characters in all): the whole preview is the job's "
        "`pulumi-preview` artifact.*\n"
    )
    share = (limit - len(notice) - len(parts)) // len(parts) - len(FENCE) - 1
    kept = []
    for part in parts:
        head = part[:share]
        if head.count(FENCE) % 2:  # cut inside the engine's output: close its block
            head += "\n" + FENCE
        kept.append(head)
    return "\n".join(kept) + notice


def _summary(stack: str, outcome: engine.Outcome, drawing: str = "") -> str:
    """The preview as a pull request comment: the counts, the drawing of what it touches, then the
    engine's own words."""
    counts = ", ".join(f"{n} to {op}" for op, n in sorted(outcome.changes.items()) if op != "same") or "no changes"
    return f"### `pulumi preview` of stack `{stack}`: {counts}\n\n{drawing}```\n{outcome.output.strip()}\n```\n"


def context_from_env(
    project: Path,
    stack: str,
    status_timeout: float,
    say: Callable[[str], None],
    parallel: int = 0,
    *,
    every_stack: bool = False,
    refresh: bool = False,
    skills: tuple[str, ...] = (),
) -> Context:
    """The stack's settings from its file, and the pipeline's secrets from the environment (the CI's
    secret store puts them there): never from a file of the repository."""
    return Context(
        project=project,
        config=load_stack(project, stack),
        registry_password=os.environ.get(REGISTRY_PASSWORD_ENV) or None,
        status_timeout=status_timeout,
        say=say,
        parallel=parallel,
        every_stack=every_stack,
        refresh=refresh,
        skills=skills,
    )
