"""An API that cannot be reached: a refused connection fails at once, naming the URL; answers
that fail (5xx, 429) keep the SDK's retries (issue 15, item 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batchctl.core import errors
from batchctl.core.api.client import Api
from batchctl.core.events import ApiRetry, Outbox
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


def test_every_command_fails_at_once_on_a_refused_connection(clock: Any, tmp_path: Path) -> None:
    url = closed_port_url()
    path = write_requests(tmp_path / "f.jsonl", 2)
    for args in (["status", "msgbatch_x"], ["list"], ["submit", str(path)],
                 ["run", str(path)], ["results", "msgbatch_x"]):
        result = on(url, clock, *args)
        assert result.exit_code == 6, (args, result.stderr)
        assert result.stdout == ""
        assert f"error: could not connect to {url}: connection refused (nothing is listening " \
               "there)\n" in result.stderr, args
        assert "retrying" not in result.stderr
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
