"""How `batchctl models` shows the catalogue: a table fitted to the terminal, tab-separated rows
off one, JSON lines with --json; where the catalogue comes from on stderr."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from batchctl.cli.context import AppContext
from batchctl.cli.render import output
from batchctl.core.catalog.models import supported

if TYPE_CHECKING:
    from batchctl.core.models.catalogue import Found

#: Off a terminal: one tab-separated row per model, these fields, in this order (stable).
TSV_COLUMNS = ("id", "display_name", "lifecycle", "retires_at", "max_tokens", "max_input_tokens",
               "batch", "thinking")
#: On a terminal: the columns, left to right; when too wide, columns go in DROP_ORDER (id,
#: lifecycle, max_tokens and batch stay) after the SHRINK ones are cut.
TABLE_COLUMNS = ("id", "name", "lifecycle", "retires", "max_tokens", "max_input", "batch",
                 "thinking")
DROP_ORDER = ("name", "thinking", "max_input", "retires")
SHRINK = ("name", "thinking")
THINKING_TYPES = ("adaptive", "between_tools", "disabled", "enabled")
EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")


def _taken(caps: Any, group: str, keys: tuple[str, ...], *path: str) -> list[str] | None:
    """The keys of a capability group the model takes; None where the catalogue does not say."""
    entry = caps.get(group) if isinstance(caps, Mapping) else None
    if not isinstance(entry, Mapping):
        return None
    if entry.get("supported") is False:
        return []
    for key in path:
        entry = entry.get(key) if isinstance(entry, Mapping) else None
    return [k for k in keys if isinstance(entry, Mapping) and k in entry and supported(entry, k)]


def record(info: Mapping[str, Any], origin: str, as_of: str) -> dict[str, Any]:
    """One model as `models --json` writes it (these keys, always)."""
    caps = info.get("capabilities")
    return {
        "id": info["id"],
        "display_name": info.get("display_name"),
        "line": info.get("line"),
        "lifecycle": info.get("lifecycle"),
        "created_at": info.get("created_at"),
        "deprecated_at": info.get("deprecated_at"),
        "retires_at": info.get("retires_at"),
        "max_tokens": info.get("max_tokens"),
        "max_input_tokens": info.get("max_input_tokens"),
        **{name: supported(caps, name) if isinstance(caps, Mapping) and name in caps else None
           for name in ("batch", "image_input", "pdf_input", "structured_outputs")},
        "thinking_types": _taken(caps, "thinking", THINKING_TYPES, "types"),
        "effort_levels": _taken(caps, "effort", EFFORT_LEVELS),
        "catalogue": origin,
        "as_of": as_of,
    }


def _tokens(value: Any) -> str:
    if not isinstance(value, int):
        return ""
    if value % 1_000_000 == 0:
        return f"{value // 1_000_000}M"
    return f"{value // 1000}k" if value % 1000 == 0 else f"{value:,}"


def _yes(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def show_models(actx: AppContext, found: Found, *, retired: bool, json_: bool) -> None:
    """The models of ``found`` (retired ones only with ``retired``), and on stderr where they
    come from: a warning when the API could not be asked."""
    catalogue = found.catalogue
    records = [record(m, catalogue.origin, catalogue.as_of)
               for m in catalogue.listed(retired=retired)]
    if found.note:
        output.warn(actx, found.note)
    elif actx.stderr_tty:
        output.info(actx, f"models from {catalogue.describe()}")
    if json_:
        output.write_json(records)
    elif actx.stdout_tty:
        rows = [(r["id"], r["display_name"], r["lifecycle"], (r["retires_at"] or "")[:10],
                 _tokens(r["max_tokens"]), _tokens(r["max_input_tokens"]), _yes(r["batch"]),
                 ", ".join(r["thinking_types"] or ())) for r in records]
        output.write_table(actx, TABLE_COLUMNS, rows, drop=DROP_ORDER, shrink=SHRINK)
    else:
        output.write_table(actx, TSV_COLUMNS, (
            (r["id"], r["display_name"], r["lifecycle"], r["retires_at"], r["max_tokens"],
             r["max_input_tokens"], _yes(r["batch"]), ",".join(r["thinking_types"] or ()))
            for r in records))
