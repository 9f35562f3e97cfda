"""Fixtures for the whole suite.

Every test gets its own state directory (BATCHCTL_HOME) and no ANTHROPIC_* / BATCHCTL_* variables
from the environment. `emulator` serves batchctl's emulator over real HTTP on a free loopback
port, driven by a fake clock; `cli` runs batchctl against it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.backends import postgres_url, store_value  # noqa: F401 - fixtures
from tests.helpers import FakeClock, invoke

API_KEY = "sk-ant-test-0123456789-secret"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith(("ANTHROPIC_", "BATCHCTL_")):
            monkeypatch.delenv(key)
    state = tmp_path / "state"
    monkeypatch.setenv("BATCHCTL_HOME", str(state))
    return state


@pytest.fixture
def state_dir(_isolated_env: Path) -> Path:
    return _isolated_env


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class Emulator:
    base_url: str
    data_dir: Path
    clock: FakeClock
    server: Any

    def client(self, **kwargs: Any) -> Any:
        """A real SDK client (strict validation) pointed at this emulator."""
        import anthropic

        kwargs.setdefault("max_retries", 0)
        return anthropic.Anthropic(
            api_key=API_KEY, base_url=self.base_url, _strict_response_validation=True, **kwargs
        )


def _start_emulator(tmp_path: Path, clock: FakeClock, **config: Any) -> Any:
    from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

    data = tmp_path / "emulator-data"
    app = make_app(data, EmulatorConfig(**config), clock=clock.time)
    return EmulatorServer(app).start(), data


@pytest.fixture
def make_emulator(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Emulator]]:
    """Start an emulator with the given EmulatorConfig fields (processing_seconds=..., ...)."""
    servers: list[Any] = []

    def start(**config: Any) -> Emulator:
        config.setdefault("processing_seconds", 60.0)
        server, data = _start_emulator(tmp_path / f"emu{len(servers)}", clock, **config)
        servers.append(server)
        return Emulator(server.base_url, data, clock, server)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator()


@pytest.fixture
def cli(emulator: Emulator, clock: FakeClock) -> Callable[..., Any]:
    """Run batchctl against the HTTP emulator: cli("status", "--json", tty=False)."""

    def run(*args: str, env: dict[str, str | None] | None = None, **kwargs: Any) -> Any:
        full_env: dict[str, str | None] = {"ANTHROPIC_API_KEY": API_KEY}
        full_env.update(env or {})
        kwargs.setdefault("clock", clock)
        return invoke(["--base-url", emulator.base_url, *args], env=full_env, **kwargs)

    return run
