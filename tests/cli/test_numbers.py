"""Numbers written one way (issue 21, item 8): with thousands separators everywhere on a
terminal (never `100000/100000` beside `250,000 results`), raw in piped output for scripts
(piped TSV carried `3,075` and `$0.02`)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rich.console import Console
from rich.progress import Progress

from batchctl.cli.render.progress_bar import CountColumn
from tests.helpers import invoke
from tests.support.files import request
from tests.support.paths import ROOT
from tests.support.runs import assert_plain

QUESTIONS = ROOT / "samples" / "questions.jsonl"  # 15 requests, 3,075 bytes


def rows(stdout: str) -> dict[str, str]:
    return dict(line.split("\t", 1) for line in stdout.splitlines())


def test_a_piped_dry_run_is_raw_numbers() -> None:
    result = invoke(["--emulator", "submit", "--dry-run", str(QUESTIONS)])
    assert result.exit_code == 0, result.stderr
    got = rows(result.stdout)
    assert got["bytes"] == str(QUESTIONS.stat().st_size) == "3075"
    assert got["est. input tokens"] == "256" and got["max output tokens"] == "6000"
    assert got["est. cost (batch rates)"] == "0.02"
    assert got["model claude-haiku-4-5"] == ("15 requests, 256 input tokens, 6000 max output, "
                                             "0.02 USD")
    assert not re.search(r"\d,\d", result.stdout) and not any(c in result.stdout for c in "$~")
    assert "nothing was sent" in result.stderr  # the note stays on stderr
    assert_plain(result.stdout)


def test_a_dry_run_on_a_terminal_formats_them() -> None:
    result = invoke(["--emulator", "submit", "--dry-run", str(QUESTIONS)], tty=True, width=120)
    assert result.exit_code == 0, result.stderr
    assert "3,075" in result.stdout and "6,000" in result.stdout
    assert "$0.02" in result.stdout and "~256" in result.stdout
    assert "3075" not in result.stdout and "6000" not in result.stdout
    assert "nothing was sent" in result.stderr and "3,075" not in result.stderr


def test_a_count_column_has_thousands_separators() -> None:
    console = Console(width=80, record=True, force_terminal=False)
    bar = Progress(CountColumn(), console=console)
    known = bar.add_task("x", total=250_000, completed=12_500)
    unknown = bar.add_task("y", total=None, completed=1_234)
    assert str(CountColumn().render(bar.tasks[known])) == "12,500/250,000"
    assert str(CountColumn().render(bar.tasks[unknown])) == "1,234"


@pytest.mark.parametrize("tty", [True, False])
def test_wait_writes_counts_one_way_on_and_off_a_terminal(make_emulator: Any, tty: bool) -> None:
    emulator = make_emulator(processing_seconds=0)
    with emulator.client() as client:
        batch = client.messages.batches.create(  # type: ignore[arg-type]
            requests=[request(f"r{i}") for i in range(1_200)]).id
    result = invoke(["--base-url", emulator.base_url, "wait", batch], tty=tty, width=120,
                    env={"ANTHROPIC_API_KEY": "sk-test"}, clock=emulator.clock)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "1,200 succeeded" in result.stderr
    assert "1200" not in result.stderr
    if tty:
        assert "1,200/1,200" in result.stderr
