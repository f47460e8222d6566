"""`skillship-pipeline preview|deploy|promote --stack NAME`: the entry point the CI files call.

Exit codes: 0 the stage passed; 1 a step failed (the workspace is invalid, `pulumi` failed or a
task failed, a promotion was refused); 2 usage (unknown stack, the wrong stage for the stack); 3 a
task still ran when the gate's timeout came.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from skillship.stackfiles import StackFileError, find_project

try:
    from skillship_pipeline import stages
except ImportError as missing:
    if missing.name is None or not missing.name.startswith("pulumi"):
        raise
    print("error: skillship-pipeline runs Pulumi: install skillship[deploy]", file=sys.stderr)
    raise SystemExit(2) from None

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n", 1)[0])

StackOption = Annotated[str, typer.Option("--stack", "-s", envvar="SKILLSHIP_STACK", help="The stack of this stage.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print what the stage did as JSON on stdout.")]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0, help="How long the gate waits for the tasks, in seconds.")
]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _finish(report: stages.Report, json_output: bool) -> None:
    if report.problem:
        _say(f"error: {report.problem}")
    _say(f"{report.stage} of stack {report.stack}: {'passed' if report.exit_code == 0 else 'failed'}")
    if json_output:
        sys.stdout.write(json.dumps(report.as_json(), indent=2, sort_keys=True) + "\n")
    raise typer.Exit(report.exit_code)


def _context(stack: str, timeout: float) -> stages.Context:
    _kubeconfig_from_env()
    try:
        return stages.context_from_env(find_project(Path.cwd()), stack, timeout, _say)
    except StackFileError as exc:
        _say(f"error: {exc}")
        raise typer.Exit(stages.USAGE) from None


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
    json_output: JsonOption = False,
) -> None:
    """Validate, render and `pulumi preview` the stack; deploy nothing."""
    _finish(stages.preview(_context(stack, 0), summary), json_output)


@app.command()
def deploy(stack: StackOption, timeout: TimeoutOption = 1800, json_output: JsonOption = False) -> None:
    """Validate, `pulumi up`, then gate on `skillship status --wait`."""
    _finish(stages.deploy(_context(stack, timeout)), json_output)


@app.command()
def promote(stack: StackOption, timeout: TimeoutOption = 1800, json_output: JsonOption = False) -> None:
    """Deploy a stack with promoteFrom: the images its source ran, by digest, checked first."""
    _finish(stages.promote(_context(stack, timeout)), json_output)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
