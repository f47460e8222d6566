"""The `skillship` command line: a thin shell over the core."""

from __future__ import annotations

import typer

from skillship.cli._common import json_mode
from skillship.cli.init import init
from skillship.cli.logs import logs
from skillship.cli.new import new
from skillship.cli.render import render
from skillship.cli.run import run
from skillship.cli.shards import shards
from skillship.cli.status import status
from skillship.cli.validate import validate
from skillship.gcpolicy import tune_for_batch_run

app = typer.Typer(
    name="skillship",
    help="Ship batch job skills to Kubernetes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _every_command() -> None:
    """Before each command: failures are text until the command says it was given --json (the
    mode is process state, and tests run many commands in one process)."""
    json_mode(False)


app.command()(init)
app.command()(validate)
app.command()(new)
app.command()(render)
app.command()(status)
app.command()(logs)
app.command()(run)
app.command()(shards)


def main() -> None:
    tune_for_batch_run()  # `validate` and `render` build every skill's objects at once
    app()
