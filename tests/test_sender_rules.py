"""The sender's rules one by one (bench/MUTATION.md found these unheld): the retry schedule on a
clock of the test's own, which answers count as delivered, how many records a failure reports,
linger and flush, the URLs it accepts, and the defaults a task's environment sets."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from harness.servers import ScriptedReceiver
from skillship_runtime import sender as sender_module
from skillship_runtime.sender import DeliveryError, Sender


@pytest.fixture()
def answering():
    with ScriptedReceiver() as receiver:
        yield receiver


class _Clock:
    """time.monotonic and time.sleep for the sender, advanced only by its own sleeps."""

    def __init__(self) -> None:
        self.now, self.sleeps = 1000.0, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


class _Connection:
    def __init__(self, outcomes) -> None:
        self.outcomes, self.posts = list(outcomes), 0

    def post(self, body: bytes, method: str = "POST", headers=None):
        self.posts += 1
        outcome = self.outcomes.pop(0) if self.outcomes else (200, b"")
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.fixture()
def clock(monkeypatch):
    fake = _Clock()
    monkeypatch.setattr(sender_module.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(sender_module.time, "sleep", fake.sleep)
    return fake


@pytest.mark.parametrize(("jitter", "factor"), [(0.0, 0.5), (1.0, 1.0)])
def test_retries_back_off_doubling_to_the_cap_with_jitter_until_the_budget_ends(clock, monkeypatch, jitter, factor):
    monkeypatch.setattr(sender_module.random, "random", lambda: jitter)
    sender = Sender({"o": ["http://127.0.0.1:9/x"]}, activation_id="a", retry_seconds=10, backoff=(0.5, 2.0))
    connection = _Connection([(503, b"busy")] * 50)
    reason = sender._post(connection, b"{}")
    delays = [0.5, 1.0, 2.0, 2.0, 2.0, 2.0]  # doubling from the first backoff, capped at the second
    assert clock.sleeps[: len(delays)] == [d * factor for d in delays]
    slept = sum(clock.sleeps)
    assert slept + 2.0 > 10 >= slept - 2.0 * factor  # it stopped when the next wait would pass the budget
    assert reason == f"still failing after {connection.posts} attempt(s) in {slept:.1f} s; last error: HTTP 503 (busy)"
    assert connection.posts == len(clock.sleeps) + 1


def test_a_connection_error_is_named_by_its_type_and_words(clock):
    sender = Sender({"o": ["http://127.0.0.1:9/x"]}, activation_id="a", retry_seconds=0.1, backoff=(0.2, 0.2))
    refused = sender._post(_Connection([ConnectionRefusedError(111, "Connection refused")]), b"{}")
    assert refused.endswith("last error: ConnectionRefusedError: [Errno 111] Connection refused"), refused
    silent = sender._post(_Connection([TimeoutError()]), b"{}")
    assert silent.endswith("last error: TimeoutError"), silent


@pytest.mark.parametrize(("status", "delivered"), [(200, True), (204, True), (299, True), (300, False), (400, False)])
def test_only_a_2xx_answer_delivers_and_any_other_final_answer_stops_at_once(clock, status, delivered):
    sender = Sender({"o": ["http://127.0.0.1:9/x"]}, activation_id="a")
    connection = _Connection([(status, b"\xff\xfe not utf-8")])
    reason = sender._post(connection, b"{}")
    assert (reason is None) is delivered and connection.posts == 1 and clock.sleeps == []
    if not delivered:
        assert reason == f"the receiver refused them with HTTP {status} (\ufffd\ufffd not utf-8)"  # any bytes are told


def test_a_failure_counts_every_record_it_strands(answering):
    """The failed batch, what was still queued, and what is sent afterwards: each record counts."""
    answering.script = [(400, b"no")]
    answering.gate.clear()  # the first batch is answered only once all 250 are queued
    sender = Sender({"records": [answering.url]}, activation_id="a", batch_size=100, linger=0.3)
    for n in range(250):
        sender.send(n)
    answering.gate.set()
    with pytest.raises(DeliveryError, match=r"^250 record\(s\) of output 'records' were not delivered"):
        sender.flush()
    with pytest.raises(DeliveryError, match=r"^251 record\(s\)"):
        sender.send("one more")
    with pytest.raises(DeliveryError, match=r"^251 record\(s\)"):
        sender.close()


def test_a_failure_counts_the_record_carried_to_the_next_batch(answering):
    answering.script = [(400, b"no")]
    half = "x" * (600 * 1024)  # two do not fit in one batch: the second opens the next
    answering.gate.clear()
    sender = Sender({"records": [answering.url]}, activation_id="a", linger=0.3)
    sender.send(half)
    sender.send(half)
    answering.gate.set()
    with pytest.raises(DeliveryError, match=r"^2 record\(s\)"):
        sender.close()


def test_records_sent_within_the_linger_go_in_one_batch_and_flush_delivers_them(answering):
    sender = Sender({"records": [answering.url]}, activation_id="a", linger=0.5)
    for n in range(5):
        sender.send(n)
        time.sleep(0.02)  # apart, yet within the linger: still one batch
    sender.flush()  # without closing: the batch leaves when the linger ends, not when 100 are queued
    assert sender.delivered == 5
    [(headers, body)] = answering.requests
    records = json.loads(body)["records"]
    assert [r["payload"] for r in records] == [0, 1, 2, 3, 4]
    assert headers["Content-Type"] == "application/json"
    sender.close()


def test_a_closed_sender_refuses_records_and_a_never_used_one_closes_at_once():
    sender = Sender({"o": ["http://127.0.0.1:9/x"]}, activation_id="a")
    sender.close()  # nothing was sent: no thread, nothing to wait for
    with pytest.raises(RuntimeError, match="this sender is closed"):
        sender.send(1)
    sender.close()  # closing twice is fine


def test_the_default_output_is_the_messages_when_several_are_wired():
    targets = {"a": ["http://127.0.0.1:9/a"], "b": ["http://127.0.0.1:9/b"]}
    assert Sender(targets, activation_id="x", default_output="b").default_output == "b"
    assert Sender(targets, activation_id="x").default_output is None
    assert Sender(targets, activation_id="x", default_output="c").default_output is None
    assert Sender({"a": targets["a"]}, activation_id="x").default_output == "a"


@pytest.mark.parametrize("url", ["ftp://host/records/x", "http:///records/x", "records/x"])
def test_only_http_urls_with_a_host_are_targets(url):
    with pytest.raises(ValueError, match=f"{url!r} is not an http\\(s\\) URL"):
        Sender({"o": [url]}, activation_id="a")


def test_a_connection_speaks_tls_to_https_and_waits_as_long_as_it_was_told(monkeypatch):
    made = []

    class Fake:
        def __init__(self, host, port, timeout):
            made.append((type(self).__name__, host, port, timeout))

        def connect(self):
            raise ConnectionRefusedError("stop here")

        def close(self):
            pass

    monkeypatch.setattr(http.client, "HTTPSConnection", type("HTTPSConnection", (Fake,), {}))
    monkeypatch.setattr(http.client, "HTTPConnection", type("HTTPConnection", (Fake,), {}))
    for url in ("https://receiver.example:8443/records/x", "http://receiver.example/records/x"):
        with pytest.raises(ConnectionRefusedError):
            sender_module._Connection(url, 3.5).post(b"{}")
    assert made == [
        ("HTTPSConnection", "receiver.example", 8443, 3.5),
        ("HTTPConnection", "receiver.example", None, 3.5),
    ]


def test_the_defaults_and_what_a_tasks_environment_sets(monkeypatch):
    plain = Sender({"o": ["http://127.0.0.1:9/x"]}, activation_id="a")
    assert (plain.batch_size, plain._queue.maxsize, plain.linger, plain.retry_seconds) == (100, 1000, 0.02, 120.0)
    assert plain._connections["http://127.0.0.1:9/x"].timeout == 10.0
    monkeypatch.setattr(sender_module, "_default", None)
    monkeypatch.setattr(sender_module.atexit, "register", lambda fn: None)
    monkeypatch.setattr(sender_module, "read_message", lambda: {"outputName": "b", "skillName": "from-message"})
    monkeypatch.setenv("SKILLSHIP_TARGETS", json.dumps({"a": "http://127.0.0.1:9/a", "b": ["http://127.0.0.1:9/b"]}))
    monkeypatch.setenv("SKILLSHIP_ACTIVATION_ID", "act-1")
    monkeypatch.delenv("SKILLSHIP_SKILL", raising=False)
    monkeypatch.setenv("SKILLSHIP_SEND_BATCH", "7")
    monkeypatch.setenv("SKILLSHIP_SEND_BUFFER", "")  # empty: the default
    monkeypatch.setenv("SKILLSHIP_SEND_RETRY_SECONDS", "1.5")
    configured = sender_module.default_sender()
    assert configured.targets == {
        "a": [sender_module.Target("http://127.0.0.1:9/a")],
        "b": [sender_module.Target("http://127.0.0.1:9/b")],
    }
    assert (configured.activation_id, configured.skill, configured.default_output) == ("act-1", "from-message", "b")
    assert (configured.batch_size, configured._queue.maxsize, configured.retry_seconds) == (7, 1000, 1.5)
    assert sender_module.default_sender() is configured  # one per process
    monkeypatch.setattr(sender_module, "_default", None)
    monkeypatch.setenv("SKILLSHIP_TARGETS", "{not json")
    with pytest.raises(ValueError, match="SKILLSHIP_TARGETS is not JSON"):
        sender_module.default_sender()


def test_a_task_without_its_environment_still_gets_a_sender_of_the_documented_defaults(monkeypatch):
    registered = []
    monkeypatch.setattr(sender_module, "_default", None)
    monkeypatch.setattr(sender_module.atexit, "register", registered.append)
    for name in (
        "SKILLSHIP_ACTIVATION_ID",
        "SKILLSHIP_SKILL",
        "SKILLSHIP_SEND_BATCH",
        "SKILLSHIP_SEND_BUFFER",
        "SKILLSHIP_SEND_RETRY_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SKILLSHIP_TARGETS", json.dumps({"o": "http://127.0.0.1:9/o"}))

    def unreadable():
        raise ValueError("no message")

    monkeypatch.setattr(sender_module, "read_message", unreadable)
    fallback = sender_module.default_sender()
    assert len(fallback.activation_id) == 32 and fallback.skill == ""  # a fresh activation: keys stay unique
    assert (fallback.batch_size, fallback._queue.maxsize, fallback.retry_seconds) == (100, 1000, 120.0)
    assert registered == [sender_module._close_at_exit]  # undelivered records fail the process at exit
    monkeypatch.setattr(sender_module, "_default", None)
    monkeypatch.setattr(sender_module, "read_message", lambda: {"activationId": "from-message"})
    assert sender_module.default_sender().activation_id == "from-message"
