"""The line that ends a cut-off list of problems in a request file, naming the option that
lists them all when the command being run has one (`submit` and `run` have `--all-problems`;
`prepare` lists its first problems only)."""

from __future__ import annotations

from typing import Any

from batchctl.core.plural import counted

ALL_PROBLEMS = "--all-problems"


def cut_off_line(more: int, command: Any = None) -> str:
    """``... and 50 more problems: --all-problems lists every one``; ``command``: the command
    being run (a click command), if known."""
    opts = [o for p in getattr(command, "params", ()) for o in getattr(p, "opts", ())]
    how = f": {ALL_PROBLEMS} lists every one" if ALL_PROBLEMS in opts else ""
    return f"... and {counted(more, 'more problem')}{how}"
