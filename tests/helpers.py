"""Test helpers shared by the suite: a fake clock, the one request factory, and running the CLI
in-process."""

from __future__ import annotations

import csv
import io
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner, Result

from batchctl.cli.app import app
from batchctl.cli.context import Overrides
from batchctl.cli.iostreams import IOStreams

MODEL = "claude-haiku-4-5"

def failure(fn: Any) -> BaseException:
    """What ``fn()`` raised. Tests read what the server sent from it (a status code, the error
    body, the bytes received), never its class: which class an SDK release raises for the same
    bytes on the wire is the SDK's choice (2.17.0 changed it for a cut results stream)."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - any class: see above
        return exc
    raise AssertionError(f"{fn!r} raised nothing")


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from or during."""
    links: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in links:
        links.append(link)
        link = link.__cause__ or link.__context__
    return links


def status_of(fn: Any) -> int | None:
    """The HTTP status of the error response that ``fn()`` failed with (None: no response)."""
    response = getattr(failure(fn), "response", None)
    return getattr(response, "status_code", None)


def raw_get(url: str, key: str = "k") -> bytes:
    """The body of a plain HTTP GET (no SDK in between), with what every endpoint of the API
    requires: a key and an anthropic-version (BATCHES_API.md 12.5)."""
    import urllib.request

    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return bytes(response.read())


def request(
    custom_id: Any, text: str = "hello", *, model: Any = MODEL, max_tokens: Any = 32, **params: Any
) -> dict[str, Any]:
    """The suite's one request factory: a native request line (one user message of ``text``);
    ``params`` adds or replaces fields of ``params`` (any value, valid or not)."""
    return {
        "custom_id": custom_id,
        "params": {
            "model": model,
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": text}],
            **params,
        },
    }


def write_jsonl(path: Path, objects: Iterable[Any]) -> Path:
    """Write one JSON line per object (a request file); returns ``path``."""
    path.write_bytes(b"".join(orjson.dumps(obj) + b"\n" for obj in objects))
    return path


def read_csv(data: bytes) -> list[dict[str, str]]:
    """Rows of a CSV that batchctl wrote (UTF-8, a header line), as dicts."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def claim_owners(store: Any) -> list[str]:
    """Who holds a collect claim in ``store`` (a batchctl Store), oldest claim first."""
    return [r["owner"] for r in store.db.query("SELECT owner FROM claims ORDER BY claimed_at")]


START = 1_790_000_000.0  # 2026-09-21T...Z: a fixed "now" for every test


@dataclass
class FakeClock:
    """Wall-clock time that only moves when someone sleeps (or a test advances it).

    Shared by the CLI under test and the emulator, so `wait` runs in milliseconds.
    """

    now: float = START
    sleeps: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def invoke(
    args: list[str],
    *,
    input: str | bytes | None = None,  # noqa: A002 - CliRunner.invoke's name
    tty: bool = False,
    clock: Any = None,
    env: dict[str, str | None] | None = None,
    width: int = 100,
    emulator_config: Any = None,
    api_max_retries: int | None = None,
) -> Result:
    """Run batchctl in-process with stdout/stderr captured separately.

    ``tty`` makes batchctl believe stdin, stdout and stderr are terminals.
    """
    # The streams are CliRunner's (looked up when written to); what is decided of them is this
    # test's, the environment the run will see included (NO_COLOR).
    seen = {**os.environ, **(env or {})}
    io = IOStreams(stdin_tty=tty, stdout_tty=tty, stderr_tty=tty, width=width,
                   env={k: v for k, v in seen.items() if v is not None})
    overrides = Overrides(io=io, clock=clock, emulator_config=emulator_config,
                          api_max_retries=api_max_retries)
    return CliRunner().invoke(app, args, input=input, env=env, obj=overrides)
