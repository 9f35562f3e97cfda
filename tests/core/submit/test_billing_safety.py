"""No printed hint can make a second paid batch, and what a submit did not do is said (issue 15,
item 2): hints after a forced submit never carry --force, a retry is never answered with its
parent, retry-failed --force, a --label that cannot apply is said on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.state.store import Store
from tests.support.files import write_requests
from tests.support.runs import cli_on, on


@pytest.fixture
def requests_file(tmp_path: Path) -> Path:
    return write_requests(tmp_path / "f.jsonl", 4)


def test_a_failed_forced_submit_hints_wait_never_force(make_emulator: Any, clock: Any,
                                                      requests_file: Path) -> None:
    """(`run --force --timeout` hints `wait` and `results`: tests/cli/test_hints.py.)"""
    down = make_emulator(fault_rate=1.0, fault_endpoints=frozenset({"create"}), seed=1)
    forced = on(down, clock, "submit", "--force", str(requests_file))
    assert forced.exit_code == 6, forced.stderr
    assert forced.stdout == ""
    steps = [x for x in forced.stderr.splitlines() if "batchctl" in x and "wait job_" in x]
    assert steps and all("--force" not in x for x in steps)
    assert all("--force" not in x for x in forced.stderr.splitlines() if x.startswith("hint"))
    assert down.batches() == []  # every create was refused with a 5xx: nothing was made


@pytest.fixture
def all_expired(tmp_path: Path, make_emulator: Any, clock: Any) -> dict[str, Any]:
    """An ended batch whose every request expired: its retry file is byte for byte the
    request file (no blank lines, nothing left out)."""
    emu = make_emulator(expire_rate=1.0, seed=5)
    path = write_requests(tmp_path / "all.jsonl", 3)
    submitted = on(emu, clock, "submit", str(path))
    assert submitted.exit_code == 0, submitted.stderr
    clock.advance(3600)
    return {"emu": emu, "path": path, "parent": submitted.stdout.strip(),
            "run": cli_on(emu, clock)}


def test_a_retry_equal_to_its_parent_is_sent_not_answered_with_the_parent(
    all_expired: dict[str, Any], state_dir: Path
) -> None:
    run, parent, emu = all_expired["run"], all_expired["parent"], all_expired["emu"]
    first = run("retry-failed", parent, "--json")
    assert first.exit_code == 0, first.stderr
    (record,) = [json.loads(x) for x in first.stdout.splitlines()]
    child = record["id"]
    assert child != parent and record["parent_id"] == parent and record["existing"] is False
    assert len(emu.batches()) == 2
    store = Store.open(state_dir)
    try:
        retry_file = Path(store.get_batch(child)["request_file"])
        assert retry_file.read_bytes() == all_expired["path"].read_bytes()  # identical bytes
        assert store.get_batch(child)["parent_id"] == parent
        assert store.get_batch(parent)["parent_id"] is None  # the parent is not its own parent
        assert store.get_job(store.get_batch(parent)["job_id"])["parent_batch_id"] is None
    finally:
        store.close()
    # The same retry again answers the batch it made; `submit` of the original file answers
    # a batch with that content (as before) and sends nothing.
    second = run("retry-failed", parent)
    assert second.exit_code == 0, second.stderr
    assert second.stdout.split() == [child]
    assert "already resubmitted" in second.stderr and "--force sends them again" in second.stderr
    resubmit = run("submit", str(all_expired["path"]))
    assert resubmit.exit_code == 0 and "already submitted" in resubmit.stderr
    assert len(emu.batches()) == 2
    # --force sends it again, still as a retry of the same parent.
    forced = run("retry-failed", parent, "--force", "--json")
    assert forced.exit_code == 0, forced.stderr
    (again,) = [json.loads(x) for x in forced.stdout.splitlines()]
    assert again["id"] not in (parent, child) and again["parent_id"] == parent
    assert len(emu.batches()) == 3


def test_a_label_that_cannot_apply_is_said(cli: Any, emulator: Any, requests_file: Path,
                                           state_dir: Path) -> None:
    first = cli("submit", "--label", "narrow", str(requests_file))
    assert first.exit_code == 0, first.stderr
    assert "warning" not in first.stderr
    relabel = cli("submit", "--label", "wide", str(requests_file))
    assert relabel.exit_code == 0, relabel.stderr
    assert relabel.stdout == first.stdout  # the same batch, nothing sent
    assert "--label 'wide' is not applied" in relabel.stderr
    assert "label 'narrow'" in relabel.stderr
    adopted = cli("run", str(requests_file), "--label", "ctrlc", "--timeout", "0")
    assert adopted.exit_code == 8
    assert "--label 'ctrlc' is not applied" in adopted.stderr
    assert "label 'narrow'" in adopted.stderr
    same = cli("submit", "--label", "narrow", str(requests_file))
    assert same.exit_code == 0 and "not applied" not in same.stderr
    unlabelled = write_requests(requests_file.with_name("u.jsonl"), 2, prefix="u")
    assert cli("submit", str(unlabelled)).exit_code == 0
    late = cli("submit", "--label", "late", str(unlabelled))
    assert "--label 'late' is not applied" in late.stderr and "with no label" in late.stderr
    assert len(emulator.batches()) == 2
