"""Delivery throughput of send_message: `python -m bench.delivery [--records 5000] [--runs 3]`.

The receiver is the example consumer (skills/consumer), a real process on loopback, fresh for
every run. The baseline, measured in the same run against the same receiver, is the loop a user
would write without the runtime: a `requests` session (kept-alive connection) posting each record
as it is produced, with the same idempotency key and body format. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import requests

from harness.records import Consumer
from skillship_runtime.sender import Sender


def records(count: int):
    for sequence in range(count):
        yield {"sequence": sequence, "text": f"record-{sequence}"}


def plain_loop(url: str, count: int) -> None:
    with requests.Session() as session:
        for sequence, record in enumerate(records(count)):
            body = {
                "activationId": "bench",
                "outputName": "records",
                "records": [{"key": f"bench/records/{sequence}", "sequence": sequence, "payload": record}],
            }
            session.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"}).raise_for_status()


def runtime(url: str, count: int) -> None:
    sender = Sender({"records": [url]}, activation_id="bench")
    for record in records(count):
        sender.send(record)
    sender.close()


def measure(name: str, count: int, runs: int) -> float:
    """Records per second: the median of `runs`, each against a fresh consumer."""
    rates = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as data:
            consumer = Consumer(Path(data)).start()
            try:
                url = f"http://127.0.0.1:{consumer.port}/records/records"
                started = time.perf_counter()
                {"plain": plain_loop, "runtime": runtime}[name](url, count)
                elapsed = time.perf_counter() - started
                received = consumer.stats()["received"]
                if received != count:
                    raise RuntimeError(f"{name}: the consumer kept {received} of {count} records")
            finally:
                consumer.kill()
        rates.append(count / elapsed)
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    plain = measure("plain", args.records, args.runs)
    sent = measure("runtime", args.records, args.runs)
    print(f"| {args.records:,} records to the example consumer | records/s | vs. plain loop |")
    print("|---|---:|---:|")
    print(f"| plain `requests` loop, one POST per record (baseline) | {plain:,.0f} | 1.00x |")
    print(f"| `send_message` (batches of 100, kept-alive, stored durably) | {sent:,.0f} | {sent / plain:.2f}x |")


if __name__ == "__main__":
    main()
