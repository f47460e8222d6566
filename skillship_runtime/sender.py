"""send_message: output records, one by one, to the skills an agent wires an output to.

Records are queued (a bounded buffer: a fast producer waits rather than filling memory), sent in
batches by one background thread over a kept-alive connection, and retried with backoff while a
retry budget lasts. A receiver on Skillship's runtime takes a batch per call; a daemon of its own
making (an "envelope" target) is called as Cortex called it: a message envelope per record, with
the record's key in an Idempotency-Key header. Each record carries an idempotency key,
`<activation>/<output>/<sequence>`: a batch that is retried after the receiver already stored it
is dropped there, so every record is kept exactly once. A record that cannot be delivered fails
the task: `send_message` and `flush` raise DeliveryError, and a script that ends with records
undelivered exits with code 1.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import queue
import random
import socket
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from skillship_runtime.contract import (
    ACTIVATION_ENV,
    ENVELOPE_FORMAT,
    IDEMPOTENCY_HEADER,
    SKILL_ENV,
    TARGET_FORMAT,
    TARGET_METHOD,
    TARGET_URL,
    TARGETS_ENV,
)
from skillship_runtime.message import read_message

# Answers that say "try again later". Not 501 or 505 (the receiver will never handle the request)
# nor any 4xx that describes the batch itself: resending those cannot help.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BATCH_BYTES = 1024 * 1024  # of a batch's records; a single larger record goes alone
_CLOSE = object()


def _encoded_size(item: tuple[str, dict[str, Any]]) -> int:
    """The bytes one queued record adds to a batch's `records` list (JSON is ASCII here)."""
    return len(json.dumps(item[1])) + 1


@dataclass(frozen=True)
class Target:
    """Where an output's records go: `method` None for a receiver on the runtime (batches of
    records), else the method that sends one message envelope per record."""

    url: str
    method: str | None = None

    @classmethod
    def of(cls, entry: Any) -> Target:
        """An entry of SKILLSHIP_TARGETS: a URL, or {"url", "method", "format": "envelope"}."""
        if isinstance(entry, str):
            return cls(entry)
        if (
            isinstance(entry, Mapping)
            and entry.get(TARGET_FORMAT) == ENVELOPE_FORMAT
            and isinstance(entry.get(TARGET_URL), str)
        ):
            return cls(entry[TARGET_URL], str(entry.get(TARGET_METHOD) or "POST").upper())
        raise ValueError(f"{entry!r} is not a target: a URL, or an object with url, method and format envelope")


class DeliveryError(RuntimeError):
    """Records could not be delivered; the message names the target and how many records."""


@dataclass
class _Failure:
    output: str
    url: str
    reason: str
    undelivered: int

    def message(self) -> str:
        return f"{self.undelivered} record(s) of output {self.output!r} were not delivered to {self.url}: {self.reason}"


