"""The daemon action of skill consumer: receives the producer's records over HTTP.

`skillship_runtime.receiver` does the protocol: POST /records/<input> with a batch of records,
each kept once by its idempotency key (a record sent twice, after a retry, is dropped), stored in
$SKILLSHIP_DATA_DIR before the answer; GET /stats tells how many distinct records arrived.
"""

import sys

from skillship_runtime.receiver import serve


def main() -> int:
    serve(inputs={"records"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
