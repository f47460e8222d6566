"""send_message end to end: the real producer and consumer processes on loopback (issue: exactly once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from harness.records import Consumer, FlakyProxy, free_port, run_producer

COUNT = 10_000


def _assert_exactly_once(consumer: Consumer, count: int) -> None:
    stored = consumer.stored()
    keys = [r["key"] for r in stored]
    assert len(keys) == len(set(keys)) == count, (len(keys), len(set(keys)))
    assert set(keys) == {f"producer-test/records/{n}" for n in range(count)}
    assert sorted(r["payload"]["sequence"] for r in stored) == list(range(count))
    assert consumer.stats()["received"] == count


def test_ten_thousand_records_arrive_exactly_once(tmp_path):
    consumer = Consumer(tmp_path / "data").start()
    try:
        done = run_producer(COUNT, f"http://127.0.0.1:{consumer.port}/records/records", retry_seconds=30)
        assert done.returncode == 0, done.stderr
        assert f"sent {COUNT} record(s)" in done.stdout
        _assert_exactly_once(consumer, COUNT)
        assert consumer.stats()["duplicates"] == 0
    finally:
        consumer.kill()


def test_exactly_once_through_random_500s_and_consumer_restarts(tmp_path):
    consumer = Consumer(tmp_path / "data").start()
    proxy = FlakyProxy(consumer.port, fail_before=0.1, fail_after=0.1)
    stop = threading.Event()
    kills: list[int] = []

    def kill_and_restart() -> None:
        """Kill the consumer (SIGKILL, mid-stream) when it holds about 2,500 and 6,000 records."""
        for threshold in (2_500, 6_000):
            while not stop.is_set() and len(consumer.stored()) < threshold:
                time.sleep(0.01)
            if stop.is_set():
                return
            consumer.kill()
            kills.append(len(consumer.stored()))
            time.sleep(0.5)  # the producer meets a closed port meanwhile, and retries
            consumer.start()

    killer = threading.Thread(target=kill_and_restart, daemon=True)
    killer.start()
    try:
        done = run_producer(COUNT, f"http://127.0.0.1:{proxy.port}/records/records", retry_seconds=60)
        stop.set()
        killer.join(timeout=30)
        assert done.returncode == 0, done.stderr
        assert len(kills) == 2 and consumer.starts == 3, kills
        assert proxy.failed > 10  # the faults did happen, both kinds
        _assert_exactly_once(consumer, COUNT)
        assert consumer.stats()["duplicates"] > 0  # batches stored, then retried after an injected 500
    finally:
        stop.set()
        consumer.kill()
        proxy.close()


def test_a_receiver_that_stays_down_fails_the_producer_within_its_retry_budget():
    target = f"http://127.0.0.1:{free_port()}/records/records"
    started = time.monotonic()
    done = run_producer(25, target, retry_seconds=2, wrapper=True, timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert elapsed < 15, elapsed
    assert f"25 record(s) of output 'records' were not delivered to {target}" in done.stderr
    assert "Traceback" not in done.stderr and "sent 25" not in done.stdout


def test_a_receiver_that_refuses_a_batch_fails_at_once(tmp_path):
    consumer = Consumer(tmp_path / "data").start()
    try:
        started = time.monotonic()
        done = run_producer(5, f"http://127.0.0.1:{consumer.port}/records/nope", retry_seconds=30, wrapper=True)
        assert done.returncode == 1 and time.monotonic() - started < 10
        assert "refused them with HTTP 404" in done.stderr and "no input at /records/nope" in done.stderr
    finally:
        consumer.kill()


_PLAIN_DAEMON = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log, answers = sys.argv[1], [int(a) for a in sys.argv[2].split(",") if a]


class Handler(BaseHTTPRequestHandler):
    def _any(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(log, "a") as out:
            out.write(json.dumps({"method": self.command, "path": self.path,
                                  "key": self.headers.get("Idempotency-Key"), "body": json.loads(body)}) + "\n")
        status = answers.pop(0) if answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_PUT = _any

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

_JOB = r"""
from skillship_runtime import send_message
for n in range(3):
    send_message({"n": n})
"""


def test_a_daemon_of_its_own_making_gets_one_envelope_per_record_as_cortex_sent_them(tmp_path):
    """A daemon not built on the runtime, wired with `path: /invoke` and `method: PUT`: the job's
    runtime calls it once per record, with the message envelope and the record's idempotency key,
    and retries a 503 with the same key. Both are real processes on loopback."""
    log = tmp_path / "calls.jsonl"
    daemon = subprocess.Popen([sys.executable, "-c", _PLAIN_DAEMON, str(log), "503"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(daemon.stdout.readline())
        target = {"url": f"http://127.0.0.1:{port}/invoke", "method": "PUT", "format": "envelope"}
        env = {
            **os.environ,
            "SKILLSHIP_TARGETS": json.dumps({"answers": [target]}),
            "SKILLSHIP_ACTIVATION_ID": "act-7",
            "SKILLSHIP_SKILL": "asker",
        }
        job = subprocess.run([sys.executable, "-c", _JOB], env=env, capture_output=True, text=True, timeout=60)
        assert job.returncode == 0, job.stderr
    finally:
        daemon.kill()
        daemon.wait()
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(c["method"], c["path"], c["key"]) for c in calls] == [
        ("PUT", "/invoke", "act-7/answers/0"),  # answered 503: sent again, with the same key
        ("PUT", "/invoke", "act-7/answers/0"),
        ("PUT", "/invoke", "act-7/answers/1"),
        ("PUT", "/invoke", "act-7/answers/2"),
    ]
    assert calls[-1]["body"] == {
        "activationId": "act-7",
        "channelId": "act-7",
        "sessionId": "act-7",
        "skillName": "asker",
        "outputName": "answers",
        "payload": {"n": 2},
    }
