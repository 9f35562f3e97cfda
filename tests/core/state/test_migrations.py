"""The store's migrations: the shipped names are frozen (the list only grows at its end), and a
store whose migrations were recorded under the names a batchctl before the renumbering gave
them opens without running anything twice, on both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from batchctl.core.location import parse_store
from batchctl.core.settings import DB_NAME
from batchctl.core.state.db import Database, SQLiteDatabase
from batchctl.core.state.migrations import MIGRATIONS, RENAMED
from batchctl.core.state.store import Store
from tests.support.clock import FakeClock

#: Every migration that has shipped, in order. Append a new migration's name here when it is
#: added at the end of MIGRATIONS; never change what is here (stores have recorded these names).
SHIPPED = [
    "m001_initial",
    "m002_collect_claims",
    "m003_batch_adoption",
    "m004_row_order",
    "m005_job_parts",
    "m006_source_host",
    "m007_job_api_version",
    "m008_model_catalogues",
    "m009_hook_runs",
    "m010_job_cache_plans",
    "m011_hook_commands",
    "m012_part_warmup",
]

#: What batchctl recorded before the numbering was repaired (1557943..962ec83): the names in the
#: order they ran, m004_source_host (now m006_source_host) inserted before m005_job_parts.
OLD_NAMES = [
    "m001_initial",
    "m002_collect_claims",
    "m003_batch_adoption",
    "m004_row_order",
    "m004_source_host",
    "m005_job_parts",
    "m007_job_api_version",
]
#: The migrations added after the repair: a store of the old names gets them when opened.
AFTER = SHIPPED[len(OLD_NAMES):]
WHY = ("stores record each migration's name once it has run, and never run a recorded name "
       "again: a shipped migration must keep its name and place; add a new one at the end")


def frozen_problem(shipped: list[str], names: list[str]) -> str | None:
    """What is wrong with ``names`` (the module's list) against ``shipped``, or None."""
    for index, name in enumerate(shipped):
        if index >= len(names):
            return f"shipped migration {name!r} is gone ({WHY})"
        if names[index] != name:
            return f"migration {index + 1} is {names[index]!r}, shipped as {name!r} ({WHY})"
    for index, name in enumerate(names):
        number = re.match(r"m(\d{3})_\w+$", name)
        if number is None or int(number.group(1)) != index + 1:
            return f"migration {index + 1} is named {name!r}: expected m{index + 1:03d}_<what>"
    return None


def test_shipped_migrations_keep_their_names_and_order() -> None:
    problem = frozen_problem(SHIPPED, [name for name, _ in MIGRATIONS])
    assert problem is None, problem


#: The number the next migration takes, and one that skips it (the cases below hold whatever
#: migrations are appended to SHIPPED later).
NEXT, SKIPPED = f"m{len(SHIPPED) + 1:03d}", f"m{len(SHIPPED) + 2:03d}"


@pytest.mark.parametrize(("names", "expected"), [
    (SHIPPED, None),
    ([*SHIPPED, f"{NEXT}_new_column"], None),
    ([*SHIPPED[:3], "m004_inserted", *SHIPPED[3:]],
     "migration 4 is 'm004_inserted', shipped as 'm004_row_order'"),
    ([*SHIPPED[:4], SHIPPED[5], SHIPPED[4], *SHIPPED[6:]],
     "migration 5 is 'm006_source_host', shipped as 'm005_job_parts'"),
    ([*SHIPPED[:7], "m008_model_catalogue", *SHIPPED[8:]],
     "migration 8 is 'm008_model_catalogue', shipped as 'm008_model_catalogues'"),
    (SHIPPED[:-1], f"shipped migration {SHIPPED[-1]!r} is gone"),
    ([*SHIPPED, f"{SKIPPED}_skipped_one"],
     f"migration {len(SHIPPED) + 1} is named '{SKIPPED}_skipped_one': expected {NEXT}_"),
])
def test_the_freeze_fails_on_anything_but_an_append_and_says_why(names, expected) -> None:
    problem = frozen_problem(SHIPPED, names)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(expected)
        assert "add a new one at the end" in problem or "expected m0" in problem


def test_old_names_map_to_shipped_ones() -> None:
    assert set(RENAMED) == set(OLD_NAMES) - set(SHIPPED)
    assert set(RENAMED.values()) == set(SHIPPED) - set(OLD_NAMES) - set(AFTER)


# -- stores migrated by the old code -------------------------------------------------------------
T_OLD, T_NEW = 1_000.0, 2_000.0


@contextmanager
def raw_database(tmp_path: Path, store_value: str) -> Iterator[Database]:
    location = parse_store(store_value)
    db: Database
    if location.is_postgres:
        from batchctl.core.state.postgres import PostgresDatabase

        db = PostgresDatabase.connect(location)
    else:
        db = SQLiteDatabase.open(tmp_path / "s" / DB_NAME)
    try:
        yield db
    finally:
        db.close()


def migrate_as_old_code(tmp_path: Path, store_value: str, names: list[str]) -> None:
    """What batchctl did before the repair: run each migration not yet recorded, in the old
    order, and record it under its old name. The steps are today's (a shipped step is never
    edited), found by their name now."""
    steps = dict(MIGRATIONS)
    with raw_database(tmp_path, store_value) as db, db.transaction() as tx:
        real = "DOUBLE PRECISION" if tx.dialect == "postgresql" else "REAL"
        tx.execute("CREATE TABLE IF NOT EXISTS migrations "
                   f"(name TEXT PRIMARY KEY, applied_at {real} NOT NULL)")
        done = {row["name"] for row in tx.query("SELECT name FROM migrations")}
        for name in names:
            if name not in done:
                steps[RENAMED.get(name, name)](tx)
                tx.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                           (name, T_OLD))


