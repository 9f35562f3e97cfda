"""batchctl's emulator over real HTTP on a free loopback port, and what it holds.

``make_emulator`` (tests/support/fixtures.py) starts them; everything that reads an emulator's
state for an assertion is here.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.clock import FakeClock

API_KEY = "sk-ant-test-0123456789-secret"
NEW_VERSION = "2026-10-21"
OLD_VERSION = "2023-06-01"
#: What a raw HTTP client must send to every endpoint: a key and an anthropic-version
#: (BATCHES_API.md 12.5), here as a JSON client.
RAW_HEADERS = {"x-api-key": "k", "anthropic-version": OLD_VERSION, "content-type": "application/json"}


def raw_get(url: str, key: str = "k") -> bytes:
    """The body of a plain HTTP GET (no SDK in between), with what every endpoint of the API
    requires: a key and an anthropic-version (BATCHES_API.md 12.5)."""
    headers = {"x-api-key": key, "anthropic-version": OLD_VERSION}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return bytes(response.read())


@dataclass
class Emulator:
    """batchctl's emulator over real HTTP on a free loopback port (an ``EmulatorServer``)."""

    app: Any
    server: Any
    data_dir: Path
    clock: FakeClock | None  # None: the real clock (for batchctl running in subprocesses)
    config: Any
    _view: Any = field(default=None, repr=False)
    #: Every request it received, as "METHOD /path" (the fault-free ``view`` aside).
    seen: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, data_dir: Path, clock: FakeClock | None, **config: Any) -> Emulator:
        from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

        cfg = EmulatorConfig(**config)
        app = make_app(data_dir, cfg, clock=time.time if clock is None else clock.time)
        seen: list[str] = []

        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            seen.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
            return app(environ, start_response)

        return cls(app, EmulatorServer(counted).start(), data_dir, clock, cfg, seen=seen)

    def results_requests(self, batch_id: str) -> int:
        """How many times the results of ``batch_id`` were asked for."""
        return self.seen.count(f"GET /v1/messages/batches/{batch_id}/results")

    @property
    def base_url(self) -> str:
        return str(self.server.base_url)

    def client(self, **kwargs: Any) -> Any:
        """A real SDK client (strict validation, no retries unless asked) pointed at it."""
        import anthropic

        from batchctl.core.api.sdk_private import STRICT_VALIDATION

        kwargs.setdefault("max_retries", 0)
        return anthropic.Anthropic(
            api_key=API_KEY, base_url=self.base_url, **{STRICT_VALIDATION: True}, **kwargs
        )

    def http(self, **headers: str) -> Any:
        """A plain HTTP client (0.x-style headers) for what the SDK does not expose."""
        import httpx2

        sent = {"x-api-key": API_KEY, "anthropic-version": OLD_VERSION, **headers}
        return httpx2.Client(base_url=self.base_url, headers=sent, timeout=30)

    def view(self) -> Any:
        """A fault-free server over the same data: counts what a faulty one really did."""
        if self._view is None:
            from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

            clock = self.clock.time if self.clock is not None else time.time
            app = make_app(self.data_dir, EmulatorConfig(processing_seconds=0), clock=clock)
            self._view = EmulatorServer(app).start()
        return self._view

    def batches(self) -> list[dict[str, Any]]:
        """Every batch the emulator holds (deleted ones aside), newest first, fault-free."""
        import anthropic

        with anthropic.Anthropic(api_key=API_KEY, base_url=self.view().base_url, max_retries=0) as c:
            return [b.model_dump(mode="json") for b in c.messages.batches.list(limit=1000)]

    def results_body(self, batch_id: str, *, clean: bool = False) -> bytes:
        """A batch's results body exactly as served over HTTP (no SDK in between): by this
        emulator, or (``clean``) by the fault-free view of its data."""
        base_url = self.view().base_url if clean else self.base_url
        return raw_get(f"{base_url}/v1/messages/batches/{batch_id}/results", API_KEY)

    def results_file(self, batch_id: str) -> bytes:
        """The results file the emulator keeps (what every full download returns)."""
        return (self.data_dir / "results" / f"{batch_id}.jsonl").read_bytes()

    def received(self, batch_id: str) -> list[dict[str, Any]]:
        """The requests a create sent, as the emulator received them (``record_requests``)."""
        path = self.data_dir / "received" / f"{batch_id}.jsonl"
        return [json.loads(line) for line in path.read_bytes().splitlines()]

    def stop(self) -> None:
        self.server.stop()
        if self._view is not None:
            self._view.stop()


def assert_envelope(response: Any, status: int, error_type: str) -> dict[str, Any]:
    """An error answer in the API's envelope: ``status``, ``error_type``, a request id; its body."""
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    request_id = response.headers["request-id"]
    assert request_id.startswith("req_")
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert body["error"]["message"]
    assert body["request_id"] == request_id
    return body


def model_info(model_id: str, **changes: Any) -> dict[str, Any]:
    """A ModelInfo of the emulator's packaged catalogue, its id and fields changed."""
    from batchctl.emulator.catalog import builtin

    sonnet = next(m for m in builtin().models if m["id"] == "claude-sonnet-4-6")
    return {**json.loads(json.dumps(sonnet)), "id": model_id, "display_name": model_id, **changes}


def write_models(path: Path, *models: dict[str, Any]) -> str:
    """A models file for the emulator's ``models=`` (``--models FILE``); returns its path."""
    path.write_text(json.dumps(list(models)))
    return str(path)


def size(batch: dict[str, Any]) -> int:
    """How many requests a batch (the API's fields) holds."""
    return sum(batch["request_counts"].values())


def sizes(batches: list[dict[str, Any]]) -> list[int]:
    return [size(b) for b in batches]
