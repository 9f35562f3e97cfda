"""Eight processes at once on one state store (which none of them has created yet): no
"database is locked", no lost rows, every batch made once."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from tests.reliability.conftest import batchctl_cmd, child_env, integrity, write_requests

PROCESSES = 8


def run_all(commands: list[list[str]], home: Path) -> list[subprocess.CompletedProcess[str]]:
    """Start every command at once on the same state dir; wait for all."""
    env = child_env(home)
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for cmd in commands]
    done = []
    for cmd, proc in zip(commands, procs):
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


def test_eight_submits_at_once_on_a_fresh_store(live_emulator: Any, tmp_path: Path) -> None:
    emu = live_emulator()
    home = tmp_path / "state"
    sizes = [40 + i for i in range(PROCESSES)]
    files = [write_requests(tmp_path / f"f{i}.jsonl", n, tag=f"c{i}") for i, n in enumerate(sizes)]
    results = run_all([batchctl_cmd(emu.base_url, "submit", str(f)) for f in files], home)
    assert_all_ok(results)
    ids = [r.stdout.strip() for r in results]
    assert len(set(ids)) == PROCESSES
    rows = store_rows(home, "SELECT id, request_count, request_file FROM batches")
    assert sorted(rows) == sorted(zip(ids, sizes, [str(f) for f in files]))
    assert len(store_rows(home, "SELECT id FROM jobs")) == PROCESSES
    assert store_rows(home, "SELECT count(*) FROM intents WHERE state != 'done'") == [(0,)]
    remote = {b["id"]: sum(b["request_counts"].values()) for b in emu.batches()}
    assert remote == dict(zip(ids, sizes))
    assert integrity(home / "batchctl.db") == "ok"