def recorded(tmp_path: Path, store_value: str) -> dict[str, float]:
    with raw_database(tmp_path, store_value) as db:
        return {r["name"]: r["applied_at"] for r in db.query("SELECT * FROM migrations")}


def open_now(tmp_path: Path, store_value: str) -> None:
    """Open (and so migrate) the store with today's code, at T_NEW."""
    Store.open(tmp_path / "s", clock=FakeClock(T_NEW), location=parse_store(store_value)).close()


def test_a_store_of_the_old_names_runs_nothing_again(tmp_path, store_value) -> None:
    migrate_as_old_code(tmp_path, store_value, OLD_NAMES)
    open_now(tmp_path, store_value)  # ADD COLUMN source_host again would fail here
    open_now(tmp_path, store_value)
    assert recorded(tmp_path, store_value) == {
        **dict.fromkeys([*OLD_NAMES, *SHIPPED], T_OLD), **dict.fromkeys(AFTER, T_NEW)}


def test_a_store_from_before_source_host_gets_the_new_names(tmp_path, store_value) -> None:
    # as a batchctl of fff142c..35f2c5a left it: m005 had shipped, source_host not yet
    migrate_as_old_code(tmp_path, store_value, [*OLD_NAMES[:4], "m005_job_parts"])
    open_now(tmp_path, store_value)
    assert recorded(tmp_path, store_value) == {
        **dict.fromkeys(SHIPPED[:5], T_OLD),
        **dict.fromkeys(["m006_source_host", "m004_source_host", "m007_job_api_version", *AFTER],
                        T_NEW),
    }
    with raw_database(tmp_path, store_value) as db:  # the columns m006 and m007 add
        assert db.query("SELECT source_host FROM batches") == []
        assert db.query("SELECT api_version FROM jobs") == []


def test_a_new_store_has_the_new_names_and_an_older_batchctl_runs_nothing(
    tmp_path, store_value
) -> None:
    open_now(tmp_path, store_value)
    names = recorded(tmp_path, store_value)
    assert names == dict.fromkeys([*SHIPPED, *RENAMED], T_NEW)
    migrate_as_old_code(tmp_path, store_value, OLD_NAMES)  # the old code finds every name
    assert recorded(tmp_path, store_value) == names
