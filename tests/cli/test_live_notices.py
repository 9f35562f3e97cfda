"""The SDK's retries are said on stderr as they happen, not when the call returns
(cli/render/events.py, ``Relay``): with the API overloaded, a person sees each wait begin
instead of ~40 s of silence and then every notice at once.

Proved with the emulator's ``overloaded`` faults (the first calls answer 529, retry-after 1 s)
behind a gate that holds the answer the call ends with until the test has read the notices from
batchctl's stderr pipe: were they said only after the call, the test would read nothing while
the answer is held, and the gate would give up (``HOLD``) and say so."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app
from tests.support import warm
from tests.support.files import write_requests
from tests.support.processes import child_env, run_batchctl

HOLD = 30.0  # s the gate holds the answer before it gives up waiting for the test
FAILURES = 2
NOTICE = "warning: the API did not answer as expected (HTTP 529); retrying in 1 s\n"


class HeldAnswer:
    """The emulator's WSGI app, with the ``nth`` call that ``matches`` held until ``release``
    (or ``HOLD`` seconds: then ``gave_up``)."""

    def __init__(self, app: Any, matches: Callable[[str, str], bool], nth: int) -> None:
        self.app, self.matches, self.nth = app, matches, nth
        self.calls = 0
        self.released = threading.Event()
        self.gave_up = False
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.matches(environ["REQUEST_METHOD"], environ["PATH_INFO"]):
            with self._lock:
                self.calls += 1
                held = self.calls == self.nth
            if held and not self.released.wait(HOLD):
                self.gave_up = True
        return self.app(environ, start_response)


LIST = re.compile(r"/v1/messages/batches")
RETRIEVE = re.compile(r"/v1/messages/batches/msgbatch_\w+")


@pytest.fixture
def overloaded(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, HeldAnswer]]:
    """An emulator whose first FAILURES calls to ``request.param`` (an endpoint) answer 529,
    and whose next one is held: (its base URL, the gate)."""
    endpoint, path = request.param
    config = EmulatorConfig(processing_seconds=0, overloaded=FAILURES,
                            fault_endpoints=frozenset({endpoint}))
    gate = HeldAnswer(make_app(tmp_path / "emulator", config, clock=time.time),
                      lambda method, p: method == "GET" and path.fullmatch(p) is not None,
                      FAILURES + 1)
    server = EmulatorServer(gate).start()
    try:
        yield str(server.base_url), gate
    finally:
        gate.released.set()
        server.stop()


def said_while_held(base_url: str, gate: HeldAnswer, home: Path, *args: str
                    ) -> tuple[list[str], Any]:
    """Run batchctl ``args``; read FAILURES lines of its stderr while the answer is held, then
    let it go: (the lines read, what followed on stdout and stderr)."""
    child = warm.spawn(["--base-url", base_url, *args], child_env(home))
    try:
        early = [child.readline(stderr=True) for _ in range(FAILURES)]
    finally:
        gate.released.set()
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    return early, (out, err)


@pytest.mark.parametrize("overloaded", [("list", LIST)], indirect=True)
def test_the_retries_of_a_listing_read_page_by_page_are_said_before_the_page_comes(
    overloaded: tuple[str, HeldAnswer], tmp_path: Path
) -> None:
    base_url, gate = overloaded
    early, (out, err) = said_while_held(base_url, gate, tmp_path / "state", "list")
    assert early == [NOTICE] * FAILURES  # plain lines (stderr is a pipe), each retry once
    assert not gate.gave_up, "the notices came only once the call had returned"
    assert gate.calls == FAILURES + 1
    # What the command says once the call returned comes after, and no notice again.
    assert out == "" and err == f"no batches on the API ({base_url})\n"


@pytest.mark.parametrize("overloaded", [("retrieve", RETRIEVE)], indirect=True)
@pytest.mark.parametrize("command", ["collect", "status"])  # a workflow (drive), a plain call
def test_the_retries_of_a_call_are_said_before_it_returns(
    overloaded: tuple[str, HeldAnswer], tmp_path: Path, command: str
) -> None:
    base_url, gate = overloaded
    home = tmp_path / "state"
    path = write_requests(tmp_path / "three.jsonl", 3)
    submitted = run_batchctl(base_url, home, "submit", str(path))
    assert submitted.returncode == 0, submitted.stderr
    batch_id = submitted.stdout.strip()
    assert gate.calls == 0  # the submit asked nothing of the endpoint that fails

    early, (out, err) = said_while_held(base_url, gate, home, command)
    assert early == [NOTICE] * FAILURES
    assert not gate.gave_up, "the notices came only once the call had returned"
    assert batch_id in out and NOTICE not in err
