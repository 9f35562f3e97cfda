"""`state export` / `state import`: a store as versioned JSONL, to move it between machines or
backends (SQLite to PostgreSQL and back).

The file's first line is a header ``{"format": "batchctl-state", "version": 1, ...}``; each
further line is one row, ``{"table": NAME, "row": {column: value}}``, jobs first, then their
parts, intents, then batches (the order their references need), then hook runs (which hooks
succeeded, and what a failed one is run again from, its command's text included). Values are
as stored (JSON columns stay JSON text). Claims are not exported: they belong to running
processes. Import adds the rows the store lacks and keeps the rows it has (same primary key),
in one transaction, so importing a file twice, or into the store it came from, changes
nothing. Nothing in the file is trusted: the header, every table and column name is checked
against the store's own schema before any SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from batchctl.core.errors import InputError, UsageError
from batchctl.core.events import Data, Events
from batchctl.core.state.db import Database, Tx
from batchctl.core.state.store import Store

FORMAT = "batchctl-state"
VERSION = 1
# Table -> primary key columns, in the order rows are written and read back.
TABLES: dict[str, tuple[str, ...]] = {
    "jobs": ("id",),
    "parts": ("job_id", "part"),
    "intents": ("job_id", "part"),
    "batches": ("id",),
    # Without them an imported store runs a succeeded end-of-job hook again and forgets the
    # failed ones to run again (migrations m009_hook_runs, m011_hook_commands).
    "hook_runs": ("kind", "subject", "hook"),
}
# Written in insertion order (``rowid``: SQLite's, PostgreSQL's ``seq``), so newest-first
# listings tell rows of the same instant apart the same way after an import.
ORDER = {"jobs": "rowid", "parts": "job_id, part", "intents": "job_id, part", "batches": "rowid",
         "hook_runs": "kind, subject, hook"}
SCALARS = (str, int, float, bool, type(None))
MAX_PROBLEMS = 20
BLOCK = 1000  # lines of an export to stdout yielded at a time


@dataclass
class ImportReport:
    added: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    kept: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))


def columns(db: Database, table: str) -> list[str]:
    """The table's columns, as the store's schema has them."""
    if db.dialect == "sqlite":
        sql = "SELECT name FROM pragma_table_info(?) ORDER BY cid"
    else:
        sql = ("SELECT column_name AS name FROM information_schema.columns WHERE table_name = ? "
               "AND table_schema = current_schema() ORDER BY ordinal_position")
    return [r["name"] for r in db.query(sql, (table,)) if r["name"] != "seq"]


def export_lines(store: Store, now: float) -> Iterator[bytes]:
    """The export, line by line (each ends with a newline)."""
    names = [r["name"] for r in store.db.query("SELECT name FROM migrations ORDER BY name")]
    yield orjson.dumps({"format": FORMAT, "version": VERSION, "exported_at": now,
                        "migrations": names}) + b"\n"
    for table in TABLES:
        cols = columns(store.db, table)
        for row in store.db.query(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {ORDER[table]}"):
            yield orjson.dumps({"table": table, "row": row}) + b"\n"


def export(store: Store, target: Path | None, now: float) -> Events[dict[str, int] | None]:
    """`batchctl state export`: to ``target`` (``export_file``: the rows written per table),
    or with no target, yielded as ``Data`` for the caller's stdout (None)."""
    if target is None:
        block: list[bytes] = []
        for line in export_lines(store, now):
            block.append(line)
            if len(block) >= BLOCK:
                yield Data(b"".join(block))
                block = []
        if block:
            yield Data(b"".join(block))
        return None
    return export_file(store, target, now)


def export_file(store: Store, target: Path, now: float) -> dict[str, int]:
    """Write the export to ``target`` atomically; returns the rows written per table."""
    from batchctl.core.atomic import atomic_file

    counts = dict.fromkeys(TABLES, 0)
    with atomic_file(target) as out:
        for line in export_lines(store, now):
            out.write(line)
            if line.startswith(b'{"table":'):
                counts[orjson.loads(line)["table"]] += 1
    return counts


def import_file(store: Store, path: Path, stream: IO[bytes] | None = None) -> ImportReport:
    """Read an export and add the rows the store lacks (see the module). InputError (exit 3,
    nothing written) on anything that is not a valid export for this store."""
    name = str(path)
    known = {table: set(columns(store.db, table)) for table in TABLES}
    report = ImportReport()
    problems: list[str] = []
    try:
        source = stream or open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
    with source, store.transaction() as tx:
        for line_no, record in _records(source, name, problems):
            table, row = record["table"], record["row"]
            if not set(row) <= known[table]:
                unknown = ", ".join(sorted(set(row) - known[table]))
                problems.append(f"{name}:{line_no}: unknown {table} column(s): {unknown}")
                continue
            if not all(isinstance(v, SCALARS) for v in row.values()):
                problems.append(f"{name}:{line_no}: {table} values must be plain (text, numbers, "
                                "null)")
            if not problems:
                try:
                    added = _add(tx, table, row)
                except _driver_errors(store.db) as exc:
                    problems.append(f"{name}:{line_no}: the store refused this {table} row: "
                                    f"{str(exc).splitlines()[0] if str(exc) else exc!r}")
                    break
                (report.added if added else report.kept)[table] += 1
            if len(problems) >= MAX_PROBLEMS:
                break
        if problems:
            raise InputError(f"{name} is not a batchctl state export this store can import; "
                             "nothing was imported", problems=problems)
    return report


def _driver_errors(db: Database) -> tuple[type[BaseException], ...]:
    if db.dialect == "sqlite":
        import sqlite3

        return (sqlite3.Error,)
    import psycopg

    return (psycopg.Error,)


def _records(stream: IO[bytes], name: str, problems: list[str]) -> Iterator[tuple[int, Any]]:
    """The rows of an export, after checking its header (the first line)."""
    header = False
    for line_no, raw in enumerate(stream, 1):
        if header and not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if not header:
                raise _not_an_export(name, line_no) from None
            problems.append(f"{name}:{line_no}: not JSON: {exc}")
            continue
        if not header:
            _check_header(record, name)
            header = True
        elif (isinstance(record, dict) and record.get("table") in TABLES
              and isinstance(record.get("row"), dict)):
            yield line_no, record
        else:
            problems.append(f"{name}:{line_no}: expected {{\"table\": ..., \"row\": {{...}}}} "
                            f"with a table among {', '.join(TABLES)}")
    if not header:
        raise _not_an_export(name, 1)


def _not_an_export(name: str, line_no: int) -> InputError:
    return InputError(f"{name} is not a batchctl state export",
                      problems=[f"{name}:{line_no}: no {FORMAT!r} header"])


def _check_header(record: Any, name: str) -> None:
    if not (isinstance(record, dict) and record.get("format") == FORMAT):
        raise _not_an_export(name, 1)
    if record.get("version") != VERSION:
        raise InputError(
            f"{name} is a version {record.get('version')!r} export; this batchctl reads "
            f"version {VERSION}", problems=[f"{name}:1: version {record.get('version')!r}"],
            hint="import it with the batchctl version that exported it",
        )


def _add(tx: Tx, table: str, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless its primary key is there; True if it was added."""
    key = TABLES[table]
    where = " AND ".join(f"{k} = ?" for k in key)
    if tx.one(f"SELECT 1 AS found FROM {table} WHERE {where}", [row.get(k) for k in key]):
        return False
    cols = list(row)
    marks = ", ".join("?" for _ in cols)
    tx.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
               [row[c] for c in cols])
    return True
