"""A big submit on a terminal shows what it does (issue 21, item 6: a 250,000-request upload
showed a blank screen for seconds): a line while the file is checked, then a bar of the bytes
sent, both gone once the batches are made. Core reports by events and the outbox, never a
callback: ``Checking`` and ``Sending`` are yielded, the bytes sent go to ``Outbox.sent`` as the
connection takes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batchctl.core.api.transport import RequestBody
from batchctl.core.events import Outbox, Progress
from tests.cli.test_tables import screen
from tests.support.files import write_requests
from tests.support.terminal import Terminal


def test_the_body_reports_the_bytes_sent_chunk_by_chunk():
    outbox = Outbox()
    chunks = [b"a" * 10, b"b" * 5, b"c" * 7]
    body = RequestBody(lambda: iter(chunks), 22, outbox)
    seen = []
    for chunk in body:
        seen.append((len(chunk), outbox.in_flight()))
    assert seen == [(10, Progress(0, 22)), (5, Progress(10, 22)), (7, Progress(15, 22))]
    assert outbox.in_flight() == Progress(22, 22)
    assert outbox.drain() == []  # nothing queued for the notes: a slot read as it goes
    assert list(body) == chunks  # a retry sends it again


def test_submit_says_checking_then_sending_and_nothing_off_a_terminal(cli, tmp_path,
                                                                      monkeypatch):
    """In order: the check's line, each part's bar, then the result; off a terminal stderr
    says none of it and stdout has the ids alone."""
    monkeypatch.chdir(tmp_path)
    path = write_requests(tmp_path / "q.jsonl", 4).name
    on = cli("submit", path, "--max-requests", "2", tty=True, width=80)
    assert on.exit_code == 0, on.stderr
    raw = on.stderr
    assert raw.index("checking q.jsonl (") < raw.index("sending batch 1 of 2") \
        < raw.index("sending batch 2 of 2") < raw.index("Submitted 4 requests")
    final = screen(raw)
    assert "checking" not in final.splitlines()[-1]
    off = cli("submit", path, "--force", "--max-requests", "2")
    assert off.exit_code == 0, off.stderr
    assert "checking" not in off.stderr and "sending" not in off.stderr
    assert len(off.stdout.splitlines()) == 2  # the ids, nothing else


@pytest.mark.parametrize("stdout_tty", [False, True])
def test_a_big_submit_in_a_terminal(make_emulator: Any, tmp_path: Path, state_dir: Path,
                                    stdout_tty: bool) -> None:
    """20,000 requests (2.5 MB) in a pseudo-terminal: the check's line and the bar of bytes
    are seen while they last, and neither is left on the screen. stdout a pipe: it has the id
    alone, and the screen is left empty; stdout the terminal too: the summary and the table."""
    emu = make_emulator(real_clock=True, processing_seconds=600)
    path = write_requests(tmp_path / "big.jsonl", 20_000)
    term = Terminal(emu.base_url, state_dir, "submit", str(path), columns=80,
                    stdout_tty=stdout_tty)
    code, text, stdout = term.finish(timeout=120)
    assert code == 0, text
    checking = [line for line in term.shown if line.startswith("checking ")]
    assert checking and checking[0].endswith(" MB)…") and len(checking[0]) < 80
    bars = [line for line in term.shown if line.startswith("sending batch ")]
    assert bars and all(len(line) <= 78 for line in bars)
    assert any(" MB" in line for line in bars)  # bytes of the body, said as they go
    assert "checking" not in text and "sending" not in text
    if stdout_tty:
        assert stdout == ""
        assert text.startswith("✓ Submitted 20,000 requests from\n")
        assert text.splitlines()[-1].endswith("20,000    in_progress")
    else:
        assert stdout.startswith("msgbatch_") and len(stdout.split()) == 1
        assert text == ""
