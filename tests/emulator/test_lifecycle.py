"""The lifecycle, driven by the fake clock: end, cancel, expiry, archive; persistence and sharing."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import timedelta

from tests.support.failures import failure
from tests.support.files import requests_for


def _types(client, batch_id: str) -> Counter:
    return Counter(r.result.type for r in client.messages.batches.results(batch_id))


def _counts(batch) -> dict:
    counts = batch.request_counts.to_dict()
    counts.pop("processing")
    return {k: v for k, v in counts.items() if v}


def test_zero_processing_seconds_ends_at_once(make_emulator):
    emulator = make_emulator(processing_seconds=0)
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(3))
        assert batch.processing_status == "ended" and batch.results_url
        assert batch.ended_at == batch.created_at and batch.request_counts.succeeded == 3


def test_a_cancel_right_after_create_cancels_everything(make_emulator):
    emulator = make_emulator(processing_seconds=100, cancel_seconds=5)
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(50))
        emulator.clock.advance(0.001)
        canceling = client.messages.batches.cancel(batch.id)
        assert canceling.processing_status == "canceling"
        assert canceling.cancel_initiated_at is not None and canceling.results_url is None
        assert canceling.request_counts.processing == 50
        emulator.clock.advance(2)
        again = client.messages.batches.cancel(batch.id)  # idempotent while canceling
        assert again.cancel_initiated_at == canceling.cancel_initiated_at
        assert again.processing_status == "canceling"
        emulator.clock.advance(3)
        ended = client.messages.batches.retrieve(batch.id)
        assert ended.processing_status == "ended"
        assert ended.ended_at - ended.cancel_initiated_at == timedelta(seconds=5)
        assert _counts(ended) == {"canceled": 50}
        assert _types(client, batch.id) == Counter(canceled=50)


def test_a_late_cancel_cancels_only_the_unstarted_requests(make_emulator):
    emulator = make_emulator(processing_seconds=100, cancel_seconds=1)
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(200))
        emulator.clock.advance(80)
        client.messages.batches.cancel(batch.id)
        emulator.clock.advance(1)
        counts = _counts(client.messages.batches.retrieve(batch.id))
        assert set(counts) == {"succeeded", "canceled"}
        assert counts["succeeded"] + counts["canceled"] == 200
        assert 10 <= counts["canceled"] <= 70  # about the last fifth of the processing window
        assert _types(client, batch.id) == Counter(counts)


def test_expiry_turns_the_unprocessed_requests_expired(make_emulator):
    emulator = make_emulator(processing_seconds=100, expiry_seconds=50)
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(200))
        assert batch.expires_at - batch.created_at == timedelta(seconds=50)
        emulator.clock.advance(49.9)
        assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
        emulator.clock.advance(0.1)
        ended = client.messages.batches.retrieve(batch.id)
        assert ended.processing_status == "ended" and ended.ended_at == ended.expires_at
        counts = _counts(ended)
        assert set(counts) == {"succeeded", "expired"} and 60 <= counts["expired"] <= 140
        assert _types(client, batch.id) == Counter(counts)


def test_archived_results_are_refused_but_the_batch_stays(make_emulator):
    emulator = make_emulator(processing_seconds=10, archive_seconds=1000)
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(2))
        emulator.clock.advance(999)
        assert client.messages.batches.retrieve(batch.id).archived_at is None
        assert len(list(client.messages.batches.results(batch.id))) == 2
        emulator.clock.advance(1)
        archived = client.messages.batches.retrieve(batch.id)
        assert archived.archived_at - archived.created_at == timedelta(seconds=1000)
        assert archived.results_url is not None  # kept, so clients reach the clear refusal below
        caught = failure(lambda: client.messages.batches.results(batch.id))
        assert caught.status_code == 404 and caught.request_id.startswith("req_")
        assert "archived" in caught.body["error"]["message"]


def test_timing_is_fixed_when_a_batch_is_created(make_emulator, tmp_path):
    data = tmp_path / "shared"
    slow = make_emulator(data_dir=data, processing_seconds=100)
    with slow.client() as client:
        batch_id = client.messages.batches.create(requests=requests_for(1)).id
    fast = make_emulator(data_dir=data, processing_seconds=1)  # a restart with other settings
    slow.clock.advance(10)
    with fast.client() as client:
        assert client.messages.batches.retrieve(batch_id).processing_status == "in_progress"


def test_state_survives_a_restart(make_emulator, tmp_path):
    data = tmp_path / "kept"
    first = make_emulator(data_dir=data, processing_seconds=10)
    with first.client() as client:
        kept = client.messages.batches.create(requests=requests_for(5)).id
        first.clock.advance(10)
        before = first.http().get(f"/v1/messages/batches/{kept}/results").content
    first.server.stop()
    second = make_emulator(data_dir=data, processing_seconds=10)
    with second.client() as client:
        assert client.messages.batches.retrieve(kept).request_counts.succeeded == 5
        assert [b.id for b in client.messages.batches.list()] == [kept]
        assert second.http().get(f"/v1/messages/batches/{kept}/results").content == before


def test_two_apps_on_one_data_dir_see_each_others_batches(make_emulator, tmp_path):
    data = tmp_path / "shared"
    one, two = make_emulator(data_dir=data), make_emulator(data_dir=data)
    with one.client() as a, two.client() as b:
        made = []
        for client in (a, b, a, b):
            made.append(client.messages.batches.create(requests=requests_for(1)).id)
        assert [x.id for x in a.messages.batches.list()] == made[::-1]
        assert [x.id for x in b.messages.batches.list()] == made[::-1]
        b.messages.batches.cancel(made[0])
        assert a.messages.batches.retrieve(made[0]).processing_status == "canceling"


def test_a_deleted_batch_still_works_as_a_list_cursor(emulator, client):
    ids = [client.messages.batches.create(requests=requests_for(1)).id for _ in range(3)]
    emulator.clock.advance(60)
    client.messages.batches.delete(ids[1])
    page = client.messages.batches.list(after_id=ids[1])
    assert [b.id for b in page.data] == [ids[0]]
    assert [b.id for b in client.messages.batches.list()] == [ids[2], ids[0]]


_OTHER_PROCESS = """
import io, sys, orjson
from batchctl.emulator import make_app
app = make_app(sys.argv[1])
body = orjson.dumps({"requests": [{"custom_id": "from-elsewhere", "params": {}}]})
environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/v1/messages/batches", "HTTP_X_API_KEY": "k",
           "HTTP_ANTHROPIC_VERSION": "2023-06-01", "CONTENT_LENGTH": str(len(body)),
           "wsgi.input": io.BytesIO(body), "HTTP_HOST": "elsewhere"}
reply = b"".join(app(environ, lambda status, headers: None))
print(orjson.loads(reply)["id"])
"""


def test_another_process_on_the_same_data_dir(emulator, client):
    mine = client.messages.batches.create(requests=requests_for(1)).id
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(emulator.data_dir)],
        capture_output=True, timeout=60, check=True,
    )
    theirs = done.stdout.decode().strip()
    assert theirs.startswith("msgbatch_")
    assert [b.id for b in client.messages.batches.list()] == [theirs, mine]
