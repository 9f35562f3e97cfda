"""The dry run's prompt-cache report (``cache`` of ``batchctl.core.submit.submit.dry_run_summary``,
made by ``batchctl.core.caching.report``): one row per group of requests that share a prefix,
then what the job costs as written and with ``--cache auto``.

A table of two columns, the second folding, so that it reads at 60 columns as at 120; off a
terminal, tab-separated rows as the dry run's own table.
"""

from __future__ import annotations

from typing import Any

from batchctl.cli.context import AppContext
from batchctl.cli.render import output
from batchctl.core.plural import counted, plural

#: Why a group gets no marker (core.caching.planner), in words.
REASONS = {
    "under_minimum": "no marker: the prefix is under the model's minimum, the API would cache nothing",
    "one_request": "no marker: no other request shares this prefix with it alone",
}
SKIPPED = {
    "already_marked": "already marked there",
    "four_markers": "4 markers already",
    "after_5m_marker": "after a 5-minute marker",
    "top_level_on_block": "the top-level marker goes there",
    "not_markable": "not a block a marker may go on",
}
SHOWN = 20  # groups shown on a terminal; --json has them all


def show_cache(actx: AppContext, cache: dict[str, Any]) -> None:
    """The report: the groups (the first SHOWN on a terminal), then the job's costs."""
    tty = actx.stdout_tty
    groups = cache["groups"]
    rows = [(f"group {g['id']}", _group(actx, g)) for g in (groups[:SHOWN] if tty else groups)]
    if tty and len(groups) > SHOWN:
        rows.append(("", f"... and {counted(len(groups) - SHOWN, 'more group')} (--json lists all)"))
    if not groups:
        rows.append(("groups", "none: no two requests share a block a marker may go on"))
    rows += _costs(actx, cache)
    output.write_table(actx, ["cache plan", ""], rows)


def _group(actx: AppContext, g: dict[str, Any]) -> str:
    n = output.number
    blocks = ", ".join(f"{count} {_noun(kind, count)}"
                       for kind, count in g["prefix_blocks"].items() if count)
    approx = "~" if actx.stdout_tty and g["tokens_source"] == "estimate" else ""
    source = "counted" if g["tokens_source"] == "count" else "estimated"
    text = (f"{g['model']}: {n(actx, g['requests'])} {plural('request', g['requests'])} share "
            f"{blocks}, {approx}{n(actx, g['prefix_tokens'])} tokens ({source}; minimum "
            f"{n(actx, g['min_cacheable_tokens'])}"
            f"{'' if g['minimum_source'] == 'table' else ', ' + g['minimum_source']}), ending at "
            f"{g['at']}; ")
    if not g["planned"]:
        return text + REASONS.get(str(g["reason"]), f"no marker: {g['reason']}")
    text += f"1-hour marker on {n(actx, g['marked_requests'])}"
    skipped = g["skipped_requests"]
    if skipped:
        text += "; none on " + ", ".join(f"{n(actx, c)} ({SKIPPED.get(why, why)})"
                                         for why, c in skipped.items())
    return text


def _noun(kind: str, count: int) -> str:
    return {"tools": plural("tool definition", count), "system": plural("system block", count),
            "messages": plural("message block", count)}[kind]


def _costs(actx: AppContext, cache: dict[str, Any]) -> list[tuple[str, str]]:
    raw = not actx.stdout_tty

    def usd(value: float | None) -> str:
        return output.money(value, raw=raw)

    rate = cache["break_even_hit_rate"]
    rows = [
        ("cost as written", usd(cache["cost_as_written"])),
        ("with --cache auto, best", f"{usd(cache['cost_planned_best'])} (one write per group, "
                                    "a read for every other request)"),
        ("with --cache auto, 30% hits", usd(cache["cost_planned_30pct"])),
        ("break-even hit rate", "never pays" if rate is None else f"{rate:.0%}"),
    ]
    if cache["unpriced_models"]:
        rows.append(("not priced", ", ".join(cache["unpriced_models"])))
    return rows


def cache_note(cache: dict[str, Any]) -> str:
    """The stderr line that says what the figures are."""
    return (f"cache plan: {cache['note']}; minimums as of {cache['minimums_as_of']}; "
            f"--cache auto marks {counted(cache['breakpoints'], 'shared prefix', )} with a "
            "1-hour cache_control in the bodies sent, never in the file")
