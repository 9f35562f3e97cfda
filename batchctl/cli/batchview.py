"""How batch records are shown: the rows of `status` and `list` (a table on a terminal,
tab-separated off one, JSON lines with --json).

Imported by the commands when they run, not at start-up (it pulls in the store's modules).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from batchctl.cli import output
from batchctl.cli.context import AppContext
from batchctl.core.jobs.lifecycle import COUNT_KEYS, counts
from batchctl.core.times import human_duration, parse_ts, short_ts

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
#: On a terminal: the label beside the job, the file's name only (--json has everything).
TABLE_COLUMNS = ("id", "status", "requests", "created", "ends", "job", "file")


def status_text(rec: Mapping[str, Any]) -> str:
    """processing_status, or ``deleted`` for a row the store marked deleted."""
    if rec.get("deleted_at"):
        return "deleted"
    return str(rec.get("processing_status") or "unknown")


def counts_text(rec: Mapping[str, Any]) -> str:
    """``4 processing`` while running; ``3 succeeded, 1 errored`` once ended (zeros left out)."""
    c = counts(rec)
    parts = [f"{c[k]} {k}" for k in COUNT_KEYS if c[k]]
    return ", ".join(parts) if parts else "0 requests"


def ends_text(rec: Mapping[str, Any], now: float) -> str:
    """When it ended (``09-21 14:20``), or how long until it expires (``in 23h 59m``)."""
    if rec.get("ended_at"):
        return short_ts(rec.get("ended_at"))
    return expires_text(rec, now)


def expires_text(rec: Mapping[str, Any], now: float) -> str:
    if rec.get("processing_status") == "ended" or rec.get("deleted_at"):
        return ""
    expires = parse_ts(rec.get("expires_at"))
    if expires is None:
        return ""
    return f"in {human_duration(expires - now)}" if expires > now else "now"


def tsv_row(rec: Mapping[str, Any]) -> list[Any]:
    c = counts(rec)
    row: list[Any] = [rec.get("id"), status_text(rec)]
    row += [c[k] for k in ("succeeded", "errored", "canceled", "expired", "processing")]
    row += [rec.get("created_at"), rec.get("ended_at"), rec.get("expires_at")]
    row += [rec.get("job"), rec.get("label"), rec.get("request_file")]
    return row


def table_row(rec: Mapping[str, Any], now: float) -> list[Any]:
    job = rec.get("job") or ""
    if rec.get("label"):
        job = f"{job} ({rec['label']})" if job else str(rec["label"])
    pending = rec.get("processing_status") == "pending"  # a job's part not sent yet
    return [
        rec.get("id") or "-",
        status_text(rec),
        f"{rec.get('request_count') or 0:,} requests" if pending else counts_text(rec),
        short_ts(rec.get("created_at")),
        ends_text(rec, now),
        job,
        Path(rec["request_file"]).name if rec.get("request_file") else None,
    ]


def write_records(
    actx: AppContext, records: Iterable[Mapping[str, Any]], *, json_: bool
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
        now = actx.clock.time()
        rows = [table_row(r, now) for r in counted()]
        if rows:
            output.write_table(actx, TABLE_COLUMNS, rows, no_wrap=("id", "status"))
    else:
        output.write_table(actx, TSV_COLUMNS, (tsv_row(r) for r in counted()))
    return seen
