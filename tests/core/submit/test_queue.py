"""Queue-aware jobs: a job larger than the API's processing queue is fed part by part, through
the emulator's --queue-limit, never sending a part twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from batchctl.core.state.store import Store
from tests.support.clock import FakeClock
from tests.support.emulators import sizes
from tests.support.files import request, write_jsonl
from tests.support.runs import cli_on, on
from tests.support.stores import BATCH, new_job


@pytest.fixture
def queued(make_emulator):
    """An emulator whose processing queue holds 6 requests; batches end 60 s after create."""
    return make_emulator(queue_limit=6, processing_seconds=60)


@pytest.fixture
def qcli(queued, clock):
    return cli_on(queued, clock)


def _store(state_dir: Path) -> Store:
    return Store.open(state_dir)


def test_submit_stops_at_a_full_queue_lists_the_pending_part_and_exits_0(qcli, queued, seven):
    result = qcli("submit", str(seven), "--max-requests", "3")
    assert result.exit_code == 0, result.stderr
    batches = queued.batches()
    assert sorted(sizes(batches)) == [3, 3]  # parts 1 and 2 fill the queue of 6
    assert result.stdout.split() == [b["id"] for b in reversed(batches)]
    assert "1 of 3 parts of job job_" in result.stderr
    assert "the API's processing queue is full (next try in 1m" in result.stderr
    assert "part 3: lines 7-7 (1 request) pending" in result.stderr
    assert "send the rest as the queue drains" in result.stderr and "wait job_" in result.stderr


def test_json_marks_the_parts_not_sent_pending(qcli, seven):
    result = qcli("submit", str(seven), "--max-requests", "3", "--json")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["part"] for r in records] == [1, 2, 3]
    assert [r["processing_status"] for r in records] == ["in_progress", "in_progress", "pending"]
    assert [r["pending"] for r in records] == [False, False, True]
    assert records[2]["id"] is None and records[2]["held"] == "queue_full"
    assert (records[2]["first_line"], records[2]["request_count"]) == (7, 1)


def test_the_same_submit_sends_the_pending_part_once_the_queue_drained(
    qcli, queued, seven, clock, state_dir
):
    first = qcli("submit", str(seven), "--max-requests", "3")
    assert first.exit_code == 0, first.stderr
    early = qcli("submit", str(seven), "--max-requests", "3")  # nothing ended: no create call
    assert early.exit_code == 0 and "1 of 3 parts" in early.stderr
    store = _store(state_dir)
    job_id = store.batches()[0]["job_id"]
    assert store.get_intent(job_id, 3)["attempts"] == 1
    assert store.get_intent(job_id, 3)["state"] == "refused"
    clock.advance(60)
    again = qcli("submit", str(seven), "--max-requests", "3")
    assert again.exit_code == 0, again.stderr
    assert "not sent yet" not in again.stderr
    assert sorted(sizes(queued.batches())) == [1, 3, 3]  # part 3 sent, nothing twice
    assert len(again.stdout.split()) == 3
    assert store.get_intent(job_id, 3)["state"] == "done"
    third = qcli("submit", str(seven), "--max-requests", "3")
    assert third.exit_code == 0 and "already submitted" in third.stderr
    assert len(queued.batches()) == 3


def test_max_queued_keeps_a_margin_without_a_refused_call(qcli, queued, seven, clock, state_dir):
    result = qcli("submit", str(seven), "--max-requests", "3", "--max-queued", "4")
    assert result.exit_code == 0, result.stderr
    assert sizes(queued.batches()) == [3]
    assert "2 of 3 parts of job" in result.stderr and "--max-queued 4" in result.stderr
    store = _store(state_dir)
    job_id = store.batches()[0]["job_id"]
    assert store.get_intent(job_id, 2) is None  # never tried: nothing refused
    clock.advance(60)  # part 1 ends: 0 queued, then 3, then 3 + 1 = 4
    again = qcli("submit", str(seven), "--max-requests", "3")  # the margin is remembered
    assert again.exit_code == 0, again.stderr
    assert sorted(sizes(queued.batches())) == [1, 3, 3]


def test_max_queued_below_a_part_is_a_usage_error_before_anything_is_sent(qcli, queued, seven):
    result = qcli("submit", str(seven), "--max-requests", "3", "--max-queued", "2")
    assert result.exit_code == 2
    assert "--max-queued 2 is smaller than a part of 3 requests" in result.stderr
    assert queued.batches() == [] and result.stdout == ""


def test_a_job_another_live_process_is_feeding_is_left_to_it(
    qcli, queued, seven, clock, state_dir
):
    first = qcli("submit", str(seven), "--max-requests", "3")
    assert first.exit_code == 0
    job_id = _store(state_dir).batches()[0]["job_id"]
    holder = subprocess.Popen(  # another process feeding the job: it holds the job's lock
        [sys.executable, "-c", HOLD_FEED, str(state_dir), job_id],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        clock.advance(60)
        result = qcli("submit", str(seven), "--max-requests", "3")
        assert result.exit_code == 0, result.stderr
        assert "another batchctl process is sending them" in result.stderr
        assert len(queued.batches()) == 2
    finally:
        holder.communicate("", timeout=30)
    result = qcli("submit", str(seven), "--max-requests", "3")  # its lock died with it
    assert result.exit_code == 0 and len(queued.batches()) == 3


HOLD_FEED = """
import sys
from batchctl.core.state.store import Store
store = Store.open(sys.argv[1])
assert store.claim_feed(sys.argv[2])
print("held", flush=True)
sys.stdin.read()
"""


def test_parts_pending_held_and_intents_on_both_backends(open_store) -> None:
    clock = FakeClock()
    store = open_store(clock)
    job = new_job(store, part_count=2)
    part = {"first_line": 1, "last_line": 2, "start_offset": 0, "end_offset": 10,
            "request_count": 2, "body_size": 30, "sha256": "cd" * 32, "convert_lines": None}
    parts = [{**part, "part": 1}, {**part, "part": 2, "convert_lines": "[[3,4]]"}]
    store.record_parts(job["id"], parts)
    store.record_parts(job["id"], parts)  # again: nothing changes
    assert [p["batch_id"] for p in store.job_parts(job["id"])] == [None, None]
    assert store.pending_jobs(base_url="http://x") == [job["id"]]
    store.hold_part(job["id"], 2, held="queue_full", retry_at=clock.now + 60, unended=2)
    first = store.open_intent(job_id=job["id"], part=1, request_count=2)
    store.record_batch({**BATCH, "id": "msgbatch_01"}, job_id=job["id"], part=1,
                       base_url="http://x", request_file="/abs/f.jsonl", sha256="ab" * 32,
                       byte_size=10, request_count=2)
    rows = store.job_parts(job["id"])
    assert [(p["batch_id"], p["processing_status"]) for p in rows] == [
        ("msgbatch_01", "in_progress"), (None, None)]
    assert (rows[1]["held"], rows[1]["held_unended"], rows[1]["convert_lines"]) == (
        "queue_full", 2, "[[3,4]]")
    assert first["state"] == "open"
    store.open_intent(job_id=job["id"], part=2, request_count=2)
    store.refuse_intent(job["id"], 2)
    assert store.get_intent(job["id"], 2)["state"] == "refused"
    clock.advance(100)
    again = store.open_intent(job_id=job["id"], part=2, request_count=2)
    assert again["state"] == "open" and again["attempts"] == 2
    assert again["created_at"] == clock.now  # a refused intent starts afresh
    clock.advance(5)
    assert store.open_intent(job_id=job["id"], part=2, request_count=2)["created_at"] == again[
        "created_at"]  # an open one keeps the time of its first create
    store.set_max_queued(job["id"], 5)
    assert store.get_job(job["id"])["max_queued"] == 5


# -- wait, run: pending parts are sent as the queue drains -----------------------------------------
def _job_id(state_dir: Path) -> str:
    return _store(state_dir).batches()[0]["job_id"]


def test_wait_job_sends_the_pending_parts_as_the_queue_drains(qcli, queued, seven, state_dir):
    assert qcli("submit", str(seven), "--max-requests", "3").exit_code == 0
    job_id = _job_id(state_dir)
    result = qcli("wait", job_id, "--json", "--interval", "5")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["processing_status"] for r in records] == ["ended"] * 3
    assert sorted(sizes(queued.batches())) == [1, 3, 3]  # part 3 went in once, after part 1 ended
    assert f"sent part 3 of job {job_id} as msgbatch_" in result.stderr
    assert "3 of 3 batches ended" in result.stderr


def test_wait_times_out_with_the_parts_still_pending_counted(qcli, seven, state_dir):
    assert qcli("submit", str(seven), "--max-requests", "3").exit_code == 0
    job_id = _job_id(state_dir)
    result = qcli("wait", job_id, "--json", "--timeout", "10", "--interval", "5")
    assert result.exit_code == 8
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["processing_status"] for r in records] == ["in_progress", "in_progress", "pending"]
    assert "1 part not sent yet" in result.stderr and f"wait {job_id}" in result.stderr


def test_a_job_with_nothing_sent_yet_can_be_waited_for(qcli, queued, seven, state_dir, clock):
    with queued.client() as client:  # other work fills the queue
        client.messages.batches.create(requests=[request(f"o{i}") for i in range(6)])
    result = qcli("submit", str(seven), "--max-requests", "3")
    assert result.exit_code == 0 and result.stdout == ""
    assert "3 of 3 parts of job" in result.stderr
    job_id = result.stderr.split("parts of job ")[1].split()[0]
    status = qcli("status")  # no argument: jobs with parts not sent are counted too
    assert status.exit_code == 0 and status.stdout == ""
    assert f"{job_id}: 3 parts (7 requests): 3 pending (7 requests), 0 sent" in status.stderr
    waited = qcli("wait", job_id, "--interval", "5")
    assert waited.exit_code == 0, waited.stderr
    assert sorted(sizes(queued.batches())) == [1, 3, 3, 6]


def test_run_feeds_a_job_larger_than_the_queue_to_the_end(qcli, queued, seven, tmp_path):
    out = tmp_path / "out.jsonl"
    result = qcli("run", str(seven), "--max-requests", "3", "-o", str(out), "--interval", "5")
    assert result.exit_code == 0, result.stderr
    assert sorted(json.loads(line)["custom_id"] for line in out.read_text().splitlines()) == [
        f"r{i}" for i in range(7)]
    assert sorted(sizes(queued.batches())) == [1, 3, 3]
    assert "1 more part (1 request) goes in as the API's processing queue drains" in result.stderr


# -- request economy ---------------------------------------------------------------------------
def test_wait_over_many_batches_reads_list_pages_not_one_retrieve_each(make_emulator, clock,
                                                                       tmp_path, state_dir):
    # Every retrieve fails: only list pages can tell wait how the 10 batches are doing.
    emu = make_emulator(processing_seconds=30, fault_rate=1.0, fault_endpoints={"retrieve"})
    ten = write_jsonl(tmp_path / "ten.jsonl", [request(f"t{i}") for i in range(10)])

    def run(*args: str):
        return on(emu, clock, *args, api_max_retries=0)

    assert run("submit", str(ten), "--max-requests", "1").exit_code == 0
    result = run("wait", _job_id(state_dir), "--interval", "5")
    assert result.exit_code == 0, result.stderr
    assert "10 of 10 batches ended" in result.stderr


def test_status_of_ten_batches_is_one_call(make_emulator, clock, tmp_path, state_dir):
    # 11 calls a minute: the 10 creates, then one more. One retrieve per batch would need 10.
    emu = make_emulator(processing_seconds=30, rate_limit=11)
    ten = write_jsonl(tmp_path / "ten.jsonl", [request(f"t{i}") for i in range(10)])

    def run(*args: str):
        return on(emu, clock, *args, api_max_retries=0)

    assert run("submit", str(ten), "--max-requests", "1").exit_code == 0
    result = run("status", _job_id(state_dir), "--json")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["processing_status"] for line in result.stdout.splitlines()] == [
        "in_progress"] * 10
    assert run("status", _job_id(state_dir)).exit_code == 6  # the minute's calls are spent


def test_wait_keeps_to_one_call_a_second_whatever_the_interval(cli, tmp_path, clock, seven):
    assert cli("submit", str(seven), "--max-requests", "4").exit_code == 0  # two batches
    ids = [b["id"] for b in _store_of(cli).batches()]
    clock.sleeps.clear()
    result = cli("wait", *ids, "--interval", "0.5")
    assert result.exit_code == 0, result.stderr
    assert clock.sleeps and min(clock.sleeps) >= 2.0  # two retrieves a round: 2 s between


def _store_of(cli) -> Store:
    import os

    return Store.open(Path(os.environ["BATCHCTL_HOME"]))


def test_wait_waits_out_a_rate_limit_as_retry_after_asks(make_emulator, clock, tmp_path,
                                                        state_dir):
    emu = make_emulator(processing_seconds=20, rate_limit=3)
    one = write_jsonl(tmp_path / "one.jsonl", [request("x")])

    def run(*args: str):
        return on(emu, clock, *args, api_max_retries=0)

    assert run("submit", str(one)).exit_code == 0
    result = run("wait", _job_id(state_dir), "--interval", "1")
    assert result.exit_code == 0, result.stderr
    assert "the API limited the rate of calls; waiting" in result.stderr
    assert any(s >= 5 for s in clock.sleeps)  # the retry-after, in seconds, was honoured


# -- status and collect ------------------------------------------------------------------------
def test_status_job_gives_exact_pending_sent_and_ended_counts(qcli, seven, state_dir, clock):
    assert qcli("submit", str(seven), "--max-requests", "3").exit_code == 0
    job_id = _job_id(state_dir)
    clock.advance(60)  # parts 1 and 2 end; part 3 is still pending (nothing fed it)
    result = qcli("status", job_id, "--json")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["processing_status"] for r in records] == ["ended", "ended", "pending"]
    assert records[2]["part"] == 3 and records[2]["id"] is None
    assert (f"{job_id}: 3 parts (7 requests): 1 pending (1 request), 2 sent (6), "
            "2 ended (6)") in result.stderr
    piped = qcli("status", job_id)
    assert len(piped.stdout.splitlines()) == 2  # tab-separated rows: one per batch
    table = qcli("status", job_id, tty=True, width=200)
    assert "pending" in table.stdout and "1 request " in table.stdout


def test_collect_sends_held_parts_and_says_what_is_still_waiting(
    qcli, queued, seven, state_dir, clock, tmp_path
):
    big = write_jsonl(tmp_path / "big.jsonl", [request(f"b{i}") for i in range(12)])
    assert qcli("submit", str(big), "--max-requests", "3").exit_code == 0  # 2 of 4 parts sent
    early = qcli("collect", "--dir", str(tmp_path / "out"))
    assert early.exit_code == 0 and early.stdout == ""
    assert "2 parts of 1 job still waiting for room in the API's processing queue" in early.stderr
    clock.advance(60)
    result = qcli("collect", "--dir", str(tmp_path / "out"), "--json")
    assert result.exit_code == 0, result.stderr
    outcomes = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["action"] for o in outcomes] == ["collected", "collected", "sent", "sent"]
    assert sorted(sizes(queued.batches())) == [3, 3, 3, 3]
    clock.advance(60)
    again = qcli("collect", "--dir", str(tmp_path / "out"))
    assert again.exit_code == 0 and len(again.stdout.splitlines()) == 2
    assert len(queued.batches()) == 4  # nothing sent twice


def test_results_of_a_job_with_parts_not_sent_is_exit_8_not_a_partial_file(
    qcli, seven, state_dir, clock, tmp_path
):
    assert qcli("submit", str(seven), "--max-requests", "3").exit_code == 0
    job_id = _job_id(state_dir)
    clock.advance(60)  # parts 1 and 2 have ended; part 3 was never sent
    out = tmp_path / "r.jsonl"
    result = qcli("results", job_id, "-o", str(out))
    assert result.exit_code == 8
    assert f"1 of 3 parts of job {job_id} is not sent yet" in result.stderr
    assert f"wait {job_id}" in result.stderr
    assert not out.exists() and result.stdout == ""

