"""`batchctl status`: refresh from the API into the store, rendering on and off a terminal,
--json, warnings, --exit-status, and every exit code it can give."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchctl.cli.render.batches import TSV_COLUMNS
from batchctl.core.state.store import Store
from tests.helpers import invoke
from tests.support.emulators import API_KEY
from tests.support.files import json_lines, write_requests
from tests.support.runs import assert_plain, cli_on, closed_port_url, on, sdk_batch, submit

DAY = 86400.0


def test_no_tracked_batches_is_exit_0_with_a_note(cli):
    result = cli("status")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no tracked batches" in result.stderr


def test_no_args_shows_every_uncollected_tracked_batch_as_tsv(cli, tmp_path, state_dir, clock):
    job, ids = submit(cli, write_requests(tmp_path / "a.jsonl", 5), "--max-requests", "2")
    _, (other,) = submit(cli, write_requests(tmp_path / "b.jsonl", 1, "b"))
    assert len(ids) == 3
    store = Store.open(state_dir, clock=clock)
    store.mark_collected(ids[0], "/tmp/out.jsonl")  # collected: no longer listed
    store.close()

    result = cli("status")
    assert result.exit_code == 0, result.stderr
    assert_plain(result.stdout + result.stderr)
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert {r[0] for r in rows} == {ids[1], ids[2], other}
    assert all(len(r) == len(TSV_COLUMNS) for r in rows)
    by_id = {r[0]: dict(zip(TSV_COLUMNS, r, strict=True)) for r in rows}
    assert by_id[ids[2]]["processing_status"] == "in_progress"
    assert by_id[ids[2]]["processing"] == "1" and by_id[ids[1]]["processing"] == "2"
    assert by_id[ids[1]]["job"] == job
    assert by_id[ids[1]]["request_file"] == str(tmp_path / "a.jsonl")
    assert result.stderr == ""


def test_status_refreshes_the_store_when_batches_end(cli, tmp_path, state_dir, clock):
    job, (batch,) = submit(cli, write_requests(tmp_path / "a.jsonl", 3))
    clock.advance(120)  # the fixture's emulator processes for 60 s
    result = cli("status", job, "--json")
    assert result.exit_code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert record["processing_status"] == "ended"
    assert record["request_counts"] == {
        "processing": 0, "succeeded": 3, "errored": 0, "canceled": 0, "expired": 0
    }
    store = Store.open(state_dir, clock=clock)
    row = store.get_batch(batch)
    store.close()
    assert row["processing_status"] == "ended"
    assert row["request_counts"]["succeeded"] == 3
    assert row["ended_at"] == record["ended_at"]


def test_json_keeps_api_field_names_and_adds_the_store_fields(cli, tmp_path):
    job, (batch,) = submit(cli, write_requests(tmp_path / "a.jsonl", 2))
    result = cli("status", batch, "--json")
    assert result.exit_code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    for key in ("id", "type", "processing_status", "request_counts", "created_at", "expires_at",
                "ended_at", "cancel_initiated_at", "archived_at", "results_url"):
        assert key in record
    assert record["type"] == "message_batch"
    assert (record["job_id"], record["label"], record["request_file"]) == (
        job, None, str(tmp_path / "a.jsonl"))


def test_terminal_rendering_is_a_table_and_piped_is_plain(cli, tmp_path):
    _, (batch,) = submit(cli, write_requests(tmp_path / "a.jsonl", 2))
    tty = cli("status", tty=True, width=160)
    assert tty.exit_code == 0, tty.stderr
    assert "\x1b[" in tty.stdout  # styled header
    assert "STATUS" in tty.stdout and "REQUESTS" in tty.stdout
    assert batch[:17] + "…" in tty.stdout and "2 processing" in tty.stdout
    assert "a.jsonl" in tty.stdout
    assert str(tmp_path) not in tty.stdout  # the file's name only: --json has the path
    assert "\t" not in tty.stdout
    piped = cli("status")
    assert piped.stdout.startswith(batch + "\tin_progress\t")
    assert "STATUS" not in piped.stdout


def test_an_id_the_store_does_not_know_still_works(cli, emulator):
    batch = sdk_batch(emulator, 4)
    result = cli("status", batch, "--json")
    assert result.exit_code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert record["id"] == batch
    assert record["request_counts"]["processing"] == 4
    assert record["job_id"] is None and record["request_file"] is None


def test_exit_status_8_while_running_0_when_clean(cli, tmp_path, clock):
    job, _ = submit(cli, write_requests(tmp_path / "a.jsonl", 2))
    running = cli("status", job, "--exit-status")
    assert running.exit_code == 8
    assert running.stdout.count("\n") == 1  # the data is still shown
    assert "not ended yet" in running.stderr
    clock.advance(61)
    assert cli("status", job, "--exit-status").exit_code == 0
    assert cli("status", job).exit_code == 0  # without the flag, never 8/9


def test_exit_status_9_when_requests_failed(make_emulator, tmp_path, clock):
    emu = make_emulator(error_rate=1.0)
    run = cli_on(emu, clock)
    job, _ = submit(run, write_requests(tmp_path / "a.jsonl", 3))
    clock.advance(61)
    failed = run("status", job, "--exit-status")
    assert failed.exit_code == 9
    assert "3 errored" in failed.stderr
    assert "retry-failed" in failed.stderr
    assert run("status", job).exit_code == 0


def test_warns_when_expiry_is_under_an_hour(make_emulator, tmp_path, clock):
    emu = make_emulator(processing_seconds=3 * 3600, expiry_seconds=1800)
    run = cli_on(emu, clock)
    _, (batch,) = submit(run, write_requests(tmp_path / "a.jsonl", 1))
    result = run("status", batch)
    assert result.exit_code == 0
    assert f"warning: {batch} expires in 30m" in result.stderr
    assert "warning" not in result.stdout


def test_warns_before_and_after_results_are_archived(cli, tmp_path, clock):
    _, (batch,) = submit(cli, write_requests(tmp_path / "a.jsonl", 1))
    clock.advance(2 * DAY)
    assert "warning" not in cli("status", batch).stderr
    clock.advance(25 * DAY)  # 27 days after creation: archived in 2 days
    soon = cli("status", batch)
    assert soon.exit_code == 0
    assert f"the results of {batch} will be archived in 2d" in soon.stderr
    clock.advance(3 * DAY)
    gone = cli("status", batch)
    assert "were archived at" in gone.stderr and "can no longer be downloaded" in gone.stderr


def test_unknown_id_is_exit_5_with_the_request_id(cli):
    result = cli("status", "msgbatch_01NoSuchBatchAnywhere")
    assert result.exit_code == 5
    # Not the API's raw 404: where batchctl looked, then what the API said.
    assert result.stderr.startswith("error: batch 'msgbatch_01NoSuchBatchAnywhere' is not "
                                    "tracked here (no tracked batch id starts with it) and the "
                                    "API does not know it (404 not_found_error)")
    assert "request_id: req_" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("ref", ["msgbatch_01", "msgbatch_01zz…", "abc"])
def test_an_id_too_short_to_be_a_prefix_states_the_minimum(cli, ref):
    """A prefix that short is not looked up (issue 21, item 7: the API's raw 404 said nothing of
    why); one with "…", copied from a table, is not sent to the API either."""
    result = cli("status", ref)
    assert result.exit_code == 5, result.stderr
    assert result.stdout == ""
    shown = ref.removesuffix("…")
    (error,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert (f"; a shortened id needs at least 15 characters (msgbatch_ and 6 more, as tables "
            f"show them), and {shown!r} has {len(shown)}") in error
    assert ("request_id" in error) != ref.endswith("…")  # only the plain one reached the API


def test_unknown_job_is_exit_5_without_asking_the_api(tmp_path):
    # No key and no reachable API: the store alone answers.
    result = invoke(["--base-url", closed_port_url(), "status", "job_000000000000"])
    assert result.exit_code == 5
    assert "no tracked job" in result.stderr


def test_known_and_unknown_ids_show_what_exists_then_exit_5(cli, emulator):
    batch = sdk_batch(emulator)
    result = cli("status", batch, "msgbatch_gone")
    assert result.exit_code == 5
    assert result.stdout.startswith(batch + "\t")
    assert "msgbatch_gone" in result.stderr


def test_a_404_for_a_batch_created_here_is_retried_for_a_minute(cli, state_dir, clock):
    """anthropic-sdk-python#1432: the API can answer 404 for a batch that exists."""
    store = Store.open(state_dir, clock=clock)
    job = store.insert_job(base_url=cli_base_url(cli), request_file="/x.jsonl", source="/x.jsonl",
                           sha256="0" * 64, byte_size=1, request_count=1, part_count=1,
                           split_key="k")
    fake = {"id": "msgbatch_notyetvisible", "processing_status": "in_progress"}
    store.record_batch(fake, job_id=job["id"], part=1, base_url=job["base_url"],
                       request_file="/x.jsonl", sha256="0" * 64, byte_size=1, request_count=1)
    store.close()
    clock.sleeps.clear()
    tracked = cli("status", "msgbatch_notyetvisible")
    assert tracked.exit_code == 5
    assert sum(clock.sleeps) == 60  # ridden out on the fake clock, then the 404 stands
    assert "note: the API answered 404 (not found) for batch msgbatch_notyetvisible" in tracked.stderr
    clock.sleeps.clear()
    never = cli("status", "msgbatch_nevercreatedhere")
    assert never.exit_code == 5
    assert clock.sleeps == []  # an id this store never created: its 404 at once
    assert "note:" not in never.stderr


