"""The job action of skill producer: emits `count` records.

Each record is printed as one JSON line. Its agent (agents/stream.yaml) wires the `records`
output to the consumer daemon's input.
"""

import json
import sys


def read_message(argv: list[str]) -> dict:
    raw = argv[-1] if len(argv) > 1 else "{}"
    if raw.startswith("@"):
        with open(raw[1:], encoding="utf-8") as handle:
            raw = handle.read()
    return json.loads(raw)


def records(count: int, prefix: str):
    for sequence in range(count):
        yield {"sequence": sequence, "text": f"{prefix}-{sequence}"}


def main(argv: list[str]) -> int:
    message = read_message(argv)
    count = int((message.get("payload") or {}).get("count", 0))
    prefix = (message.get("properties") or {}).get("record.prefix", "record")
    for record in records(count, prefix):
        print(json.dumps(record, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
