"""kill -9 at seeded random moments during submit, results and collect, then the same command
again: no duplicate batch, nothing partial at a target path, a sound state store.

batchctl runs as ``python -m batchctl`` subprocesses against an HTTP emulator in the test
process. Each kill moment is drawn (seeded) from the span of a clean run of the same command,
so wherever the kill lands — starting up, uploading, between the create and the record,
downloading, renaming — what is left must be sound.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.reliability.conftest import (
    batchctl_cmd,
    child_env,
    integrity,
    run_batchctl,
    write_requests,
)

TRIALS = 3


def run_and_kill(cmd: list[str], env: dict[str, str], delay: float) -> str:
    """Start ``cmd``; SIGKILL it after ``delay`` seconds unless it ended first."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.communicate(timeout=delay)
        return f"finished ({proc.returncode})"
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "killed"


def timed(fn: Any) -> tuple[Any, float]:
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_kill_during_submit_then_submit_again_makes_one_batch(live_emulator: Any,
                                                              tmp_path: Path) -> None:
    emu = live_emulator()
    rng = random.Random(7001)
    base = 10_000
    # A clean run first, to learn how long a submit takes here (and that it works).
    calib = write_requests(tmp_path / "calib.jsonl", base - 1, tag="calib", text_bytes=120)
    clean, span = timed(lambda: run_batchctl(emu.base_url, tmp_path / "s-calib", "submit",
                                             str(calib)))
    assert clean.returncode == 0, clean.stderr
    outcomes = []
    for trial in range(TRIALS):
        count = base + trial  # every trial's batch has its own size: it can be told apart
        home = tmp_path / f"s{trial}"
        path = write_requests(tmp_path / f"t{trial}.jsonl", count, tag=f"k{trial}", text_bytes=120)
        delay = rng.uniform(0.05, 1.0) * span
        outcomes.append(run_and_kill(batchctl_cmd(emu.base_url, "submit", str(path)),
                                     child_env(home), delay))
        again = run_batchctl(emu.base_url, home, "submit", str(path))
        assert again.returncode == 0, (outcomes[-1], again.stderr)
        made = [b for b in emu.batches() if sum(b["request_counts"].values()) == count]
        assert [b["id"] for b in made] == [again.stdout.strip()], (delay, outcomes[-1], made)
        assert integrity(home / "batchctl.db") == "ok"
    assert len(emu.batches()) == TRIALS + 1
