"""Helpers for the status / wait / list / cancel / delete tests."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from tests.conftest import API_KEY
from tests.helpers import invoke, request, write_jsonl


def write_requests(path: Path, count: int, prefix: str = "r") -> Path:
    return write_jsonl(path, (request(f"{prefix}{i}", f"q {prefix}{i}") for i in range(count)))


def run_on(emulator: Any, clock: Any, *args: str, **kwargs: Any) -> Any:
    """batchctl against a given emulator (for emulators made with make_emulator)."""
    env = {"ANTHROPIC_API_KEY": API_KEY, **kwargs.pop("env", {})}
    return invoke(["--base-url", emulator.base_url, *args], env=env, clock=clock, **kwargs)


def submit(run: Any, path: Path, *extra: str) -> tuple[str, list[str]]:
    """Submit a request file with batchctl; returns (job id, batch ids)."""
    result = run("submit", "--json", *extra, str(path))
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return records[0]["job_id"], [r["id"] for r in records]


def sdk_batch(emulator: Any, count: int = 2, prefix: str = "s") -> str:
    """A batch made with the SDK alone: the state store does not know it."""
    return sdk_batches(emulator, 1, count, prefix)[0]


def sdk_batches(emulator: Any, batches: int, count: int = 1, prefix: str = "s") -> list[str]:
    """``batches`` batches of ``count`` requests made with one SDK client, oldest first."""
    with emulator.client() as client:
        create = client.messages.batches.create
        made = []
        for b in range(batches):
            reqs: Any = [request(f"{prefix}{b}x{i}") for i in range(count)]
            made.append(create(requests=reqs).id)
        return made


def remote_status(emulator: Any, batch_id: str) -> str:
    return emulator.client().messages.batches.retrieve(batch_id).processing_status


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_plain(text: str) -> None:
    """Off a terminal: no escape codes, no carriage-return redraws."""
    assert "\x1b" not in text, text
    assert "\r" not in text, text
