"""Tables that fit the terminal, as screenshots in text: `list` and `status` at 60, 80 and 120
columns (columns dropped by priority, ids never split, short ids and `--wide`, ENDED vs
EXPIRES, ISO dates with their zone, `<stdin>`), on a fixed clock with ids masked."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from rich.cells import cell_len

from batchctl.cli.render.tables import fit_columns, short_ids
from tests.support.files import json_lines, request, write_requests
from tests.support.runs import submit

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def screen(text: str) -> str:
    """What the terminal shows: escape codes gone, trailing blanks trimmed."""
    return "\n".join(line.rstrip() for line in ANSI.sub("", text).splitlines())


@pytest.fixture
def three(cli, emulator, tmp_path, clock) -> dict[str, str]:
    """A tracked job that ended (3 succeeded, labelled), a batch made with the SDK whose every
    request errored (an unknown model), then a job read from stdin, still running. Returns each
    real id -> the mask it gets in the screenshots (same length)."""
    submit(cli, write_requests(tmp_path / "q.jsonl", 3), "--label", "nightly")
    with emulator.client() as client:
        bad = [request(f"x{i}", model="claude-nonexistent-9") for i in range(2)]
        client.messages.batches.create(requests=bad)  # type: ignore[arg-type]
    clock.advance(120)  # the first two have ended
    lines = b"".join(orjson.dumps(request(f"s{i}")) + b"\n" for i in range(2))
    assert cli("submit", "-", input=lines).exit_code == 0
    masks: dict[str, str] = {}
    for n, rec in enumerate(json_lines(cli("list", "--json").stdout)):  # newest first
        masks[rec["id"]] = "msgbatch_01" + "CBA"[n] * 22
        if rec["job_id"]:
            masks[rec["job_id"]] = "job_" + "cba"[n] * 12
    return masks


def masked(text: str, masks: dict[str, str]) -> str:
    for real, mask in masks.items():
        text = text.replace(real, mask).replace(real[:17] + "…", mask[:17] + "…")
    return text


def shot(cli: Any, masks: dict[str, str], width: int, *args: str) -> str:
    result = cli(*args, tty=True, width=width)
    assert result.exit_code == 0, result.stderr
    text = screen(result.stdout)
    for line in text.splitlines():
        assert cell_len(line) <= width, line
    return masked(text, masks)


LIST_60 = """\
ID                  STATUS       REQUESTS
msgbatch_01CCCCCC…  in_progress  2 processing
msgbatch_01BBBBBB…  ended        2 errored
msgbatch_01AAAAAA…  ended        3 succeeded"""

LIST_80 = """\
ID                  STATUS       REQUESTS      ENDED/EXPIRES
msgbatch_01CCCCCC…  in_progress  2 processing  in 1d
msgbatch_01BBBBBB…  ended        2 errored     2026-09-21 14:14Z
msgbatch_01AAAAAA…  ended        3 succeeded   2026-09-21 14:14Z"""

LIST_120 = """\
ID                  STATUS       REQUESTS      CREATED            ENDED/EXPIRES      LABEL    JOB               FILE
msgbatch_01CCCCCC…  in_progress  2 processing  2026-09-21 14:15Z  in 1d                       job_cccccccccccc  <stdin>
msgbatch_01BBBBBB…  ended        2 errored     2026-09-21 14:13Z  2026-09-21 14:14Z
msgbatch_01AAAAAA…  ended        3 succeeded   2026-09-21 14:13Z  2026-09-21 14:14Z  nightly  job_aaaaaaaaaaaa  q.jsonl"""  # noqa: E501


@pytest.mark.parametrize(("width", "expected"), [(60, LIST_60), (80, LIST_80), (120, LIST_120)])
def test_list_screenshots(cli, three, width, expected):
    assert shot(cli, three, width, "list") == expected


def test_status_screenshots_show_the_tracked_batches_alike(cli, three):
    assert shot(cli, three, 60, "status") == "\n".join(
        line for line in LIST_60.splitlines() if "BBBB" not in line)
    assert shot(cli, three, 80, "status") == "\n".join(
        line for line in LIST_80.splitlines() if "BBBB" not in line)
    assert shot(cli, three, 120, "status") == "\n".join(
        line for line in LIST_120.splitlines() if "BBBB" not in line)


def test_wide_shows_whole_ids_that_are_never_split(cli, three):
    for width in (60, 80, 120):
        text = shot(cli, three, width, "list", "--wide")
        for real, mask in three.items():
            if real.startswith("msgbatch_"):
                assert any(mask in line for line in text.splitlines()), (width, text)
    assert shot(cli, three, 60, "status", "--wide") == """\
