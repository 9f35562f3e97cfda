"""`submit/run --max-cost USD` and `$BATCHCTL_MAX_COST`: exit 10 and nothing sent over the cap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batchctl.core.catalog.prices import batch_cost
from tests.support.files import write_requests

MODEL = "claude-haiku-4-5"


def write(path: Path, count: int = 10, max_tokens: int = 1000, model: str = MODEL) -> Path:
    """``count`` requests of a 400-character prompt."""
    return write_requests(path, count, text="x" * 400, max_tokens=max_tokens, model=model)


def test_over_the_cap_nothing_is_sent(tmp_path: Path, cli: Any, emulator: Any) -> None:
    path = write(tmp_path / "req.jsonl")
    worst = batch_cost(MODEL, 10 * 100, 10 * 1000)
    assert worst is not None and worst > 0.01
    got = cli("submit", str(path), "--max-cost", "0.01")
    assert got.exit_code == 10, got.stderr
    assert got.stdout == ""
    assert f"${worst:,.2f}" in got.stderr and "--max-cost $0.01" in got.stderr
    input_cost = batch_cost(MODEL, 1000, 0) or 0.0
    per_token = batch_cost(MODEL, 0, 10) or 0.0
    most = int(got.stderr.split("max_tokens of at most ", 1)[1].split(" ", 1)[0])
    assert input_cost + most * per_token <= 0.01 < input_cost + (most + 1) * per_token
    assert "on every request (now 1,000 on average)" in got.stderr
    assert emulator.batches() == []
    # the suggestion holds: at that max_tokens the file passes
    fitted = cli("submit", str(write(tmp_path / "fit.jsonl", max_tokens=most)), "--max-cost", "0.01")
    assert fitted.exit_code == 0, fitted.stderr


def test_under_the_cap_it_submits(tmp_path: Path, cli: Any, emulator: Any) -> None:
    path = write(tmp_path / "req.jsonl")
    got = cli("submit", str(path), "--max-cost", "$5")
    assert got.exit_code == 0, got.stderr
    assert got.stdout.startswith("msgbatch_")
    assert len(emulator.batches()) == 1


def test_the_environment_sets_a_default_and_the_flag_wins(tmp_path: Path, cli: Any,
                                                          emulator: Any) -> None:
    path = write(tmp_path / "req.jsonl")
    refused = cli("submit", str(path), env={"BATCHCTL_MAX_COST": "0.001"})
    assert refused.exit_code == 10
    assert "--max-cost $0.00" in refused.stderr
    allowed = cli("submit", str(path), "--max-cost", "10", env={"BATCHCTL_MAX_COST": "0.001"})
    assert allowed.exit_code == 0, allowed.stderr
    assert len(emulator.batches()) == 1


def test_input_alone_over_the_cap_says_no_max_tokens_helps(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "req.jsonl", count=2000)
    got = cli("run", str(path), "--max-cost", "0.0001")
    assert got.exit_code == 10
    assert "the input alone is estimated at" in got.stderr
    assert got.stdout == ""


def test_dry_run_refuses_too(tmp_path: Path, cli: Any) -> None:
    got = cli("submit", str(write(tmp_path / "req.jsonl")), "--dry-run", "--max-cost", "0.01")
    assert got.exit_code == 10
    assert got.stdout == ""


def test_an_unpriced_model_cannot_be_checked(tmp_path: Path, cli: Any, emulator: Any) -> None:
    path = write(tmp_path / "req.jsonl", model="claude-unknown-9")
    got = cli("submit", str(path), "--max-cost", "100", "--allow-unknown-model")
    assert got.exit_code == 10
    assert "cannot be checked: no price for model claude-unknown-9" in got.stderr
    assert emulator.batches() == []


@pytest.mark.parametrize("value", ["five", "-1", "nan"])
def test_a_bad_amount_is_a_usage_error(tmp_path: Path, cli: Any, value: str) -> None:
    got = cli("submit", str(write(tmp_path / "req.jsonl")), "--max-cost", value)
    assert got.exit_code == 2
    assert "--max-cost must be an amount in USD" in got.stderr
    bad_env = cli("submit", str(tmp_path / "req.jsonl"), env={"BATCHCTL_MAX_COST": value})
    assert bad_env.exit_code == 2
    assert "BATCHCTL_MAX_COST must be" in bad_env.stderr
