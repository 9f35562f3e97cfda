"""The API layer (batchctl.core.api.client) against the emulator over real HTTP and in-process."""

from __future__ import annotations

import re
import socket
import urllib.request

import orjson
import pytest

from batchctl.cli.flags import FLAGS
from batchctl.core import errors
from batchctl.core.api.client import Api
from batchctl.core.api.sdk_private import SDK_LOGGER
from batchctl.core.events import NOTE, ApiRetry, Note, Outbox
from batchctl.core.settings import Settings
from batchctl.emulator import EmulatorConfig
from tests.helpers import invoke
from tests.support.emulators import API_KEY
from tests.support.runs import api_on

REQUESTS = [
    {
        "custom_id": f"r{i}",
        "params": {
            "model": "claude-sonnet-4-6",
            "max_tokens": 32,
            "messages": [{"role": "user", "content": f"question {i}"}],
        },
    }
    for i in range(5)
]


def _body(requests=REQUESTS) -> bytes:
    return orjson.dumps({"requests": requests})


def _create(api: Api, requests=REQUESTS) -> dict:
    body = _body(requests)
    # Split into small chunks: the body is streamed, not sent as one buffer.
    chunks = lambda: (body[i : i + 7] for i in range(0, len(body), 7))  # noqa: E731
    return api.create(chunks, len(body))


def test_create_streams_body_and_returns_plain_dict(emulator, clock, tmp_path) -> None:
    api = api_on(emulator.base_url, clock, tmp_path / "s")
    batch = _create(api)
    assert batch["id"].startswith("msgbatch_")
    assert batch["processing_status"] == "in_progress"
    assert batch["request_counts"]["processing"] == 5
    assert isinstance(batch["created_at"], str)
    assert api.retrieve(batch["id"])["id"] == batch["id"]
    assert api.base_url == emulator.base_url


def test_results_are_the_raw_bytes(emulator, clock, tmp_path) -> None:
    api = api_on(emulator.base_url, clock, tmp_path / "s")
    batch = _create(api)
    clock.advance(3600)
    ended = api.retrieve(batch["id"])
    assert ended["processing_status"] == "ended"
    with api.open_results(ended) as chunks:
        got = b"".join(chunks)
    req = urllib.request.Request(
        ended["results_url"], headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    )
    with urllib.request.urlopen(req) as resp:
        raw = resp.read()
    assert got == raw
    assert sorted(orjson.loads(line)["custom_id"] for line in got.splitlines()) == [
        f"r{i}" for i in range(5)
    ]


def test_results_before_end_is_still_running(emulator, clock, tmp_path) -> None:
    api = api_on(emulator.base_url, clock, tmp_path / "s")
    batch = _create(api)
    with pytest.raises(errors.StillRunningError) as info, api.open_results(batch):
        pass
    assert info.value.exit_code == 8


def test_not_found_carries_request_id(emulator, clock, tmp_path) -> None:
    api = api_on(emulator.base_url, clock, tmp_path / "s")
    with pytest.raises(errors.NotFoundError) as info:
        api.retrieve("msgbatch_nope")
    exc = info.value
    assert exc.exit_code == 5 and exc.status == 404
    assert exc.request_id and exc.request_id.startswith("req_")
    assert exc.request_id in str(exc)
    assert exc.error_type == "not_found_error"


def test_not_found_grace_backs_off_on_the_clock_and_says_so(emulator, clock, tmp_path) -> None:
    outbox = Outbox()
    api = api_on(emulator.base_url, clock, tmp_path / "s", outbox=outbox)
    start = clock.time()
    with pytest.raises(errors.NotFoundError):
        api.retrieve("msgbatch_nope", not_found_grace=60)
    assert clock.time() - start == 60
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]  # the last one cut to the grace
    notes = outbox.drain()
    assert len(notes) == 1 and isinstance(notes[0], Note) and notes[0].level == NOTE
    assert "404" in notes[0].text and "#1432" in notes[0].text


def test_no_grace_means_one_call(emulator, clock, tmp_path) -> None:
    outbox = Outbox()
    api = api_on(emulator.base_url, clock, tmp_path / "s", outbox=outbox)
    with pytest.raises(errors.NotFoundError):
        api.retrieve("msgbatch_nope")
    assert clock.sleeps == [] and outbox.drain() == []


def test_bad_request_is_usage_exit_code(emulator, clock, tmp_path) -> None:
    api = api_on(emulator.base_url, clock, tmp_path / "s")
    batch = _create(api)
    with pytest.raises(errors.BadRequestError) as info:
        api.delete(batch["id"])  # still in progress
    assert info.value.status == 400 and info.value.request_id


def test_list_pages_and_iterates(emulator, clock, tmp_path) -> None:
    api = api_on(emulator.base_url, clock, tmp_path / "s")
    ids = [_create(api, REQUESTS[:1])["id"] for _ in range(7)]
    page = api.list_page(limit=3)
    assert [b["id"] for b in page.data] == ids[::-1][:3]
    assert page.has_more and page.last_id == ids[-3]
    assert [b["id"] for b in api.iter_batches(page_size=2)] == ids[::-1]


def test_cancel_and_delete(emulator, clock, tmp_path) -> None:
    api = api_on(emulator.base_url, clock, tmp_path / "s")
    batch = _create(api)
    assert api.cancel(batch["id"])["processing_status"] == "canceling"
    clock.advance(3600)
    assert api.delete(batch["id"]) == {"id": batch["id"], "type": "message_batch_deleted"}
    with pytest.raises(errors.NotFoundError):
        api.retrieve(batch["id"])


