"""The ``cache_control`` markers a request carries, and what the API refuses of them: the checks
behind the rules cache-markers-max, cache-ttl-order, cache-marker-block and the warning
cache-prefix-min (their table entries, with sources, are in core/requests/ruletable.py;
core/requests/rules.py applies them to every request before anything is sent). The emulator reads
the API's rules on its own (emulator/apirules.py) and does not read these yet (issue 20 item 6).

The API's own words are kept in the messages, as the other rules do.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from batchctl.core.caching.blocks import (
    SETTINGS,
    UNMARKABLE,
    Position,
    block_tokens,
    is_one_hour,
    positions,
)
from batchctl.core.caching.minimums import MinimumTable
from batchctl.core.catalog.prices import estimate_input_tokens

#: "You can define up to 4 cache breakpoints" (prompt-caching docs); a top-level cache_control
#: takes one of the 4 slots (CACHING.md, "How caching works").
MAX_MARKERS = 4
RULE_COUNT = "cache-markers-max"
RULE_TTL = "cache-ttl-order"
RULE_BLOCK = "cache-marker-block"
RULE_MINIMUM = "cache-prefix-min"

# The API's words: Wei-Shaw/sub2api#176, tghamm/Anthropic.SDK#50 ("A maximum of 4 blocks with
# cache_control may be provided. Found 5."); cnighswonger/claude-code-cache-fix#44,
# headroomlabs-ai/headroom#2939 (the TTL order); anthropics/claude-code#54013 (empty text).
TOO_MANY = "A maximum of 4 blocks with cache_control may be provided. Found {count}."
TTL_ORDER = ("a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. "
             "Note that blocks are processed in the following order: `tools`, `system`, `messages`.")
TOP_CONFLICT = ("the top-level cache_control (ttl 5m) goes on the last block, which is already "
                "marked with ttl 1h")
EMPTY_TEXT = "cache_control cannot be set for empty text blocks"
EXTRA = "Extra inputs are not permitted"


class Problem(NamedTuple):
    rule: str
    field: str  # inside params, as the API names it
    message: str
    warning: bool = False


def has_markers(params: dict[str, Any]) -> bool:
    """Whether any ``cache_control`` is set: a cheap look before the full walk."""
    if params.get("cache_control") is not None:
        return True
    for key in ("tools", "system"):
        items = params.get(key)
        if type(items) is list and any(type(b) is dict and "cache_control" in b for b in items):
            return True
    for message in params.get("messages") or ():
        content = message.get("content") if type(message) is dict else None
        if type(content) is list and any(type(b) is dict and "cache_control" in b for b in content):
            return True
    return False


def check(params: dict[str, Any], minimums: MinimumTable | None = None) -> list[Problem]:
    """What the API would refuse of a request's markers, and (with ``minimums``, for a model it
    knows) a warning for a marker whose prefix is under the model's minimum cacheable length."""
    if not has_markers(params):
        return []
    marked: list[tuple[Position, dict]] = []
    last: Position | None = None
    for pos in positions(params):
        if pos.section == SETTINGS:
            continue
        last = pos
        marker = pos.marker
        if marker is not None:
            marked.append((pos, marker))
    top = params.get("cache_control")
    top = top if type(top) is dict else None
    found = [p for pos, _ in marked if (p := _on_block(pos)) is not None]
    count = len(marked) + (top is not None)
    if count > MAX_MARKERS:
        where = f"{marked[MAX_MARKERS][0].field}.cache_control" if len(marked) > MAX_MARKERS \
            else "cache_control"
        found.append(Problem(RULE_COUNT, where, TOO_MANY.format(count=count)))
    order = _ttl_order(marked, top, last)
    if order is not None:
        found.append(order)
    if minimums is not None:
        under = _under_minimum(params, marked, top, minimums)
        if under is not None:
            found.append(under)
    return found


def _on_block(pos: Position) -> Problem | None:
    content = pos.content
    kind = content.get("type")
    if kind in UNMARKABLE:
        return Problem(RULE_BLOCK, f"{pos.field}.{kind}.cache_control", EXTRA)
    if kind == "text" and content.get("text") == "":
        return Problem(RULE_BLOCK, f"{pos.field}.text", EMPTY_TEXT)
    return None


def _ttl_order(marked: list[tuple[Position, dict]], top: dict | None,
               last: Position | None) -> Problem | None:
    """The first marker of one hour after one of five minutes, in the cache's order; a top-level
    marker is on the last block, after every other."""
    five_minutes = False
    for pos, marker in marked:
        if is_one_hour(marker):
            if five_minutes:
                return Problem(RULE_TTL, f"{pos.field}.cache_control.ttl", TTL_ORDER)
        else:
            five_minutes = True
    if top is None:
        return None
    if is_one_hour(top) and five_minutes:
        return Problem(RULE_TTL, "cache_control.ttl", TTL_ORDER)
    if not is_one_hour(top) and marked and marked[-1][0] is last and is_one_hour(marked[-1][1]):
        return Problem(RULE_TTL, "cache_control.ttl", TOP_CONFLICT)
    return None


def _under_minimum(params: dict[str, Any], marked: list[tuple[Position, dict]], top: dict | None,
                   minimums: MinimumTable) -> Problem | None:
    """A warning at the deepest marker whose prefix is under the model's minimum (the markers
    before it are then under it too); None for a model the table does not know."""
    model = params.get("model")
    minimum = minimums.known(model) if type(model) is str else None
    if minimum is None:
        return None
    message = (f"the prefix up to this marker is under {model}'s minimum cacheable length of "
               f"{minimum:,} tokens (estimated at characters/4): the API caches nothing there and "
               "both cache fields come back 0")
    if top is not None and estimate_input_tokens(params) < minimum:
        return Problem(RULE_MINIMUM, "cache_control", message, warning=True)
    deepest = None
    tokens = 0
    targets = {id(pos.content) for pos, _ in marked}
    for pos in positions(params):
        if pos.section == SETTINGS:
            continue
        tokens += block_tokens(pos.section, pos.content, pos.role)
        if id(pos.content) in targets and tokens < minimum:
            deepest = pos
    if deepest is None:
        return None
    return Problem(RULE_MINIMUM, f"{deepest.field}.cache_control", message, warning=True)
