"""Prose on stderr (issue 21, item 5): on a terminal, wrapped between words at its width with a
hanging indent; a suggested command never broken; off a terminal, one line per message, never
wrapped (scripts grep it). stdout is checked apart: prose never reaches it."""

from __future__ import annotations

import re

import orjson
import pytest
from rich.cells import cell_len

from batchctl.cli.render.prose import wrap
from tests.cli.test_tables import screen
from tests.cli.test_wait_screens import screen as shown_on
from tests.support.files import request, write_requests
from tests.support.runs import submit

LONG = ("the Models API could not be asked (connection refused): using the packaged model "
        "table as of 2026-12-07, which may not know the newest models")


def test_wrap_breaks_between_words_with_a_hanging_indent():
    lines = wrap("warning: " + LONG, 40, 9)
    assert all(cell_len(line) <= 40 for line in lines)
    assert all(line.startswith(" " * 9) and line[9] != " " for line in lines[1:])
    assert " ".join(line.strip() for line in lines) == "warning: " + LONG  # no word split


def test_a_suggested_command_is_never_broken():
    command = "batchctl --state-dir /tmp/some/state wait job_0123456789ab"
    lines = wrap(f"hint: resume with: {command}", 40, 6)
    assert lines == ["hint: resume with:", f"      {command}"]  # whole, wider than the line
    assert wrap(f"fetch: {command}", 100, 2) == [f"fetch: {command}"]


def _words(text: str) -> list[str]:
    return text.split()


@pytest.fixture
def retired(tmp_path, monkeypatch):
    """A request file whose every line names an unknown model: exit 3 with long problems
    (named as given: ``old.jsonl``, in the working directory)."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "old.jsonl"
    path.write_bytes(b"".join(orjson.dumps(request(f"r{i}", model="claude-3-opus-20240229"))
                              + b"\n" for i in range(3)))
    return path


@pytest.mark.parametrize("width", [60, 80, 120])
def test_errors_wrap_at_words_on_a_terminal(cli, retired, width):
    on = cli("submit", retired.name, tty=True, width=width)
    off = cli("submit", retired.name)
    assert on.exit_code == off.exit_code == 3
    assert on.stdout == off.stdout == ""
    shown = shown_on(on.stderr)  # what stays: the line said while checking was erased
    assert all(cell_len(line) <= width for line in shown), shown
    assert len(shown) > len(off.stderr.splitlines())  # something was wrapped
    assert _words(" ".join(shown)) == _words(off.stderr.replace("\n", " "))  # no word split
    assert shown[0].startswith("error: old.jsonl: ")
    for line in shown[1:]:  # a continuation is indented; a message starts at the margin
        assert line.startswith("  ") or re.match(r"\S", line), line


def test_off_a_terminal_each_message_is_one_line(cli, retired):
    off = cli("submit", retired.name)
    lines = off.stderr.splitlines()
    assert lines[0].startswith("error: ") and lines[1].startswith("old.jsonl:1: ")
    assert all(not line.startswith(" ") for line in lines)
    assert max(map(len, lines)) > 120  # not wrapped at any width


def test_notes_and_hints_wrap_the_same_way(cli, tmp_path, clock):
    """A success line and a next step on a terminal of 60 columns: wrapped between words,
    the command whole on a line of its own."""
    job, _ = submit(cli, write_requests(tmp_path / "q.jsonl", 2))
    clock.advance(3600)
    result = cli("wait", job, tty=True, width=60)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    tail = screen(result.stderr).splitlines()
    hint = next(n for n, line in enumerate(tail) if line.startswith("fetch the results:"))
    assert tail[hint] == "fetch the results:"
    assert tail[hint + 1].startswith("  batchctl --base-url ")
    assert tail[hint + 1].endswith(f" results {job}")
