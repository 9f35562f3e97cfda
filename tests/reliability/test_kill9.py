"""kill -9 at seeded random moments during submit, results and collect, then the same command
again: no duplicate batch, nothing partial at a target path, a sound state store. Submit and
collect run on both store backends (on PostgreSQL the session dies with the process: its locks
and claims go with it).

batchctl runs as processes of its own (forked from a warm interpreter, tests/support/warm.py)
against an HTTP emulator in the test process. Each kill moment is drawn (seeded) from the span
of a clean run of the same command, so wherever the kill lands — starting up, uploading, between
the create and the record, downloading, renaming — what is left must be sound.
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

import pytest

from tests.support import warm
from tests.support.files import padded, write_requests
from tests.support.processes import child_env, run_batchctl
from tests.support.stores import integrity, sound, store_query

# Each kill moment is drawn from the span of a timed clean run: the warm server is up before it.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("warm_server")]  # -m "not slow" skips

TRIALS = 3


def run_and_kill(args: list[str], env: dict[str, str], delay: float) -> str:
    """Start batchctl ``args``; SIGKILL it after ``delay`` seconds unless it ended first."""
    proc = warm.spawn(args, env, text=False)
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


def test_kill_during_submit_then_submit_again_makes_one_batch(make_emulator: Any,
                                                              tmp_path: Path,
                                                              store_value: str) -> None:
    emu = make_emulator(real_clock=True)
    rng = random.Random(7001)
    base = 10_000
    store = {"BATCHCTL_STORE": store_value}
    # A clean run first, to learn how long a submit takes here (and that it works).
    calib = write_requests(tmp_path / "calib.jsonl", base - 1, "calib-", padded(120), max_tokens=64)
    clean, span = timed(lambda: run_batchctl(emu.base_url, tmp_path / "s-calib", "submit",
                                             str(calib), **store))
    assert clean.returncode == 0, clean.stderr
    outcomes = []
    for trial in range(TRIALS):
        count = base + trial  # every trial's batch has its own size: it can be told apart
        home = tmp_path / f"s{trial}"
        path = write_requests(tmp_path / f"t{trial}.jsonl", count, f"k{trial}-", padded(120),
                              max_tokens=64)
        delay = rng.uniform(0.05, 1.0) * span
        outcomes.append(run_and_kill(["--base-url", emu.base_url, "submit", str(path)],
                                     child_env(home, **store), delay))
        again = run_batchctl(emu.base_url, home, "submit", str(path), **store)
        assert again.returncode == 0, (outcomes[-1], again.stderr)
        made = [b for b in emu.batches() if sum(b["request_counts"].values()) == count]
        assert [b["id"] for b in made] == [again.stdout.strip()], (delay, outcomes[-1], made)
        assert sound(home, store_value)
    assert len(emu.batches()) == TRIALS + 1


def test_kill_during_results_never_leaves_a_partial_file(make_emulator: Any,
                                                         tmp_path: Path) -> None:
    emu = make_emulator(real_clock=True)
    home = tmp_path / "state"
    path = write_requests(tmp_path / "req.jsonl", 10_000, "res-", padded(60), max_tokens=64)
    submitted = run_batchctl(emu.base_url, home, "submit", str(path))
    assert submitted.returncode == 0, submitted.stderr
    batch_id = submitted.stdout.strip()
    out = tmp_path / "out"
    out.mkdir()
    # Clean runs: the reference bytes, and how long a download takes here.
    reference, spans = {}, {}
    for fmt in ("jsonl", "csv"):
        ref = tmp_path / f"reference.{fmt}"
        done, spans[fmt] = timed(lambda ref=ref: run_batchctl(emu.base_url, home, "results",
                                                              batch_id, "-o", str(ref)))
        assert done.returncode == 0, done.stderr
        reference[fmt] = ref.read_bytes()
    assert reference["jsonl"].count(b"\n") == 10_000
    rng = random.Random(7002)
    for trial, fmt in enumerate(["jsonl", "csv", "jsonl"]):
        target = out / f"r.{fmt}"
        target.unlink(missing_ok=True)
        delay = rng.uniform(0.05, 1.0) * spans[fmt]
        outcome = run_and_kill(["--base-url", emu.base_url, "results", batch_id, "-o", str(target)],
                               child_env(home), delay)
        # Whatever moment the kill hit: nothing at the target, or all of it.
        assert not target.exists() or target.read_bytes() == reference[fmt], (trial, outcome)
        again = run_batchctl(emu.base_url, home, "results", batch_id, "-o", str(target))
        assert again.returncode == 0, (outcome, again.stderr)
        assert target.read_bytes() == reference[fmt]
        assert leftovers(out) == [], outcome  # a killed run's temp file is swept by the next
        assert integrity(home / "batchctl.db") == "ok"


def fresh_copy(seed_home: Path, home: Path, store: str) -> None:
    """The seeded store as it was before any collect: a copy of the SQLite directory, or (one
    shared PostgreSQL store) every batch made uncollected again, with no claim left."""
    import shutil

    if store == "sqlite":
        shutil.copytree(seed_home, home)
        return
    store_query(home, store, "UPDATE batches SET collected_at = NULL, results_path = NULL "
                             "RETURNING id")
    store_query(home, store, "DELETE FROM claims RETURNING batch_id")


def test_kill_during_collect_never_leaves_a_partial_file(make_emulator: Any,
                                                         tmp_path: Path,
                                                         store_value: str) -> None:
    emu = make_emulator(real_clock=True)
    seed_home = tmp_path / "state"
    store = {"BATCHCTL_STORE": store_value}
    for i in range(3):
        path = write_requests(tmp_path / f"req{i}.jsonl", 6_000 + i, f"col{i}-", padded(60),
                              max_tokens=64)
        submitted = run_batchctl(emu.base_url, seed_home, "submit", "--label", f"part{i}",
                                 str(path), **store)
        assert submitted.returncode == 0, submitted.stderr
    # A clean collect on a copy of the store: the reference files, and the time it takes.
    fresh_copy(seed_home, tmp_path / "s-clean", store_value)
    clean_dir = tmp_path / "clean"
    clean, span = timed(lambda: run_batchctl(emu.base_url, tmp_path / "s-clean", "collect",
                                             "--dir", str(clean_dir), **store))
    assert clean.returncode == 0, clean.stderr
    reference = {p.name: p.read_bytes() for p in clean_dir.iterdir()}
    assert len(reference) == 3 and all(n.endswith(".jsonl") for n in reference)
    rng = random.Random(7003)
    for trial in range(TRIALS):
        home = tmp_path / f"s{trial}"
        fresh_copy(seed_home, home, store_value)
        target = tmp_path / f"collected{trial}"
        delay = rng.uniform(0.05, 1.0) * span
        outcome = run_and_kill(["--base-url", emu.base_url, "collect", "--dir", str(target)],
                               child_env(home, **store), delay)
        if target.exists():
            for p in target.iterdir():
                if not p.name.endswith(".tmp"):
                    assert p.read_bytes() == reference[p.name], (trial, outcome, p.name)
        again = run_batchctl(emu.base_url, home, "collect", "--dir", str(target), **store)
        assert again.returncode == 0, (outcome, again.stderr)
        assert {p.name: p.read_bytes() for p in target.iterdir()} == reference, outcome
        assert sound(home, store_value)
        assert store_query(home, store_value,
                           "SELECT count(*) FROM batches WHERE collected_at IS NULL") == [(0,)]
    assert len(emu.batches()) == 3
