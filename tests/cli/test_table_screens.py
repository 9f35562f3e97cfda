"""Every other table batchctl draws, as screenshots in text at 60, 80 and 120 columns (list and
status: tests/cli/test_tables.py; wait's bars: tests/cli/test_progress_terminal.py): submit's
parts, a dry run, models, retry-failed (its dry run and what it sent) and collect. No word and
no id is ever split across lines: ids are shortened as short ids are accepted back, or a
column of low priority goes (issue 21, item 5). Ids and paths are masked."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from batchctl.cli.render.tables import wrap_widths
from tests.cli.test_tables import screen
from tests.support.files import write_requests
from tests.support.runs import cli_on, submit

_BATCH = re.compile(r"msgbatch_01[0-9A-Za-z]{22}")
_JOB = re.compile(r"job_[0-9a-f]{12}")


class Masks:
    """Ids masked in the order they are first met, whole or shortened (same length, so widths
    hold); the test's folders too."""

    def __init__(self, *folders: Path) -> None:
        self.folders = [str(f) for f in folders]
        self.ids: dict[str, str] = {}

    def _mask(self, found: str) -> str:
        known = next((m for i, m in self.ids.items() if i.startswith(found)), None)
        if known is None:
            letter = "CDEFGHJKLM"[len([i for i in self.ids if i[:4] == found[:4]])]
            known = self.ids[found] = (f"msgbatch_01{letter * 22}" if found.startswith("msgb")
                                       else f"job_{letter.lower() * 12}")
        return known

    def learn(self, text: str) -> None:
        for found in [*_BATCH.findall(text), *_JOB.findall(text)]:
            for short in [i for i in self.ids if found.startswith(i) and i != found]:
                self.ids[found] = self.ids.pop(short)  # a short id met first, now whole
            self._mask(found)

    def __call__(self, text: str) -> str:
        self.learn(text)
        for real in sorted(self.ids, key=len, reverse=True):
            text = text.replace(real, self.ids[real])
        text = re.sub(r"msgbatch_01[0-9A-Za-z]{6,}…",
                      lambda m: self._mask(m.group()[:-1])[:len(m.group()) - 1] + "…", text)
        for n, folder in enumerate(self.folders):
            text = text.replace(folder, f"/DIR{n}")
        return text


@pytest.fixture
def ended(tmp_path: Path, make_emulator: Any, clock: Any, request: Any) -> dict[str, Any]:
    """A job of two parts, labelled, that ended with one errored request in each."""
    emu = make_emulator(error_rate=0.5, seed=3)
    run = cli_on(emu, clock)
    short = Path(tempfile.mkdtemp(prefix="bc", dir="/tmp"))  # a short path, fixed length
    request.addfinalizer(lambda: shutil.rmtree(short))
    path = write_requests(short / "q.jsonl", 6)
    masks = Masks(short, tmp_path)
    job, ids = submit(run, path, "--max-requests", "3", "--label", "nightly")
    masks.learn(" ".join([*ids, job]))
    clock.advance(3600)
    return {"run": run, "ids": ids, "job": job, "path": path, "masks": masks}


def shot(ended: dict[str, Any], width: int, *args: str) -> tuple[str, str]:
    """stdout and stderr on a terminal of ``width`` columns, masked; no line of stdout wider."""
    result = ended["run"](*args, tty=True, width=width)
    assert result.exit_code == 0, result.stderr
    out = screen(result.stdout)
    for line in out.splitlines():
        assert cell_len(line) <= width, line
    return ended["masks"](out), ended["masks"](screen(result.stderr))


SUBMIT = {60: """\
PART  BATCH               LINES  REQUESTS  STATUS
1     msgbatch_01EEEEEE…  1-3    3         in_progress
2     msgbatch_01FFFFFF…  4-6    3         in_progress""", 80: """\
PART  BATCH                              LINES  REQUESTS  STATUS
1     msgbatch_01EEEEEEEEEEEEEEEEEEEEEE  1-3    3         in_progress
2     msgbatch_01FFFFFFFFFFFFFFFFFFFFFF  4-6    3         in_progress"""}
SUBMIT[120] = SUBMIT[80]


@pytest.mark.parametrize("width", [60, 80, 120])
def test_submit_parts(ended, width):
    out, _ = shot(ended, width, "submit", "--force", "--max-requests", "3", str(ended["path"]))
    assert out == SUBMIT[width]


