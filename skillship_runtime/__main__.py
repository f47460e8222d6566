"""`python -m skillship_runtime SCRIPT [ARGS...]`: run a job's script as the image's entrypoint.

Waits for the Istio proxy when there is one, runs the script, delivers every record it sent, asks
the proxy to quit, and exits with the script's code (1 if a record could not be delivered), so
images need no scuttle."""

from __future__ import annotations

import runpy
import sys

from skillship_runtime import proxy
from skillship_runtime.sender import DeliveryError, close_default_sender


def main(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write("usage: python -m skillship_runtime SCRIPT [ARGS...]\n")
        return 2
    code: int = 0
    try:
        proxy.wait_for_proxy()
        sys.argv = list(argv)
        try:
            runpy.run_path(argv[0], run_name="__main__")
        except DeliveryError as exc:  # raised by send_message or flush in the script
            sys.stderr.write(f"skillship-runtime: {exc}\n")
            code = 1
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                sys.stderr.write(f"{exc.code}\n")
        try:
            close_default_sender()
        except DeliveryError as exc:
            sys.stderr.write(f"skillship-runtime: {exc}\n")
            code = code or 1
    except TimeoutError as exc:
        sys.stderr.write(f"skillship-runtime: {exc}\n")
        code = 1
    finally:
        sys.stdout.flush()
        proxy.quit_proxy()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
