"""What batchctl does with the errors the API sends since SDK 2.16-2.17 (BATCHES_API.md 12.2),
through the emulator over HTTP: a 402 of a linked organization is exit 10 with the API's message
and no retries; a 503 storage_not_ready is waited out on the clock (said on stderr) and given up
after a stated bound (exit 6); results that succeeded with stop_reason refusal or
model_context_window_exceeded are counted apart in every summary, in CSV, and by --exit-status."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.api.patience import STORAGE_INTERVAL, STORAGE_WAIT
from tests.support.files import write_requests
from tests.support.runs import on


@pytest.fixture
def five(tmp_path: Path) -> Path:
    return write_requests(tmp_path / "five.jsonl", 5, text="question {i}")


@pytest.mark.parametrize(("kind", "code"), [
    ("linked-402", "linked_organization_spend_limit_reached"),
    ("linked-billing", "linked_organization_billing_unavailable"),
])
def test_a_402_is_exit_10_with_the_apis_message_and_no_retry(
    make_emulator: Any, clock: Any, five: Path, kind: str, code: str
) -> None:
    emulator = make_emulator(spend_limit=kind)
    result = on(emulator, clock, "submit", str(five))
    assert result.exit_code == 10, result.stderr
    assert result.stdout == ""
    error = result.stderr.splitlines()[0]
    assert error.startswith("error: API error 402 billing_error: ")
    assert "linked to the request's user profile" in error  # the API's own words
    assert "retrying will not help" in error and "request_id: req_" in error
    assert "authentication" not in result.stderr and "ANTHROPIC_API_KEY" not in result.stderr
    assert clock.sleeps == []  # not one retry
    assert emulator.batches() == []


def test_storage_not_ready_is_waited_out_and_said_once(
    make_emulator: Any, clock: Any, five: Path
) -> None:
    emulator = make_emulator(storage_not_ready=3)
    result = on(emulator, clock, "list", "--json")
    assert result.exit_code == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "storage_not_ready" in line]
    assert notes == [f"note: the API says this workspace's storage is not ready yet (503 "
                     f"storage_not_ready: \"try again in a minute\"): asking again every "
                     f"{STORAGE_INTERVAL:.0f} s for up to {STORAGE_WAIT / 60:.0f} minutes"]
    assert clock.sleeps == [STORAGE_INTERVAL] * 3


def test_storage_not_ready_is_given_up_after_the_stated_bound_exit_6(
    make_emulator: Any, clock: Any
) -> None:
    emulator = make_emulator(storage_not_ready=1000)
    result = on(emulator, clock, "list")
    assert result.exit_code == 6
    assert result.stdout == ""
    assert "error: API error 503 storage_not_ready: This workspace isn't ready yet" in result.stderr
    assert "still not ready after 10 minutes of waiting: gave up" in result.stderr
    assert sum(clock.sleeps) == STORAGE_WAIT


def test_refusals_and_full_contexts_are_counted_apart_everywhere(
    make_emulator: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = make_emulator(stop_rate=0.5, seed=3)
    requests = write_requests(tmp_path / "req.jsonl", 20, text="q {i}")
    out = tmp_path / "answers.csv"
    step = tmp_path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    result = on(emulator, clock, "run", str(requests), "-o", str(out), "--exit-status")
    assert result.exit_code == 9, result.stderr  # written, then: not every answer is whole
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    stops = [row["stop_reason"] for row in rows]
    refused, full = stops.count("refusal"), stops.count("model_context_window_exceeded")
    assert refused and full and len(rows) == 20
    assert (f"results: 20 succeeded ({refused} refused: stop_reason refusal; {full} cut off: "
            "stop_reason model_context_window_exceeded)") in result.stderr
    assert (f"error: results came back without a whole answer: {refused} with stop_reason "
            f"refusal, {full} with stop_reason model_context_window_exceeded") in result.stderr
    markdown = step.read_text()
    assert f"| succeeded, stop_reason refusal | {refused} |" in markdown
    assert f"| succeeded, stop_reason model_context_window_exceeded | {full} |" in markdown
    batch_id = json.loads(on(emulator, clock, "list", "--json").stdout)["id"]
    again = on(emulator, clock, "results", batch_id, "-o", str(tmp_path / "again.jsonl"),
               "--summary-json", str(tmp_path / "s.json"))
    assert f"{refused} refused: stop_reason refusal" in again.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["refusal"], summary["model_context_window_exceeded"]) == (refused, full)
    assert summary["counts"]["succeeded"] == 20 and summary["pause_turn"] == 0


def test_without_them_exit_status_stays_0(make_emulator: Any, clock: Any, five: Path,
                                          tmp_path: Path) -> None:
    emulator = make_emulator()
    result = on(emulator, clock, "run", str(five), "-o", str(tmp_path / "a.jsonl"),
                "--exit-status")
    assert result.exit_code == 0, result.stderr
    assert "refus" not in result.stderr
