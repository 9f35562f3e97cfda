"""batchctl.cli.iostreams, the one owner of the terminal: what it decides from the environment,
and that a command's output goes through it (to a test's buffers, here)."""

from __future__ import annotations

import io

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.cli.context import Overrides
from batchctl.cli.iostreams import IOStreams, names_std


class FakeTTY(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def streams(env: dict[str, str], *, tty: bool = False) -> IOStreams:
    return IOStreams(FakeTTY(tty), FakeTTY(tty), FakeTTY(tty), env=env)


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", " Yes "])
def test_force_tty_is_read_once_in_one_way(value: str) -> None:
    forced = streams({"BATCHCTL_FORCE_TTY": value})
    assert (forced.stdin_tty, forced.stdout_tty, forced.stderr_tty) == (True, True, True)
    assert forced.can_prompt and forced.colour() and forced.colour(stderr=True)


@pytest.mark.parametrize("value", ["", "0", "no", "false"])
def test_anything_else_leaves_the_streams_as_they_are(value: str) -> None:
    assert not streams({"BATCHCTL_FORCE_TTY": value}).stdout_tty
    assert streams({"BATCHCTL_FORCE_TTY": value}, tty=True).stdout_tty


def test_no_color_keeps_a_terminal_but_drops_colour() -> None:
    plain = streams({"NO_COLOR": "1"}, tty=True)
    assert plain.stdout_tty and not plain.colour() and not plain.colour(stderr=True)
    assert streams({"NO_COLOR": ""}, tty=True).colour()  # no-color.org: set and not empty


def test_prompting_needs_stdin_and_stderr_on_a_terminal() -> None:
    io_ = IOStreams.test(tty=True)
    assert io_.can_prompt
    io_.stdin_tty = False
    assert not io_.can_prompt
    io_.stdin_tty, io_.stderr_tty = True, False
    assert not io_.can_prompt


def test_test_streams_are_three_buffers_without_a_terminal() -> None:
    io_ = IOStreams.test(stdin=b"line\n")
    assert not (io_.stdin_tty or io_.stdout_tty or io_.stderr_tty)
    assert io_.stdin_bytes().read() == b"line\n"
    io_.stdout.write("text ")
    assert io_.write_bytes([b"bytes\n"]) == 6
    io_.stderr.write("note\n")
    assert io_.written() == "text bytes\n" and io_.written(stderr=True) == "note\n"


def test_a_dash_names_the_standard_stream() -> None:
    from pathlib import Path

    assert names_std("-") and names_std(Path("-"))
    assert not names_std(None) and not names_std("./-") and not names_std("x")


def test_a_command_writes_through_the_streams_it_is_given(state_dir) -> None:
    io_ = IOStreams.test()
    result = CliRunner().invoke(app, ["state", "path"], obj=Overrides(io=io_))
    assert result.exit_code == 0
    assert io_.written() == f"{state_dir / 'batchctl.db'}\n"
    assert result.stdout == ""  # nothing went around them

    io_ = IOStreams.test()
    result = CliRunner().invoke(app, ["state", "export", "-", "--json"], obj=Overrides(io=io_))
    assert result.exit_code == 2
    assert io_.written(stderr=True).startswith("error: --json reports an export to FILE")


def test_nothing_else_decides_about_the_terminal() -> None:
    from pathlib import Path

    import batchctl

    package = Path(batchctl.__file__).parent
    found = {
        f"{path.relative_to(package)}: {word}"
        for path in package.rglob("*.py") if path.name != "iostreams.py"
        for word in ("isatty(", "BATCHCTL_FORCE_TTY", "NO_COLOR", "Console(")
        if word in path.read_text(encoding="utf-8")
    }
    assert found == set()
