"""send_message end to end: the real producer and consumer processes on loopback (issue: exactly once)."""

from __future__ import annotations

import threading
import time

from tests.support.records import Consumer, FlakyProxy, free_port, run_producer

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
