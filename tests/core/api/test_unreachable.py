"""An API that cannot be reached: a refused connection (issue 15, item 6) or a host name that does
not resolve (issue 21, item 4) fails at once, naming the URL; answers that fail (5xx, 429) keep
the SDK's retries."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from batchctl.core import errors
from batchctl.core.api.client import Api
from batchctl.core.events import ApiRetry, Outbox
from tests.helpers import invoke
from tests.support.failures import failure
from tests.support.files import write_requests
from tests.support.runs import api_on, closed_port_url, on


def connect(base_url: str, clock: Any, tmp_path: Path, retries: Outbox) -> Api:
    # max_retries left at batchctl's default (8): what a user gets.
    return api_on(base_url, clock, tmp_path / "s", outbox=retries)


def test_a_refused_connection_is_not_retried_and_names_the_url(clock: Any,
                                                               tmp_path: Path) -> None:
    url = closed_port_url()
    retries = Outbox()
    api = connect(url, clock, tmp_path, retries)
    try:
        try:
            api.retrieve("msgbatch_x")
        except errors.RefusedError as exc:
            refused = exc
        else:  # pragma: no cover - the port is closed
            raise AssertionError("a closed port answered")
    finally:
        api.close()
    assert retries.drain() == []  # the SDK was not left to retry it 8 times (~40 s)
    assert refused.exit_code == 6 and refused.request_sent is False
    assert refused.message == f"could not connect to {url}: connection refused (nothing is " \
                              "listening there)"


# RFC 2606 reserves .invalid: it never resolves, so nothing leaves the machine.
UNRESOLVABLE = "http://batchctl-test.invalid"


def test_a_host_that_does_not_resolve_is_not_retried_and_names_it(clock: Any,
                                                                   tmp_path: Path) -> None:
    retries = Outbox()
    api = connect(UNRESOLVABLE, clock, tmp_path, retries)
    started = time.monotonic()
    try:
        try:
            api.list_page()
        except errors.RefusedError as exc:
            refused = exc
        else:  # pragma: no cover - .invalid never resolves
            raise AssertionError(".invalid resolved")
    finally:
        api.close()
    assert time.monotonic() - started < 3
    assert retries.drain() == [] and clock.sleeps == []  # not the SDK's 8 retries (~34 s)
    assert refused.exit_code == 6 and refused.request_sent is False
    assert refused.message.startswith(f"could not connect to {UNRESOLVABLE}: the host name does "
                                      "not resolve (")
    assert refused.message.endswith("): a wrong name, or no network")


@pytest.mark.parametrize("unreachable", ["refused", "unresolvable"])
def test_every_command_fails_at_once(clock: Any, tmp_path: Path, unreachable: str) -> None:
    """Nothing listens at the URL, or its host name does not resolve: exit 6 naming it, no
    retry, and no word of an answer (none came back)."""
    url, why = ((closed_port_url(), "connection refused (nothing is listening there)")
                if unreachable == "refused" else (UNRESOLVABLE, "the host name does not resolve"))
    path = write_requests(tmp_path / "f.jsonl", 2)
    for args in (["status", "msgbatch_x"], ["list"], ["submit", str(path)],
                 ["run", str(path)], ["results", "msgbatch_x"]):
        result = on(url, clock, *args)
        assert result.exit_code == 6, (args, result.stderr)
        assert result.stdout == ""
        # (submit first says the Models API could not be asked: a warning, the same reason)
        (error,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
        assert error.startswith(f"error: could not connect to {url}: {why}"), args
        assert "retrying" not in result.stderr and "did not answer" not in result.stderr
    assert clock.sleeps == []  # submit's own create loop does not try again either


def test_failing_answers_keep_the_sdks_retries(make_emulator: Any, clock: Any,
                                               tmp_path: Path) -> None:
    emu = make_emulator(fault_rate=0.5, fault_endpoints=frozenset({"retrieve"}), seed=4)
    with emu.client(max_retries=0) as client:
        batch_id = client.messages.batches.create(requests=[{  # type: ignore[list-item]
            "custom_id": "a", "params": {"model": "claude-haiku-4-5", "max_tokens": 8,
                                         "messages": [{"role": "user", "content": "hi"}]}}]).id
    retries = Outbox()
    api = connect(emu.base_url, clock, tmp_path, retries)
    try:
        for _ in range(4):  # at fault_rate 0.5, some of these calls fail first and are retried
            assert api.retrieve(batch_id)["id"] == batch_id
    finally:
        api.close()
    # 429/500/529 answers were retried by the SDK, as before
    assert any(isinstance(e, ApiRetry) for e in retries.drain())


def test_a_connection_that_breaks_before_an_answer_is_retried_and_said_so(
        clock: Any, tmp_path: Path) -> None:
    """No answer came back (the server closes the connection on every request): the SDK's
    retries go on, and the reason given is not "did not answer as expected"."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        stop = threading.Event()

        def hang_up() -> None:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                conn.recv(65536)
                conn.close()  # the request was read; no reply

        threading.Thread(target=hang_up, daemon=True).start()
        outbox = Outbox()
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        api = api_on(url, clock, tmp_path / "s", max_retries=1, outbox=outbox)
        try:
            error = failure(lambda: api.list_page())
        finally:
            api.close()
            stop.set()
    whys = [e.why for e in outbox.drain() if isinstance(e, ApiRetry)]
    assert whys == ["the connection to the API broke before an answer came back"]
    assert error.exit_code == 6 and "could not reach the API at " + url in error.message


def test_a_submit_that_never_reached_the_api_leaves_nothing_pending(clock: Any,
                                                                    tmp_path: Path) -> None:
    """Offline, the job recorded before the create is forgotten, and the error says so; before,
    `status` went on reporting "1 parts ... 1 pending" and `wait` or `collect` would have sent
    it later, unasked."""
    path = write_requests(tmp_path / "f.jsonl", 2)
    for url in (UNRESOLVABLE, closed_port_url()):
        for command in ("submit", "run"):
            result = on(url, clock, command, str(path))
            assert result.exit_code == 6, result.stderr
            (error,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
            assert error.endswith("; nothing was sent, and no job was kept: the same command "
                                  "sends the file once the API can be reached")
            assert "wait job_" not in result.stderr  # no step names a job that is not kept
            status = on(url, clock, "status")
            assert status.exit_code == 0 and status.stdout == ""
            assert "pending" not in status.stderr and "part" not in status.stderr
    exported = invoke(["state", "export", "-"], clock=clock)
    assert '"table":"jobs"' not in exported.stdout and '"table":"parts"' not in exported.stdout
    assert '"table":"intents"' not in exported.stdout
