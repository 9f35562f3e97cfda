"""The two state store backends the store tests run on: SQLite, and a REAL PostgreSQL server.

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
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

POSTGRES_ENV = "BATCHCTL_TEST_POSTGRES"
POSTGRES_URL = os.environ.get(POSTGRES_ENV, "")
BACKENDS = ("sqlite", "postgresql")
HOW = (
    f"the PostgreSQL tests need a server: run `eval \"$(.ci/postgres.sh start)\"` (it sets "
    f"{POSTGRES_ENV}); see README, Development"
)


SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "postgres.sh"
_started: list[str] = []


def _start_server() -> str:
    """Start the throwaway server (idempotent) and return its URL; fail the test if it can't."""
    if not _started:
        with open(tempfile.gettempdir() + "/batchctl-pg-start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            done = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True,
                                  text=True, stdin=subprocess.DEVNULL, check=False)
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


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of the test server whose search_path is a fresh, empty schema."""
    with fresh_schema_url() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def store_value(request: pytest.FixtureRequest) -> str:
    """What ``--store`` / BATCHCTL_STORE says for each backend: 'sqlite', or a fresh schema's URL."""
    if request.param == "sqlite":
        return "sqlite"
    return str(request.getfixturevalue("postgres_url"))
