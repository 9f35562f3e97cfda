"""collect: every ended, uncollected batch to its own file, once, atomically, even when two runs
overlap; running ones wait for the next run; failures are reported and retried next time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import orjson

from batchctl.core.state.store import Store
from batchctl.core.workflows import collect as core
from tests.support import warm
from tests.support.clock import FakeClock
from tests.support.files import write_requests
from tests.support.processes import child_env
from tests.support.runs import cli_on, on
from tests.support.runs import submit as tracked_submit
from tests.support.stores import BATCH, claim_owners, new_job, record


def request_file(path: Path, n: int, tag: str) -> Path:
    return write_requests(path, n, f"{tag}-", f"{tag} question {{i}}", max_tokens=16)


def submit(emu, clock, path: Path, *extra: str) -> str:
    """The one batch of a submit."""
    _, (batch_id,) = tracked_submit(cli_on(emu, clock), path, *extra)
    return batch_id


def test_collects_each_ended_batch_once_into_named_files(tmp_path, emulator, clock):
    a = submit(emulator, clock, request_file(tmp_path / "a.jsonl", 3, "a"), "--label", "night ly/1")
    b = submit(emulator, clock, request_file(tmp_path / "b.jsonl", 2, "b"))
    out = tmp_path / "out"
    early = on(emulator, clock, "collect", "--dir", str(out), "--json")
    assert early.exit_code == 0, early.stderr
    assert [orjson.loads(x)["action"] for x in early.stdout.splitlines()] == ["running", "running"]
    assert "2 batches still running" in early.stderr
    assert list(out.iterdir()) == []

    clock.advance(61)
    first = on(emulator, clock, "collect", "--dir", str(out))
    assert first.exit_code == 0, first.stderr
    store = Store.open(Path(os.environ["BATCHCTL_HOME"]))
    job_b = store.get_batch(b)["job_id"]
    expected = [out / f"night_ly_1-{a}.jsonl", out / f"{job_b}-{b}.jsonl"]
    assert first.stdout.splitlines() == [str(p) for p in expected]  # oldest first
    assert [len(p.read_bytes().splitlines()) for p in expected] == [3, 2]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in expected)
    assert "collected 2 batches" in first.stderr
    assert store.get_batch(a)["results_path"] == str(expected[0])
    assert claim_owners(store) == []

    again = on(emulator, clock, "collect", "--dir", str(out), "--json")
    assert (again.exit_code, again.stdout) == (0, "")
    assert "nothing to collect" in again.stderr


def test_csv_into_the_default_folder_and_a_table_on_a_terminal(tmp_path, emulator, clock, state_dir):
    batch = submit(emulator, clock, request_file(tmp_path / "a.jsonl", 2, "a"), "--label", "x")
    clock.advance(61)
    result = on(emulator, clock, "collect", "--format", "csv", tty=True)
    assert result.exit_code == 0, result.stderr
    target = state_dir / "results" / f"x-{batch}.csv"
    assert target.read_text().startswith("custom_id,result_type,")
    assert oct(target.parent.stat().st_mode & 0o777) == "0o700"
    assert batch in result.stdout and "BATCH" in result.stdout  # the table
    assert "\x1b[" in result.stderr


def test_the_table_fits_a_narrow_terminal_with_file_names_whole_in_the_folder(
    tmp_path, emulator, clock
):
    """On a terminal the FILE column holds the whole name in the folder (said once, below the
    table); what gives at 60 columns is the batch and the label, both in the name (a deep --dir
    folded every few characters at 60 columns, and the name was cut to "retry_o…" at 100)."""
    submit(emulator, clock, request_file(tmp_path / "a.jsonl", 2, "a"))
    clock.advance(61)
    deep = tmp_path / "some" / "longer" / "directory" / "path" / "here"
    result = on(emulator, clock, "collect", "--dir", str(deep), tty=True, width=60)
    assert result.exit_code == 0, result.stderr
    header, row = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines()  # nothing folded
    assert header.split() == ["FILE"]
    assert max(len(header.rstrip()), len(row.rstrip())) <= 60
    (written,) = deep.iterdir()
    assert row.strip() == written.name
    assert f"into {deep}/" in " ".join(result.stderr.split())  # (wrapped between words)


def test_a_failure_is_reported_the_others_collected_and_it_is_tried_next_time(
    tmp_path, emulator, clock
):
    gone = submit(emulator, clock, request_file(tmp_path / "a.jsonl", 2, "a"))
    kept = submit(emulator, clock, request_file(tmp_path / "b.jsonl", 2, "b"))
    clock.advance(61)
    emulator.client().messages.batches.delete(gone)  # deleted behind batchctl's back
    out = tmp_path / "out"
    result = on(emulator, clock, "collect", "--dir", str(out), "--json")
    assert result.exit_code == 5, result.stderr
    actions = {r["id"]: r["action"] for r in map(orjson.loads, result.stdout.splitlines())}
    assert actions == {gone: "failed", kept: "collected"}
    assert f"{gone}: " in result.stderr
    again = on(emulator, clock, "collect", "--dir", str(out), "--json")
    assert again.exit_code == 5
    assert [orjson.loads(x)["id"] for x in again.stdout.splitlines()] == [gone]


def test_only_batches_of_the_api_in_use(tmp_path, make_emulator, clock):
    one, two = make_emulator(processing_seconds=0), make_emulator(processing_seconds=0)
    b1 = submit(one, clock, request_file(tmp_path / "a.jsonl", 1, "a"))
    submit(two, clock, request_file(tmp_path / "b.jsonl", 1, "b"))
    result = on(one, clock, "collect", "--dir", str(tmp_path / "out"), "--json")
    assert [orjson.loads(x)["id"] for x in result.stdout.splitlines()] == [b1]


# -- claims -------------------------------------------------------------------------------------


def _tracked(state_dir: Path, clock: FakeClock) -> Store:
    store = Store.open(state_dir, clock=clock)
    record(store, new_job(store), dict(BATCH, id="msgbatch_1"))
    return store


def test_a_live_claim_blocks_other_owners(state_dir, clock):
    store = _tracked(state_dir, clock)
    mine = core.new_owner()
    assert store.claim("msgbatch_1", mine, is_stale=core.stale_check(clock.time()))
    assert store.claim("msgbatch_1", mine, is_stale=core.stale_check(clock.time()))  # re-entrant
    other = f"{mine.split(':')[0]}:{os.getpid()}:other"
    assert not store.claim("msgbatch_1", other, is_stale=core.stale_check(clock.time()))
    # Past the timeout, the claim is stale whoever holds it.
    later = clock.time() + core.CLAIM_TIMEOUT + 1
    assert store.claim("msgbatch_1", other, is_stale=core.stale_check(later))
    store.release("msgbatch_1", mine)  # not the holder any more: nothing happens
    assert claim_owners(store) == [other]
    store.release("msgbatch_1", other)
    assert claim_owners(store) == []


def test_a_claim_whose_process_is_gone_is_taken_over(state_dir, clock):
    store = _tracked(state_dir, clock)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    host = core.new_owner().split(":")[0]
    assert store.claim("msgbatch_1", f"{host}:{dead}:x", is_stale=core.stale_check(clock.time()))
    assert store.claim("msgbatch_1", core.new_owner(), is_stale=core.stale_check(clock.time()))
    # Another host's claim cannot be checked: it holds until the timeout.
    assert store.claim("msgbatch_1", "elsewhere:1:y", is_stale=lambda c: True)
    assert not store.claim("msgbatch_1", core.new_owner(), is_stale=core.stale_check(clock.time()))


def test_a_collected_batch_cannot_be_claimed(state_dir, clock):
    store = _tracked(state_dir, clock)
    store.mark_collected("msgbatch_1", "/somewhere")
    assert not store.claim("msgbatch_1", core.new_owner(), is_stale=lambda c: True)


def test_file_names_are_safe():
    row = {"id": "msgbatch_1", "job_id": "job_9", "label": "../../etc/x y"}
    assert core.file_name(row, "csv") == "etc_x_y-msgbatch_1.csv"
    assert core.file_name({**row, "label": None}, "jsonl") == "job_9-msgbatch_1.jsonl"
    assert core.file_name({**row, "label": "..."}, "jsonl") == "job_9-msgbatch_1.jsonl"


# -- two collect processes at once ----------------------------------------------------------------


def test_two_overlapping_collect_processes_download_each_batch_once(tmp_path, clock, state_dir):
    """Two `python -m batchctl collect` processes on one state dir: the first holds its first
    download open until the second has started asking, so they do overlap."""
    from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

    app = make_app(tmp_path / "emu", EmulatorConfig(processing_seconds=0), clock=clock.time)
    downloads: dict[str, int] = {}
    seen_b = threading.Event()
    lock = threading.Lock()

    def watching(environ, start_response):
        who = environ.get("HTTP_X_COLLECTOR")
        path = environ.get("PATH_INFO", "")
        if who == "B":
            seen_b.set()
        if path.endswith("/results"):
            with lock:
                batch = path.split("/")[-2]
                downloads[batch] = downloads.get(batch, 0) + 1
                first = sum(downloads.values()) == 1
            if first and who == "A":
                seen_b.wait(60)  # A holds its claim until B is running
        return app(environ, start_response)

    server = EmulatorServer(watching).start()
    try:
        emu = type("E", (), {"base_url": server.base_url})
        ids = [submit(emu, clock, request_file(tmp_path / f"r{i}.jsonl", 2, f"r{i}"))
               for i in range(5)]
        out = tmp_path / "out"
        args = ["--base-url", server.base_url, "collect", "--dir", str(out), "--json"]
        procs = {}
        for who in ("A", "B"):
            env = child_env(state_dir, ANTHROPIC_CUSTOM_HEADERS=f"X-Collector: {who}")
            procs[who] = warm.spawn(args, env)
            if who == "A":
                while not downloads and procs["A"].poll() is None:
                    threading.Event().wait(0.05)
        outputs = {who: p.communicate(timeout=120) for who, p in procs.items()}
    finally:
        server.stop()
    for who, (_stdout, stderr) in outputs.items():
        assert procs[who].returncode == 0, (who, stderr)
    records = [orjson.loads(x) for stdout, _ in outputs.values() for x in stdout.splitlines()]
    collected = sorted(r["id"] for r in records if r["action"] == "collected")
    assert collected == sorted(ids)  # every batch, by exactly one of the two
    assert downloads == dict.fromkeys(ids, 1)  # each results body fetched once
    assert any(r["action"] == "busy" for r in records)  # B met A's claim
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 5 and all(f.endswith(".jsonl") for f in files)  # no temp files left
    assert all(len((out / f).read_bytes().splitlines()) == 2 for f in files)
    assert claim_owners(Store.open(state_dir)) == []
