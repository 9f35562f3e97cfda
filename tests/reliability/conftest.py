"""Fixtures for the reliability suite: an HTTP emulator on the real clock (for batchctl running
in subprocesses), a fault-free view of the same data (to count batches), request files, and a
runner for ``python -m batchctl``."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

# Distinctive, so a leak anywhere is found by a plain substring search.
KEY = "sk-ant-api03-CANARY-reliability-7Q2xK9vB4mZp1Lw8"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LiveEmulator:
    """The emulator over HTTP on a free loopback port, on the real clock."""

    base_url: str
    data_dir: Path
    server: Any
    _view: Any = field(default=None, repr=False)

    def view(self) -> Any:
        """A fault-free server over the same data: counts what the faulty one really did."""
        if self._view is None:
            from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

            app = make_app(self.data_dir, EmulatorConfig(processing_seconds=0))
            self._view = EmulatorServer(app).start()
        return self._view

    def client(self) -> Any:
        import anthropic

        return anthropic.Anthropic(api_key=KEY, base_url=self.view().base_url, max_retries=0)

    def batches(self) -> list[dict]:
        """Every batch the emulator holds (deleted ones aside), newest first."""
        with self.client() as client:
            return [b.model_dump(mode="json") for b in client.messages.batches.list(limit=1000)]

    def stop(self) -> None:
        self.server.stop()
        if self._view is not None:
            self._view.stop()


@pytest.fixture
def live_emulator(tmp_path: Path) -> Iterator[Callable[..., LiveEmulator]]:
    """Start an emulator with EmulatorConfig fields; processing_seconds defaults to 0."""
    from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

    started: list[LiveEmulator] = []

    def start(**config: Any) -> LiveEmulator:
        config.setdefault("processing_seconds", 0)
        data = tmp_path / f"emulator-{len(started)}"
        server = EmulatorServer(make_app(data, EmulatorConfig(**config))).start()
        emu = LiveEmulator(server.base_url, data, server)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


def request(custom_id: str, text: str, *, model: str = "claude-haiku-4-5") -> dict:
    return {
        "custom_id": custom_id,
        "params": {"model": model, "max_tokens": 64,
                   "messages": [{"role": "user", "content": text}]},
    }


def write_requests(path: Path, count: int, *, tag: str = "r", text_bytes: int = 40) -> Path:
    """A valid request file of ``count`` requests whose content depends on ``tag``."""
    filler = ("lorem ipsum dolor sit amet " * (text_bytes // 27 + 1))[:text_bytes]
    with open(path, "wb") as f:
        for i in range(count):
            f.write(orjson.dumps(request(f"{tag}-{i:06d}", f"{tag} {i}: {filler}")) + b"\n")
    return path


def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "BATCHCTL_"))}
    env.update({"ANTHROPIC_API_KEY": KEY, "BATCHCTL_HOME": str(home), "PYTHONUNBUFFERED": "1"})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def batchctl_cmd(base_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "batchctl", "--base-url", base_url, *args]


def run_batchctl(
    base_url: str, home: Path, *args: str, timeout: float = 90, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        batchctl_cmd(base_url, *args), env=child_env(home, **env), capture_output=True,
        text=True, timeout=timeout, cwd=home.parent,
    )


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
