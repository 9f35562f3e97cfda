"""How the end of a wait is told, by the bars, the plain lines and the summary alike: the
outcome of batches (a glyph and a colour) and the one elapsed clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from batchctl.core.times import parse_ts
from batchctl.core.tracking.lifecycle import FAILED_KEYS, is_ended

#: What a batch (or a set of them) came to: ``ok`` every request succeeded, ``partial`` some
#: errored, expired or were canceled, ``failed`` none succeeded; the glyph and colour of each
#: on a terminal (failures are never green).
OUTCOMES = {"ok": ("✓", "green"), "partial": ("!", "yellow"), "failed": ("✗", "red")}


def outcome(c: Mapping[str, int]) -> str:
    """``ok``, ``partial`` or ``failed`` for request counts (see OUTCOMES)."""
    if not sum(c[k] for k in FAILED_KEYS):
        return "ok"
    return "partial" if c["succeeded"] else "failed"


def mark(kind: str, text: str = "") -> str:
    """Rich markup: the outcome's glyph in its colour, or ``text`` (escaped) in that colour."""
    glyph, colour = OUTCOMES[kind]
    return f"[{colour}]{text or glyph}[/]"


class Elapsed:
    """The one elapsed clock of a wait: from the earliest created_at of the batches seen, or the
    command's start if that is earlier, to a batch's ended_at (or now)."""

    def __init__(self, start: float, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self.origin = start
        self.see(records)

    def see(self, records: Iterable[Mapping[str, Any]]) -> None:
        for rec in records:
            created = parse_ts(rec.get("created_at"))
            if created is not None and created < self.origin:
                self.origin = created

    def at(self, rec: Mapping[str, Any] | None, now: float) -> float:
        """Seconds on the clock for ``rec``: until its end if it ended, else until now."""
        end = parse_ts(rec.get("ended_at")) if rec is not None and is_ended(rec) else None
        return (now if end is None else end) - self.origin

    def until_all_ended(self, records: Sequence[Mapping[str, Any]], now: float) -> float:
        """Until the last of ``records`` ended (now while one still runs)."""
        ends = [parse_ts(r.get("ended_at")) for r in records if is_ended(r)]
        if len(ends) < len(records) or None in ends or not ends:
            return now - self.origin
        return max(e for e in ends if e is not None) - self.origin
