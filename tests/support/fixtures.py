"""The suite's fixtures, registered in tests/conftest.py.

Every test gets its own state directory (BATCHCTL_HOME) and no ANTHROPIC_* / BATCHCTL_* variables
from the environment. ``make_emulator`` serves batchctl's emulator over real HTTP on a free
loopback port, driven by the test's fake clock; ``cli`` runs batchctl against ``emulator``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import pytest

from tests.support import warm
from tests.support.clock import FakeClock
from tests.support.emulators import Emulator
from tests.support.files import requests_for, write_jsonl, write_requests
from tests.support.runs import cli_on, submit
from tests.support.stores import BACKENDS, fresh_schema_url

T = TypeVar("T")


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
    # builds a TLS context, and loading the system's CA bundle costs ~35-50 ms a client,
    # in-process and in every batchctl subprocess: httpcore2/_ssl.py default_ssl_context loads
    # SSL_CERT_FILE if set, else SSL_CERT_DIR, else OpenSSL's default file. With no file and an
    # empty directory it loads nothing (free), and a TLS call from Python made by mistake fails.
    # The machine's own settings are kept in MACHINE_CAS for the tools that do talk TLS (npm, in
    # the TypeScript test; the PostgreSQL start script's package install).
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", _no_trusted_cas)
    return state


@pytest.fixture
def state_dir(_isolated_env: Path) -> Path:
    return _isolated_env


@pytest.fixture
def hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A hook's command and the log it writes (tests/support/hooks.py)."""
    from tests.support.hooks import hook_command

    return hook_command(tmp_path, monkeypatch)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# -- the emulator ---------------------------------------------------------------------------------
def stopped_after(make: Callable[..., T]) -> Iterator[Callable[..., T]]:
    """For a fixture to yield from: ``make`` for the test, and every thing it made stopped
    (``stop()``) after it."""
    started: list[Any] = []

    def start(*args: Any, **kwargs: Any) -> T:
        made = make(*args, **kwargs)
        started.append(made)
        return made

    yield start
    for made in started:
        made.stop()


@pytest.fixture
def make_emulator(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Emulator]]:
    """The suite's one emulator fixture: ``make_emulator(**EmulatorConfig fields)`` starts one
    on the test's fake clock (processing_seconds 60 unless given); ``real_clock=True`` puts it on
    the wall clock (processing_seconds 0 unless given); ``data_dir=`` shares data with another.
    All are stopped at the end of the test."""
    numbers = itertools.count()

    def start(*, real_clock: bool = False, data_dir: Path | None = None, **config: Any) -> Emulator:
        config.setdefault("processing_seconds", 0 if real_clock else 60.0)
        data = data_dir or tmp_path / f"emulator-{next(numbers)}"
        return Emulator.start(data, None if real_clock else clock, **config)

    yield from stopped_after(start)


@pytest.fixture
def emulator(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator()


@pytest.fixture
def cli(emulator: Emulator, clock: FakeClock) -> Callable[..., Any]:
    """Run batchctl against the HTTP emulator: cli("status", "--json", tty=False)."""
    return cli_on(emulator, clock)


@pytest.fixture(scope="session")
def warm_server() -> None:
    """The warm batchctl server (tests/support/warm.py) started before the test, for tests that
    time a batchctl process: its start is not the command's."""
    warm.server()


# -- request files and batches --------------------------------------------------------------------
@pytest.fixture
def seven(tmp_path: Path) -> Path:
    """A request file of 7 requests."""
    return write_requests(tmp_path / "seven.jsonl", 7, text="question {i}")


class Ended(NamedTuple):
    id: str
    path: Path


@pytest.fixture
def ended_requests() -> list[dict[str, Any]]:
    """The requests of ``ended`` (a module may override this fixture)."""
    return requests_for(6, "r", "question {i}", model="claude-sonnet-4-6", max_tokens=64)


@pytest.fixture
def ended(tmp_path: Path, cli: Callable[..., Any], clock: FakeClock,
          ended_requests: list[dict[str, Any]]) -> Ended:
    """A batch of ``ended_requests`` submitted with batchctl (so tracked), then ended."""
    path = write_jsonl(tmp_path / "req.jsonl", ended_requests)
    _, (batch_id,) = submit(cli, path)
    clock.advance(3600)
    return Ended(batch_id, path)


# -- the state store --------------------------------------------------------------------------------
@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of the test server whose search_path is a fresh, empty schema."""
    with fresh_schema_url() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def store_value(request: pytest.FixtureRequest) -> str:
    """What ``--store`` / BATCHCTL_STORE says for each backend: 'sqlite', or a fresh schema's URL."""
    if request.param == "sqlite":
        return "sqlite"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def open_store(tmp_path: Path, store_value: str) -> Iterator[Callable[..., Any]]:
    """Open the store of the current backend (each call: a new connection to the same store)."""
    from batchctl.core.location import parse_store
    from batchctl.core.state.store import Store

    opened: list[Store] = []

    def open_(clock: FakeClock | None = None) -> Store:
        store = Store.open(tmp_path / "s", clock=clock or FakeClock(),
                           location=parse_store(store_value))
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()
