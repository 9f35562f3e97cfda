"""`batchctl cancel` and `batchctl delete`: confirmation on a terminal, --yes without one,
ended and running batches, the store's record, and every exit code they can give."""

from __future__ import annotations

import re

import pytest

from batchctl.core.state.store import Store
from tests.support.failures import status_of
from tests.support.files import json_lines, write_requests
from tests.support.runs import assert_plain, remote_status, sdk_batch, submit


def stored(state_dir, clock, batch_id):
    store = Store.open(state_dir, clock=clock)
    try:
        return store.get_batch(batch_id)
    finally:
        store.close()


# -- cancel -----------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["cancel", "delete"])
def test_without_a_terminal_yes_is_required(cli, emulator, command, clock):
    batch = sdk_batch(emulator)
    clock.advance(100 if command == "delete" else 0)
    result = cli(command, batch)
    assert result.exit_code == 2
    assert "--yes is required" in result.stderr
    assert result.stdout == ""
    assert remote_status(emulator, batch) == ("ended" if command == "delete" else "in_progress")


def test_cancel_with_yes_piped_prints_the_id_and_updates_the_store(
    cli, tmp_path, emulator, state_dir, clock
):
    _, (batch,) = submit(cli, write_requests(tmp_path / "a.jsonl", 3))
    result = cli("cancel", "--yes", batch)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == batch + "\n"
    assert "cancel requested" in result.stderr
    assert_plain(result.stderr)
    assert remote_status(emulator, batch) == "canceling"
    assert stored(state_dir, clock, batch)["processing_status"] == "canceling"


def test_cancel_a_job_cancels_each_of_its_batches(cli, tmp_path, emulator):
    job, ids = submit(cli, write_requests(tmp_path / "a.jsonl", 4), "--max-requests", "2")
    result = cli("cancel", "-y", job, "--json")
    assert result.exit_code == 0, result.stderr
    records = json_lines(result.stdout)
    assert [r["id"] for r in records] == ids
    assert all(r["processing_status"] == "canceling" and r["cancel_initiated_at"] for r in records)
    assert all(r["job_id"] == job for r in records)
    assert {remote_status(emulator, b) for b in ids} == {"canceling"}


def test_terminal_asks_and_yes_cancels(cli, emulator):
    batch = sdk_batch(emulator)
    result = cli("cancel", batch, tty=True, input="y\n")
    assert result.exit_code == 0, result.stderr
    assert f"Cancel {batch}?" in result.stderr
    # On a terminal the question, the answer and the messages are all on stderr.
    assert result.stdout == ""
    assert "cancel requested" in result.stderr
    assert remote_status(emulator, batch) == "canceling"


def test_terminal_no_changes_nothing_and_exits_2(cli, emulator):
    batch = sdk_batch(emulator)
    result = cli("cancel", batch, tty=True, input="n\n")
    assert result.exit_code == 2
    assert "not confirmed" in result.stderr
    assert remote_status(emulator, batch) == "in_progress"


@pytest.mark.parametrize("command", ["cancel", "delete"])
def test_end_of_input_at_the_prompt_is_no(cli, emulator, clock, command):
    """Ctrl-D (and Ctrl-C) exited 1, the code of a bug; in a real terminal, with Ctrl-C too:
    tests/cli/test_confirm_terminal.py."""
    batch = sdk_batch(emulator)
    clock.advance(100 if command == "delete" else 0)
    before = remote_status(emulator, batch)
    eof = cli(command, batch, tty=True, input="")
    assert eof.exit_code == 2, eof.stderr
    assert eof.stdout == ""
    assert eof.stderr.startswith(f"{command.capitalize()} {batch}? ")
    assert eof.stderr.endswith(f" [y/N]: \nnothing done: {command} not confirmed\n")
    assert remote_status(emulator, batch) == before


def test_an_answer_that_is_neither_yes_nor_no_is_asked_again(cli, emulator):
    batch = sdk_batch(emulator)
    result = cli("cancel", batch, tty=True, input="maybe\nyes\n")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count(f"Cancel {batch}?") == 2 and "answer y or n" in result.stderr
    assert remote_status(emulator, batch) == "canceling"


