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


def main(argv: list[str]) -> int:
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
