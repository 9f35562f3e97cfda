"""A hook for the hook tests (tests/core/workflows/test_hooks*.py): a script that logs what it
was given, and the helpers that read its log and make batches for it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from tests.support.files import write_requests
from tests.support.runs import cli_on, submit

#: A hook that writes its BATCHCTL_* environment (and whether stdin is empty) as one JSON line
#: to $HOOK_LOG, prints a line on stdout, then exits with $HOOK_EXIT (0 if unset) unless the
#: file $HOOK_OK exists.
HOOK = """\
import json, os, sys
env = {k: v for k, v in os.environ.items() if k.startswith("BATCHCTL_")}
env["stdin"] = sys.stdin.read()
with open(os.environ["HOOK_LOG"], "a") as log:
    log.write(json.dumps(env) + "\\n")
print("hook says hello", flush=True)
ok = os.environ.get("HOOK_OK")
sys.exit(0 if ok and os.path.exists(ok) else int(os.environ.get("HOOK_EXIT", "0")))
"""


def hook_command(tmp_path: Path, monkeypatch: Any) -> tuple[str, Path]:
    """(the command that runs HOOK, the log it writes), $HOOK_LOG set for the test."""
    script = tmp_path / "hook.py"
    script.write_text(HOOK)
    log = tmp_path / "hook.log"
    monkeypatch.setenv("HOOK_LOG", str(log))
    return f'"{sys.executable}" "{script}"', log


def runs(log: Path) -> list[dict[str, str]]:
    """What the hook was given, run by run."""
    return [orjson.loads(line) for line in log.read_bytes().splitlines()] if log.exists() else []


def ended_batches(emulator: Any, clock: Any, tmp_path: Path, *labels: str) -> list[str]:
    """One job per label (2, 3, ... requests), submitted, then the clock past their end."""
    cli = cli_on(emulator, clock)
    ids = []
    for i, label in enumerate(labels):
        path = write_requests(tmp_path / f"r{i}.jsonl", 2 + i, f"r{i}-")
        ids += submit(cli, path, "--label", label)[1]
    clock.advance(61)
    return ids
