"""One voice for every mistake on the command line: each command (and each `state` sub-command)
answers an unknown option, a missing argument, a bad option value and a missing input file with
`error: ...` (and a hint) on stderr, nothing on stdout, no Usage block, no traceback, exit 2; on a
terminal and off one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batchctl.cli.app import COMMAND_MODULES, load_command
from tests.helpers import invoke
from tests.support.runs import command_paths

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def required_arguments(path: tuple[str, ...]) -> list[str]:
    command = load_command(path[0])
    for word in path[1:]:
        command = command.commands[word]
    return [p.name for p in command.params if p.param_type_name == "argument" and p.required]


# A bad value for one option of each command, caught before anything is read or sent.
BAD_VALUE: dict[tuple[str, ...], tuple[list[str], str]] = {
    ("submit",): (["f.jsonl", "--max-requests", "0"], "--max-requests must be at least 1, got 0"),
    ("status",): (["--json=yes"], "--json takes no value"),
    ("wait",): (["job_x", "--timeout", "soon"], "--timeout must be a number, got 'soon'"),
    ("list",): (["--limit", "0"], "--limit must be at least 1, got 0"),
    ("cancel",): (["job_x", "--yes=no"], "--yes takes no value"),
    ("delete",): (["job_x", "--yes=no"], "--yes takes no value"),
    ("results",): (["job_x", "--order", "random"], "--order must be one of: api, input; got 'random'"),
    ("retry-failed",): (["job_x", "--include-canceled=1"], "--include-canceled takes no value"),
    ("run",): (["f.jsonl", "--interval", "0"], "--interval must be at least 0.1, got 0"),
    ("collect",): (["--format", "xml"], "--format must be one of: jsonl, csv; got 'xml'"),
    ("prepare",): (["x.txt", "--max-tokens", "-1"], "--max-tokens must be at least 1, got -1"),
    ("models",): (["--refresh=yes"], "--refresh takes no value"),
    ("emulator",): (["--port", "70000"], "--port must be at most 65535, got 70000"),
    ("state", "path"): (["--dir=x"], "--dir takes no value"),
    ("state", "export"): (["x.jsonl", "--json=1"], "--json takes no value"),
    ("state", "import"): (["x.jsonl", "--json=1"], "--json takes no value"),
}

# Commands that read a file named on the command line: naming one that is not there.
MISSING_FILE: list[list[str]] = [
    ["submit", "nope.jsonl"],
    ["run", "nope.jsonl"],
    ["prepare", "nope.txt"],
    ["submit", "{f}", "--limits", "nope.json"],
    ["run", "{f}", "--prices", "nope.json"],
    ["results", "job_x", "--join", "nope.csv"],
    ["results", "job_x", "--prices", "nope.json"],
    ["retry-failed", "job_x", "--request-file", "nope.jsonl"],
    ["state", "import", "nope.jsonl"],
]


def check_usage_error(args: list[str], *, tty: bool, expect: str | None = None) -> str:
    result = invoke(args, tty=tty)
    where = f"batchctl {' '.join(args)} (tty={tty})"
    stderr = ANSI.sub("", result.stderr)
    assert result.exit_code == 2, (where, result.exit_code, result.stderr)
    assert result.stdout == "", where
    assert stderr.startswith("error: "), (where, stderr)
    assert "Usage:" not in stderr and "Traceback" not in stderr and "Try '" not in stderr, where
    assert "Input should be" not in stderr and "Value error" not in stderr, where
    if not tty:
        assert "\x1b[" not in result.stderr, where
    if expect is not None:
        assert stderr.splitlines()[0] == f"error: {expect}", (where, stderr)
    return stderr


def test_the_tables_cover_every_command() -> None:
    paths = set(command_paths())
    assert {p[0] for p in paths} >= {m.replace("_cmd", "").replace("_", "-")
                                     for m in COMMAND_MODULES}
    assert set(BAD_VALUE) == paths
    assert {tuple(a[:2]) if a[0] == "state" else (a[0],) for a in MISSING_FILE} == {
        ("submit",), ("run",), ("prepare",), ("results",), ("retry-failed",), ("state", "import")}


@pytest.mark.parametrize("tty", [False, True], ids=["piped", "terminal"])
@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_an_unknown_option(path: tuple[str, ...], tty: bool) -> None:
    stderr = check_usage_error([*path, "--no-such-thing"], tty=tty,
                               expect="no such option: --no-such-thing")
    assert f"hint: see 'batchctl {' '.join(path)} --help'" in stderr


@pytest.mark.parametrize("tty", [False, True], ids=["piped", "terminal"])
@pytest.mark.parametrize("path", [p for p in command_paths() if required_arguments(p)],
                         ids=" ".join)
def test_a_missing_argument(path: tuple[str, ...], tty: bool) -> None:
    stderr = check_usage_error(list(path), tty=tty)
    assert stderr.startswith("error: missing argument "), stderr
    assert "hint: see 'batchctl" in stderr


@pytest.mark.parametrize("tty", [False, True], ids=["piped", "terminal"])
@pytest.mark.parametrize("path", list(BAD_VALUE), ids=" ".join)
def test_a_bad_option_value(path: tuple[str, ...], tty: bool) -> None:
    args, message = BAD_VALUE[path]
    check_usage_error([*path, *args], tty=tty, expect=message)


@pytest.mark.parametrize("args", MISSING_FILE, ids=lambda a: " ".join(a))
def test_a_missing_input_file_is_exit_2_everywhere(args: list[str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("f.jsonl").write_text('{"custom_id": "a", "params": {}}\n')
    # --emulator: no key needed, so a check that comes after the key's would show here too
    stderr = check_usage_error(["--emulator", *(a.replace("{f}", "f.jsonl") for a in args)],
                               tty=False)
    assert "nope." in stderr.splitlines()[0]
    assert "no such file" in stderr.lower() or "no such file or directory" in stderr.lower()


def test_a_missing_command_of_a_group_and_an_unknown_command() -> None:
    stderr = check_usage_error(["state"], tty=False)
    assert stderr.splitlines()[0] == "error: 'batchctl state' needs a command: path, export, import"
    stderr = check_usage_error(["stauts"], tty=False)
    assert stderr.startswith("error: no such command: stauts (did you mean ")
    assert "status" in stderr.splitlines()[0]
    assert "hint: see 'batchctl --help'" in stderr


def test_on_a_terminal_the_error_word_is_styled() -> None:
    result = invoke(["list", "--limit", "0"], tty=True)
    assert "\x1b[" in result.stderr
    assert ANSI.sub("", result.stderr).startswith("error: --limit must be at least 1, got 0\n")


def test_global_options_after_the_command_still_work(state_dir: Path) -> None:
    result = invoke(["state", "path", "--state-dir", str(state_dir / "x")])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{state_dir / 'x' / 'batchctl.db'}\n"


def test_json_with_an_export_to_stdout_is_refused_not_ignored() -> None:
    stderr = check_usage_error(["state", "export", "-", "--json"], tty=False)
    assert stderr.startswith("error: --json reports an export to FILE on stdout")


def test_a_mistake_on_a_terminal_when_the_settings_are_also_wrong() -> None:
    # The error is said without building the settings (a bad ANTHROPIC_BASE_URL here).
    result = invoke(["--no-such-thing", "status"], tty=True,
                    env={"ANTHROPIC_BASE_URL": "ftp://example"})
    assert result.exit_code == 2
    assert ANSI.sub("", result.stderr).startswith("error: no such option: --no-such-thing\n")
    assert "Traceback" not in result.stderr
