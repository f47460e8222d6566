"""The job action of skill ${skill}.

Skillship passes the message as the last command-line argument: a JSON object whose `payload` is
the input and whose `properties` hold the skill's settings. A message too large for the command
line arrives as `@/path/to/message.json` instead. What the job prints is its result and its log.
"""

import json
import sys


def read_message(argv: list[str]) -> dict:
    raw = argv[-1] if len(argv) > 1 else "{}"
    if raw.startswith("@"):
        with open(raw[1:], encoding="utf-8") as handle:
            raw = handle.read()
    return json.loads(raw)


def main(argv: list[str]) -> int:
    message = read_message(argv)
    payload = message.get("payload")
    print(f"Received: {json.dumps(payload, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