DRY_RUN = {80: """\
DRY RUN
file                     /DIR0/q.jsonl
api version              2026-10-21
models checked against   the packaged model table as of 2026-12-07
requests                 6
bytes                    714
batches                  1: lines 1-6 (6)
est. input tokens        ~6
max output tokens        192
est. cost (batch rates)  $0.0005
model claude-haiku-4-5   6 requests, ~6 input tokens, 192 max output, $0.0005"""}
DRY_RUN[60] = (DRY_RUN[80]  # the labels stay whole; two values wrap between their words
               .replace("table as of 2026-12-07", "table as of\n" + " " * 25 + "2026-12-07")
               .replace("192 max output,", "192\n" + " " * 25 + "max output,"))
DRY_RUN[120] = DRY_RUN[80]
# The prompt-cache report (issue 20 item 1) follows, its values wrapped between words
CACHE_PLAN = {120: """
CACHE PLAN
groups                       none: no two requests share a block a marker may go on
cost as written              $0.0005
with --cache auto, best      $0.0005 (one write per group, a read for every other request)
with --cache auto, 30% hits  $0.0005
break-even hit rate          never pays""", 80: """
CACHE PLAN
groups                       none: no two requests share a block a marker may go
                             on
cost as written              $0.0005
with --cache auto, best      $0.0005 (one write per group, a read for every
                             other request)
with --cache auto, 30% hits  $0.0005
break-even hit rate          never pays""", 60: """
CACHE PLAN
groups                       none: no two requests share a
                             block a marker may go on
cost as written              $0.0005
with --cache auto, best      $0.0005 (one write per group, a
                             read for every other request)
with --cache auto, 30% hits  $0.0005
break-even hit rate          never pays"""}


@pytest.mark.parametrize("width", [60, 80, 120])
def test_dry_run(ended, width):
    """Labels whole; long values wrap between their words. The rules checked (a list that
    grows) are checked apart: every one whole, on lines that fit."""
    out, err = shot(ended, width, "submit", "--dry-run", str(ended["path"]))
    lines = out.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("rules checked"))
    end = next(n for n, line in enumerate(lines) if line.startswith("models checked"))
    rules = " ".join(line[25:] for line in lines[start:end]).split(", ")
    as_json = ended["run"]("submit", "--dry-run", "--json", str(ended["path"])).stdout
    assert rules == [r["id"] for r in json.loads(as_json)["rules"]]
    assert "\n".join(lines[:start] + lines[end:]) == DRY_RUN[width] + CACHE_PLAN[width]
    assert err.startswith("dry run: nothing was sent.")


MODELS = {60: ("ID                         LIFECYCLE  MAX_TOKENS  BATCH",
               "claude-haiku-4-5-20251001  active     64k         yes"),
          80: ("ID                         LIFECYCLE  MAX_TOKENS  MAX_INPUT  BATCH",
               "claude-haiku-4-5-20251001  active     64k         200k       yes"),
          120: ("ID                         NAME                   LIFECYCLE  MAX_TOKENS  MAX_INPUT  "
                "BATCH  THINKING",
                "claude-haiku-4-5-20251001  Claude Haiku 4.5       active     64k         200k       "
                "yes    disabled, enabled")}


@pytest.mark.parametrize("width", [60, 80, 120])
def test_models(ended, width):
    out, err = shot(ended, width, "models")
    lines = out.splitlines()
    assert lines[0] == MODELS[width][0]
    assert MODELS[width][1] in lines
    assert err.startswith("models from the Models API")


RETRY_DRY = {60: """\
PARENT              LINE  CUSTOM_ID  REASON
msgbatch_01CCCCCC…  1     r0         errored: api_error""", 80: """\
PARENT                             LINE  CUSTOM_ID  REASON
msgbatch_01CCCCCCCCCCCCCCCCCCCCCC  1     r0         errored: api_error"""}
RETRY_DRY[120] = RETRY_DRY[80]
RETRIED = {60: """\
BATCH               REQUESTS  STATUS
msgbatch_01EEEEEE…  1         in_progress""", 80: """\
PARENT              BATCH               REQUESTS  STATUS
msgbatch_01CCCCCC…  msgbatch_01EEEEEE…  1         in_progress""", 120: """\
PARENT                             BATCH                              REQUESTS  STATUS
msgbatch_01CCCCCCCCCCCCCCCCCCCCCC  msgbatch_01EEEEEEEEEEEEEEEEEEEEEE  1         in_progress"""}