def cli_base_url(cli) -> str:
    result = cli("state", "path", "--json")
    return json_lines(result.stdout)[0]["base_url"]


def test_a_tracked_batch_the_api_forgot_is_a_warning_without_args(cli, state_dir, clock, tmp_path):
    _, (batch,) = submit(cli, write_requests(tmp_path / "a.jsonl", 1))
    store = Store.open(state_dir, clock=clock)
    job = store.insert_job(base_url=cli_base_url(cli), request_file="/x.jsonl", source="/x.jsonl",
                           sha256="0" * 64, byte_size=1, request_count=1, part_count=1,
                           split_key="k")
    store.record_batch({"id": "msgbatch_forgotten"}, job_id=job["id"], part=1,
                       base_url=job["base_url"], request_file="/x.jsonl", sha256="0" * 64,
                       byte_size=1, request_count=1)
    store.close()
    clock.advance(300)
    result = cli("status")
    assert result.exit_code == 0
    assert result.stdout.startswith(batch + "\t")
    assert "msgbatch_forgotten" in result.stderr and "no longer knows" in result.stderr


def test_no_key_is_exit_4(cli, emulator):
    batch = sdk_batch(emulator)
    result = cli("status", batch, env={"ANTHROPIC_API_KEY": None})
    assert result.exit_code == 4
    assert "ANTHROPIC_API_KEY" in result.stderr
    assert API_KEY not in result.stderr


def test_api_down_is_exit_6():
    result = on(closed_port_url(), None, "status", "msgbatch_x", api_max_retries=0)
    assert result.exit_code == 6
    assert "could not connect to http://127.0.0.1:" in result.stderr


def test_corrupt_store_is_exit_7(cli, state_dir: Path):
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "batchctl.db").write_bytes(b"this is not a database" * 100)
    result = cli("status")
    assert result.exit_code == 7
    assert "state store" in result.stderr


def test_empty_id_is_a_usage_error(cli):
    result = cli("status", "  ")
    assert result.exit_code == 2
    assert "empty" in result.stderr
