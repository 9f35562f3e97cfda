"""Helpers for the reliability suite: request files, and a runner for ``python -m batchctl``
(against ``make_emulator(real_clock=True)``, whose ``batches()`` counts through a fault-free
view of the same data)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.helpers import request, write_jsonl

# Distinctive, so a leak anywhere is found by a plain substring search.
KEY = "sk-ant-api03-CANARY-reliability-7Q2xK9vB4mZp1Lw8"
ROOT = Path(__file__).resolve().parents[2]


def write_requests(path: Path, count: int, *, tag: str = "r", text_bytes: int = 40) -> Path:
    """A valid request file of ``count`` requests whose content depends on ``tag``."""
    filler = ("lorem ipsum dolor sit amet " * (text_bytes // 27 + 1))[:text_bytes]
    made = (request(f"{tag}-{i:06d}", f"{tag} {i}: {filler}", max_tokens=64) for i in range(count))
    return write_jsonl(path, made)


def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "BATCHCTL_"))}
    env.update({"ANTHROPIC_API_KEY": KEY, "BATCHCTL_HOME": str(home), "PYTHONUNBUFFERED": "1"})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def batchctl_cmd(base_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "batchctl", "--base-url", base_url, *args]


def run_batchctl(
    base_url: str, home: Path, *args: str, timeout: float = 90, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        batchctl_cmd(base_url, *args), env=child_env(home, **env), capture_output=True,
        text=True, timeout=timeout, cwd=home.parent,
    )


def store_query(home: Path, store: str, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the store a child with ``BATCHCTL_HOME=home``, ``BATCHCTL_STORE=store``
    uses (either backend), as tuples."""
    from batchctl.core.location import parse_store
    from batchctl.core.state.store import Store

    opened = Store.open(home, location=parse_store(store))
    try:
        return [tuple(r.values()) for r in opened.db.query(sql)]
    finally:
        opened.close()


def sound(home: Path, store: str) -> bool:
    """The store passes its integrity check (SQLite's; a PostgreSQL server keeps its own)."""
    return store != "sqlite" or integrity(home / "batchctl.db") == "ok"


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
