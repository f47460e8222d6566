"""`skillship-pipeline preview|deploy|promote --stack NAME`: the entry point the CI files call.

Exit codes: 0 the stage passed; 1 a step failed (the workspace is invalid, `pulumi` failed or a
task failed, a promotion was refused); 2 usage (unknown stack, the wrong stage for the stack); 3 a
task still ran when the gate's timeout came.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from skillship.about import installed_version
from skillship.stack.stackfiles import StackFileError, find_project
from skillship_pipeline import engine, sharded, stages


def _pulumi_installed() -> bool:
    """Found, not imported: the engine imports `pulumi.automation` when a stage first runs it, and a
    stage that runs none never pays for it. (Finding a module inside the package imports the package.)"""
    try:
        return importlib.util.find_spec("pulumi") is not None
    except (ImportError, ValueError):  # a broken or blocked install
        return False


if not _pulumi_installed():
    print("error: skillship-pipeline runs Pulumi: install skillship[deploy]", file=sys.stderr)
    raise SystemExit(2)

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n", 1)[0])

StackOption = Annotated[str, typer.Option("--stack", "-s", envvar="SKILLSHIP_STACK", help="The stack of this stage.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print what the stage did as JSON on stdout.")]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0, help="How long the gate waits for the tasks, in seconds.")
]
EveryStackOption = Annotated[
    bool,
    typer.Option(
        "--all", help="Run the engine for every stack, not only those whose inputs changed since their last update."
    ),
]
RefreshOption = Annotated[
    bool,
    typer.Option("--refresh", help="Read the cluster first: what was changed by hand shows, and deploy puts it back."),
]
SkillOption = Annotated[
    list[str] | None,
    typer.Option(
        "--skill",
        help="Only this skill's resources and what depends on them (repeat for several); not with --all.",
    ),
]
ParallelOption = Annotated[
    int, typer.Option("--parallel", min=0, help="Shard stacks of a sharded stack deployed at once (0: all).")
]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _finish(report: stages.Report, json_output: bool) -> None:
    if report.problem:
        _say(f"error: {report.problem}")
    _say(f"{report.stage} of stack {report.stack}: {'passed' if report.exit_code == 0 else 'failed'}")
    if json_output:
        _print_json(report.as_json())
    raise typer.Exit(report.exit_code)


def _print_json(document: dict[str, Any]) -> None:
    """The stage's one JSON document on standard output, saying which Skillship made it."""
    sys.stdout.write(json.dumps({**document, "skillshipVersion": installed_version()}, indent=2, sort_keys=True) + "\n")


def _refuse(problem: str, code: int, json_output: bool) -> typer.Exit:
    """A stage that cannot start: one line on stderr and, with --json, the same on stdout."""
    _say(f"error: {problem}")
    if json_output:
        _print_json({"error": problem, "exitCode": code})
    return typer.Exit(code)


def _context(
    stack: str,
    timeout: float,
    parallel: int = 0,
    *,
    json_output: bool = False,
    every_stack: bool = False,
    refresh: bool = False,
    skills: list[str] | None = None,
) -> stages.Context:
    # Every stage ends in the Pulumi CLI: without it, say so before validating and rendering.
    if shutil.which("pulumi") is None:
        raise _refuse(
            "skillship-pipeline runs the Pulumi CLI, and there is no `pulumi` on PATH: install it "
            "(https://www.pulumi.com/docs/install/) or put its folder on PATH",
            stages.USAGE,
            json_output,
        )
    if skills and every_stack:
        raise _refuse(
            "--skill deploys some skills only and --all every stack: give one of them", stages.USAGE, json_output
        )
    _kubeconfig_from_env()
    try:
        return stages.context_from_env(
            find_project(Path.cwd()),
            stack,
            timeout,
            _say,
            parallel,
            every_stack=every_stack,
            refresh=refresh,
            skills=tuple(skills or ()),
        )
    except StackFileError as exc:
        raise _refuse(str(exc), stages.USAGE, json_output) from None


def _kubeconfig_from_env() -> None:
    """SKILLSHIP_KUBECONFIG_DATA (the kubeconfig's text, from the CI's secret store) goes to a file
    only its owner can read, for this run; KUBECONFIG then points at it."""
    data = os.environ.get("SKILLSHIP_KUBECONFIG_DATA")
    if not data:
        return
    handle, path = tempfile.mkstemp(prefix="skillship-kubeconfig-")  # made owner-only (0600)
    atexit.register(os.unlink, path)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(data)
    os.environ["KUBECONFIG"] = path


@app.command()
def preview(
    stack: StackOption,
    summary: Annotated[
        Path | None, typer.Option("--summary", help="Write the preview here, as Markdown for the pull request.")
    ] = None,
    parallel: ParallelOption = 0,
    every_stack: EveryStackOption = False,
    refresh: RefreshOption = False,
    skill: SkillOption = None,
    json_output: JsonOption = False,
) -> None:
    """Validate, render and `pulumi preview` the stacks whose inputs changed; deploy nothing."""
    context = _context(
        stack, 0, parallel, json_output=json_output, every_stack=every_stack, refresh=refresh, skills=skill
    )
    _finish(stages.preview(context, summary), json_output)


@app.command()
def deploy(
    stack: StackOption,
    timeout: TimeoutOption = 1800,
    parallel: ParallelOption = 0,
    every_stack: EveryStackOption = False,
    refresh: RefreshOption = False,
    skill: SkillOption = None,
    json_output: JsonOption = False,
) -> None:
    """Validate, `pulumi up` the stacks whose inputs changed, then gate on their tasks' `skillship status --wait`."""
    context = _context(
        stack, timeout, parallel, json_output=json_output, every_stack=every_stack, refresh=refresh, skills=skill
    )
    _finish(stages.deploy(context), json_output)


@app.command()
def promote(
    stack: StackOption, timeout: TimeoutOption = 1800, parallel: ParallelOption = 0, json_output: JsonOption = False
) -> None:
    """Deploy a stack with promoteFrom: the images its source ran, by digest, checked first."""
    _finish(stages.promote(_context(stack, timeout, parallel, json_output=json_output)), json_output)


@app.command("stack-operation", hidden=True)
def stack_operation(
    stack: StackOption,
    operation: Annotated[str, typer.Option("--operation", help="preview or up")],
    message: Annotated[str | None, typer.Option("--message", help="The update's message.")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Read the cluster first.")] = False,
    target: Annotated[list[str] | None, typer.Option("--target", help="Only this URN and its dependents.")] = None,
) -> None:
    """One `preview` or `up` of one Pulumi stack, for a stage that runs several at once
    (skillship_pipeline.sharded): the engine's output on stderr, its outcome as JSON on stdout."""
    if operation not in ("preview", "up"):
        _say(f"error: --operation must be preview or up, not {operation!r}")
        raise typer.Exit(stages.USAGE)
    _kubeconfig_from_env()
    try:
        project = find_project(Path.cwd())
        opened = engine.open_stack(project, stack, registry_password=os.environ.get("SKILLSHIP_REGISTRY_PASSWORD"))
        outcome = engine.run(opened, operation, _say, message=message, refresh=refresh, targets=target or None)
    except (StackFileError, engine.EngineError) as exc:
        outcome = engine.Outcome(False, "", error=str(exc))
    _print_json(sharded.outcome_as_json(outcome))
    raise typer.Exit(stages.OK if outcome.ok else stages.FAILED)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
