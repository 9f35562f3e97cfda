"""The command registry (pip's commands_dict): `batchctl --help` lists every command without
importing one, `batchctl CMD` imports CMD's module alone, and a mistyped command is answered in
batchctl's voice with the names it is close to."""

from __future__ import annotations

import pytest

from batchctl.cli.app import COMMANDS, load_command
from batchctl.cli.helptext import _first_paragraph
from tests.helpers import invoke
from tests.support.processes import run_main


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_summary_is_the_first_paragraph_of_the_commands_help(name: str) -> None:
    command = load_command(name)
    assert COMMANDS[name].summary == _first_paragraph(command.short_help or command.help or "")


def modules_loaded(*argv: str) -> list[str]:
    """The batchctl command modules imported by ``batchctl ARGV`` (help: exit 0)."""
    _, loaded = run_main(list(argv))
    return sorted(m.rsplit(".", 1)[1] for m in loaded if m.startswith("batchctl.cli.commands."))


def test_the_root_help_imports_no_command() -> None:
    assert modules_loaded("--help") == []


@pytest.mark.parametrize("name", ["status", "retry-failed", "state"])
def test_a_commands_help_imports_that_command_alone(name: str) -> None:
    assert modules_loaded(name, "--help") == [COMMANDS[name].module]


@pytest.mark.parametrize(("typed", "expect"), [
    (["stauts"], "no such command: stauts (did you mean one of status, state, results?)"),
    (["subimt", "f.jsonl"], "no such command: subimt (did you mean submit?)"),
    (["zzz"], "no such command: zzz"),
    (["state", "pth"], "no such command: pth (did you mean path?)"),
])
@pytest.mark.parametrize("tty", [False, True], ids=["piped", "terminal"])
def test_a_mistyped_command_is_a_usage_error_with_close_names(typed: list[str], expect: str,
                                                               tty: bool) -> None:
    result = invoke(typed, tty=tty)
    assert result.exit_code == 2 and result.stdout == ""
    lines = [line.replace("\x1b[1;31m", "").replace("\x1b[0m", "").replace("\x1b[2m", "")
             for line in result.stderr.splitlines()]
    where = "batchctl state" if typed[0] == "state" else "batchctl"
    assert lines == [f"error: {expect}", f"hint: see '{where} --help'"]