@pytest.mark.parametrize("width", [60, 80, 120])
def test_retry_failed(ended, width):
    """At 60 columns the parent goes from what was sent (stderr names it): `in_progres`/`s`
    was split there."""
    parent = ended["ids"][0]
    out, err = shot(ended, width, "retry-failed", "--dry-run", parent)
    assert out == RETRY_DRY[width], out
    assert "msgbatch_01CCCCCCCCCCCCCCCCCCCCCC: 1 to retry" in err
    out, err = shot(ended, width, "retry-failed", "--force", parent)
    assert out == RETRIED[width]
    assert "resubmitted 1 request of msgbatch_01CCCCCCCCCCCCCCCCCCCCCC" in err


COLLECT = {60: """\
RESULTS  FILE
3        nightly-msgbatch_01CCCCCCCCCCCCCCCCCCCCCC.jsonl
3        nightly-msgbatch_01DDDDDDDDDDDDDDDDDDDDDD.jsonl""", 80: """\
BATCH               RESULTS  FILE
msgbatch_01CCCCCC…  3        nightly-msgbatch_01CCCCCCCCCCCCCCCCCCCCCC.jsonl
msgbatch_01DDDDDD…  3        nightly-msgbatch_01DDDDDDDDDDDDDDDDDDDDDD.jsonl""", 120: """\
BATCH                              LABEL OR JOB  RESULTS  FILE
msgbatch_01CCCCCCCCCCCCCCCCCCCCCC  nightly       3        nightly-msgbatch_01CCCCCCCCCCCCCCCCCCCCCC.jsonl
msgbatch_01DDDDDDDDDDDDDDDDDDDDDD  nightly       3        nightly-msgbatch_01DDDDDDDDDDDDDDDDDDDDDD.jsonl"""}


@pytest.mark.parametrize("width", [60, 80, 120])
def test_collect_names_each_file_whole_and_the_folder_once(ended, width, tmp_path):
    out, err = shot(ended, width, "collect", "--dir", str(tmp_path / "out"))
    assert out == COLLECT[width]
    assert err.count("/DIR1/out/") == 1, err
    assert " ".join(err.split()).startswith("✓ collected 2 batches into /DIR1/out/")


words = st.text(alphabet="abcdefgh_-", min_size=1, max_size=14)
cell_text = st.lists(words, min_size=0, max_size=6).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.lists(st.lists(cell_text, min_size=n, max_size=n), min_size=1, max_size=5),
    st.sampled_from([60, 80, 120]))))
def test_a_wrapped_table_never_splits_a_word(table):
    """Whenever every column's longest word fits, each column is at least that wide (Rich
    then wraps between words only) and the table is within the width."""
    rows, width = table
    columns = [f"c{i}" for i in range(len(rows[0]))]
    widths = wrap_widths(columns, [list(r) for r in rows], width, [])
    longest = [max([len(columns[i]), *(len(w) for r in rows for w in r[i].split())])
               for i in range(len(columns))]
    assert sum(widths.values()) + 2 * (len(widths) - 1) <= width
    if sum(longest) + 2 * (len(columns) - 1) <= width:
        assert all(widths[i] >= longest[i] for i in widths)


@pytest.mark.parametrize("width", [60, 100])
def test_collect_names_a_retry_file_whole(ended, tmp_path, clock, width):
    """A retry's file is named after its label (``nightly (retry)``; ``retry of <parent>``
    for a parent with none): longer names, cut to `retry_o…` at 100 columns before. Each is
    whole on its line, what gives is the rest of the table."""
    assert ended["run"]("retry-failed", ended["ids"][0]).exit_code == 0
    clock.advance(3600)
    out, _ = shot(ended, width, "collect", "--dir", str(tmp_path / "out"))
    names = sorted(ended["masks"](p.name) for p in (tmp_path / "out").iterdir())
    assert "nightly_retry-msgbatch_01EEEEEEEEEEEEEEEEEEEEEE.jsonl" in names
    shown = [line.split()[-1] for line in out.splitlines()[1:]]
    assert sorted(shown) == names
