"""`skillship render`: the objects a stack declares, as YAML files, without Pulumi or a cluster."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from skillship.cli._common import Exit, fail, json_mode, print_json, print_table, stderr
from skillship.cli.validate import print_human, report
from skillship.output.render import RenderedFile, RenderError, UnsafeTarget, check_target, output_problem, write_objects
from skillship.paths import display_path
from skillship.source.diagnostics import Diagnostics
from skillship.source.jsontext import JsonRefused, parse_json
from skillship.source.workspace import Workspace
from skillship.stack.stackfiles import StackConfig, StackFileError, find_project, load_stack

TABLE_ROWS = 50  # objects listed one by one without --table

# The --json document's version: it changes only when a key changes meaning or disappears.
JSON_VERSION = 1


def render(
    stack: Annotated[
        str,
        typer.Option(
            "--stack",
            "-s",
            envvar="SKILLSHIP_STACK",
            help="The stack whose objects to render (or set SKILLSHIP_STACK).",
        ),
    ] = "local",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder to write (default: <renderDir>/manifests).")
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Workspace root (default: the stack's skillship:workspace)."),
    ] = None,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Write secret values (decrypted by the pulumi CLI).")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the written files as JSON on stdout.")] = False,
    every_object: Annotated[
        bool, typer.Option("--table", help=f"List every object (else only up to {TABLE_ROWS}; counts by kind above).")
    ] = False,
) -> None:
    """Write every object of a stack's deployment, one YAML file each; Secret values are redacted."""
    # Imported here: the planner and the builders are most of the core, and `--help` or any other
    # command needs none of them.
    from skillship.compose import InvalidStack, InvalidWorkspace, plan_stack
    from skillship.manifests import stack_objects

    json_mode(json_output)
    try:
        config = load_stack(find_project(Path.cwd()), stack)
    except StackFileError as exc:
        fail(str(exc), Exit.USAGE)
    stack_workspace = config.project_dir / config.settings.workspace_dir
    if workspace is not None and not workspace.is_dir():
        fail(f"{workspace}: no such directory", Exit.USAGE)
    if workspace is not None and workspace.resolve() != stack_workspace.resolve():
        stderr.print(
            f"[yellow]warning:[/] `pulumi up --stack {stack}` deploys {display_path(stack_workspace)}, not "
            f"{display_path(workspace)}; set skillship:workspace to deploy what this renders"
        )
    root = workspace or stack_workspace
    target = out or config.project_dir / config.settings.output_dir / "manifests"
    try:  # before any work: a folder render must never replace is a usage error, whatever else is wrong
        check_target(target, [Path.cwd(), config.project_dir, root])
    except UnsafeTarget as exc:
        fail(str(exc), Exit.USAGE)
    problem = output_problem(target, config.project_dir, root, chosen=out is not None)
    if problem is not None:
        fail(problem, Exit.USAGE)
    try:
        plan = plan_stack(
            root, config.settings, project_dir=config.project_dir, secret_properties=config.secret_properties
        )
    except InvalidWorkspace as exc:
        _refuse(exc.workspace, exc.diagnostics, json_output)
    except InvalidStack as exc:  # reported as validate reports a workspace: one shape for both
        _refuse(exc.workspace, exc.report, json_output)
    for warning in plan.warnings:
        stderr.print(f"[yellow]{escape(warning.render())}[/]")
    secrets = _decrypted_secrets(config) if show_secrets else None
    try:
        files = write_objects(stack_objects(plan, secret_values=secrets), target, private=show_secrets)
    except RenderError as exc:
        fail(str(exc), Exit.FAILED)
    if json_output:
        print_json(
            {
                "version": JSON_VERSION,
                "stack": stack,
                "directory": display_path(target),
                "objects": [
                    {"file": display_path(f.path), "kind": f.kind, "name": f.name, "namespace": f.namespace}
                    for f in files
                ],
            }
        )
        return
    print_table(_summary(stack, files, target, every_object))


def _summary(stack: str, files: list[RenderedFile], target: Path, every_object: bool) -> Table:
    """A row per object when they are few (or asked for); else a row per kind. A row per object of
    a thousand skills is three thousand lines nobody reads, and most of render's time."""
    title = f"stack {stack}: {len(files)} objects in {display_path(target)}"
    if every_object or len(files) <= TABLE_ROWS:
        table = Table(title=title)
        for column in ("kind", "name", "namespace", "file"):
            table.add_column(column)
        for f in files:
            table.add_row(f.kind, f.name, f.namespace or "", f.path.name)
        return table
    table = Table(title=f"{title} (--table lists each)")
    table.add_column("kind")
    table.add_column("objects", justify="right")
    for kind, count in sorted(Counter(f.kind for f in files).items()):
        table.add_row(kind, str(count))
    return table


def _refuse(workspace: Workspace, diagnostics: Diagnostics, json_output: bool) -> NoReturn:
    if json_output:  # stdout stays JSON for whoever parses it: validate's own report
        print_json(report(workspace.skills, workspace.agents, diagnostics))
    else:
        print_human(len(workspace.skills), len(workspace.agents), diagnostics)
    raise typer.Exit(int(Exit.FAILED))


def _decrypted_secrets(config: StackConfig) -> dict[str, dict[str, str]]:
    """Secret values are encrypted in stack files; only the pulumi CLI can decrypt them."""
    if not config.secret_properties:
        return {}
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        fail("--show-secrets needs the pulumi CLI to decrypt the stack's secrets, and it is not on PATH", Exit.USAGE)
    done = subprocess.run(
        [pulumi, "config", "--show-secrets", "--json", "--stack", config.settings.pulumi_stack],
        cwd=config.project_dir,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        fail(f"pulumi could not decrypt the stack's secrets: {done.stderr.strip() or done.stdout.strip()}", Exit.USAGE)
    secrets = secrets_in_config_output(done.stdout)
    if secrets is None:
        # Never the output itself: it holds the decrypted values.
        fail(
            "`pulumi config --show-secrets --json` answered in a shape Skillship does not read "
            "(skillship:secrets: an object of skills, each an object of text values); nothing was written",
            Exit.FAILED,
        )
    return secrets


def secrets_in_config_output(output: str) -> dict[str, dict[str, str]] | None:
    """skillship:secrets from `pulumi config --json`, or None when the output is not as expected."""
    try:
        document = parse_json(output or "{}")
        entry = document.get("skillship:secrets", {}) if isinstance(document, dict) else None
        value = entry.get("value", "{}") if isinstance(entry, dict) else None
        secrets = parse_json(value) if isinstance(value, str) else value
    except JsonRefused:
        return None
    if not isinstance(secrets, dict) or not all(
        isinstance(values, dict) and all(isinstance(v, str) for v in values.values()) for values in secrets.values()
    ):
        return None
    return secrets
