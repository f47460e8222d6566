"""skillship_runtime's pieces: the receiver's protocol and store, the sender, the proxy wrapper."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.records import free_port
from harness.servers import QuietHandler, ScriptedReceiver
from skillship_runtime import sender as sender_module
from skillship_runtime.message import read_message
from skillship_runtime.receiver import RecordServer, RecordStore, make_handler
from skillship_runtime.sender import DeliveryError, Sender


@pytest.fixture()
def receiver(tmp_path):
    store = RecordStore(tmp_path / "data")
    seen: list[tuple[str, dict]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(store, {"records"}, lambda i, r: seen.append((i, r))))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    server.store, server.seen = store, seen
    yield server
    server.shutdown()
    store.close()


def _post(port: int, path: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})
    answer = connection.getresponse()
    data = json.loads(answer.read())
    connection.close()
    return answer.status, data


def _batch(*keys: str) -> bytes:
    return json.dumps(
        {"activationId": "a", "records": [{"key": k, "sequence": i, "payload": {"n": i}} for i, k in enumerate(keys)]}
    ).encode()


def test_receiver_keeps_each_key_once_and_says_so(receiver):
    port = receiver.server_address[1]
    assert _post(port, "/records/records", _batch("a/1", "a/2", "a/2")) == (200, {"accepted": 2, "duplicates": 1})
    assert _post(port, "/records/records", _batch("a/2", "a/3")) == (200, {"accepted": 1, "duplicates": 1})
    assert [r["key"] for _, r in receiver.seen] == ["a/1", "a/2", "a/3"]
    assert len(receiver.store.path.read_text().splitlines()) == 3


@pytest.mark.parametrize(
    "path, body, status, words",
    [
        ("/records/other", _batch("k"), 404, "no input at /records/other"),
        ("/elsewhere", _batch("k"), 404, "no input"),
        ("/records/records", b"{nope", 400, "not JSON"),
        ("/records/records", b'{"records": {}}', 400, "'records' list"),
        ("/records/records", b'{"records": [{"payload": 1}]}', 400, "records[0] has no 'key'"),
    ],
)
def test_receiver_answers_bad_batches_clearly_and_stores_nothing(receiver, path, body, status, words):
    code, answer = _post(receiver.server_address[1], path, body)
    assert code == status and words in answer["error"]
    assert receiver.store.keys == set() and receiver.seen == []


def test_receiver_refuses_oversized_batches_before_reading_them(receiver):
    connection = http.client.HTTPConnection("127.0.0.1", receiver.server_address[1], timeout=5)
    connection.putrequest("POST", "/records/records")
    connection.putheader("Content-Length", str(64 * 1024 * 1024))
    connection.endheaders()
    answer = connection.getresponse()
    assert answer.status == 413 and "at most" in json.loads(answer.read())["error"]


def test_a_store_cut_short_by_a_crash_drops_the_unacknowledged_tail(tmp_path):
    store = RecordStore(tmp_path)
    store.add("records", json.loads(_batch("k/1", "k/2")))
    store.close()
    with open(tmp_path / "records.jsonl", "ab") as handle:
        handle.write(b'{"key": "k/3", "payl')  # killed in the middle of a write
    again = RecordStore(tmp_path)
    assert again.keys == {"k/1", "k/2"}
    fresh, duplicates = again.add("records", json.loads(_batch("k/2", "k/3")))
    assert [r["key"] for r in fresh] == ["k/3"] and duplicates == 1
    again.close()
    assert [json.loads(line)["key"] for line in (tmp_path / "records.jsonl").read_text().splitlines()] == [
        "k/1",
        "k/2",
        "k/3",
    ]


def test_sender_delivers_every_record_once_in_order(receiver):
    url = f"http://127.0.0.1:{receiver.server_address[1]}/records/records"
    sender = Sender({"records": [url]}, activation_id="act", batch_size=50, buffer_size=10)
    for n in range(500):
        sender.send({"n": n})
    sender.close()
    assert sender.delivered == 500
    assert [r["key"] for _, r in receiver.seen] == [f"act/records/{n}" for n in range(500)]
    assert [r["payload"] for _, r in receiver.seen] == [{"n": n} for n in range(500)]
    assert len(receiver.store.keys) == 500


@pytest.fixture()
def scripted():
    with ScriptedReceiver() as receiver:
        yield receiver


@pytest.mark.parametrize(
    "answers", [[429], [503], [429, 503, 502, 500, 504, 408, 425]], ids=["429", "503", "every-retryable"]
)
def test_a_receiver_that_says_later_gets_the_same_batch_again(scripted, answers):
    scripted.script = list(answers)
    sender = Sender({"records": [scripted.url]}, activation_id="act", backoff=(0.01, 0.02))
    for n in range(3):
        sender.send({"n": n})
    sender.close()
    assert sender.delivered == 3
    assert len(scripted.bodies) == len(answers) + 1
    assert len(set(scripted.bodies)) == 1  # the very same keys each time: the receiver drops repeats
    assert [r["key"] for r in scripted.batches()[-1]] == ["act/records/0", "act/records/1", "act/records/2"]


@pytest.mark.parametrize("status", [400, 404, 413, 501, 505])
def test_an_answer_that_cannot_change_fails_at_once_and_says_which(scripted, status):
    scripted.script = [status]
    sender = Sender({"records": [scripted.url]}, activation_id="act", backoff=(0.01, 0.02))
    sender.send({"n": 0})
    with pytest.raises(
        DeliveryError,
        match=rf"1 record\(s\) of output 'records' were not delivered to .*"
        rf"refused them with HTTP {status} \(.*scripted {status}",
    ):
        sender.close()
    assert len(scripted.bodies) == 1


def test_the_docs_list_the_answers_the_sender_retries():
    readme = (Path(__file__).parent.parent / "docs" / "runtime.md").read_text()
    listed = ", ".join(str(code) for code in sorted(sender_module.RETRYABLE)[:-1])
    assert f"{listed} and {sorted(sender_module.RETRYABLE)[-1]}" in " ".join(readme.split())


def test_a_batch_holds_at_most_100_records(scripted):
    sender = Sender({"records": [scripted.url]}, activation_id="act", linger=5.0)
    for n in range(250):
        sender.send(n)
    sender.close()
    assert [len(batch) for batch in scripted.batches()] == [100, 100, 50]
    assert [r["payload"] for batch in scripted.batches() for r in batch] == list(range(250))


def test_a_batch_holds_at_most_1_mib_of_records_and_a_bigger_record_goes_alone(scripted):
    quarter = "x" * (256 * 1024 - 100)  # four of these fit in 1 MiB with their keys, five do not
    sizes = [1, 1, 1, 1, 1, 5, 1]  # in quarters: the sixth record alone is over 1 MiB
    sender = Sender({"records": [scripted.url]}, activation_id="act", linger=5.0)
    for n, quarters in enumerate(sizes):
        sender.send({"n": n, "text": quarter * quarters})
    sender.close()
    batches = scripted.batches()
    assert [[r["payload"]["n"] for r in batch] for batch in batches] == [[0, 1, 2, 3], [4], [5], [6]]
    for batch in batches:
        records = len(json.dumps(batch))
        assert records <= sender_module.MAX_BATCH_BYTES or len(batch) == 1


def test_a_fast_producer_waits_on_the_bounded_buffer(scripted):
    """While the receiver holds a batch, the producer may run ahead by the buffer and no further;
    once the receiver answers, everything is delivered in order."""
    scripted.gate.clear()
    sender = Sender({"records": [scripted.url]}, activation_id="act", batch_size=1, buffer_size=5, linger=0)
    returned = []
    producer = threading.Thread(target=lambda: [sender.send(n) or returned.append(n) for n in range(50)], daemon=True)
    producer.start()
    deadline = time.monotonic() + 10
    while len(returned) < 6 and time.monotonic() < deadline:  # one batch in flight, five queued
        time.sleep(0.01)
    time.sleep(0.3)
    held = len(returned)
    assert producer.is_alive() and held == 6, f"the producer ran {held} records ahead of a silent receiver"
    scripted.gate.set()
    producer.join(30)
    sender.close()
    assert returned == list(range(50))
    assert [r["payload"] for batch in scripted.batches() for r in batch] == list(range(50))


def test_sender_refuses_unwired_outputs_and_values_that_are_not_json():
    sender = Sender({"records": ["http://127.0.0.1:9/records/x"]}, activation_id="a")
    with pytest.raises(ValueError, match="output 'other' is not wired to any skill"):
        sender.send(1, output="other")
    with pytest.raises(TypeError):
        sender.send({"not": {1, 2}})
    with pytest.raises(ValueError, match="name the output"):
        Sender({"a": ["http://x/records/a"], "b": ["http://x/records/b"]}, activation_id="a").send(1)


def test_a_refused_record_leaves_no_gap_in_the_sequence(receiver):
    url = f"http://127.0.0.1:{receiver.server_address[1]}/records/records"
    sender = Sender({"records": [url]}, activation_id="act")
    sender.send({"n": 0})
    with pytest.raises(TypeError):
        sender.send({"not": {1, 2}})
    sender.send({"n": 1})
    sender.close()
    assert [(r["sequence"], r["key"]) for _, r in receiver.seen] == [(0, "act/records/0"), (1, "act/records/1")]


def test_sender_fails_with_the_target_and_the_count_when_the_receiver_stays_down():
    url = f"http://127.0.0.1:{free_port()}/records/records"
    sender = Sender({"records": [url]}, activation_id="a", retry_seconds=0.5, backoff=(0.05, 0.1))
    for n in range(30):
        try:
            sender.send(n)
        except DeliveryError:
            break
    with pytest.raises(DeliveryError, match=rf"30 record\(s\) of output 'records' were not delivered to {url}"):
        sender.close()


def test_read_message_reads_argv_and_files(tmp_path):
    assert read_message(["main.py", '{"payload": 1}']) == {"payload": 1}
    path = tmp_path / "message.json"
    path.write_text('{"payload": "big"}')
    assert read_message(["main.py", f"@{path}"]) == {"payload": "big"}
    with pytest.raises(ValueError, match="not a JSON object"):
        read_message(["main.py", "[1]"])


class _Envoy(QuietHandler):
    """Istio's proxy as the runtime sees it: LIVE after a few polls, and told to quit at the end."""

    polls = 0
    quits = 0
    live_after = 3

    def do_GET(self) -> None:  # noqa: N802
        type(self).polls += 1
        state = "LIVE" if type(self).polls > self.live_after else "PRE_INITIALIZING"
        self._answer(json.dumps({"state": state}).encode())

    def do_POST(self) -> None:  # noqa: N802
        assert self.path == "/quitquitquit"
        type(self).quits += 1
        self._answer(b"OK")

    def _answer(self, data: bytes) -> None:
        self.reply(200, data)


