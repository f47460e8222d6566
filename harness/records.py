"""Real producer and consumer processes on loopback, and a proxy that makes the network unreliable."""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from harness import REPO
from harness.servers import QuietHandler

PRODUCER = REPO / "skills/producer/actions/producer/main.py"
CONSUMER = REPO / "skills/consumer/actions/consumer/main.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(port: int, path: str, timeout: float = 5) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


class Consumer:
    """The example consumer's main.py as a process, which the tests may kill and start again."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir, self.port = data_dir, port or free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 20) -> Consumer:
        env = {**os.environ, "PORT": str(self.port), "SKILLSHIP_DATA_DIR": str(self.data_dir)}
        self.process = subprocess.Popen(
            [sys.executable, str(CONSUMER)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if get_json(self.port, "/healthz", timeout=1)["status"] == "ok":
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the consumer exited: {self.process.stderr.read().decode()}") from None
                time.sleep(0.05)
        raise RuntimeError("the consumer did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stats(self) -> dict:
        return get_json(self.port, "/stats")

    def stored(self) -> list[dict]:
        """The records on disk. Read while the consumer writes, the last line may be half
        written: only lines that end in a newline count."""
        path = self.data_dir / "records.jsonl"
        if not path.exists():
            return []
        complete = path.read_text().split("\n")[:-1]
        return [json.loads(line) for line in complete]


class FlakyProxy:
    """Between producer and consumer: answers 500 at random, before forwarding a batch (the
    consumer never saw it) or after (the consumer stored it, the producer hears it failed)."""

    def __init__(self, target_port: int, *, fail_before: float, fail_after: float, seed: int = 7) -> None:
        self.target_port = target_port
        self.random = random.Random(seed)
        self.fail_before, self.fail_after = fail_before, fail_after
        self.forwarded = self.failed = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy._lock:
                    roll = proxy.random.random()
                if roll < proxy.fail_before:
                    return self._answer(500, b'{"error": "injected before"}', failed=True)
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=10)
                    connection.request("POST", self.path, body, {"Content-Type": "application/json"})
                    answer = connection.getresponse()
                    status, data = answer.status, answer.read()
                    connection.close()
                except OSError:
                    return self._answer(502, b'{"error": "the consumer is down"}', failed=True)
                with proxy._lock:
                    proxy.forwarded += 1
                if status == 200 and roll < proxy.fail_before + proxy.fail_after:
                    return self._answer(500, b'{"error": "injected after"}', failed=True)
                self._answer(status, data)

            def _answer(self, status: int, data: bytes, failed: bool = False) -> None:
                if failed:
                    with proxy._lock:
                        proxy.failed += 1
                self.reply(status, data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def run_producer(
    count: int, target: str, *, retry_seconds: float, wrapper: bool = False, timeout: float = 300
) -> subprocess.CompletedProcess:
    """The producer's main.py with its message, as a job runs it (with the runtime's entrypoint
    when `wrapper`)."""
    message = json.dumps(
        {
            "activationId": "producer-test",
            "outputName": "records",
            "payload": {"count": count},
            "properties": {"record.prefix": "r"},
        }
    )
    command = [sys.executable, *(["-m", "skillship_runtime"] if wrapper else []), str(PRODUCER), message]
    env = {
        **os.environ,
        "SKILLSHIP_TARGETS": json.dumps({"records": [target]}),
        "SKILLSHIP_SEND_RETRY_SECONDS": str(retry_seconds),
    }
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
