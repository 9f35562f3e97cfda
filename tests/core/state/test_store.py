"""The state store on both backends: schema, migrations, resolving ids and jobs, claims and locks;
then what only SQLite has (file permissions, WAL, a corrupt file)."""

from __future__ import annotations

import sqlite3
import stat
import time

import pytest

from batchctl.cli.flags import FLAGS
from batchctl.core import errors
from batchctl.core.location import parse_store
from batchctl.core.state.migrations import MIGRATIONS, RENAMED
from batchctl.core.state.store import Store
from tests.support.clock import FakeClock
from tests.support.stores import BATCH, claim_owners, new_job, record


def _columns(store: Store, table: str) -> set[str]:
    if store.db.dialect == "sqlite":
        sql = f"SELECT name FROM pragma_table_info('{table}')"
    else:
        sql = ("SELECT column_name AS name FROM information_schema.columns "
               f"WHERE table_name = '{table}' AND table_schema = current_schema()")
    return {r["name"] for r in store.db.query(sql)}


def test_migrations_recorded_once_and_columns_exact(open_store) -> None:
    open_store().close()
    store = open_store()  # second open applies nothing new
    names = [r["name"] for r in store.db.query("SELECT name FROM migrations ORDER BY name")]
    assert names == sorted([*(name for name, _ in MIGRATIONS), *RENAMED])  # old names kept too
    cols = _columns(store, "batches")
    for needed in ("id", "job_id", "part", "base_url", "request_file", "sha256", "byte_size",
                   "first_line", "last_line", "request_count", "label", "parent_id",
                   "processing_status", "results_path", "collected_at", "deleted_at"):
        assert needed in cols
    assert not any("key" in c for c in cols)


def test_record_batch_closes_intent_and_resolves_by_id_and_job(open_store) -> None:
    store = open_store()
    job = new_job(store)
    intent = store.open_intent(job_id=job["id"], part=1, request_count=2)
    assert intent["state"] == "open" and intent["batch_id"] is None
    row = record(store, job)
    assert row["request_counts"]["processing"] == 2
    assert store.get_intent(job["id"], 1)["state"] == "done"
    assert store.get_intent(job["id"], 1)["batch_id"] == "msgbatch_01"
    assert [r["id"] for r in store.resolve("msgbatch_01")] == ["msgbatch_01"]
    assert [r["id"] for r in store.resolve(job["id"])] == ["msgbatch_01"]
    assert store.get_job(job["id"])["betas"] == ["b1"]
    assert "seq" not in row and "rowid" not in row
    with pytest.raises(errors.NotFoundError) as info:
        store.resolve("msgbatch_01", base_url="http://other")
    assert info.value.exit_code == 5


def test_reopening_an_intent_counts_attempts(open_store) -> None:
    store = open_store()
    job = new_job(store)
    store.open_intent(job_id=job["id"], part=1, request_count=2)
    again = store.open_intent(job_id=job["id"], part=1, request_count=2)
    assert again["attempts"] == 2 and again["state"] == "open"


def test_find_job_matches_content_split_and_base_url_newest_first(open_store) -> None:
    store = open_store()
    new_job(store)
    newer = new_job(store)  # the same instant (fake clock): insertion order decides
    assert store.find_job(sha256="ab" * 32, split_key="1:2", base_url="http://x")["id"] == newer["id"]
    assert store.find_job(sha256="ab" * 32, split_key="1:1", base_url="http://x") is None
    assert store.find_job(sha256="ab" * 32, split_key="1:2", base_url="http://y") is None


def test_timestamps_keep_full_precision(open_store) -> None:
    clock = FakeClock()
    clock.advance(0.123456)
    store = open_store(clock)
    job = new_job(store, byte_size=5 * 2**31)  # larger than a 32-bit integer
    assert store.get_job(job["id"])["created_at"] == clock.now
    assert store.get_job(job["id"])["byte_size"] == 5 * 2**31


def test_update_collect_delete_and_filters(open_store) -> None:
    clock = FakeClock()
    store = open_store(clock)
    job = new_job(store)
    record(store, job)
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


def test_listings_newest_first_and_completion_candidates(open_store) -> None:
    store = open_store()
    job = new_job(store)
    for n in range(3):
        record(store, job, dict(BATCH, id=f"msgbatch_0{n}"), part=n + 1)
    assert [r["id"] for r in store.batches()] == ["msgbatch_02", "msgbatch_01", "msgbatch_00"]
    got = store.ref_candidates("msgbatch_0", base_url="http://x")
    assert [i for i, _ in got] == ["msgbatch_02", "msgbatch_01", "msgbatch_00"]
    assert store.ref_candidates(job["id"][:6]) == [(job["id"], "nightly: job of 3 batches")]


def test_two_connections_see_each_other(open_store) -> None:
    a, b = open_store(), open_store()
    job = new_job(a)
    assert b.get_job(job["id"]) is not None


