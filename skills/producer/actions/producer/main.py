"""The job action of skill producer: streams `count` records, one by one, to the next skill.

Its agent (agents/stream.yaml) maps the `records` output to the consumer daemon's `records`
input; `send_message` finds the consumer through the environment Skillship sets, batches, retries
and keys each record so that the consumer keeps it exactly once.
"""

import sys

from skillship_runtime import flush, read_message, send_message


def records(count: int, prefix: str):
    for sequence in range(count):
        yield {"sequence": sequence, "text": f"{prefix}-{sequence}"}


def main() -> int:
    message = read_message()
    count = int((message.get("payload") or {}).get("count", 0))
    prefix = (message.get("properties") or {}).get("record.prefix", "record")
    for record in records(count, prefix):
        send_message(record)
    flush()  # every record delivered, or DeliveryError: the task fails and says why
    print(f"sent {count} record(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
