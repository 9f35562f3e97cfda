"""What `wait` and `run` leave on a terminal, as screenshots in text at 60, 80 and 120 columns:
the final bars and the summary fit the width, the glyph and colour follow the outcome
(failures are never green), each batch's end is told once, and every elapsed figure comes
from one clock (the first batch's created_at)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rich.cells import cell_len

from batchctl.cli.render.live import MARGIN
from tests.support.files import request, write_requests
from tests.support.runs import submit

CODES = re.compile(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)")


def fold(line: str, width: int) -> list[str]:
    """A line as a terminal shows it: folded at the last column (stderr messages are printed
    soft-wrapped, so a hinted command stays one line when copied)."""
    rows = [""]
    for ch in line:
        if cell_len(rows[-1] + ch) > width:
            rows.append("")
        rows[-1] += ch
    return rows


def screen(raw: str, width: int | None = None) -> list[str]:
    """The lines a terminal ``width`` columns wide shows at the end: Rich's redraws (cursor
    up, erase line) applied, long lines folded, colours dropped, trailing blanks trimmed."""
    lines, row = [""], 0
    for token in CODES.split(raw):
        if token == "\n":
            row += 1
            if row == len(lines):
                lines.append("")
        elif token == "\x1b[1A":
            row = max(0, row - 1)
        elif token == "\x1b[2K":
            lines[row] = ""
        elif token and not token.startswith("\x1b") and token != "\r":
            lines[row] += token
    if width is not None:
        lines = [row for line in lines for row in fold(line, width)]
    return [line.rstrip() for line in lines if line.strip()]


@pytest.fixture
def two(cli, emulator, tmp_path) -> tuple[str, str, dict[str, str]]:
    """A batch whose every request errored (an unknown model, made with the SDK) and a job of
    3 requests that all succeed; both end 60 s after they are created. Returns the batch id,
    the job id, and the masks of their ids."""
    with emulator.client() as client:
        bad = [request(f"x{i}", model="claude-nonexistent-9") for i in range(2)]
        failed = client.messages.batches.create(requests=bad).id  # type: ignore[arg-type]
    job, (good,) = submit(cli, write_requests(tmp_path / "q.jsonl", 3))
    masks = {failed: "msgbatch_01" + "F" * 22, good: "msgbatch_01" + "G" * 22}
    return failed, job, masks


def masked(lines: list[str], masks: dict[str, str]) -> list[str]:
    out = []
    for line in lines:
        for real, mask in masks.items():
            line = line.replace(real, mask).replace(real[:17] + "…", mask[:17] + "…")
        out.append(line)
    return out


def final_screen(cli: Any, width: int, *refs: str) -> tuple[list[str], str]:
    result = cli("wait", *refs, tty=True, width=width)
    assert result.exit_code == 0, result.stderr
    lines = screen(result.stderr, width)
    for line in lines:
        assert cell_len(line) <= width, line
    hints = next(i for i, line in enumerate(lines) if line.startswith("fetch the results"))
    return lines[:hints], result.stderr


BAR = "━"


def bars(text: str) -> str:
    """Bars of any length read as one ``━``."""
    return re.sub(f"{BAR}+", BAR, text)


BOTH = """\
✗ msgbatch_01FFFFFFFFFFFFFFFFFFFFFF ended: 2 errored
✓ msgbatch_01GGGGGGGGGGGGGGGGGGGGGG ended: 3 succeeded
✗ msgbatch_01FFFFFF… ━ 2/2 ended         1m
✓ msgbatch_01GGGGGG… ━ 3/3 ended         1m
! all                ━ 2/2 batches ended 1m
! 2 of 2 batches ended after 1m: 3 succeeded, 2 errored, 0 canceled, 0 expired"""


@pytest.mark.parametrize("width", [60, 80, 120])
def test_wait_final_screens(cli, two, width):
    failed, job, masks = two
    lines, _ = final_screen(cli, width, failed, job)
    expected = BOTH
    if width == 60:  # the summary is prose: wrapped between words, under its text
        expected = BOTH.replace("2 errored, 0 canceled", "2 errored, 0\n  canceled")
    assert bars("\n".join(masked(lines, masks))) == expected
    # the bars take the width that is left: every bar line is exactly as wide as the terminal
    # less the margin a ^C echo needs (batchctl/cli/render/live.py)
    assert [cell_len(line) for line in lines if BAR in line] == [width - MARGIN] * 3


def test_one_batch_is_told_ended_once_with_its_outcome(cli, two):
    failed, job, masks = two
    lines, raw = final_screen(cli, 80, failed)
    assert masked(lines, masks) == [
        "✗ msgbatch_01FFFFFF… " + BAR * (46 - MARGIN) + " 2/2 ended 1m",
        "✗ 1 of 1 batch ended after 1m: 0 succeeded, 2 errored, 0 canceled, 0 expired",
    ]
    assert "✓" not in raw  # no tick for a batch whose every request failed
    ok, ok_raw = final_screen(cli, 80, job)
    assert [line[0] for line in ok] == ["✓", "✓"]
    assert "✗" not in ok_raw and "!" not in ok_raw


def test_colours_follow_the_outcome(cli, two):
    failed, job, _ = two
    _, raw = final_screen(cli, 80, failed)
    last = raw.rsplit("\x1b[2K", 1)[1]  # the final frame and what follows it
    assert re.search(r"\x1b\[[0-9;]*31m✗", last)  # red cross, bar and status
    assert not re.search(r"\x1b\[[0-9;]*32m", last)  # nothing green (the spinner was)
    _, ok = final_screen(cli, 80, job)
    assert re.search(r"\x1b\[[0-9;]*32m✓", ok)


def test_plain_lines_and_summary_share_one_clock(cli, two, clock):
    """Off a terminal: a line per batch end only when there are several, each on the clock
    that starts at the first created_at (so a resumed wait says how old the batches are)."""
    failed, job, masks = two
    clock.advance(30)
    result = cli("wait", failed, job)
    assert result.exit_code == 0, result.stderr
    lines = masked(result.stderr.splitlines(), masks)
    assert lines[:5] == [
        "[30s] msgbatch_01FFFFFFFFFFFFFFFFFFFFFF: in_progress, 2 requests, expires in 23h 59m",
        "[30s] msgbatch_01GGGGGGGGGGGGGGGGGGGGGG: in_progress, 3 requests, expires in 23h 59m",
        "[1m] msgbatch_01FFFFFFFFFFFFFFFFFFFFFF: ended: 2 errored",
        "[1m] msgbatch_01GGGGGGGGGGGGGGGGGGGGGG: ended: 3 succeeded",
        "2 of 2 batches ended after 1m: 3 succeeded, 2 errored, 0 canceled, 0 expired",
    ]
    single = cli("wait", job)  # already ended: the summary is the one line about its end
    assert single.stderr.splitlines()[0] == (
        "1 of 1 batch ended after 1m: 3 succeeded, 0 errored, 0 canceled, 0 expired")


def test_run_tells_the_end_once(cli, tmp_path):
    result = cli("run", str(write_requests(tmp_path / "r.jsonl", 2)), "-o",
                 str(tmp_path / "out.jsonl"))
    assert result.exit_code == 0, result.stderr
    ends = [line for line in result.stderr.splitlines() if "ended" in line]
    assert ends == ["1 of 1 batch ended after 1m"], result.stderr  # the counts: with the results
    assert "results: 2 succeeded" in result.stderr


def test_run_of_a_batch_that_all_errored_shows_no_tick(make_emulator, clock, tmp_path):
    from tests.support.runs import on

    emulator = make_emulator(error_rate=1.0)
    result = on(emulator, clock, "run", str(write_requests(tmp_path / "r.jsonl", 2)), "-o",
                    str(tmp_path / "out.jsonl"), tty=True, width=80)
    assert result.exit_code == 0, result.stderr
    lines = screen(result.stderr)
    assert [line[0] for line in lines if "ended after" in line or "results to" in line] == [
        "✗", "✗"]  # the summary and the results written: neither is a tick
    assert not any(line.startswith("✓") for line in lines)