def test_a_claim_excludes_a_second_collector_until_released(open_store) -> None:
    a, b = open_store(), open_store()
    record(a, new_job(a))

    def live(claim: dict) -> bool:  # no claim row is stale by age or pid here
        return False

    assert a.claim("msgbatch_01", "host:1:a", is_stale=live)
    assert not b.claim("msgbatch_01", "host:2:b", is_stale=live)
    assert claim_owners(b) == ["host:1:a"]
    a.release("msgbatch_01", "host:1:a")
    assert b.claim("msgbatch_01", "host:2:b", is_stale=live)
    b.mark_collected("msgbatch_01", "/out")
    b.release("msgbatch_01", "host:2:b")
    assert not a.claim("msgbatch_01", "host:1:a", is_stale=live)  # collected meanwhile
    assert claim_owners(b) == []


def test_a_claim_dies_with_its_connection_on_postgres(tmp_path, postgres_url) -> None:
    # (SQLite's claims die with their process: the kill -9 suite shows it.)
    a, b = (Store.open(tmp_path, location=parse_store(postgres_url)) for _ in range(2))
    record(a, new_job(a))
    assert a.claim("msgbatch_01", "elsewhere:1:a", is_stale=lambda claim: False)
    a.close()  # as if its host died: the server drops the session and its locks
    # The server ends the session a moment after the socket closes: poll briefly for that.
    deadline = time.monotonic() + 10
    while not b.claim("msgbatch_01", "here:2:b", is_stale=lambda claim: False):
        assert time.monotonic() < deadline, "the dead session's claim was never released"
        time.sleep(0.05)
    assert claim_owners(b) == ["here:2:b"]
    b.close()


def test_stores_in_two_schemas_of_one_database_do_not_share_locks(tmp_path, postgres_url) -> None:
    # Advisory locks are per database: without the schema in the key, a claim in one store
    # refused the same batch id's claim in another (xdist workers' tests did, now and then).
    from tests.support.stores import fresh_schema_url

    with fresh_schema_url() as other_url:
        here, there = (Store.open(tmp_path / name, location=parse_store(url))
                       for name, url in (("a", postgres_url), ("b", other_url)))
        twin = Store.open(tmp_path / "c", location=parse_store(postgres_url))
        try:
            for store in (here, there):
                record(store, new_job(store))
            assert here.claim("msgbatch_01", "h:1:a", is_stale=lambda claim: False)
            assert there.claim("msgbatch_01", "h:2:b", is_stale=lambda claim: False)
            assert not twin.db.try_hold("collect:msgbatch_01")  # the same store: held
        finally:
            for store in (here, there, twin):
                store.close()


def test_a_unique_prefix_resolves_and_an_ambiguous_one_is_refused(open_store) -> None:
    store = open_store()
    job = new_job(store)
    for n, suffix in enumerate(("AAAAxxxxxxxxxxxxxxxxxxx1", "AAAAyyyyyyyyyyyyyyyyyyy2"), 1):
        record(store, job, {**BATCH, "id": "msgbatch_01" + suffix}, part=n)
    (row,) = store.resolve("msgbatch_01AAAAx…", base_url="http://x")
    assert row["id"] == "msgbatch_01AAAAxxxxxxxxxxxxxxxxxxx1"
    with pytest.raises(errors.UsageError, match=r"'msgbatch_01AAAA' is the start of 2 tracked batch ids: "
                       r"msgbatch_01AAAAx\w+, msgbatch_01AAAAy\w+") as refused:
        store.resolve("msgbatch_01AAAA", base_url="http://x", flags=FLAGS)
    assert refused.value.hint == "give more of the id (batchctl list --wide shows them whole)"
    with pytest.raises(errors.NotFoundError):  # too short to be taken for a prefix
        store.resolve("msgbatch_01AAA", base_url="http://x")
    with pytest.raises(errors.NotFoundError):  # another API's store rows are not candidates
        store.resolve("msgbatch_01AAAAx", base_url="http://elsewhere")


def test_hold_waits_for_the_other_holder(open_store) -> None:
    a, b = open_store(), open_store()
    with a.hold("submit:x"):
        if a.db.dialect == "postgresql":  # SQLite's record locks are per process
            assert not b.db.try_hold("submit:x")
    assert b.db.try_hold("submit:x")
    b.db.unhold("submit:x")


# -- SQLite only ---------------------------------------------------------------------------------
def test_sqlite_files_are_private_and_wal(tmp_path) -> None:
    store = Store.open(tmp_path / "s", clock=FakeClock())
    path = tmp_path / "s" / "batchctl.db"
    assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.db.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"
    new_job(store)
    for side in tmp_path.joinpath("s").glob("batchctl.db-*"):
        store.close()
        store = Store.open(tmp_path / "s")
        assert stat.S_IMODE(side.stat().st_mode) == 0o600
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_sqlite_corrupt_store_is_a_state_error(tmp_path) -> None:
    (tmp_path / "batchctl.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(errors.StateError) as info:
        Store.open(tmp_path)
    assert info.value.exit_code == 7
    assert "batchctl.db" in str(info.value)
