"""Eight processes at once on one state store (which none of them has created yet), submitting,
then submitting and collecting: no "database is locked", no lost rows, every batch made once and
collected once."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.support import batchctl_cmd, child_env, integrity, write_requests

pytestmark = pytest.mark.slow  # minutes of subprocesses: -m "not slow" leaves it out

PROCESSES = 8


def run_all(commands: list[list[str]], home: Path) -> list[subprocess.CompletedProcess[str]]:
    """Start every command at once on the same state dir; wait for all."""
    env = child_env(home)
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for cmd in commands]
    done = []
    for cmd, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(cmd, proc.returncode, out, err))
    return done


def assert_all_ok(results: list[subprocess.CompletedProcess[str]]) -> None:
    for r in results:
        assert "locked" not in r.stderr.lower(), r.stderr
        assert "busy" not in r.stderr.lower(), r.stderr
        assert r.returncode == 0, (r.args, r.returncode, r.stderr)


def store_rows(home: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(home / "batchctl.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_eight_processes_submitting_and_collecting_on_one_store(make_emulator: Any, tmp_path: Path) -> None:
    emu = make_emulator(real_clock=True)
    home = tmp_path / "state"
    sizes = [40 + i for i in range(PROCESSES)]
    files = [write_requests(tmp_path / f"f{i}.jsonl", n, tag=f"c{i}") for i, n in enumerate(sizes)]
    results = run_all([batchctl_cmd(emu.base_url, "submit", str(f)) for f in files], home)
    assert_all_ok(results)
    ids = [r.stdout.strip() for r in results]
    assert len(set(ids)) == PROCESSES
    rows = store_rows(home, "SELECT id, request_count, request_file FROM batches")
    assert sorted(rows) == sorted(zip(ids, sizes, [str(f) for f in files], strict=True))
    assert len(store_rows(home, "SELECT id FROM jobs")) == PROCESSES
    assert store_rows(home, "SELECT count(*) FROM intents WHERE state != 'done'") == [(0,)]
    remote = {b["id"]: sum(b["request_counts"].values()) for b in emu.batches()}
    assert remote == dict(zip(ids, sizes, strict=True))
    assert integrity(home / "batchctl.db") == "ok"

    # Then eight at once again: four collect everything, four submit new files.
    out = tmp_path / "collected"
    more = [write_requests(tmp_path / f"g{i}.jsonl", 60 + i, tag=f"g{i}") for i in range(4)]
    mixed = [batchctl_cmd(emu.base_url, "collect", "--dir", str(out)) for _ in range(4)]
    mixed += [batchctl_cmd(emu.base_url, "submit", str(f)) for f in more]
    second = run_all(mixed, home)
    assert_all_ok(second)
    new_ids = [r.stdout.strip() for r in second[4:]]
    # Every batch of the first round was collected exactly once, complete; none twice.
    files = sorted(out.iterdir())
    assert [p.name for p in files if p.name.endswith(".tmp")] == []
    collected = {p.name.rsplit("-", 1)[-1].removesuffix(".jsonl"): p for p in files}
    assert set(ids) <= set(collected), (sorted(collected), ids)
    assert len(collected) == len(files)
    for batch_id, n in zip(ids, sizes, strict=True):
        assert collected[batch_id].read_bytes().count(b"\n") == n
    assert store_rows(home, "SELECT count(*) FROM batches WHERE collected_at IS NULL AND id IN "
                      f"({','.join(repr(i) for i in ids)})") == [(0,)]
    assert len(store_rows(home, "SELECT id FROM batches")) == PROCESSES + 4
    assert len(store_rows(home, "SELECT id FROM jobs")) == PROCESSES + 4
    remote = {b["id"]: sum(b["request_counts"].values()) for b in emu.batches()}
    assert remote == dict(zip(ids + new_ids, [*sizes, 60, 61, 62, 63], strict=True))
    assert integrity(home / "batchctl.db") == "ok"