@pytest.fixture()
def envoy():
    handler = type("Envoy", (_Envoy,), {"polls": 0, "quits": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _wrapped(script: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "skillship_runtime", str(script), '{"payload": 1}'],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_wrapper_waits_for_the_proxy_runs_the_script_and_stops_the_proxy(envoy, tmp_path):
    handler, url = envoy
    script = tmp_path / "main.py"
    script.write_text("import sys\nprint('ran with', sys.argv[-1])\nsys.exit(3)\n")
    done = _wrapped(script, {"ENVOY_ADMIN_API": url, "ISTIO_QUIT_API": url})
    assert done.returncode == 3  # the script's own code
    assert 'ran with {"payload": 1}' in done.stdout
    assert handler.polls > handler.live_after and handler.quits == 1


def test_the_wrapper_fails_when_the_proxy_never_comes(tmp_path):
    script = tmp_path / "main.py"
    script.write_text("print('must not run')\n")
    dead = f"http://127.0.0.1:{free_port()}"
    done = _wrapped(script, {"ENVOY_ADMIN_API": dead, "ISTIO_QUIT_API": dead, "SKILLSHIP_PROXY_WAIT_SECONDS": "0.5"})
    assert done.returncode == 1
    assert f"the Istio proxy at {dead} was not LIVE within 0.5 s" in done.stderr
    assert "must not run" not in done.stdout


def test_without_a_proxy_the_wrapper_only_runs_the_script(tmp_path):
    script = tmp_path / "main.py"
    script.write_text("print('plain')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("ENVOY_ADMIN_API", "ISTIO_QUIT_API")}
    done = subprocess.run(
        [sys.executable, "-m", "skillship_runtime", str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout == "plain\n"


def test_a_script_that_ends_without_flush_still_delivers_or_fails(tmp_path):
    script = tmp_path / "main.py"
    script.write_text("from skillship_runtime import send_message\nfor n in range(7):\n    send_message(n)\n")
    target = f"http://127.0.0.1:{free_port()}/records/records"
    env = {
        **os.environ,
        "SKILLSHIP_TARGETS": json.dumps({"records": [target]}),
        "SKILLSHIP_SEND_RETRY_SECONDS": "0.5",
        "SKILLSHIP_ACTIVATION_ID": "a",
    }
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"7 record(s) of output 'records' were not delivered to {target}" in done.stderr


def test_idle_keep_alive_connections_are_closed_and_never_stop_a_real_post(tmp_path):
    """Each connection holds a thread: idle ones must end (a handler timeout), and while they are
    open a sender's POST is still served at once."""
    import socket

    store = RecordStore(tmp_path / "data")
    server = RecordServer(("127.0.0.1", 0), make_handler(store, {"records"}, None, idle_seconds=2.0))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    port = server.server_address[1]
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(100)]
    try:
        started = time.monotonic()
        assert _post(port, "/records/records", _batch("k/1")) == (200, {"accepted": 1, "duplicates": 0})
        assert time.monotonic() - started < 1
        assert threading.active_count() >= before + 100  # a thread per open connection, as expected
        for connection in idle:  # the server closes each after a second of silence: recv sees the end
            assert connection.recv(1) == b""
        deadline = time.monotonic() + 10
        while threading.active_count() > before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert threading.active_count() <= before
    finally:
        for connection in idle:
            connection.close()
        server.shutdown()
        store.close()
