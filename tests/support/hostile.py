"""A hostile HTTP server for the trust-boundary tests: it answers what a test tells it to
(hostile ids, urls, redirects, control characters) and records every request it receives.

The emulator is a faithful API and a product feature; hostile answers belong here, in tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

Answer = tuple[int, dict[str, str], bytes]


def json_answer(body: object, status: int = 200, **headers: str) -> Answer:
    sent = {"Content-Type": "application/json", "request-id": "req_hostile", **headers}
    return status, sent, orjson.dumps(body)


def error_answer(status: int, error_type: str, message: str, **headers: str) -> Answer:
    envelope = {"type": "error", "error": {"type": error_type, "message": message}}
    return json_answer(envelope, status, **headers)


def batch(batch_id: str, status: str = "ended", results_url: str | None = None, **fields: Any) -> dict:
    """A MessageBatch as the API shapes it (the fields as given win)."""
    ended = status == "ended"
    return {
        "id": batch_id,
        "type": "message_batch",
        "processing_status": status,
        "request_counts": {"processing": 0 if ended else 1, "succeeded": 1 if ended else 0,
                           "errored": 0, "canceled": 0, "expired": 0},
        "created_at": "2026-09-21T10:00:00.000000Z",
        "expires_at": "2026-09-22T10:00:00.000000Z",
        "ended_at": "2026-09-21T10:01:00.000000Z" if ended else None,
        "cancel_initiated_at": None,
        "archived_at": None,
        "results_url": results_url,
        **fields,
    }


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class HostileServer:
    """``answer(method, path) -> (status, headers, body)``; ``seen``: every request received."""

    answer: Callable[[str, str], Answer]
    seen: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> HostileServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                owner.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
                status, headers, body = owner.answer(self.command, self.path)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _any  # noqa: N815 - http.server's names

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # poll_interval: how long stop() waits for the loop to notice (the default is 0.5 s)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                         daemon=True).start()
        return self

    @property
    def origin(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