ID                                 STATUS       REQUESTS
msgbatch_01CCCCCCCCCCCCCCCCCCCCCC  in_progress  2 processing
msgbatch_01AAAAAAAAAAAAAAAAAAAAAA  ended        3 succeeded"""


def test_header_says_ended_or_expires(cli, three):
    ended = [i for i, m in three.items() if m.startswith("msgbatch_01A")]
    running = [i for i, m in three.items() if m.startswith("msgbatch_01C")]
    assert shot(cli, three, 80, "status", *ended).splitlines()[0].split()[-1] == "ENDED"
    assert shot(cli, three, 80, "status", *running).splitlines()[0].split()[-1] == "EXPIRES"
    assert shot(cli, three, 120, "status", *running) == """\
ID                  STATUS       REQUESTS      CREATED            EXPIRES  JOB               FILE
msgbatch_01CCCCCC…  in_progress  2 processing  2026-09-21 14:15Z  in 1d    job_cccccccccccc  <stdin>"""


def test_piped_rows_are_unchanged(cli, three, state_dir):
    """Off a terminal the tab-separated rows keep the whole id, the API's timestamps and the
    path of the spooled stdin (a file a script can read again)."""
    rows = [line.split("\t") for line in cli("list").stdout.splitlines()]
    assert [len(r[0]) for r in rows] == [33, 33, 33]
    assert rows[0][7].endswith("Z") and "T" in rows[0][7]
    assert rows[0][12].startswith(str(state_dir / "inputs"))


def test_short_ids_grow_until_unique():
    a, b = "msgbatch_01abcdefXYZ0000000000000", "msgbatch_01abcdefXYW0000000000000"
    shown = short_ids([a, b, "msgbatch_01zzzzzz0000000000000000", "job_0123456789ab"])
    assert shown[a] == "msgbatch_01abcdefXYZ…" and shown[b] == "msgbatch_01abcdefXYW…"
    assert shown["msgbatch_01zzzzzz0000000000000000"] == "msgbatch_01zzzzzz…"
    assert shown["job_0123456789ab"] == "job_0123456789ab"


def test_fit_drops_by_priority_then_shrinks_free_text():
    columns = ["id", "status", "requests", "label"]
    cells = [["x" * 18, "ended", "3 succeeded, 1 errored, 2 expired", "a" * 40]]
    assert fit_columns(columns, cells, 200, drop=["label"], shrink=["requests", "label"]) == {
        0: 18, 1: 6, 2: 24, 3: 24}  # free text capped before anything is dropped
    assert fit_columns(columns, cells, 60, drop=["label"], shrink=["requests", "label"]) == {
        0: 18, 1: 6, 2: 24}
    assert fit_columns(columns, cells, 40, drop=["label"], shrink=["requests", "label"]) == {
        0: 18, 1: 6, 2: 12}  # the id is never cut while something else can give
    empty = [["x" * 18, "ended", "3 succeeded", ""]]
    assert fit_columns(columns, empty, 200, drop=["label"]) == {0: 18, 1: 6, 2: 11}


def test_other_tables_never_split_an_id(cli, tmp_path):
    """Any table (here submit's parts): a column of ids stays on one line, whole where it fits,
    shortened where it would not."""
    path = write_requests(tmp_path / "p.jsonl", 4)
    _, ids = submit(cli, path, "--max-requests", "2")
    narrow = screen(cli("submit", str(path), "--max-requests", "2", tty=True, width=60).stdout)
    assert [line.split()[1] for line in narrow.splitlines()[1:]] == [i[:17] + "…" for i in ids]
    assert all(cell_len(line) <= 60 for line in narrow.splitlines())
    wide = screen(cli("submit", str(path), "--max-requests", "2", tty=True, width=80).stdout)
    assert [line.split()[1] for line in wide.splitlines()[1:]] == ids


def test_a_short_id_copied_from_a_table_names_its_batch(cli, three):
    """Ids a table shortened can be pasted back, with or without their "…", as git takes a
    short commit id: a prefix of one tracked batch names it; a shortened id of no tracked batch
    is not sent to the API (exit 5). (A prefix of several: tests/core/state/test_store.py.)"""
    tracked = next(i for i, m in three.items() if m.startswith("msgbatch_01A"))
    untracked = next(i for i, m in three.items() if m.startswith("msgbatch_01B"))
    row = next(line for line in cli("list", tty=True, width=60).stdout.splitlines()
               if tracked[:17] in line)
    shown = row.split()[0]
    assert shown == tracked[:17] + "…"
    for ref in (shown, shown.removesuffix("…")):
        status = cli("status", "--json", ref)
        assert status.exit_code == 0, status.stderr
        assert [r["id"] for r in json_lines(status.stdout)] == [tracked]
    results = cli("results", shown)
    assert results.exit_code == 0, results.stderr
    assert len(json_lines(results.stdout)) == 3
    unknown = cli("status", untracked[:17] + "…")
    assert unknown.exit_code == 5
    assert unknown.stdout == ""
    assert f"no tracked batch '{untracked[:17]}…'" in unknown.stderr
