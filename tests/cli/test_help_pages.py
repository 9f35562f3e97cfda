"""Help pages: every command's, on a terminal and off one, name its values (FILE, ID|JOB..., N,
SECONDS) instead of showing types (<bool>, <list[str]>, {ref}, [refs]...), and help stays light
(no pydantic, no Rich, no markdown loaded for it)."""

from __future__ import annotations

import re

import pytest

from tests.helpers import invoke
from tests.support.processes import run_main
from tests.support.runs import command_paths

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TYPE_LABELS = re.compile(r"<(bool|str|int|float|file|dir|path|list\[[^\]]*\])[^>]*>|\[[a-z_]+\]\.\.\.")
PAGES = [(), *command_paths()]


def help_page(path: tuple[str, ...], tty: bool) -> str:
    result = invoke([*path, "--help"], tty=tty, width=100)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@pytest.mark.parametrize("tty", [False, True], ids=["piped", "terminal"])
@pytest.mark.parametrize("path", PAGES, ids=lambda p: " ".join(p) or "batchctl")
def test_no_type_labels_in_any_help(path: tuple[str, ...], tty: bool) -> None:
    page = help_page(path, tty)
    text = ANSI.sub("", page)
    assert TYPE_LABELS.search(text) is None, TYPE_LABELS.search(text)
    usage = text.splitlines()[0]
    assert usage.startswith("Usage: batchctl") and "{" not in usage and "}" not in usage
    if tty:
        assert "\x1b[1;36m-h, --help\x1b[0m" in page  # coloured
    else:
        assert "\x1b[" not in page


@pytest.mark.parametrize("path", PAGES, ids=lambda p: " ".join(p) or "batchctl")
def test_every_value_has_a_name(path: tuple[str, ...]) -> None:
    """Each option that takes a value shows it as a NAME, a CHOICE|LIST or json|tool:NAME."""
    text = help_page(path, tty=False)
    options = text.split("Options:\n", 1)[1].split("\nCommands:", 1)[0]
    for line in options.splitlines():
        found = re.match(r"^  ((?:-\w, )?--[\w-]+(?: / --[\w-]+)?)(?: (\S+))?(?:\s{2,}|$)", line)
        if found and found[2]:
            assert re.fullmatch(r"[A-Z][A-Z0-9_|-]*|[a-z0-9_]+(\|[a-z0-9_:A-Z-]+)+|sqlite\|URL",
                                found[2]), line


@pytest.mark.parametrize(("path", "usage"), [
    (("status",), "Usage: batchctl status [OPTIONS] [ID|JOB...]"),
    (("wait",), "Usage: batchctl wait [OPTIONS] ID|JOB..."),
    (("cancel",), "Usage: batchctl cancel [OPTIONS] ID|JOB..."),
    (("results",), "Usage: batchctl results [OPTIONS] ID|JOB [DATA]"),
    (("retry-failed",), "Usage: batchctl retry-failed [OPTIONS] ID|JOB"),
    (("submit",), "Usage: batchctl submit [OPTIONS] FILE|-"),
    (("prepare",), "Usage: batchctl prepare [OPTIONS] [FILE|-]"),
    (("state", "export"), "Usage: batchctl state export [OPTIONS] FILE|-"),
    ((), "Usage: batchctl [OPTIONS] COMMAND [ARGS]..."),
])
def test_usage_lines(path: tuple[str, ...], usage: str) -> None:
    assert help_page(path, tty=False).splitlines()[0] == usage
    assert ANSI.sub("", help_page(path, tty=True)).splitlines()[0] == usage


def test_option_lines_name_their_values() -> None:
    run = help_page(("run",), tty=False)
    for expected in ("-o, --output FILE", "--timeout SECONDS", "--interval SECONDS",
                     "--max-requests N", "--max-cost USD", "--order api|input", "--label TEXT"):
        assert f"  {expected}  " in run, expected
    flat = " ".join(run.split())
    assert "Default: input for CSV when the request file is at hand, api otherwise." in flat
    assert "[default: 100000; 1 to 100000]" in flat
    listing = help_page(("list",), tty=False)
    assert "-n, --limit N" in listing and "--status in_progress|canceling|ended" in listing
    root = help_page((), tty=False)
    assert "--state-dir DIR" in root and "--base-url URL" in root
    assert "Commands:\n  submit " in root and "  state " in root


@pytest.mark.parametrize("argv", [["--help"], ["status", "--help"], ["state", "path", "--help"]])
@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_help_loads_nothing_heavy(argv: list[str], terminal: bool) -> None:
    page, loaded = run_main(argv, terminal=terminal)
    heavy = ("anthropic", "httpx2", "pydantic", "markdown_it", "pygments")
    bad = [m for m in loaded if m.split(".")[0] in heavy
           or m in ("rich.console", "rich.markdown", "typer.rich_utils")]
    assert bad == []
    assert ("\x1b[" in page) == terminal


def test_no_color_keeps_a_terminal_page_plain() -> None:
    result = invoke(["status", "--help"], tty=True, env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout and "Usage: batchctl status" in result.stdout
