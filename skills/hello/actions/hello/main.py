"""The job action of skill hello: greets the name in its message.

Skillship passes the message as the last command-line argument: a JSON object whose `payload` is
the input and whose `properties` hold the skill's settings. A message too large for the command
line arrives as `@/path/to/message.json` instead. What the job prints is its result and its log.
A secure property reaches the job as an environment variable, never inside the message.
"""

import json
import os
import sys


def read_message(argv: list[str]) -> dict:
    raw = argv[-1] if len(argv) > 1 else "{}"
    if raw.startswith("@"):
        with open(raw[1:], encoding="utf-8") as handle:
            raw = handle.read()
    return json.loads(raw)


def identity() -> dict:
    """Who the task runs as, seen from inside: its user and group, whether the root filesystem is
    read-only and a write to it fails, and its effective and bounding capabilities (hex, as the
    kernel says: a bounding set of 0 is what dropping ALL leaves)."""
    try:
        with open("/hello-was-here", "w", encoding="utf-8"):
            pass
        os.remove("/hello-was-here")
        write = "allowed"
    except OSError as exc:
        write = os.strerror(exc.errno or 0)
    with open("/proc/self/status", encoding="utf-8") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "rootReadOnly": bool(os.statvfs("/").f_flag & os.ST_RDONLY),
        "rootWrite": write,
        "capabilities": fields.get("CapEff", "").strip(),
        "boundingCapabilities": fields.get("CapBnd", "").strip(),
    }


def main(argv: list[str]) -> int:
    # On standard error: the result (standard output) stays the greeting alone.
    print(json.dumps({"identity": identity()}), file=sys.stderr)
    message = read_message(argv)
    name = (message.get("payload") or {}).get("name")
    if not name:
        print("error: the payload names no one to greet", file=sys.stderr)
        return 1
    greeting = (message.get("properties") or {}).get("greeting", "Hello")
    has_token = bool(os.environ.get("SKILLSHIP_SECRET_API_TOKEN"))
    print(json.dumps({"greeting": f"{greeting}, {name}!", "authenticated": has_token}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
