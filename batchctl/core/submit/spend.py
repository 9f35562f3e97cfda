"""``--max-cost USD``: refuse to submit a file whose worst-case cost is above a cap.

The figure is the dry run's (``batchctl.core.catalog.prices``): input tokens estimated from the
text, output priced at every request's ``max_tokens``, at batch rates. That is the most the
file can cost (bar a poor input estimate), so a file under the cap cannot go far over it. Over
the cap, nothing is sent (exit 10) and the message says both figures, and the largest
``max_tokens`` that would bring the worst case under the cap, when there is one: with every
request's ``max_tokens`` at most M, output costs at most M x (requests x output rate) per model.
A model the price table does not know has no figure, so the cap cannot be checked: refused too.
"""

from __future__ import annotations

import math

from batchctl.core.errors import SpendLimitError, UsageError


def parse_max_cost(text: str | None, where: str = "max_cost") -> float | None:
    """``--max-cost`` in USD (``where``: how the caller names what gave the text, a flag or a
    variable); None: no cap. ``5``, ``0.25``, ``$5`` are accepted."""
    if text is None:
        return None
    try:
        value = float(text.strip().lstrip("$").strip())
    except ValueError:
        raise UsageError(f"{where} must be an amount in USD such as 5 or 0.25, not {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{where} must be an amount in USD of 0 or more, not {text!r}")
    return value


def check_cap(
    cap: float,
    models: dict[str, int],
    input_tokens: dict[str, int],
    output_tokens: dict[str, int],
    name: str = "max_cost",
    server_tools: int = 0,
) -> float:
    """The worst-case cost at batch rates; SpendLimitError (exit 10) if it is above ``cap``.
    ``models``: requests per model; ``output_tokens``: the sum of their max_tokens; ``name``:
    how the caller names the cap; ``server_tools``: requests whose output can exceed max_tokens
    (the figure is then no worst case, and the message says so: BATCHES_API.md 12.6)."""
    from batchctl.core.catalog.prices import batch_cost

    total = 0.0
    input_cost = 0.0
    per_token = 0.0  # USD per output token allowed to every request
    unpriced = []
    for model, requests in sorted(models.items()):
        cost = batch_cost(model, input_tokens.get(model, 0), output_tokens.get(model, 0))
        if cost is None:
            unpriced.append(model)
            continue
        total += cost
        input_only = batch_cost(model, input_tokens.get(model, 0), 0) or 0.0
        input_cost += input_only
        per_token += (batch_cost(model, 0, requests) or 0.0)
    if unpriced:
        raise SpendLimitError(
            f"{name} ${cap:,.2f} cannot be checked: no price for model "
            f"{', '.join(unpriced)} in the price table; nothing was sent",
        )
    if total <= cap:
        return total
    hint = None
    if input_cost >= cap:
        hint = (f"the input alone is estimated at ${input_cost:,.2f}: no max_tokens brings it "
                "under the cap")
    elif per_token > 0:
        most = math.floor((cap - input_cost) / per_token)
        while most > 0 and input_cost + most * per_token > cap:  # float rounding
            most -= 1
        average = sum(output_tokens.values()) / max(1, sum(models.values()))
        if most >= 1:
            hint = (f"it would pass with max_tokens of at most {most:,} on every request "
                    f"(now {average:,.0f} on average)")
        else:
            hint = "even max_tokens 1 on every request would not bring it under the cap"
    from batchctl.core.catalog.prices import not_a_bound

    figure = "the estimated cost" if server_tools else "the worst-case cost"
    bound = f", which is {not_a_bound(server_tools)}" if server_tools else ""
    raise SpendLimitError(
        f"{figure}, ${total:,.2f} at batch rates (input estimated, output at "
        f"max_tokens{bound}), is above {name} ${cap:,.2f}; nothing was sent",
        hint=hint,
    )
