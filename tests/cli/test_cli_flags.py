"""The CLI's table of flag names (batchctl/cli/flags.py) names flags that batchctl accepts, and
core words its messages with the names it is handed (batchctl/core/flags.py)."""

from __future__ import annotations

from typing import Any

import typer.main

from batchctl.cli.app import COMMANDS, app, load_command
from batchctl.cli.flags import FLAGS
from batchctl.cli.render.output import next_step
from batchctl.core.errors import NextStep, UsageError
from batchctl.core.flags import KEYS, Flag
from batchctl.core.results.options import Given, build_options
from tests.support.failures import failure


def _options(command: Any) -> set[str]:
    """Every option string of a click command and its subcommands."""
    found = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for sub in getattr(command, "commands", {}).values():
        found |= _options(sub)
    return found


def test_every_flag_in_the_table_is_one_batchctl_accepts() -> None:
    accepted = _options(typer.main.get_command(app))  # the global options
    for name in COMMANDS:
        accepted |= _options(load_command(name))
    assert sorted(set(FLAGS.names.values()) - accepted) == []


def test_core_words_a_message_with_the_name_it_is_handed() -> None:
    cli = failure(lambda: build_options(Given(fmt="xml", flags=FLAGS)))
    library = failure(lambda: build_options(Given(fmt="xml")))
    assert isinstance(cli, UsageError) and isinstance(library, UsageError)
    assert cli.message == "--format must be one of: jsonl, csv; got 'xml'"
    assert library.message == "fmt must be one of: jsonl, csv; got 'xml'"  # the keyword passed
    assert KEYS["max_queued"] == "max_queued"
    assert FLAGS.but(max_cost="BATCHCTL_MAX_COST")["max_cost"] == "BATCHCTL_MAX_COST"


def test_an_option_in_a_suggested_command_is_named_by_the_cli() -> None:
    step = NextStep("what this state store tracks", "list", (Flag("local"),))
    assert next_step(None, step) == "what this state store tracks: batchctl list --local"
    assert str(Flag("local")) == "local"  # what a caller without a table of flags sees
