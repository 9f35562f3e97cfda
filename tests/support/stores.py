"""The state store in tests: its two backends, SQLite and a REAL PostgreSQL server, rows to seed
it with, and reading a store a child process used.

The server's URL comes from ``BATCHCTL_TEST_POSTGRES`` (read at import: the suite's autouse
fixture clears every BATCHCTL_* variable before each test). ``.ci/postgres.sh start`` starts one
and prints the export line; CI always does. Without the variable, the first test that needs the
server runs ``.ci/postgres.sh start`` itself (under a file lock, once for all xdist workers), so
the README's plain test command works on a fresh machine; if that fails the PostgreSQL tests FAIL
(never skip) with what the script said. Each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.paths import ROOT
from tests.support.processes import MACHINE_CAS

POSTGRES_ENV = "BATCHCTL_TEST_POSTGRES"
POSTGRES_URL = os.environ.get(POSTGRES_ENV, "")
BACKENDS = ("sqlite", "postgresql")
HOW = (
    f"the PostgreSQL tests need a server: run `eval \"$(.ci/postgres.sh start)\"` (it sets "
    f"{POSTGRES_ENV}); see README, Development"
)


SCRIPT = ROOT / ".ci" / "postgres.sh"
_started: list[str] = []


def _start_server() -> str:
    """Start the throwaway server (idempotent) and return its URL; fail the test if it can't."""
    if not _started:
        with open(tempfile.gettempdir() + "/batchctl-pg-start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            done = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True,
                                  text=True, stdin=subprocess.DEVNULL, check=False,
                                  env={**os.environ, **MACHINE_CAS})
        match = re.search(r"BATCHCTL_TEST_POSTGRES='([^']+)'", done.stdout)
        if done.returncode != 0 or match is None:
            pytest.fail(f"{HOW}\n{SCRIPT} start said: {done.stderr.strip()}", pytrace=False)
        _started.append(match.group(1))
    return _started[0]


def server_url() -> str:
    return POSTGRES_URL or _start_server()


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def fresh_schema_url() -> Iterator[str]:
    """A URL of the test server whose search_path is a fresh, empty schema, dropped after."""
    schema = "t_" + secrets.token_hex(6)
    _admin(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in server_url() else "?"
    try:
        yield f"{server_url()}{sep}options={quote(f'-csearch_path={schema}', safe='')}"
    finally:
        _admin(f"DROP SCHEMA {schema} CASCADE")


# -- rows -----------------------------------------------------------------------------------------
BATCH = {
    "id": "msgbatch_01",
    "processing_status": "in_progress",
    "request_counts": {"processing": 2, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
    "created_at": "2026-09-21T10:00:00Z",
    "expires_at": "2026-09-22T10:00:00Z",
    "ended_at": None,
    "cancel_initiated_at": None,
    "archived_at": None,
    "results_url": None,
}


def new_job(store: Any, **over: Any) -> dict[str, Any]:
    """A job of one part of two requests (``over`` replaces fields)."""
    fields = {
        "base_url": "http://x",
        "request_file": "/abs/f.jsonl",
        "source": "f.jsonl",
        "sha256": "ab" * 32,
        "byte_size": 10,
        "request_count": 2,
        "part_count": 1,
        "split_key": "1:2",
        "label": "nightly",
        "betas": ["b1"],
    }
    fields.update(over)
    return dict(store.insert_job(**fields))


def record(store: Any, job: dict[str, Any], batch: dict[str, Any] = BATCH, part: int = 1) -> Any:
    """``batch`` (the API's fields) recorded as ``part`` of ``job``, lines 1-2."""
    return store.record_batch(
        batch,
        job_id=job["id"],
        part=part,
        base_url=job["base_url"],
        request_file=job["request_file"],
        sha256=job["sha256"],
        byte_size=job["byte_size"],
        first_line=1,
        last_line=2,
        request_count=2,
        label=job["label"],
    )


# -- reading a store --------------------------------------------------------------------------------
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


def claim_owners(store: Any) -> list[str]:
    """Who holds a collect claim in ``store`` (a batchctl Store), oldest claim first."""
    return [r["owner"] for r in store.db.query("SELECT owner FROM claims ORDER BY claimed_at")]


def sound(home: Path, store: str) -> bool:
    """The store passes its integrity check (SQLite's; a PostgreSQL server keeps its own)."""
    return store != "sqlite" or integrity(home / "batchctl.db") == "ok"


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
