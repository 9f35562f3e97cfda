"""Putting results in the request file's order is a step of its own (issue 21, item 6: the
results bar sat full for seconds while CSV rows were put in order): core yields ``Ordering``
after every result is read, and a terminal shows a bar of its own for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batchctl.core.events import Ordering, Progress
from tests.support.files import write_requests
from tests.support.runs import api_on, submit
from tests.support.terminal import Terminal


def _events(emulator: Any, clock: Any, state_dir: Path, ref: str, fmt: str, order: str) -> list:
    from batchctl.core.events import gather
    from batchctl.core.results.export import open_export
    from batchctl.core.results.options import Options
    from batchctl.core.state.store import Store

    api = api_on(emulator, clock, state_dir)
    store = Store.open(state_dir)
    try:
        opened, export = gather(open_export(api, store, ref, Options(format=fmt, order=order)))
        events, _ = gather(export.events(None))
    finally:
        store.close()
        api.close()
    return [e for e in [*opened, *events] if isinstance(e, (Progress, Ordering))]


def test_core_says_the_order_step_after_the_reading(cli, emulator, clock, tmp_path, state_dir):
    job, _ = submit(cli, write_requests(tmp_path / "q.jsonl", 4500))
    clock.advance(3600)
    seen = _events(emulator, clock, state_dir, job, "csv", "input")
    reads = [e for e in seen if isinstance(e, Progress)]
    ordered = [e for e in seen if isinstance(e, Ordering)]
    assert reads[-1] == Progress(4500, 4500)
    done = [e.done for e in ordered]  # as the written blocks go (CSV is written in blocks)
    assert done and done == sorted(set(done)) and done[-1] == 4500
    assert seen.index(ordered[0]) > seen.index(reads[-1])  # after every result is read
    assert all(e.total == 4500 for e in ordered)
    # the reading says how far it got as blocks come, not 0 then all (the bar sat at 0)
    assert any(0 < e.done < 4500 for e in reads), reads
    assert [e.done for e in reads] == sorted(e.done for e in reads)
    api_order = _events(emulator, clock, state_dir, job, "jsonl", "api")
    assert not [e for e in api_order if isinstance(e, Ordering)]  # the API's order: no step


def test_a_terminal_shows_the_order_step(make_emulator: Any, tmp_path: Path,
                                         state_dir: Path) -> None:
    """In a pseudo-terminal: the reading's bar, then `putting rows in order` counting up, both
    gone at the end, the summary left; stdout (a pipe) empty: the rows went to the file."""
    emu = make_emulator(real_clock=True, processing_seconds=0)
    from tests.support.runs import cli_on

    job, _ = submit(cli_on(emu, None), write_requests(tmp_path / "q.jsonl", 9000))
    out = tmp_path / "out.csv"
    term = Terminal(emu.base_url, state_dir, "results", job, "-o", str(out), columns=80,
                    stdout_tty=False)
    code, text, stdout = term.finish(timeout=120)
    assert code == 0, text
    assert stdout == ""
    steps = [line for line in term.shown if line.startswith("putting rows in order ")]
    assert steps and all(len(line) <= 78 for line in steps)
    assert any(line.endswith("/9,000") for line in steps), steps  # (counting up: above)
    assert "putting rows" not in text and "━" not in text
    assert ": 9,000 results to " in " ".join(text.split())
    assert len(out.read_text().splitlines()) == 9001
