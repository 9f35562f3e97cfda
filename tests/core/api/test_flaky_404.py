"""Transient 404s (issue 11, item 4; anthropic-sdk-python#1432): the API can answer 404 for a
batch that exists, after its create, mid-poll and for its results just after it ended. A batch
this store created is retried with bounded backoff, with a note; an id never created here is not.
The emulator's --flaky-404-seconds shows it through the real SDK, on the fake clock."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from batchctl.core import errors
from batchctl.core.events import Note, Outbox
from tests.support.files import request, write_requests
from tests.support.runs import api_on, on


@pytest.fixture
def three(tmp_path: Path) -> Path:
    return write_requests(tmp_path / "three.jsonl", 3, text="question {i}")


def test_run_rides_out_404s_after_create_and_after_the_end(make_emulator, clock, three, tmp_path):
    emulator = make_emulator(flaky_404_seconds=5, processing_seconds=30)
    out = tmp_path / "answers.jsonl"
    result = on(emulator, clock, "run", str(three), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "anthropic-sdk-python#1432" in line]
    assert len(notes) >= 2  # once after the create, once after the end
    assert all(line.startswith("note: the API answered 404 (not found) for ") for line in notes)
    assert len(out.read_bytes().splitlines()) == 3


def test_an_id_never_created_here_gets_its_404_at_once(make_emulator, clock):
    emulator = make_emulator(flaky_404_seconds=5)
    foreign = emulator.client().messages.batches.create(requests=[request("a")])  # not via batchctl
    result = on(emulator, clock, "status", foreign.id)
    assert result.exit_code == 5
    assert "404" in result.stderr and "#1432" not in result.stderr
    assert clock.sleeps == []


def test_a_tracked_batch_still_missing_after_the_grace_is_a_404(make_emulator, clock, three):
    emulator = make_emulator(flaky_404_seconds=600)  # far longer than the minute batchctl waits
    batch_id = on(emulator, clock, "submit", str(three)).stdout.strip()
    start = clock.time()
    result = on(emulator, clock, "status", batch_id)
    assert result.exit_code == 5
    assert clock.time() - start == 60  # bounded: about a minute, then the 404 stands
    assert "#1432" in result.stderr


def test_results_404_just_after_the_end_is_retried(make_emulator, clock, tmp_path):
    emulator = make_emulator(flaky_404_seconds=5, processing_seconds=10)
    outbox = Outbox()
    api = api_on(emulator, clock, tmp_path / "s", outbox=outbox)
    body = orjson.dumps({"requests": [request("a"), request("b")]})
    api.create(lambda: [body], len(body))
    clock.advance(11)  # ended a second ago: list shows it ended, results still answer 404
    (ended,) = api.list_page().data
    assert ended["processing_status"] == "ended"
    with pytest.raises(errors.NotFoundError), api.open_results(ended) as chunks:
        b"".join(chunks)
    with api.open_results(ended, not_found_grace=60) as chunks:
        lines = b"".join(chunks).splitlines()
    assert len(lines) == 2
    assert clock.sleeps == [1.0, 2.0, 4.0]  # 404s until 5 s after the end
    notes = [e.text for e in outbox.drain() if isinstance(e, Note)]
    assert notes and "the results of batch" in notes[0]
    api.close()
