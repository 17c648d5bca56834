"""A webhook receiver for QA: verifies each post's Standard Webhooks signature and records it.

``mock-idp webhook-sink --port 9000 --secret whsec_...`` answers every ``POST`` (any path):
``204`` when the signature verifies (``standardwebhooks``), ``401`` when it does not, and records
each post (``webhook-id``, whether it verified, the answer, the event).  Scripted faults make it
misbehave as real receivers do, one per post, in order, before it answers normally again:
``500`` (or any status), ``timeout`` (answer after ``--hang`` seconds: longer than the
deliverer waits), ``slow`` (answer after ``--slow`` seconds: within the wait) and ``close``
(close the connection without an answer).

Control plane (as moto's ``/moto-api/``): ``GET /_sink/received`` is the record as JSON,
``POST /_sink/faults`` (a JSON list) scripts faults, ``POST /_sink/reset`` empties both.  With
``--record FILE`` each post is also appended to FILE as a JSON line.  It imports nothing of
the connector.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

FAULTS = ("timeout", "slow", "close")


class Sink:
    """What the sink has received, and the faults it will answer the next posts with."""

    def __init__(
        self,
        secret: str,
        *,
        faults: Sequence[str] = (),
        hang: float = 3.0,
        slow: float = 0.5,
        record: Path | None = None,
    ) -> None:
        self.webhook = Webhook(secret)
        self.hang, self.slow = hang, slow
        self.record = record
        self.received: list[dict[str, Any]] = []
        self.faults: list[str] = [check_fault(f) for f in faults]
        self.lock = threading.Lock()

    def next_fault(self) -> str | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None

    def verify(self, body: bytes, headers: dict[str, str]) -> tuple[bool, Any]:
        try:
            return True, self.webhook.verify(body, headers)
        except (WebhookVerificationError, ValueError) as exc:
            return False, str(exc)

    def keep(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.received.append(entry)
            if self.record is not None:
                with self.record.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(entry, sort_keys=True) + "\n")

    def delivered_ids(self) -> list[str]:
        """The ids of the verified posts the sink took (answered 204 in time), in order."""
        with self.lock:
            return [
                e["webhook_id"]
                for e in self.received
                if e["verified"] and e["status"] == 204 and e["fault"] not in ("timeout", "close")
            ]


def check_fault(fault: str) -> str:
    """A fault as scripted: ``timeout``, ``slow``, ``close`` or an HTTP status (``500``)."""
    text = str(fault).strip().lower()
    if text in FAULTS or (text.isdigit() and 100 <= int(text) <= 599):
        return text
    raise ValueError(f"unknown fault {fault!r}: one of {', '.join(FAULTS)} or an HTTP status")


def _handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet: the record is the log
            return

        def _answer(self, status: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            if data:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/_sink/received":
                with sink.lock:
                    self._answer(200, list(sink.received))
            else:
                self._answer(404, {"error": "GET /_sink/received"})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path == "/_sink/faults":
                with sink.lock:
                    sink.faults += [check_fault(f) for f in json.loads(body or b"[]")]
                return self._answer(204)
            if self.path == "/_sink/reset":
                with sink.lock:
                    sink.received.clear()
                    sink.faults.clear()
                return self._answer(204)
            fault = sink.next_fault()
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified, event = sink.verify(body, headers)
            status = 204 if verified else 401
            if fault == "close":
                status = 0
            elif fault is not None and fault.isdigit():
                status = int(fault)
            sink.keep(
                {
                    "webhook_id": headers.get("webhook-id"),
                    "timestamp": headers.get("webhook-timestamp"),
                    "verified": verified,
                    "status": status,
                    "fault": fault,
                    "event": event if verified else None,
                    "error": None if verified else event,
                    "at": time.time(),
                }
            )
            if fault == "close":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return None
            if fault == "timeout":
                time.sleep(sink.hang)
            elif fault == "slow":
                time.sleep(sink.slow)
            return self._answer(status)

    return Handler


class SinkServer:
    """The sink on a thread (``with SinkServer(secret) as server: server.url``)."""

    def __init__(self, sink: Sink, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sink = sink
        self.httpd = ThreadingHTTPServer((host, port), _handler(sink))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="webhook-sink", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def start(self) -> SinkServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> SinkServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
