"""The job action of skill ${skill}.

Skillship passes the message as the last command-line argument: a JSON object whose `payload` is
the input and whose `properties` hold the skill's settings (a message too large for the command
line arrives as a file; `read_message` reads both). What the job prints is its log. To stream
output records to the next skill of an agent, call `send_message(record)` for each one.
"""

import json
import sys

from skillship_runtime import read_message, send_message  # noqa: F401  (send_message: see above)


def main() -> int:
    message = read_message()
    payload = message.get("payload")
    print(f"Received: {json.dumps(payload, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
