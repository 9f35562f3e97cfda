"""`state export` / `state import`: a store as versioned JSONL, moved between backends, idempotent,
and a bad file refused whole with FILE:LINE."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from batchctl.core.location import parse_store
from batchctl.core.state.hooks import COLLECT, END, FAILED, SUCCEEDED, Rerun
from batchctl.core.state.store import Store
from tests.helpers import invoke
from tests.support.clock import FakeClock
from tests.support.stores import BATCH, new_job, record

ENDED = {**BATCH, "processing_status": "ended",
         "request_counts": {"processing": 0, "succeeded": 2, "errored": 0, "canceled": 0, "expired": 0}}
HOOK = "a" * 64
AGAIN = Rerun("notify $BATCHCTL_BATCH_ID", "collect", "http://x", '{"batch_id": "msgbatch_00"}')


def seed(state_dir: Path, store_value: str) -> None:
    store = Store.open(state_dir, clock=FakeClock(), location=parse_store(store_value))
    try:
        for n in range(2):
            job = new_job(store, request_file=f"/abs/f{n}.jsonl", source=f"f{n}.jsonl",
                          sha256=f"{n}" * 64, byte_size=10 + n, split_key="1-2",
                          label=f"label{n}", betas=[])
            store.record_parts(job["id"], [{
                "part": 1, "first_line": 1, "last_line": 2, "start_offset": 0,
                "end_offset": 10 + n, "request_count": 2, "body_size": 99, "sha256": "c" * 64,
                "convert_lines": None}])
            store.open_intent(job_id=job["id"], part=1, request_count=2)
            record(store, job, dict(ENDED, id=f"msgbatch_0{n}"))
        # A job's end hook that succeeded (never to run again) and a collect hook that failed
        # (for the next collect to run again, from its recorded command).
        store.start_hook(END, "job_1", HOOK)
        store.end_hook(END, "job_1", HOOK, exit_code=0)
        store.start_hook(COLLECT, "msgbatch_00", HOOK)
        store.end_hook(COLLECT, "msgbatch_00", HOOK, exit_code=3, rerun=AGAIN)
    finally:
        store.close()


def local(store_value: str) -> list[dict]:
    result = invoke(["--store", store_value, "list", "--local", "--json"])
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_export_then_import_into_the_other_backend_is_the_same_store(
    state_dir: Path, tmp_path: Path, postgres_url: str
) -> None:
    seed(state_dir, "sqlite")
    dump = tmp_path / "state.jsonl"
    exported = invoke(["state", "export", str(dump)])
    assert exported.exit_code == 0, exported.stderr
    assert exported.stdout == ""
    assert "exported 2 jobs, 2 parts, 2 intents, 2 batches, 2 hook runs" in exported.stderr
    lines = [orjson.loads(x) for x in dump.read_bytes().splitlines()]
    assert lines[0]["format"] == "batchctl-state" and lines[0]["version"] == 1
    assert [x["table"] for x in lines[1:]] == (
        ["jobs"] * 2 + ["parts"] * 2 + ["intents"] * 2 + ["batches"] * 2 + ["hook_runs"] * 2)

    imported = invoke(["--store", postgres_url, "state", "import", str(dump), "--json"])
    assert imported.exit_code == 0, imported.stderr
    record = json.loads(imported.stdout)
    assert record["added"] == {"jobs": 2, "parts": 2, "intents": 2, "batches": 2, "hook_runs": 2}
    assert local(postgres_url) == local("sqlite")  # same rows, same newest-first order
    assert hook_runs(state_dir, postgres_url) == hook_runs(state_dir, "sqlite")

    again = invoke(["--store", postgres_url, "state", "import", str(dump), "--json"])
    assert json.loads(again.stdout)["added"] == {"jobs": 0, "parts": 0, "intents": 0, "batches": 0,
                                                 "hook_runs": 0}
    assert json.loads(again.stdout)["kept"] == {"jobs": 2, "parts": 2, "intents": 2, "batches": 2,
                                                "hook_runs": 2}

    # And back: PostgreSQL's export, through stdout, into a fresh SQLite store.
    piped = invoke(["--store", postgres_url, "state", "export", "-"])
    assert piped.stdout.splitlines()[1:] == dump.read_text().splitlines()[1:]
    fresh = tmp_path / "fresh"
    back = invoke(["--state-dir", str(fresh), "state", "import", "-"], input=piped.stdout)
    assert back.exit_code == 0, back.stderr
    assert invoke(["--state-dir", str(fresh), "list", "--local", "--json"]).stdout == (
        invoke(["list", "--local", "--json"]).stdout)
    assert hook_runs(fresh, "sqlite") == hook_runs(state_dir, "sqlite")


def hook_runs(state_dir: Path, store_value: str) -> list[dict]:
    """The store's hook runs, after checking the imported ones still do their work there: the
    succeeded hook is not taken again, the failed one is there to run again from its command."""
    store = Store.open(state_dir, clock=FakeClock(), location=parse_store(store_value))
    try:
        assert store.start_hook(END, "job_1", HOOK) is None
        (failed,) = store.failed_hooks(base_url="http://x")
        assert (failed["subject"], failed["command"]) == ("msgbatch_00", AGAIN.command)
        rows = store.db.query("SELECT * FROM hook_runs ORDER BY kind, subject, hook")
        assert [(r["kind"], r["state"]) for r in rows] == [(COLLECT, FAILED), (END, SUCCEEDED)]
        return [{k: v for k, v in r.items() if k != "seq"} for r in rows]
    finally:
        store.close()


def test_a_bad_export_is_refused_whole_with_file_and_line(
    state_dir: Path, tmp_path: Path, store_value: str
) -> None:
    seed(state_dir, "sqlite")
    dump = tmp_path / "state.jsonl"
    assert invoke(["state", "export", str(dump)]).exit_code == 0
    good = dump.read_bytes().splitlines()
    bad = tmp_path / "bad.jsonl"
    evil = orjson.dumps({"table": "batches", "row": {"id": "x", "1=1; DROP TABLE jobs": 1}})
    bad.write_bytes(b"\n".join([*good[:3], b"{not json", evil, *good[3:]]) + b"\n")
    result = invoke(["--store", store_value, "--state-dir", str(tmp_path / "other"),
                     "state", "import", str(bad)])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert f"{bad}:4: not JSON" in result.stderr
    assert f"{bad}:5: unknown batches column(s): 1=1; DROP TABLE jobs" in result.stderr
    assert local_in(tmp_path / "other", store_value) == []  # nothing was imported

    newer = tmp_path / "newer.jsonl"
    newer.write_bytes(orjson.dumps({"format": "batchctl-state", "version": 99}) + b"\n")
    result = invoke(["state", "import", str(newer)])
    assert result.exit_code == 3 and "version 99" in result.stderr
    result = invoke(["state", "import", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2 and "cannot read" in result.stderr


def local_in(state: Path, store_value: str) -> list[str]:
    result = invoke(["--store", store_value, "--state-dir", str(state), "list", "--local",
                     "--json"])
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()
