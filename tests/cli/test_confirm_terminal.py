"""A confirmation in a real terminal (a pseudo-terminal, batchctl in a subprocess against the
HTTP emulator): Ctrl-C exits 130 and Ctrl-D is "nothing done", exit 2; the API is left as it
was. Before, click turned both into "Aborted!", exit 1: the code of a bug (issue 21, item 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import batchctl_cmd, child_env
from tests.support.runs import remote_status, sdk_batch

PROMPT = b"[y/N]: "


def answer_in_a_terminal(base_url: str, home: Path, command: str, batch: str,
                         press: str) -> tuple[int, bytes, bytes]:
    """Run `batchctl COMMAND BATCH` with stdin and stderr on a pseudo-terminal (stdout a pipe),
    wait for its question, then press ``press``: "ctrl-c" (the terminal sends SIGINT) or
    "ctrl-d" (end of input). Returns the exit code, what the terminal showed, and stdout."""
    leader, follower = os.openpty()
    env = child_env(home, TERM="xterm", COLUMNS="100")
    proc = subprocess.Popen(batchctl_cmd(base_url, command, batch), stdin=follower,
                            stderr=follower, stdout=subprocess.PIPE, env=env)
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + 60
    try:
        while PROMPT not in shown:
            assert time.monotonic() < deadline, shown
            shown += os.read(leader, 4096)
        if press == "ctrl-c":
            proc.send_signal(signal.SIGINT)
        else:
            os.write(leader, b"\x04")  # VEOF at the start of a line: read() returns nothing
        stdout, _ = proc.communicate(timeout=60)
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if proc.poll() is None:  # pragma: no cover - only when an assertion failed above
            proc.kill()
    return proc.returncode, shown, stdout


@pytest.mark.parametrize("command", ["cancel", "delete"])
def test_ctrl_c_exits_130_and_ctrl_d_is_nothing_done(make_emulator: Any, tmp_path: Path,
                                                     command: str) -> None:
    # Processing takes long enough for cancel to find the batch running; for delete it must
    # have ended.
    emu = make_emulator(real_clock=True, processing_seconds=0 if command == "delete" else 600)
    batch = sdk_batch(emu)
    if command == "delete":
        while remote_status(emu, batch) != "ended":
            time.sleep(0.05)
    before = remote_status(emu, batch)
    for press, code, said in (("ctrl-c", 130, "interrupted"), ("ctrl-d", 2, "not confirmed")):
        rc, shown, stdout = answer_in_a_terminal(emu.base_url, tmp_path / "s", command, batch,
                                                 press)
        text = shown.decode().replace("\r\n", "\n")
        assert rc == code, text
        assert stdout == b""
        assert f"{command.capitalize()} {batch}? " in text
        assert text.endswith(f"[y/N]: \nnothing done: {command} {said}\n"), text
        assert "Aborted" not in text and "Traceback" not in text
        assert remote_status(emu, batch) == before
