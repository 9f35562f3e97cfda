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

from batchctl.core.api.sdk_private import STRICT_VALIDATION
from tests.backends import postgres_url, store_value  # noqa: F401 - fixtures
from tests.emulator.support import OLD_VERSION
from tests.helpers import FakeClock, invoke

API_KEY = "sk-ant-test-0123456789-secret"


def pytest_configure(config: pytest.Config) -> None:
    """With ``-n``, pytest-xdist hands each worker a long run of consecutive tests at first
    (a quarter of its share: ~88 here), so one worker got every reliability test and ran them
    alone for ~2 minutes while the other finished 20-30 s earlier and sat idle. One test at a
    time (``--maxschedchunk 1``; a worker still keeps two queued), in the order below, evens
    the workers out; the per-test cost of asking is negligible."""
    if getattr(config.option, "maxschedchunk", "absent") is None:  # xdist loaded, not given
        config.option.maxschedchunk = 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long checks (marked ``slow``) first, in their usual order: handed out one at a time
    they spread over the workers, and the short ones even out the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def _no_trusted_cas(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("no-trusted-cas"))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _no_trusted_cas: str) -> Path:
    for key in list(os.environ):
        if key.startswith(("ANTHROPIC_", "BATCHCTL_")):
            monkeypatch.delenv(key)
    state = tmp_path / "state"
    monkeypatch.setenv("BATCHCTL_HOME", str(state))
    # No test talks TLS (every API here is an emulator over plain HTTP), yet every SDK client
    # builds a TLS context, and loading the system's CA bundle costs ~35 ms a client, in-process
    # and in every batchctl subprocess (httpcore2/_ssl.py default_ssl_context reads SSL_CERT_DIR
    # first). An empty directory is free to load, and a TLS call from Python made by mistake
    # fails. Left alone when the machine sets its own CAs (npm, in the TypeScript test, may need
    # them); OpenSSL's default CA file, which node and curl also read, stays in place.
    if not (os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")):
        monkeypatch.setenv("SSL_CERT_DIR", _no_trusted_cas)
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

    def run(*args: str, clock: Any = clock, **kwargs: Any) -> Any:
        return on(emulator, clock, *args, **kwargs)

    return run


def on(emulator: Any, clock: Any, *args: str, env: dict[str, str | None] | None = None,
       **kwargs: Any) -> Any:
    """batchctl against an HTTP emulator (its base URL, the test key; ``env`` adds to that)."""
    full_env: dict[str, str | None] = {"ANTHROPIC_API_KEY": API_KEY, **(env or {})}
    return invoke(["--base-url", emulator.base_url, *args], env=full_env, clock=clock, **kwargs)



def connect_api(settings: Any, **kwargs: Any) -> Any:
    """``Api.connect`` as batchctl calls it: with the test key (the CLI reads ANTHROPIC_API_KEY)."""
    from batchctl.core.api.client import Api

    return Api.connect(settings, api_key=API_KEY, **kwargs)