def test_faults_after_sdk_retries_are_unavailable(make_emulator, clock, tmp_path) -> None:
    emu = make_emulator(fault_rate=1.0, seed=3)
    api = api_on(emu.base_url, clock, tmp_path / "s", max_retries=1)
    with pytest.raises(errors.UnavailableError) as info:
        api.retrieve("msgbatch_any")
    assert info.value.exit_code == 6
    assert info.value.status in (429, 500, 529)
    assert info.value.request_id
    # The emulator asks for a short wait with retry-after-ms; the error carries it.
    assert info.value.retry_after is not None and 0 < info.value.retry_after < 1


def test_sdk_retries_ride_out_some_faults(make_emulator, clock, tmp_path) -> None:
    emu = make_emulator(fault_rate=0.4, seed=11, fault_endpoints=frozenset({"list"}))
    api = api_on(emu.base_url, clock, tmp_path / "s", max_retries=8)
    for _ in range(5):
        assert api.list_page(limit=5).data == []


def test_create_is_never_retried_by_the_sdk(make_emulator, clock, tmp_path) -> None:
    emu = make_emulator(lost_reply_rate=1.0, fault_endpoints=frozenset({"create"}))
    api = api_on(emu.base_url, clock, tmp_path / "s", max_retries=5)
    with pytest.raises(errors.UnavailableError) as info:
        _create(api)
    assert info.value.status is None  # a connection error: the reply was lost
    assert info.value.request_sent  # ...after the request went out: ambiguous
    # The work was done once, and only once: no SDK retry made a second batch.
    assert len(api.list_page(limit=10).data) == 1


def test_connection_refused_is_unavailable(clock, tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = api_on(f"http://127.0.0.1:{port}", clock, tmp_path / "s", max_retries=0)
    with pytest.raises(errors.RefusedError) as info:
        api.retrieve("msgbatch_x")
    assert f"could not connect to http://127.0.0.1:{port}" in str(info.value)
    assert info.value.exit_code == 6  # an unavailable API
    assert info.value.request_sent is False  # refused: nothing can have been created


def test_dropped_results_stream_raises_stream_dropped(make_emulator, clock, tmp_path) -> None:
    emu = make_emulator(drop_rate=1.0)
    api = api_on(emu.base_url, clock, tmp_path / "s")
    batch = _create(api, REQUESTS * 1)
    clock.advance(3600)
    ended = api.retrieve(batch["id"])
    with pytest.raises(errors.StreamDroppedError) as info, api.open_results(ended) as chunks:
        b"".join(chunks)
    assert info.value.exit_code == 6


def test_missing_key_is_auth_error(tmp_path) -> None:
    settings = Settings.resolve(state_dir=tmp_path, base_url="http://127.0.0.1:9", emulator=False,
                                flags=FLAGS)
    with pytest.raises(errors.AuthError) as info:
        Api.connect(settings)
    assert info.value.exit_code == 4
    assert "--emulator" in (info.value.hint or "")  # as the caller names it


def test_in_process_emulator_persists_across_connections(clock, tmp_path) -> None:
    settings = Settings.resolve(state_dir=tmp_path / "s", emulator=True)
    config = EmulatorConfig(processing_seconds=10)
    first = Api.connect(settings, emulator_config=config, clock=clock)
    batch = _create(first)
    first.close()
    second = Api.connect(settings, emulator_config=config, clock=clock)
    clock.advance(11)
    ended = second.retrieve(batch["id"])
    assert ended["processing_status"] == "ended"
    assert ended["results_url"].startswith(settings.base_url)
    with second.open_results(ended) as chunks:
        lines = b"".join(chunks).splitlines()
    assert len(lines) == 5
    assert (tmp_path / "s" / "emulator").is_dir()


def test_in_process_lost_reply_is_a_connection_error(clock, tmp_path) -> None:
    settings = Settings.resolve(state_dir=tmp_path / "s", emulator=True)
    config = EmulatorConfig(lost_reply_rate=1.0, fault_endpoints=frozenset({"create"}))
    api = Api.connect(settings, emulator_config=config, clock=clock)
    with pytest.raises(errors.UnavailableError) as info:
        _create(api)
    assert info.value.status is None
    assert len(api.list_page().data) == 1


def test_bad_emulator_env_is_a_usage_error(clock) -> None:
    result = invoke(["--emulator", "status", "msgbatch_x"],
                    env={"BATCHCTL_EMULATOR_ERROR_RATE": "lots"}, clock=clock)
    assert result.exit_code == 2
    assert "error: emulator settings: BATCHCTL_EMULATOR_ERROR_RATE='lots'" in result.stderr


def test_sdk_retries_are_reported_to_the_caller(make_emulator, clock, tmp_path) -> None:
    # (A refused connection is not retried at all: tests/core/api/test_unreachable.py.)
    import logging

    emu = make_emulator(fault_rate=1.0, fault_endpoints=frozenset({"retrieve"}))
    outbox = Outbox()
    handlers = list(logging.getLogger(SDK_LOGGER).handlers)  # other tests' clients may stay open
    api = api_on(emu, clock, tmp_path, max_retries=1, outbox=outbox)
    assert len(logging.getLogger(SDK_LOGGER).handlers) == len(handlers) + 1  # its retry reader
    with pytest.raises(errors.UnavailableError) as info:
        api.retrieve("msgbatch_x")
    waits = outbox.drain()
    assert len(waits) == 1 and isinstance(waits[0], ApiRetry)
    assert 0 < waits[0].seconds <= 60.0  # the SDK's one wait, as it said it
    # An answer came back (a 429, 500 or 529 from the emulator): said with its status.
    assert info.value.status in (429, 500, 529)
    assert re.fullmatch(r"the API did not answer as expected \(HTTP (429|500|529)\)",
                        waits[0].why)
    api.close()
    assert logging.getLogger(SDK_LOGGER).handlers == handlers  # closing took its reader off
