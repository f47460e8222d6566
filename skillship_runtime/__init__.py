"""The Skillship job runtime: what a skill's image imports, with the standard library only.

- `read_message()`: the message a task was started with (argv, or the mounted file of large ones);
- `send_message(record)`: stream one output record to the next skill of the agent, batched,
  retried and keyed so that the receiver keeps each record exactly once;
- `python -m skillship_runtime main.py`: runs a job's script, waiting for the Istio proxy first
  and asking it to quit at the end when the pod has a classic sidecar;
- `skillship_runtime.receiver`: the receiving side, for daemon skills.

Images get it from the build context named `skillship-runtime` (docs/runtime.md).
"""

from typing import Any

__all__ = ["DeliveryError", "Sender", "default_sender", "flush", "read_message", "send_message"]


def __getattr__(name: str) -> Any:
    """Loaded on first use: Skillship itself imports only `contract` (the names both sides share),
    and should not pay for the sender's HTTP client and threads to do so."""
    if name == "read_message":
        from skillship_runtime.message import read_message

        return read_message
    if name in __all__:
        from skillship_runtime import sender

        return getattr(sender, name)
    raise AttributeError(f"module 'skillship_runtime' has no attribute {name!r}")
