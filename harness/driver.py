"""One Pulumi operation on a stack, in a process of its own: `python -m harness.driver SPEC_JSON`.

The Automation API hosts the inline program on its own threads; running it outside the pytest
process keeps the SDK's global state and threads away from the tests (and from a CPython 3.11
race between threads compiling code at the same time). Prints one JSON document.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pulumi import automation as auto


def stack(spec: dict) -> auto.Stack:
    # The program runs in this process, which stands in for the language host: that inherits the
    # environment of the `pulumi` CLI (KUBECONFIG, say), so this process takes it too.
    os.environ.update(spec["env"])
    project = Path(spec["project"])
    main = project / "__main__.py"
    code = compile(main.read_text(), str(main), "exec")
    sys.path.insert(0, str(project))

    def program() -> None:
        exec(code, {"__name__": "__main__", "__file__": str(main)})

    workspace = auto.LocalWorkspace(
        work_dir=str(project),
        program=program,
        env_vars=spec["env"],
        pulumi_command=auto.PulumiCommand(root=spec["engine_root"], skip_version_check=True),
    )
    return auto.Stack.create_or_select(spec["stack"], workspace)


def main(spec: dict) -> dict:
    target = stack(spec)
    for key, value in spec.get("config", {}).items():
        target.set_config(key, auto.ConfigValue(value if isinstance(value, str) else json.dumps(value)))
    for key, value in spec.get("secrets", {}).items():
        # A key with a path (skillship:secrets.hello["api.token"]) sets one leaf, as
        # `pulumi config set --secret --path` does.
        target.set_config(key, auto.ConfigValue(value, secret=True), path="." in key or "[" in key)
    lines: list[str] = []
    steps: list[list[str]] = []  # [operation, resource type] of every step the engine took
    diagnostics: dict[str, int] = {}  # how many diagnostic events, by severity ("debug", "info"...)
    unattached_debug: list[str] = []  # debug messages about no resource: the SDK's own, not a provider's

    def on_event(event: auto.EngineEvent) -> None:
        if event.diagnostic_event:
            severity = event.diagnostic_event.severity
            diagnostics[severity] = diagnostics.get(severity, 0) + 1
            if severity == "debug" and not event.diagnostic_event.urn:
                unattached_debug.append(event.diagnostic_event.message.strip())
        if event.resource_pre_event:
            metadata = event.resource_pre_event.metadata
            steps.append([str(getattr(metadata.op, "value", metadata.op)), metadata.type])

    # Without the event stream (as `pulumi up` from a shell has none), no steps or diagnostics are seen.
    events = on_event if spec.get("events", True) else None
    try:
        if spec["op"] == "up":
            result = target.up(on_output=lines.append, on_event=events)
            return {
                "ok": True,
                "changes": result.summary.resource_changes,
                "steps": steps,
                "diagnostics": diagnostics,
                "unattached_debug": unattached_debug,
                "outputs": {k: v.value for k, v in result.outputs.items()},
                "log": "\n".join(lines),
            }
        if spec["op"] == "preview":
            result = target.preview(on_output=lines.append, on_event=on_event)
            return {
                "ok": True,
                "changes": result.change_summary,
                "steps": steps,
                "diagnostics": diagnostics,
                "unattached_debug": unattached_debug,
                "log": "\n".join(lines),
            }
        if spec["op"] == "destroy":
            result = target.destroy(on_output=lines.append, on_event=on_event)
            changes = result.summary.resource_changes
            return {"ok": True, "changes": changes, "steps": steps, "outputs": {}, "log": "\n".join(lines)}
        raise ValueError(f"unknown operation {spec['op']!r}")
    except auto.errors.CommandError as exc:
        return {"ok": False, "error": str(exc), "steps": steps, "log": "\n".join(lines)}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(json.loads(sys.argv[1]))))
