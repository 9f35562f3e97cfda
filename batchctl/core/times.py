"""Timestamps as the API writes them (RFC 3339) and durations as people read them."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_ts(value: str | None) -> float | None:
    """An RFC 3339 timestamp (``...Z`` or ``+00:00``) as epoch seconds; None stays None."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def iso(ts: float | None) -> str | None:
    """Epoch seconds as RFC 3339 UTC with a ``Z`` (whole seconds), or None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def display_ts(value: str | None) -> str:
    """An API timestamp as tables show it: ISO 8601 in UTC to the minute, with its zone,
    ``2026-09-21 14:20Z``; '' for None. (--json and piped rows keep the API's own text.)"""
    ts = parse_ts(value)
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%MZ")


def human_duration(seconds: float) -> str:
    """``45s``, ``12m 5s``, ``3h 4m``, ``2d 5h``: the two largest units, rounded down."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"
