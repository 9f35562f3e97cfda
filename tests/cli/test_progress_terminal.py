"""`wait` and `run` in a real terminal (a pseudo-terminal, batchctl in a process of its own,
the screen played by a terminal emulator: tests/support/terminal.py), as issue 21 item 6 found
them: after Ctrl-C the bar line was drawn twice, and a resize left a stale line. stdout is a
pipe here, read apart: nothing of the display reaches it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from tests.support.files import write_requests
from tests.support.runs import cli_on, submit
from tests.support.terminal import Terminal


@pytest.fixture
def running(make_emulator: Any, tmp_path: Path, state_dir: Path) -> tuple[Any, Path, str, str]:
    """A job of one batch that runs for 10 minutes of wall time: the emulator, the state
    directory, the job id and the batch id."""
    emu = make_emulator(real_clock=True, processing_seconds=600)
    job, (batch,) = submit(cli_on(emu, None), write_requests(tmp_path / "q.jsonl", 3))
    return emu, state_dir, job, batch


def bar_rows(text: str, batch: str) -> list[str]:
    """The rows that show the batch's bar (its short id: a message names it whole)."""
    return [line for line in text.splitlines() if batch[:17] + "…" in line]


@pytest.mark.parametrize("command", ["wait", "run"])
def test_ctrl_c_leaves_one_final_line(running: Any, tmp_path: Path, command: str) -> None:
    """`wait JOB`, or `run` of the same file (it picks up the job submitted before)."""
    emu, home, job, batch = running
    args = [job] if command == "wait" else [str(tmp_path / "q.jsonl"), "-o",
                                             str(tmp_path / "out.jsonl")]
    term = Terminal(emu.base_url, home, command, *args, columns=100, stdout_tty=False)
    term.wait_for("in_progress")
    time.sleep(0.6)  # a few redraws
    term.ctrl_c()
    code, text, stdout = term.finish()
    assert code == 130, text
    # stdout is piped: run said which job it waited for (README, run), so a script can wait on
    assert stdout == ("" if command == "wait" else f"{job}\n")
    rows = bar_rows(text, batch)
    assert len(rows) == 1, text  # drawn once: the ^C echo pushed no second one down
    bar = rows[0]
    assert "0/3 in_progress" in bar and "^C" not in text
    lines = text.splitlines()
    assert lines[lines.index(bar) + 1] == "error: interrupted; the batches keep running on the server"
    assert not (tmp_path / "out.jsonl").exists()


def test_a_resize_redraws_cleanly(running: Any) -> None:
    """From 100 columns to 60 on a terminal that re-flows its lines: the bar line drawn at 100
    was folded over two rows, and the redraw left the first of them on the screen."""
    emu, home, job, batch = running
    term = Terminal(emu.base_url, home, "wait", job, columns=100, stdout_tty=False)
    term.wait_for("expires in")  # wide enough for the time left
    term.resize(60, 30)
    text = term.wait_for(lambda t: "expires in" not in t and bool(bar_rows(t, batch)))
    time.sleep(0.6)
    text = term.text()
    assert len(bar_rows(text, batch)) == 1, text
    assert [line for line in text.splitlines() if "━" in line] == bar_rows(text, batch)
    assert all(cell_len(line) <= 60 for line in text.splitlines())
    term.resize(120, 30)  # wider again: the time left is back, still one line
    text = term.wait_for("expires in")
    assert len(bar_rows(text, batch)) == 1, text
    term.ctrl_c()
    code, text, stdout = term.finish()
    assert (code, stdout) == (130, "")
    assert len(bar_rows(text, batch)) == 1, text


