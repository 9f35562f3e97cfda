"""What a results summary says about prompt caching, in words: the ``cache`` lines of the stderr
summary (`results`, `run`, `collect`) and of the GitHub step summary, from the summary's figures
(``Summary.as_dict``: ``cache_hit_rate``, ``saved_usd``, ``cost_without_cache_usd``,
``cache_marked_requests``, ``cache_groups``; core/caching/realised.py and groups.py), so every
place says the same.

Short where caching played no part: no line at all when both cache fields are 0 in every result
and no request carried a marker (or the requests are not known); one line saying so when
markers were sent and nothing was cached. Then the groups where caching did not work, the first
``SHOWN`` named, the others counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchctl.core.api.untrusted import printable
from batchctl.core.caching.realised import NO_CACHE
from batchctl.core.plural import counted, usd

SHOWN = 5  # groups named in a summary's lines; --summary-json lists more (groups.NAMED)
LABEL = "cache"


def _name(text: Any) -> str:
    """A model or custom_id (the user's or the server's text), safe on a terminal."""
    return printable(str(text), limit=60)


def cache_lines(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(label, text)`` lines about caching of a summary's figures ``data``."""
    read, written = data["cache_read_input_tokens"], data["cache_creation_input_tokens"]
    marked = data.get("cache_marked_requests")
    if read or written:
        lines = [(LABEL, _saving(data))]
    elif marked:
        lines = [(LABEL, f"nothing was cached, although {counted(marked, 'request')} carried "
                         "a cache_control marker")]
    else:
        return []
    groups = data.get("cache_groups") or []
    lines += [(f"{LABEL} group {g['group']}", _group(g)) for g in groups[:SHOWN]]
    more = data.get("cache_groups_flagged", 0) - min(SHOWN, len(groups))
    if more > 0:
        lines.append((LABEL, f"and {counted(more, 'more group')} where caching did not work"))
    return lines


def _saving(data: Mapping[str, Any]) -> str:
    text = f"{data['cache_hit_rate']:.1%} hit rate (by tokens)"
    saved, without = data.get("saved_usd"), data.get("cost_without_cache_usd")
    if saved is None or without is None:
        return text
    if saved >= 0:
        return f"{text}; saved {usd(saved)} of {usd(without)} without caching"
    return f"{text}; {usd(-saved)} more than the {usd(without)} without caching"


def _group(group: Mapping[str, Any]) -> str:
    model = _name(group["model"])
    head = (f"{counted(group['requests'], 'request')} of {model} from line {group['first_line']} "
            f"({_name(group['first_custom_id'])})")
    if NO_CACHE in group["flags"]:
        return (f"{head}: nothing cached in {counted(group['results'], 'result')}; is the marked "
                f"prefix under {model}'s minimum of {group['min_cacheable_tokens']:,} tokens?")
    saved = group.get("saved_usd")
    lost = f" ({usd(-saved)} more than without caching)" if saved is not None and saved < 0 else ""
    return (f"{head}: wrote {group['cache_creation_input_tokens']:,} tokens, read "
            f"{group['cache_read_input_tokens']:,}{lost}; did its requests run together before "
            "a write could be read (send one first, as a warm-up), or does the marked block vary?")