def test_cancelling_an_ended_batch_is_a_clear_message_and_exit_0(cli, emulator, clock):
    batch = sdk_batch(emulator)
    clock.advance(100)
    result = cli("cancel", "--yes", batch)
    assert result.exit_code == 0
    assert f"{batch} has already ended; nothing to cancel" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cancelling_twice_says_it_is_already_canceling(cli, emulator):
    batch = sdk_batch(emulator)
    assert cli("cancel", "--yes", batch).exit_code == 0
    again = cli("cancel", "--yes", batch)
    assert again.exit_code == 0
    assert "already canceling" in again.stderr
    assert again.stdout == ""


def test_cancel_unknown_is_exit_5_with_request_id_and_no_key_is_exit_4(cli, emulator):
    unknown = cli("cancel", "--yes", "msgbatch_nope")
    assert unknown.exit_code == 5
    assert "request_id: req_" in unknown.stderr
    batch = sdk_batch(emulator)
    no_key = cli("cancel", "--yes", batch, env={"ANTHROPIC_API_KEY": None})
    assert no_key.exit_code == 4
    assert remote_status(emulator, batch) == "in_progress"


# -- delete -----------------------------------------------------------------------------------
def test_delete_a_running_batch_says_cancel_first_and_exits_8(cli, emulator):
    batch = sdk_batch(emulator)
    result = cli("delete", "--yes", batch)
    assert result.exit_code == 8
    assert "only an ended batch can be deleted" in result.stderr
    # the hint reaches the same API and state store as the command that printed it
    assert re.search(rf"hint: cancel them first: batchctl --base-url {emulator.base_url} "
                     rf"--state-dir \S+ cancel {batch}$", result.stderr, re.M)
    assert remote_status(emulator, batch) == "in_progress"


def test_delete_of_a_job_with_one_part_running_deletes_nothing(cli, tmp_path, emulator, clock):
    _, (first,) = submit(cli, write_requests(tmp_path / "a.jsonl", 1))
    clock.advance(100)
    running = sdk_batch(emulator)
    result = cli("delete", "--yes", first, running)
    assert result.exit_code == 8
    assert "nothing was deleted" in result.stderr
    assert remote_status(emulator, first) == "ended"


def test_delete_an_ended_batch_keeps_the_record_marked_deleted(
    cli, tmp_path, emulator, state_dir, clock
):
    job, (batch,) = submit(cli, write_requests(tmp_path / "a.jsonl", 2))
    clock.advance(100)
    result = cli("delete", "--yes", batch, "--json")
    assert result.exit_code == 0, result.stderr
    assert json_lines(result.stdout) == [{"id": batch, "type": "message_batch_deleted"}]
    assert f"{batch}: deleted" in result.stderr
    assert status_of(lambda: emulator.client().messages.batches.retrieve(batch)) == 404
    row = stored(state_dir, clock, batch)
    assert row is not None and row["deleted_at"] is not None and row["job_id"] == job
    # status of it: exit 5, saying it was deleted; the no-argument status no longer shows it
    gone = cli("status", batch)
    assert gone.exit_code == 5 and "was deleted" in gone.stderr
    assert cli("status").stdout == ""
    # deleting again: nothing to do
    again = cli("delete", "--yes", batch)
    assert again.exit_code == 0 and f"batch {batch} was deleted (at " in again.stderr
    assert "nothing to do" in again.stderr


def test_delete_piped_prints_ids_and_on_a_terminal_asks(cli, emulator, clock):
    a, b = sdk_batch(emulator, prefix="a"), sdk_batch(emulator, prefix="b")
    clock.advance(100)
    piped = cli("delete", "--yes", a)
    assert piped.exit_code == 0 and piped.stdout == a + "\n"
    asked = cli("delete", b, tty=True, input="y\n")
    assert asked.exit_code == 0, asked.stderr
    assert f"Delete {b}?" in asked.stderr and asked.stdout == ""  # all of it on stderr
    assert status_of(lambda: emulator.client().messages.batches.retrieve(b)) == 404


def test_delete_unknown_is_exit_5_and_no_key_is_exit_4(cli, emulator, clock):
    assert cli("delete", "--yes", "msgbatch_nope").exit_code == 5
    assert cli("delete", "--yes", "job_000000000000").exit_code == 5
    batch = sdk_batch(emulator)
    clock.advance(100)
    assert cli("delete", "--yes", batch, env={"ANTHROPIC_API_KEY": None}).exit_code == 4
    assert remote_status(emulator, batch) == "ended"
