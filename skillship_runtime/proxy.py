"""The classic Istio sidecar: wait until Envoy serves before the job talks to the network, and ask
it to quit when the job ends, or the pod (and its Job) never completes. The stack sets
ENVOY_ADMIN_API and ISTIO_QUIT_API only in `sidecar` mode; without them both calls do nothing."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request


def wait_for_proxy(timeout: float | None = None) -> bool:
    """Poll Envoy's admin API until it is LIVE. False without a proxy; raises when it never comes."""
    admin = os.environ.get("ENVOY_ADMIN_API")
    if not admin:
        return False
    timeout = float(os.environ.get("SKILLSHIP_PROXY_WAIT_SECONDS", "120")) if timeout is None else timeout
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{admin.rstrip('/')}/server_info", timeout=2) as answer:
                state = json.loads(answer.read() or b"{}").get("state")
                if state == "LIVE":
                    return True
                last = f"state {state}"
        except (OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"the Istio proxy at {admin} was not LIVE within {timeout:g} s ({last})")


def quit_proxy() -> bool:
    """Ask the sidecar to exit; a proxy that is already gone is fine."""
    quit_api = os.environ.get("ISTIO_QUIT_API")
    if not quit_api:
        return False
    request = urllib.request.Request(f"{quit_api.rstrip('/')}/quitquitquit", method="POST", data=b"")
    try:
        with urllib.request.urlopen(request, timeout=5):
            return True
    except OSError as exc:
        sys.stderr.write(f"skillship-runtime: could not stop the Istio proxy at {quit_api}: {exc}\n")
        return False
