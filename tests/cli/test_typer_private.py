"""The canary of batchctl.cli.typer_private: one check per private use of Typer, each failing with
the use's name when a Typer release moves what it relies on. Run against every Typer release
the pin in pyproject.toml allows."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Annotated, Any

import pytest
import typer
import typer.main

from batchctl.cli import typer_private
from batchctl.cli.typer_private import USES
from tests.support.paths import ROOT

CHECKS: dict[str, Callable[[], None]] = {}


def canary(use: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(check: Callable[[], None]) -> Callable[[], None]:
        CHECKS[use] = check
        return check
    return register


def probe() -> Any:
    """A small command with one parameter of each kind batchctl has."""
    app = typer.Typer()

    @app.command()
    def run(
        ref: Annotated[str, typer.Argument()],
        count: Annotated[int | None, typer.Option("--count", min=1)] = None,
        name: Annotated[str | None, typer.Option("--name")] = None,
        flag: Annotated[bool, typer.Option("--flag")] = False,
    ) -> None:
        pass

    return typer.main.get_command(app)


def raised(*args: str) -> Exception:
    try:
        probe().main(list(args), prog_name="probe", standalone_mode=False)
    except typer.TyperException as exc:  # the public base of Click's exceptions
        assert exc.exit_code == 2, exc
        return exc
    raise AssertionError(f"{args} raised nothing")


@canary("usage error kinds")
def _kinds() -> None:
    found = typer_private.mistake(raised())
    assert found.kind == "missing" and found.param.name == "ref", found
    found = typer_private.mistake(raised("x", "--nam", "a"))
    assert (found.kind, found.option, found.close) == ("no-such-option", "--nam", ("--name",))
    assert typer_private.mistake(raised("x", "--flag=1")) == typer_private.Mistake(
        "option-usage", option="--flag")
    assert typer_private.mistake(raised("x", "--name")).option == "--name"
    found = typer_private.mistake(raised("x", "--count", "zero"))
    assert found.kind == "bad-value" and found.param.name == "count", found


@canary("validation cause")
def _cause() -> None:
    error = typer_private.validation_error(raised("x", "--count", "0"))
    assert (error["type"], str(error["input"]), error["ctx"]["ge"]) == ("greater_than_equal", "0", 1)
    assert typer_private.validation_error(raised("x", "--count", "zero"))["type"] == "int_parsing"


@canary("unset values unvalidated")
def _unset() -> None:
    code = (
        "import sys\n"
        "from typing import Annotated\n"
        "import typer, typer.main\n"
        "from batchctl.cli.typer_private import skip_unset_validation\n"
        "class Command(typer.core.TyperCommand):  # as batchctl's commands do\n"
        "    def get_params(self, ctx):\n"
        "        params = super().get_params(ctx)\n"
        "        for p in params:\n"
        "            skip_unset_validation(p)\n"
        "        return params\n"
        "app = typer.Typer(add_completion=False)\n"
        "@app.command(cls=Command)\n"
        "def run(count: Annotated[int | None, typer.Option(min=1)] = None,\n"
        "        name: Annotated[str | None, typer.Option()] = None) -> None:\n"
        "    print(count, name)\n"
        "command = typer.main.get_command(app)\n"
        "command.main([], standalone_mode=False)\n"
        "print('pydantic' in sys.modules)\n"
        "command.main(['--count', '3'], standalone_mode=False)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["None", "None", "False", "3", "None"], out.stdout


@canary("registration records")
def _records() -> None:
    class Command(typer.core.TyperCommand):
        pass

    class Group(typer.core.TyperGroup):
        pass

    holder, sub = typer.Typer(), typer.Typer(name="sub")
    holder.command("one")(lambda: None)
    sub.command("two")(lambda: None)
    sub.command("three")(lambda: None)
    holder.add_typer(sub)
    typer_private.adopt(holder, Command, Group)
    group = typer.main.get_group(holder)
    assert isinstance(group.commands["one"], Command)
    assert isinstance(group.commands["sub"], Group)
    assert isinstance(group.commands["sub"].commands["two"], Command)


@canary("live render")
def _live_render() -> None:
    from rich.live import Live
    from rich.live_render import LiveRender

    live = Live()
    assert isinstance(typer_private.live_render(live), LiveRender)
    assert callable(typer_private.live_render(live).position_cursor)
    mine = LiveRender("")
    typer_private.set_live_render(live, mine)
    assert live._live_render is mine


def test_every_private_use_has_its_canary() -> None:
    assert set(CHECKS) == set(USES)


@pytest.mark.parametrize("use", list(USES))
def test_typer_still_gives_what_batchctl_reads(use: str) -> None:
    try:
        CHECKS[use]()
    except Exception as exc:  # noqa: BLE001 - any failure means the same: say which use broke
        pytest.fail(f"typer {typer.__version__} moved {use!r} ({USES[use]}): {exc!r}; see "
                    "batchctl/cli/typer_private.py", pytrace=False)


def test_no_other_module_reads_typers_private_names() -> None:
    root = ROOT
    names = ("typer._click", "_click.", "type_descriptor", "HAS_RICH", "process_value",
             "registered_commands", "registered_groups", "_get_command", "DefaultPlaceholder",
             "._live_render")
    found = {
        f"{path.relative_to(root)}: {name}"
        for path in [*root.joinpath("batchctl").rglob("*.py"), *root.joinpath("tests").rglob("*.py")]
        if path.name not in ("typer_private.py", "test_typer_private.py")
        for name in names if name in path.read_text(encoding="utf-8")
    }
    assert found == set()
