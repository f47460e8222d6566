"""The daemon action of skill consumer: answers messages POSTed as JSON to /invoke.

A message is a JSON object whose `payload` is the input. The answer is `{"payload": ...}`.
Only the standard library is used, so the image stays small.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._answer(200, {"status": "ok"})
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/invoke":
            self._answer(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(413, {"error": f"message larger than {MAX_BODY} bytes"})
            return
        try:
            message = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as exc:
            self._answer(400, {"error": f"not JSON: {exc.msg}"})
            return
        if not isinstance(message, dict):
            self._answer(400, {"error": "a message is a JSON object"})
            return
        self._answer(200, {"payload": {"received": message.get("payload")}})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> int:
    port = int(os.environ.get("PORT", "5000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(f"listening on port {port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
