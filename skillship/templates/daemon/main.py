"""The daemon action of skill ${skill}: receives records that other skills send to it.

`skillship_runtime.receiver` speaks the protocol of `send_message`: POST /records/<input> with a
batch of records. Each record is kept once, by its idempotency key, in $SKILLSHIP_DATA_DIR before
the answer, and then handed to `on_record`. GET /healthz answers once it is ready.
"""

import json
import sys

from skillship_runtime.receiver import serve


def on_record(input_name: str, record: dict) -> None:
    print(f"{input_name}: {json.dumps(record['payload'], sort_keys=True)}", flush=True)


def main() -> int:
    serve(on_record=on_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
