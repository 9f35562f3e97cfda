"""Counted words in messages, written one way: ``1 part``, ``2 parts``, ``1 batch``,
``250,000 requests`` (numbers a person reads, with thousands separators). Every message that
puts a count before a noun goes through ``counted`` (or ``plural`` for the word alone), so
"1 parts" cannot come back in one place while it is fixed in another. Amounts of money are
written one way too (``usd``)."""

from __future__ import annotations

# Verbs by their singular form: "1 part goes", "2 parts go".
IRREGULAR = {"batch": "batches", "is": "are", "was": "were", "has": "have", "goes": "go"}


def plural(word: str, n: int) -> str:
    """``word`` as it reads after the number ``n``: ``plural("batch", 2) == "batches"``."""
    if n == 1:
        return word
    return IRREGULAR.get(word, word + "s")


def counted(n: int, word: str) -> str:
    """``counted(1, "part") == "1 part"``, ``counted(250000, "request") == "250,000 requests"``."""
    return f"{n:,} {plural(word, n)}"


def usd(value: float) -> str:
    """An estimated amount in USD as a person reads it: cents (``$1,234.50``), or four decimals
    below a cent (``$0.0012``)."""
    return f"${value:,.2f}" if abs(value) >= 0.01 or value == 0 else f"${value:.4f}"
