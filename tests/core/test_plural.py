"""One way to write a count and its noun (issue 21, item 4: `status` said "1 parts")."""

from __future__ import annotations

from batchctl.core.plural import counted, plural


def test_a_count_of_one_is_singular_and_numbers_get_thousands_separators() -> None:
    assert counted(1, "part") == "1 part" and counted(0, "part") == "0 parts"
    assert counted(3, "part") == "3 parts"
    assert counted(1, "batch") == "1 batch" and counted(2, "batch") == "2 batches"
    assert counted(250_000, "request") == "250,000 requests"
    assert counted(2, "failed request") == "2 failed requests"


def test_verbs_agree_with_the_count() -> None:
    assert [plural(w, 1) for w in ("is", "was", "has", "goes")] == ["is", "was", "has", "goes"]
    assert [plural(w, 2) for w in ("is", "was", "has", "goes")] == ["are", "were", "have", "go"]
