"""The CLI frame: help, version, global options, and the error -> exit code mapping."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from batchctl import __version__
from batchctl.cli.app import BatchctlGroup, report_error
from batchctl.cli.context import Overrides, app_context
from batchctl.cli.iostreams import IOStreams
from batchctl.core import errors
from tests.helpers import invoke


def test_bare_batchctl_prints_help_on_stderr_and_runs_nothing() -> None:
    result = invoke([])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Usage:" in result.stderr and "state" in result.stderr


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_goes_to_stdout(flag: str) -> None:
    result = invoke([flag])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    assert "--emulator" in result.stdout and "BATCHCTL_HOME" in result.stdout
    assert result.stderr == ""


def test_version() -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"batchctl {__version__}\n"


def test_emulator_and_base_url_conflict_is_a_usage_error() -> None:
    result = invoke(["--emulator", "--base-url", "http://127.0.0.1:1", "state", "path"])
    assert result.exit_code == 2
    assert "cannot be used together" in result.stderr
    assert result.stdout == ""


def test_bad_base_url_is_a_usage_error() -> None:
    result = invoke(["--base-url", "ftp://example", "state", "path"])
    assert result.exit_code == 2
    assert "http://" in result.stderr


def test_state_path_follows_env_and_flag(state_dir, tmp_path) -> None:
    assert invoke(["state", "path"]).stdout == f"{state_dir / 'batchctl.db'}\n"
    other = tmp_path / "elsewhere"
    assert invoke(["--state-dir", str(other), "state", "path", "--dir"]).stdout == f"{other}\n"


def test_state_path_json(state_dir) -> None:
    import json

    record = json.loads(invoke(["state", "path", "--json"]).stdout)
    assert record["store"] == str(state_dir / "batchctl.db")
    assert record["base_url"] == "https://api.anthropic.com"


def test_emulator_env_selects_the_in_process_emulator() -> None:
    import json

    result = invoke(["state", "path", "--json"], env={"BATCHCTL_EMULATOR": "1"})
    assert json.loads(result.stdout)["base_url"].startswith("http://batchctl-emulator")


# The mapping of the error tree to exit codes, through a throwaway app built on the same group.
CASES = [
    (errors.UsageError("bad"), 2),
    (errors.InputError("invalid", problems=["f.jsonl:3: no model"], more=2), 3),
    (errors.AuthError("no key"), 4),
    (errors.NotFoundError("gone", status=404, request_id="req_123"), 5),
    (errors.UnavailableError("down"), 6),
    (errors.StateError("locked"), 7),
    (errors.StillRunningError("running"), 8),
    (errors.FailedRequestsError("failed"), 9),
    (errors.SpendLimitError("over the cap"), 10),
    (errors.SpendLimitError("spend cap", status=429, request_id="req_123"), 10),
    (errors.Interrupted("stop"), 130),
]


@pytest.mark.parametrize("exc,code", CASES, ids=[type(c[0]).__name__ for c in CASES])
@pytest.mark.parametrize("tty", [False, True])
def test_errors_map_to_exit_codes(exc: errors.BatchctlError, code: int, tty: bool) -> None:
    from typer.testing import CliRunner

    from batchctl.cli.app import root

    probe = typer.Typer(cls=BatchctlGroup)
    probe.callback()(root)

    @probe.command()
    def boom(ctx: typer.Context) -> None:
        app_context(ctx)
        raise exc

    @probe.command()
    def other() -> None:  # a second command keeps `boom` a subcommand
        pass

    io = IOStreams(stderr_tty=tty, stdout_tty=tty)
    result = CliRunner().invoke(probe, ["boom"], obj=Overrides(io=io))
    assert result.exit_code == code
    assert result.stdout == ""
    assert exc.message in result.stderr
    assert "Traceback" not in result.stderr
    if isinstance(exc, errors.InputError):
        assert "f.jsonl:3: no model" in result.stderr
        assert "and 2 more problems" in result.stderr
    if isinstance(exc, errors.APIError) and exc.request_id:
        assert "req_123" in result.stderr
    if not tty:
        assert "\x1b[" not in result.stderr


def test_report_error_off_a_terminal_writes_plain_stderr() -> None:
    io = IOStreams.test()
    report_error(io, errors.UsageError("plain", hint="try this"))
    assert io.written(stderr=True) == "error: plain\nhint: try this\n"
    assert io.written() == ""


def test_piped_help_and_usage_errors_are_plain_text() -> None:
    help_ = subprocess.run(
        [sys.executable, "-m", "batchctl", "--help"], capture_output=True, text=True
    )
    assert help_.returncode == 0
    assert help_.stdout.startswith("Usage: batchctl")
    assert "╭" not in help_.stdout and "\x1b[" not in help_.stdout
    assert "(env: BATCHCTL_HOME)" in " ".join(help_.stdout.split())
    bad = subprocess.run(
        [sys.executable, "-m", "batchctl", "submit"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.startswith("error: missing argument FILE|-\n")
    assert "╭" not in bad.stderr and "Usage:" not in bad.stderr


def test_every_command_of_the_contract_is_registered() -> None:
    # DESIGN.md's command table (plus `state`); a lost line in COMMAND_MODULES once dropped one.
    from batchctl.cli.app import COMMANDS, load_command

    expected = {"submit", "status", "wait", "results", "cancel", "delete", "list",
                "retry-failed", "run", "collect", "prepare", "emulator", "state"}
    assert expected <= set(COMMANDS)
    assert {name for name in COMMANDS if load_command(name).name == name} == set(COMMANDS)
