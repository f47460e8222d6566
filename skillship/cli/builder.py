"""`skillship builder ENDPOINT`: build with a BuildKit daemon of one's own, with no docker CLI."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from skillship.cli._common import Exit, fail, json_mode, print_json, stderr
from skillship.images.buildx import (
    DEFAULT_NAME,
    BuilderError,
    Endpoint,
    config_dir,
    wait_until_reachable,
    write_remote_builder,
)

# The --json document's version: it changes only when a key changes meaning or disappears.
JSON_VERSION = 1


def builder(
    endpoint: Annotated[
        str,
        typer.Argument(
            metavar="ENDPOINT",
            envvar="BUILDKIT_HOST",
            help="The BuildKit daemon: tcp://HOST:PORT or unix:///PATH (default: $BUILDKIT_HOST).",
        ),
    ],
    name: Annotated[
        str, typer.Option("--name", help="The builder's name; a stack's `builder` setting can name it.")
    ] = DEFAULT_NAME,
    use: Annotated[
        bool,
        typer.Option("--use/--no-use", help="Make it buildx's current builder, which stacks without `builder` take."),
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="Seconds to wait for the daemon to accept a connection (0: none).")
    ] = 60,
    json_output: Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")] = False,
) -> None:
    """Write a buildx builder of the `remote` driver for a BuildKit daemon, as `docker buildx create
    --driver remote` would, after waiting for the daemon to answer. For a CI job with a BuildKit
    service (docs/pipelines.md). Exit 1 when the daemon does not answer, 2 on a usage error."""
    json_mode(json_output)
    try:
        parsed = Endpoint.parse(endpoint)
    except BuilderError as exc:
        fail(str(exc), Exit.USAGE)
    waited = None
    if timeout > 0:
        try:
            waited = wait_until_reachable(parsed, timeout)
        except BuilderError as exc:
            fail(str(exc), Exit.FAILED)
    directory = config_dir(os.environ)
    try:
        instance = write_remote_builder(directory, name, parsed, make_current=use)
    except BuilderError as exc:
        fail(str(exc), Exit.USAGE)
    except OSError as exc:
        fail(f"cannot write the builder in {directory}: {exc.strerror or exc}", Exit.FAILED)
    if json_output:
        print_json(
            {
                "version": JSON_VERSION,
                "name": name,
                "endpoint": parsed.address,
                "current": use,
                "instanceFile": str(instance),
                "waitedSeconds": None if waited is None else round(waited, 3),
            }
        )
    else:
        current = "; it is buildx's current builder" if use else f"; name it with `builder: {name}` in a stack"
        stderr.print(f"builder {name} builds with {parsed.address} ({instance}){current}")
    raise typer.Exit(int(Exit.OK))
