"""Deleted and archived batches get the same sentence from every command (issue 15, item 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.files import write_requests

DAY = 86400.0


@pytest.fixture
def deleted(cli: Any, clock: Any, tmp_path: Path) -> str:
    path = write_requests(tmp_path / "d.jsonl", 2, prefix="d")
    batch_id = cli("submit", str(path)).stdout.strip()
    clock.advance(3600)
    removed = cli("delete", "--yes", batch_id)
    assert removed.exit_code == 0, removed.stderr
    return batch_id


@pytest.mark.parametrize("command", [
    ["status"], ["wait"], ["results"], ["results", "-o", "out.csv"], ["retry-failed"],
    ["cancel", "--yes"],
])
def test_a_deleted_batch_is_said_the_same_way(cli: Any, deleted: str, command: list[str],
                                              tmp_path: Path) -> None:
    result = cli(*command, deleted)
    assert result.exit_code == 5, result.stderr
    assert result.stdout == ""
    first, hint = result.stderr.splitlines()
    assert first.startswith(f"error: batch {deleted} was deleted (at 2026-09-21T")
    assert first.endswith("Z): the API no longer has it or its results")
    assert hint.startswith("hint: what the state store knew of it: batchctl --base-url ")
    assert hint.endswith(" list --local")
    assert "not_found_error" not in result.stderr and "request_id" not in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_deleting_it_again_says_it_too(cli: Any, deleted: str) -> None:
    again = cli("delete", "--yes", deleted)
    assert again.exit_code == 0, again.stderr
    assert f"batch {deleted} was deleted (at 2026-09-21T" in again.stderr
    assert "nothing to do" in again.stderr and again.stdout == ""


def test_a_tracked_batch_deleted_elsewhere_is_named(cli: Any, emulator: Any, clock: Any,
                                                    tmp_path: Path) -> None:
    path = write_requests(tmp_path / "e.jsonl", 2, prefix="e")
    batch_id = cli("submit", str(path)).stdout.strip()
    clock.advance(3600)
    emulator.client().messages.batches.delete(batch_id)  # another client
    for command in (["results"], ["retry-failed"], ["status"]):
        result = cli(*command, batch_id)
        assert result.exit_code == 5
        assert (f"error: batch {batch_id} is tracked here but the API does not know it: it was "
                "deleted by another client") in result.stderr


@pytest.fixture
def archived(cli: Any, clock: Any, tmp_path: Path) -> tuple[str, Path]:
    path = write_requests(tmp_path / "a.jsonl", 2, prefix="a")
    batch_id = cli("submit", str(path)).stdout.strip()
    clock.advance(30 * DAY)  # results are kept 29 days after creation
    return batch_id, path


def test_an_archived_batch_is_said_the_same_way(cli: Any, archived: tuple[str, Path]) -> None:
    batch_id, path = archived
    sentence = (f"the results of batch {batch_id} were archived at 2026-10-20T")
    tail = "Z and can no longer be downloaded (the API keeps results for 29 days after a batch " \
           "is created)"
    for command, code, prefix in (
        (["results", batch_id], 5, "error: "),
        (["retry-failed", batch_id], 5, "error: "),
        (["status", batch_id], 0, "warning: "),
        (["wait", batch_id], 0, "warning: "),
        (["run", str(path)], 5, "error: "),
        (["collect"], 0, "warning: "),
    ):
        result = cli(*command)
        assert result.exit_code == code, (command, result.stderr)
        (line,) = [x for x in result.stderr.splitlines() if sentence in x]
        assert line.startswith(prefix + sentence) and tail in line, (command, line)
        assert "fetch the results" not in result.stderr  # no hint that cannot work
        assert "retry-failed" not in result.stderr
