"""Fixtures for the emulator's tests: a real EmulatorServer on a free loopback port, a tmp data
directory, the suite's fake clock, and real SDK clients (strict validation) pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from batchctl.emulator import EMULATOR_API_KEY, EmulatorConfig, EmulatorServer, make_app
from tests.emulator.support import OLD_VERSION
from tests.helpers import FakeClock


@dataclass
class Emu:
    app: Any
    server: EmulatorServer
    data_dir: Path
    clock: FakeClock
    config: EmulatorConfig

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client(self, **kwargs: Any) -> anthropic.Anthropic:
        """A real SDK client, strict response validation, no retries unless asked."""
        kwargs.setdefault("max_retries", 0)
        return anthropic.Anthropic(
            api_key=EMULATOR_API_KEY, base_url=self.base_url, _strict_response_validation=True, **kwargs
        )

    def http(self, **headers: str) -> httpx2.Client:
        """A plain HTTP client (0.x-style headers) for what the SDK does not expose."""
        sent = {"x-api-key": EMULATOR_API_KEY, "anthropic-version": OLD_VERSION, **headers}
        return httpx2.Client(base_url=self.base_url, headers=sent, timeout=30)


@pytest.fixture
def start_emu(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Emu]]:
    """start_emu(**EmulatorConfig fields, data_dir=...) -> a started Emu; all stopped at the end."""
    started: list[EmulatorServer] = []

    def start(data_dir: Path | None = None, **config: Any) -> Emu:
        config.setdefault("processing_seconds", 60.0)
        cfg = EmulatorConfig(**config)
        data = data_dir or tmp_path / f"emulator-{len(started)}"
        app = make_app(data, cfg, clock=clock.time)
        server = EmulatorServer(app).start()
        started.append(server)
        return Emu(app, server, data, clock, cfg)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def emu(start_emu: Callable[..., Emu]) -> Emu:
    return start_emu()


@pytest.fixture
def client(emu: Emu) -> Iterator[anthropic.Anthropic]:
    with emu.client() as sdk:
        yield sdk
