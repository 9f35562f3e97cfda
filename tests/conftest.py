"""Fixtures for the whole suite.

Every test gets its own state directory (BATCHCTL_HOME) and no ANTHROPIC_* / BATCHCTL_* variables
from the environment. `emulator` serves batchctl's emulator over real HTTP on a free loopback
port, driven by a fake clock; `cli` runs batchctl against it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.backends import postgres_url, store_value  # noqa: F401 - fixtures
from tests.emulator.support import OLD_VERSION
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
    """batchctl's emulator over real HTTP on a free loopback port (an ``EmulatorServer``)."""

    app: Any
    server: Any
    data_dir: Path
    clock: FakeClock | None  # None: the real clock (for batchctl running in subprocesses)
    config: Any
    _view: Any = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return str(self.server.base_url)

    def client(self, **kwargs: Any) -> Any:
        """A real SDK client (strict validation, no retries unless asked) pointed at it."""
        import anthropic

        kwargs.setdefault("max_retries", 0)
        return anthropic.Anthropic(
            api_key=API_KEY, base_url=self.base_url, _strict_response_validation=True, **kwargs
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

    def stop(self) -> None:
        self.server.stop()
        if self._view is not None:
            self._view.stop()


@pytest.fixture
def make_emulator(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Emulator]]:
    """The suite's one emulator fixture: ``make_emulator(**EmulatorConfig fields)`` starts one
    on the test's fake clock (processing_seconds 60 unless given); ``real_clock=True`` puts it on
    the wall clock (processing_seconds 0 unless given); ``data_dir=`` shares data with another.
    All are stopped at the end of the test."""
    from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

    started: list[Emulator] = []

    def start(*, real_clock: bool = False, data_dir: Path | None = None, **config: Any) -> Emulator:
        config.setdefault("processing_seconds", 0 if real_clock else 60.0)
        cfg = EmulatorConfig(**config)
        data = data_dir or tmp_path / f"emulator-{len(started)}"
        app = make_app(data, cfg, clock=time.time if real_clock else clock.time)
        server = EmulatorServer(app).start()
        emulator = Emulator(app, server, data, None if real_clock else clock, cfg)
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


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
