"""The state store: schema, migrations, permissions, WAL, resolving ids and jobs."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from batchctl.core import errors
from batchctl.core.state.migrations import MIGRATIONS
from batchctl.core.state.store import Store
from tests.helpers import FakeClock

BATCH = {
    "id": "msgbatch_01",
    "processing_status": "in_progress",
    "request_counts": {"processing": 2, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
    "created_at": "2026-09-21T10:00:00Z",
    "expires_at": "2026-09-22T10:00:00Z",
    "ended_at": None,
    "cancel_initiated_at": None,
    "archived_at": None,
    "results_url": None,
}


def _job(store: Store, **over):
    fields = dict(
        base_url="http://x",
        request_file="/abs/f.jsonl",
        source="f.jsonl",
        sha256="ab" * 32,
        byte_size=10,
        request_count=2,
        part_count=1,
        split_key="1:2",
        label="nightly",
        betas=["b1"],
    )
    fields.update(over)
    return store.insert_job(**fields)


def _batch(store: Store, job: dict, batch=BATCH, part=1):
    return store.record_batch(
        batch,
        job_id=job["id"],
        part=part,
        base_url=job["base_url"],
        request_file=job["request_file"],
        sha256=job["sha256"],
        byte_size=job["byte_size"],
        first_line=1,
        last_line=2,
        request_count=2,
        label=job["label"],
    )


def test_files_are_private_and_wal(tmp_path) -> None:
    store = Store.open(tmp_path / "s", clock=FakeClock())
    assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    _job(store)
    for side in tmp_path.joinpath("s").glob("batchctl.db-*"):
        store.close()
        store = Store.open(tmp_path / "s")
        assert stat.S_IMODE(side.stat().st_mode) == 0o600


def test_migrations_recorded_once_and_columns_exact(tmp_path) -> None:
    Store.open(tmp_path).close()
    store = Store.open(tmp_path)  # second open applies nothing new
    names = [r[0] for r in store.conn.execute("SELECT name FROM migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    cols = {r[1] for r in store.conn.execute("PRAGMA table_info(batches)")}
    for needed in ("id", "job_id", "part", "base_url", "request_file", "sha256", "byte_size",
                   "first_line", "last_line", "request_count", "label", "parent_id",
                   "processing_status", "results_path", "collected_at", "deleted_at"):
        assert needed in cols
    assert not any("key" in c for c in cols)


def test_record_batch_closes_intent_and_resolves_by_id_and_job(tmp_path) -> None:
    store = Store.open(tmp_path, clock=FakeClock())
    job = _job(store)
    intent = store.open_intent(job_id=job["id"], part=1, request_count=2)
    assert intent["state"] == "open" and intent["batch_id"] is None
    row = _batch(store, job)
    assert row["request_counts"]["processing"] == 2
    assert store.get_intent(job["id"], 1)["state"] == "done"
    assert store.get_intent(job["id"], 1)["batch_id"] == "msgbatch_01"
    assert [r["id"] for r in store.resolve("msgbatch_01")] == ["msgbatch_01"]
    assert [r["id"] for r in store.resolve(job["id"])] == ["msgbatch_01"]
    assert store.get_job(job["id"])["betas"] == ["b1"]
    with pytest.raises(errors.NotFoundError) as info:
        store.resolve("msgbatch_01", base_url="http://other")
    assert info.value.exit_code == 5


def test_reopening_an_intent_counts_attempts(tmp_path) -> None:
    store = Store.open(tmp_path, clock=FakeClock())
    job = _job(store)
    store.open_intent(job_id=job["id"], part=1, request_count=2)
    again = store.open_intent(job_id=job["id"], part=1, request_count=2)
    assert again["attempts"] == 2 and again["state"] == "open"


def test_find_job_matches_content_split_and_base_url(tmp_path) -> None:
    store = Store.open(tmp_path, clock=FakeClock())
    job = _job(store)
    assert store.find_job(sha256="ab" * 32, split_key="1:2", base_url="http://x")["id"] == job["id"]
    assert store.find_job(sha256="ab" * 32, split_key="1:1", base_url="http://x") is None
    assert store.find_job(sha256="ab" * 32, split_key="1:2", base_url="http://y") is None


def test_update_collect_delete_and_filters(tmp_path) -> None:
    clock = FakeClock()
    store = Store.open(tmp_path, clock=clock)
    job = _job(store)
    _batch(store, job)
    ended = dict(BATCH, processing_status="ended", results_url="http://x/r")
    clock.advance(5)
    store.update_remote(ended)
    row = store.get_batch("msgbatch_01")
    assert row["processing_status"] == "ended" and row["last_seen_at"] == clock.now
    assert [r["id"] for r in store.batches(uncollected=True)] == ["msgbatch_01"]
    store.mark_collected("msgbatch_01", "/tmp/out.jsonl")
    assert store.batches(uncollected=True) == []
    store.mark_deleted("msgbatch_01")
    assert store.batches() == []
    assert store.batches(include_deleted=True)[0]["deleted_at"] == clock.now


def test_corrupt_store_is_a_state_error(tmp_path) -> None:
    (tmp_path / "batchctl.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(errors.StateError) as info:
        Store.open(tmp_path)
    assert info.value.exit_code == 7
    assert "batchctl.db" in str(info.value)


def test_two_connections_see_each_other(tmp_path) -> None:
    a = Store.open(tmp_path)
    b = Store.open(tmp_path)
    job = _job(a)
    assert b.get_job(job["id"]) is not None
    assert sqlite3.connect(a.path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
