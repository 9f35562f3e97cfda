"""The two state store backends the store tests run on: SQLite, and a REAL PostgreSQL server.

The server's URL comes from ``BATCHCTL_TEST_POSTGRES`` (read at import: the suite's autouse
fixture clears every BATCHCTL_* variable before each test). ``.ci/postgres.sh start`` starts one
and prints the export line; CI always does. Without it the PostgreSQL tests FAIL (never skip)
with that instruction. Each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import pytest

POSTGRES_ENV = "BATCHCTL_TEST_POSTGRES"
POSTGRES_URL = os.environ.get(POSTGRES_ENV, "")
BACKENDS = ("sqlite", "postgresql")
HOW = (
    f"the PostgreSQL tests need a server: run `eval \"$(.ci/postgres.sh start)\"` (it sets "
    f"{POSTGRES_ENV}); see README, Development"
)


def server_url() -> str:
    if not POSTGRES_URL:
        pytest.fail(HOW, pytrace=False)
    return POSTGRES_URL


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of the test server whose search_path is a fresh, empty schema."""
    schema = "t_" + secrets.token_hex(6)
    _admin(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in server_url() else "?"
    try:
        yield f"{server_url()}{sep}options={quote(f'-csearch_path={schema}', safe='')}"
    finally:
        _admin(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def store_value(request: pytest.FixtureRequest) -> str:
    """What ``--store`` / BATCHCTL_STORE says for each backend: 'sqlite', or a fresh schema's URL."""
    if request.param == "sqlite":
        return "sqlite"
    return str(request.getfixturevalue("postgres_url"))
