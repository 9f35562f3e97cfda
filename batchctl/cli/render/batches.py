"""How batch records are shown: the rows of `status` and `list` (a table on a terminal,
tab-separated off one, JSON lines with --json).

Imported by the commands when they run, not at start-up (it pulls in the store's modules).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from batchctl.cli.context import AppContext
from batchctl.cli.render import output
from batchctl.cli.render.tables import short_ids
from batchctl.core.plural import counted
from batchctl.core.submit.send import SPOOL_DIR, STDIN_NAME
from batchctl.core.times import display_ts, human_duration, parse_ts
from batchctl.core.tracking.lifecycle import COUNT_KEYS, counts

#: Off a terminal: one tab-separated row per batch, these fields, in this order (stable).
TSV_COLUMNS = (
    "id",
    "processing_status",
    "succeeded",
    "errored",
    "canceled",
    "expired",
    "processing",
    "created_at",
    "ended_at",
    "expires_at",
    "job",
    "label",
    "request_file",
)
#: On a terminal: the columns, left to right. ``when`` is ended_at for an ended batch and the
#: time left before expiry for a running one; its header says which (``ENDED``, ``EXPIRES``, or
#: ``ENDED/EXPIRES`` for a mix).
TABLE_COLUMNS = ("id", "status", "requests", "created", "when", "label", "job", "file")
#: When the table is wider than the terminal, columns go in this order until it fits (id,
#: status and requests always stay); cells are never wrapped.
DROP_ORDER = ("file", "job", "label", "created", "when")
#: Free-text columns cut with an ellipsis when what stays is still too wide.
SHRINK = ("requests", "label", "file")
_SPOOLED = re.compile(r"[0-9a-f]{64}\.jsonl")


def job_of(rec: Mapping[str, Any]) -> Any:
    """The job id of a record: the one place that reads its key."""
    return rec.get("job_id")


def status_text(rec: Mapping[str, Any]) -> str:
    """processing_status, or ``deleted`` for a row the store marked deleted."""
    if rec.get("deleted_at"):
        return "deleted"
    return str(rec.get("processing_status") or "unknown")


def counts_text(rec: Mapping[str, Any]) -> str:
    """``4 processing`` while running; ``3 succeeded, 1 errored`` once ended (zeros left out)."""
    c = counts(rec)
    parts = [f"{c[k]:,} {k}" for k in COUNT_KEYS if c[k]]
    return ", ".join(parts) if parts else "0 requests"


def when_text(rec: Mapping[str, Any], now: float) -> str:
    """When it ended (``2026-09-21 14:20Z``), or how long until it expires (``in 23h 59m``)."""
    if rec.get("ended_at"):
        return display_ts(rec.get("ended_at"))
    return expires_text(rec, now)


def when_header(records: Sequence[Mapping[str, Any]]) -> str:
    """``ended``, ``expires``, or ``ended/expires``: what the ``when`` column holds."""
    ended = {bool(r.get("ended_at")) for r in records if r.get("ended_at") or r.get("expires_at")}
    if ended == {True}:
        return "ended"
    return "expires" if ended == {False} else "ended/expires"


def expires_text(rec: Mapping[str, Any], now: float) -> str:
    if rec.get("processing_status") == "ended" or rec.get("deleted_at"):
        return ""
    expires = parse_ts(rec.get("expires_at"))
    if expires is None:
        return ""
    return f"in {human_duration(expires - now)}" if expires > now else "now"


def file_text(rec: Mapping[str, Any]) -> str | None:
    """The request file's name; ``<stdin>`` for requests read from stdin (spooled to the state
    directory under their hash, which says nothing to a reader)."""
    path = rec.get("request_file")
    if not path:
        return None
    p = Path(path)
    if p.parent.name == SPOOL_DIR and _SPOOLED.fullmatch(p.name):
        return STDIN_NAME
    return p.name


def tsv_row(rec: Mapping[str, Any]) -> list[Any]:
    c = counts(rec)
    row: list[Any] = [rec.get("id"), status_text(rec)]
    row += [c[k] for k in ("succeeded", "errored", "canceled", "expired", "processing")]
    row += [rec.get("created_at"), rec.get("ended_at"), rec.get("expires_at")]
    row += [job_of(rec), rec.get("label"), rec.get("request_file")]
    return row


def table_row(rec: Mapping[str, Any], now: float, ids: Mapping[str, str]) -> list[Any]:
    pending = rec.get("processing_status") == "pending"  # a job's part not sent yet
    batch_id = rec.get("id")
    shown = ids.get(batch_id, batch_id) if batch_id else "-"
    return [
        f"{shown} ({rec['role']})" if rec.get("role") else shown,  # the job's warm-up
        status_text(rec),
        counted(rec.get("request_count") or 0, "request") if pending else counts_text(rec),
        display_ts(rec.get("created_at")),
        when_text(rec, now),
        rec.get("label"),
        job_of(rec),
        file_text(rec),
    ]


def write_table(
    actx: AppContext, records: Sequence[Mapping[str, Any]], *, wide: bool = False
) -> None:
    """The terminal table: fitted to the console's width (see DROP_ORDER), ids shortened
    unless ``wide``."""
    now = actx.clock.time()
    found = [str(r["id"]) for r in records if r.get("id")]
    ids = {i: i for i in found} if wide else short_ids(found)
    when = when_header(records)
    rename = lambda names: [when if n == "when" else n for n in names]  # noqa: E731
    output.write_table(
        actx, rename(TABLE_COLUMNS), [table_row(r, now, ids) for r in records],
        drop=rename(DROP_ORDER), shrink=SHRINK, whole_ids=wide,
    )


def write_records(
    actx: AppContext, records: Iterable[Mapping[str, Any]], *, json_: bool, wide: bool = False
) -> int:
    """Write batch records to stdout in the form the contract asks for; returns how many.

    Off a terminal (and with --json) each record is written as soon as it arrives, so
    `list --all | head` stops paging early.
    """
    seen = 0

    def counted() -> Iterator[Mapping[str, Any]]:
        nonlocal seen
        for rec in records:
            seen += 1
            yield rec

    if json_:
        output.write_json(counted())
    elif actx.stdout_tty:
        rows = list(counted())
        if rows:
            write_table(actx, rows, wide=wide)
    else:
        output.write_table(actx, TSV_COLUMNS, (tsv_row(r) for r in counted()))
    return seen