class _Connection:
    """One kept-alive HTTP connection to one receiver URL."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL")
        self.url, self.timeout = url, timeout
        self.host, self.port, self.https = parts.hostname, parts.port, parts.scheme == "https"
        self.path = parts.path or "/"
        self._conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes, method: str = "POST", headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        try:
            if self._conn is None:
                kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
                self._conn = kind(self.host, self.port, timeout=self.timeout)
                self._conn.connect()
                # http.client writes headers and body in two sends: without NODELAY, Nagle's
                # algorithm and the receiver's delayed ACK stall every batch by ~40 ms.
                self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn.request(method, self.path, body, {"Content-Type": "application/json", **(headers or {})})
            answer = self._conn.getresponse()
            return answer.status, answer.read()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Sender:
    def __init__(
        self,
        targets: Mapping[str, Sequence[str | Mapping[str, Any] | Target]],
        *,
        activation_id: str,
        skill: str = "",
        default_output: str | None = None,
        batch_size: int = 100,
        buffer_size: int = 1000,
        linger: float = 0.02,
        retry_seconds: float = 120.0,
        backoff: tuple[float, float] = (0.05, 2.0),
        request_timeout: float = 10.0,
    ) -> None:
        self.targets = {
            output: [t if isinstance(t, Target) else Target.of(t) for t in found]
            for output, found in targets.items()
            if found
        }
        self.activation_id, self.skill = activation_id, skill
        self.default_output = (
            default_output
            if default_output in self.targets
            else (next(iter(self.targets)) if len(self.targets) == 1 else None)
        )
        self.batch_size, self.linger = max(1, batch_size), linger
        self.retry_seconds, self.backoff = retry_seconds, backoff
        self._connections = {
            t.url: _Connection(t.url, request_timeout) for found in self.targets.values() for t in found
        }
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, buffer_size))
        self._sequence: dict[str, int] = {}
        self._failure: _Failure | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="skillship-sender", daemon=True)
        self._started = self._closed = False
        self.delivered = 0

    # --- the producer's side ---

    def send(self, record: Any, output: str | None = None) -> None:
        """Queue one record (a JSON value) for `output`; waits while the buffer is full."""
        output = output or self.default_output
        if output is None:
            raise ValueError(f"name the output: this task's outputs are wired to {sorted(self.targets) or 'nothing'}")
        if output not in self.targets:
            raise ValueError(
                f"output {output!r} is not wired to any skill (wired: {', '.join(sorted(self.targets)) or 'none'}; "
                f"see the agent's mappings)"
            )
        if self._closed:
            raise RuntimeError("this sender is closed")
        # Not JSON: fail here, in the caller's line, not in the sender thread, and before the
        # record takes a sequence number (a refused record must not leave a gap the receiver sees).
        json.dumps(record)
        with self._lock:
            sequence = self._sequence.get(output, 0)
            self._sequence[output] = sequence + 1
        item = (output, {"key": f"{self.activation_id}/{output}/{sequence}", "sequence": sequence, "payload": record})
        if not self._started:
            self._started = True
            self._thread.start()
        while True:
            self._raise_if_failed(extra=1)
            try:
                self._queue.put(item, timeout=0.2)
            except queue.Full:
                continue
            if not self._thread.is_alive():  # failed while we queued: counted as undelivered
                self._raise_if_failed(extra=1)
            return

    def flush(self) -> None:
        """Wait until every record queued so far is delivered (or has failed)."""
        # Polled rather than Queue.join(): after a failure the thread is gone and nothing more
        # will ever be marked done.
        while self._started and self._queue.unfinished_tasks and self._thread.is_alive():
            time.sleep(0.005)
        self._raise_if_failed()

    def close(self) -> None:
        """Deliver everything queued; raises DeliveryError naming what could not be delivered."""
        if self._closed:
            self._raise_if_failed()
            return
        self._closed = True
        while self._started and self._thread.is_alive():
            try:
                self._queue.put(_CLOSE, timeout=0.2)
                break
            except queue.Full:
                continue
        if self._started:
            self._thread.join()
        for connection in self._connections.values():
            connection.close()
        self._raise_if_failed()

    def _raise_if_failed(self, extra: int = 0) -> None:
        if self._failure is not None:
            with self._lock:
                self._failure.undelivered += extra
            raise DeliveryError(self._failure.message())

    # --- the sender thread ---

    def _run(self) -> None:
        closing, carried = False, None
        while not closing:
            first, carried = (carried, None) if carried is not None else (self._queue.get(), None)
            if first is _CLOSE:
                self._queue.task_done()
                break
            batch, size = [first], _encoded_size(first)
            deadline = time.monotonic() + self.linger
            while len(batch) < self.batch_size:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _CLOSE:
                    self._queue.task_done()
                    closing = True
                    break
                item_size = _encoded_size(item)
                if size + item_size > MAX_BATCH_BYTES:
                    carried = item  # it opens the next batch: a batch stays within the limit
                    break
                batch.append(item)
                size += item_size
            failure = self._deliver(batch)
            for _ in batch:
                self._queue.task_done()
            if failure is not None:
                if carried is not None:
                    self._queue.task_done()
                    with self._lock:
                        failure.undelivered += 1
                self._drain(failure)
                return

    def _deliver(self, batch: list[Any]) -> _Failure | None:
        """None once every target has the batch; else the failure, which is also the sender's."""
        by_output: dict[str, list[dict[str, Any]]] = {}
        for output, record in batch:
            by_output.setdefault(output, []).append(record)
        for output, records in by_output.items():
            for target in self.targets[output]:
                reason = self._deliver_to(target, output, records)
                if reason is not None:
                    self._failure = _Failure(output, target.url, reason, len(batch))
                    return self._failure
            self.delivered += len(records)
        return None

    def _deliver_to(self, target: Target, output: str, records: list[dict[str, Any]]) -> str | None:
        connection = self._connections[target.url]
        if target.method is None:
            body = {
                "activationId": self.activation_id,
                "skillName": self.skill,
                "outputName": output,
                "records": records,
            }
            return self._post(connection, json.dumps(body).encode("utf-8"))
        for record in records:
            envelope = {
                "activationId": self.activation_id,
                "channelId": self.activation_id,
                "sessionId": self.activation_id,
                "skillName": self.skill,
                "outputName": output,
                "payload": record["payload"],
            }
            reason = self._post(
                connection, json.dumps(envelope).encode("utf-8"), target.method, {IDEMPOTENCY_HEADER: record["key"]}
            )
            if reason is not None:
                return reason
        return None

    def _post(
        self, connection: _Connection, body: bytes, method: str = "POST", headers: Mapping[str, str] | None = None
    ) -> str | None:
        """None once the receiver has the body; else why it never will."""
        started = time.monotonic()
        delay, attempts = self.backoff[0], 0
        while True:
            attempts += 1
            try:
                status, answer = connection.post(body, method, headers)
            except (OSError, http.client.HTTPException) as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if 200 <= status < 300:
                    return None
                text = answer[:200].decode("utf-8", "replace")
                if status not in RETRYABLE:
                    return f"the receiver refused them with HTTP {status} ({text})"
                last = f"HTTP {status} ({text})"
            elapsed = time.monotonic() - started
            if elapsed + delay > self.retry_seconds:
                return f"still failing after {attempts} attempt(s) in {elapsed:.1f} s; last error: {last}"
            time.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, self.backoff[1])

    def _drain(self, failure: _Failure) -> None:
        """After a failure: count what is still queued, and free any producer waiting on the buffer."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            self._queue.task_done()
            if item is not _CLOSE:
                with self._lock:
                    failure.undelivered += 1


# --- the process-wide sender used by send_message ---

_default: Sender | None = None
_default_lock = threading.Lock()


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def default_sender() -> Sender:
    """The sender configured by the task's environment (SKILLSHIP_TARGETS and friends)."""
    global _default
    with _default_lock:
        if _default is None:
            try:
                targets = json.loads(os.environ.get(TARGETS_ENV) or "{}")
            except json.JSONDecodeError as exc:
                raise ValueError(f"{TARGETS_ENV} is not JSON: {exc}") from None
            message: dict[str, Any] = {}
            try:
                message = read_message()
            except (OSError, ValueError):
                pass
            _default = Sender(
                {k: [v] if isinstance(v, (str, Mapping)) else list(v) for k, v in targets.items()},
                activation_id=os.environ.get(ACTIVATION_ENV) or message.get("activationId") or uuid.uuid4().hex,
                skill=os.environ.get(SKILL_ENV) or message.get("skillName") or "",
                default_output=message.get("outputName") or None,
                batch_size=int(_env_float("SKILLSHIP_SEND_BATCH", 100)),
                buffer_size=int(_env_float("SKILLSHIP_SEND_BUFFER", 1000)),
                retry_seconds=_env_float("SKILLSHIP_SEND_RETRY_SECONDS", 120),
            )
            atexit.register(_close_at_exit)
        return _default


def send_message(record: Any, output: str | None = None) -> None:
    """Send one output record to the skill(s) the agent wires `output` to (default: the task's output)."""
    default_sender().send(record, output)


def flush() -> None:
    """Wait until every record sent so far is delivered; raises DeliveryError if some cannot be."""
    if _default is not None:
        _default.flush()


def close_default_sender() -> None:
    """Deliver what is left and stop sending (the sequence never restarts: keys stay unique)."""
    if _default is not None:
        _default.close()


def _close_at_exit() -> None:
    """A script that ends without flush(): deliver now, and fail the process if that is impossible."""
    try:
        close_default_sender()
    except DeliveryError as exc:
        sys.stderr.write(f"skillship-runtime: {exc}\n")
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(1)
