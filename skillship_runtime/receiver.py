"""The receiving side of send_message, for daemon skills: records arrive in batches over HTTP,
each is kept once by its idempotency key, and the answer says what happened.

    POST /records/<input>   {"activationId", "skillName", "outputName", "records": [{"key", "sequence", "payload"}]}
      200 {"accepted": n, "duplicates": m}   every record is stored (new ones) or was already
      400 the body is not a batch of records  413 the body is too large   404 unknown path
      500 the records could not be stored: the sender retries the batch
    GET /healthz   200 once the store is loaded
    GET /stats     200 {"received": distinct records, "duplicates": dropped since start}

Records are appended to a JSON-lines file and flushed to disk before the answer, so a receiver
that is killed and restarted keeps what it acknowledged and still drops repeats of it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from skillship_runtime.contract import DATA_DIR, DATA_DIR_ENV, DEFAULT_PORT, PORT_ENV, RECORDS_PATH

MAX_BODY = 8 * 1024 * 1024
RECORDS_FILE = "records.jsonl"
# A connection that sends nothing for this long is closed, and its thread ends: each kept-alive
# connection holds a thread, and idle ones would otherwise pile up for ever. Senders reconnect
# and resend (their batches carry idempotency keys), so closing an idle one loses nothing.
IDLE_SECONDS = 60.0

Handler = Callable[[str, dict[str, Any]], None]  # (input, stored record) -> None


class RecordStore:
    """Records by idempotency key, in a file that survives restarts."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / RECORDS_FILE
        self.keys: set[str] = set()
        self.duplicates = 0
        self._lock = threading.Lock()
        self._load()
        self._file = open(self.path, "ab")

    def _load(self) -> None:
        """Read the keys kept so far; a last line cut short by a crash was never acknowledged: drop it."""
        if not self.path.exists():
            return
        good = 0
        with open(self.path, "rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break
                try:
                    self.keys.add(json.loads(line)["key"])
                except (ValueError, KeyError, TypeError):
                    break
                good += len(line)
        if good != self.path.stat().st_size:
            with open(self.path, "r+b") as handle:
                handle.truncate(good)

    def add(self, input_name: str, batch: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        """Store the new records of a batch durably; returns (new records, duplicates)."""
        with self._lock:
            fresh, seen, duplicates = [], set(), 0
            for record in batch["records"]:
                key = record["key"]
                if key in self.keys or key in seen:
                    duplicates += 1
                    continue
                seen.add(key)
                fresh.append(
                    {
                        "key": key,
                        "input": input_name,
                        "activationId": batch.get("activationId"),
                        "sequence": record.get("sequence"),
                        "payload": record.get("payload"),
                    }
                )
            if fresh:
                start = self._file.tell()
                try:
                    self._file.write(b"".join(json.dumps(r, sort_keys=True).encode("utf-8") + b"\n" for r in fresh))
                    self._file.flush()
                    os.fsync(self._file.fileno())
                except BaseException:
                    self._file.truncate(start)  # never leave half a batch behind acknowledged records
                    raise
                self.keys.update(seen)
            self.duplicates += duplicates
            return fresh, duplicates

    def close(self) -> None:
        self._file.close()


def _valid_batch(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        return "a batch is a JSON object with a 'records' list"
    for index, record in enumerate(body["records"]):
        if not isinstance(record, dict) or not isinstance(record.get("key"), str) or not record["key"]:
            return f"records[{index}] has no 'key' (the idempotency key)"
    return None


def make_handler(
    store: RecordStore, inputs: set[str] | None, on_record: Handler | None, idle_seconds: float = IDLE_SECONDS
) -> type[BaseHTTPRequestHandler]:
    class RecordHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: senders reuse their connection
        timeout = idle_seconds  # socketserver sets it on the connection; a read that waits longer ends it

        def setup(self) -> None:
            super().setup()
            # Answers go out as headers and body, two writes: do not let Nagle hold the second.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/healthz":
                self._answer(200, {"status": "ok"})
            elif self.path == "/stats":
                self._answer(200, {"received": len(store.keys), "duplicates": store.duplicates})
            else:
                self._answer(404, {"error": f"no such path {self.path}"})

        def do_POST(self) -> None:  # noqa: N802
            prefix, _, input_name = self.path.partition(RECORDS_PATH)
            if prefix or not input_name or (inputs is not None and input_name not in inputs):
                self._discard_body()
                known = ", ".join(sorted(inputs)) if inputs else "any"
                self._answer(404, {"error": f"no input at {self.path} (POST {RECORDS_PATH}<input>; inputs: {known})"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self._answer(400, {"error": "bad Content-Length"}, close=True)
                return
            if length > MAX_BODY:
                self._answer(413, {"error": f"a batch may hold at most {MAX_BODY} bytes"}, close=True)
                return
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except (ValueError, UnicodeDecodeError) as exc:
                self._answer(400, {"error": f"not JSON: {exc}"})
                return
            problem = _valid_batch(body)
            if problem:
                self._answer(400, {"error": problem})
                return
            try:
                fresh, duplicates = store.add(input_name, body)
                for record in fresh:
                    if on_record is not None:
                        on_record(input_name, record)
            except Exception as exc:  # the sender retries: say so, keep serving
                self._answer(500, {"error": f"the records could not be stored: {exc}"})
                return
            self._answer(200, {"accepted": len(fresh), "duplicates": duplicates})

        def _discard_body(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if 0 < length <= MAX_BODY:
                self.rfile.read(length)

        def _answer(self, status: int, body: dict[str, Any], *, close: bool = False) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            if os.environ.get("SKILLSHIP_ACCESS_LOG"):
                sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return RecordHandler


class RecordServer(ThreadingHTTPServer):
    """A thread per connection, ending with its connection (IDLE_SECONDS bounds idle ones)."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 makes a burst of new senders wait on connect


def serve(
    *,
    port: int | None = None,
    data_dir: str | Path | None = None,
    inputs: set[str] | None = None,
    on_record: Handler | None = None,
    host: str = "0.0.0.0",
) -> None:
    """Serve until killed. PORT and SKILLSHIP_DATA_DIR from the environment by default."""
    port = int(os.environ.get(PORT_ENV) or DEFAULT_PORT) if port is None else port
    directory = Path(data_dir or os.environ.get(DATA_DIR_ENV) or DATA_DIR)
    store = RecordStore(directory)
    server = RecordServer((host, port), make_handler(store, inputs, on_record))
    print(f"receiving records on port {server.server_address[1]}, {len(store.keys)} kept in {store.path}", flush=True)
    try:
        server.serve_forever()
    finally:
        store.close()
