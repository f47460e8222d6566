"""The small HTTP servers the tests stand up on loopback: one way to answer, and silence; and one
scripted receiver of records, for the sender's tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that logs nothing and answers with `reply`."""

    def reply(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


class Request(NamedTuple):
    headers: dict[str, str]
    body: bytes

    @property
    def records(self) -> list[Any]:
        return json.loads(self.body)["records"]


class ScriptedReceiver:
    """A receiver of records on loopback (`url`) that answers each POST from `script`, then with
    200: an entry is a status (its body then says `scripted <status>`) or a (status, body) pair. It
    holds each request until `gate` is set (set at first) and keeps every one in `requests`."""

    def __init__(self) -> None:
        self.script: list[int | tuple[int, bytes]] = []
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        handler = type("ScriptedHandler", (_ScriptedHandler,), {"receiver": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/records/records"

    def __enter__(self) -> ScriptedReceiver:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()  # a held request ends, so shutdown does not wait on it
        self._server.shutdown()
        self._server.server_close()

    @property
    def bodies(self) -> list[bytes]:
        return [request.body for request in self.requests]

    def batches(self) -> list[list[Any]]:
        return [request.records for request in self.requests]

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        self.gate.wait(30)
        with self.lock:
            self.requests.append(Request(headers, body))
            entry = self.script.pop(0) if self.script else 200
        status, data = entry if isinstance(entry, tuple) else (entry, b"")
        if not data:
            data = json.dumps({"accepted": 0} if status == 200 else {"error": f"scripted {status}"}).encode()
        return status, data


class _ScriptedHandler(QuietHandler):
    receiver: ScriptedReceiver

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.reply(*self.receiver.answer(dict(self.headers), body))
