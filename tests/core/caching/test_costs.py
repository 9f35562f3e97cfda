"""What a job costs as written and with a cache plan, and the break-even hit rate (issue 20 item 1):
figures checked against sums written out by hand from the price table's rates."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.caching.costs import allocate, break_even, formula
from batchctl.core.caching.report import report
from batchctl.core.catalog.prices import cost_summary, estimate_input_tokens
from batchctl.core.requests.scan import scan_file
from tests.support.caching import DOC, EPH, SONNET, SYSTEM, ask, grouped, questions, text
from tests.support.files import write_params

PREFIX = math.ceil(len(SYSTEM) / 4) + math.ceil(len(DOC) / 4)
# claude-sonnet-4-6, USD per million tokens at standard rates (core/catalog/prices.json)
IN, OUT, WRITE_5M, WRITE_1H, READ = 3.0, 15.0, 3.75, 6.0, 0.30


def usd(tokens_at_rates: float) -> float:
    return tokens_at_rates / 1_000_000 * 0.5  # the batch discount


def figures(requests: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    return report(grouped(requests), **kwargs).as_dict()


def test_allocate_reads_the_deepest_prefix_written_before_and_writes_the_rest() -> None:
    assert allocate(100, [], True) == (100, 0, 0, 0)
    assert allocate(100, [(60, True, False)], True) == (40, 0, 60, 0)
    assert allocate(100, [(60, True, True)], True) == (40, 0, 0, 60)
    assert allocate(100, [(60, True, True)], False) == (40, 0, 60, 0)
    # a 1-hour mark read, a 5-minute one after it written from there
    assert allocate(100, [(30, True, True), (80, False, False)], True) == (20, 50, 0, 30)
    assert allocate(100, [(30, True, True), (80, False, False)], False) == (20, 50, 30, 0)


def test_break_even_between_never_and_always() -> None:
    assert break_even((10.0, 10.0), (12.0, 11.0)) is None  # dearer even at best
    assert break_even((10.0, 10.0), (9.0, 5.0)) == 0.0  # cheaper even with no hit
    assert break_even((10.0, 10.0), (12.0, 6.0)) == round(2 / 6, 4)


def test_the_docs_formula_per_model() -> None:
    assert formula(SONNET) == round(1 / 1.9, 4)  # w = 2, r = 0.1: about 53%
    assert formula("claude-fable-5-1") == round(1 / (2 - 0.025), 4)  # reads at 0.025x
    assert formula("not-a-model") is None


def test_ten_questions_about_one_document() -> None:
    requests = questions(10)
    totals = [estimate_input_tokens(r) for r in requests]
    output = sum(r["max_tokens"] for r in requests) * OUT
    plain = usd(sum(totals) * IN + output)
    rest = sum(t - PREFIX for t in totals) * IN
    best = usd(rest + PREFIX * WRITE_1H + 9 * PREFIX * READ + output)
    low = usd(rest + PREFIX * WRITE_1H + 9 * PREFIX * (0.3 * READ + 0.7 * WRITE_1H) + output)
    cache = figures(requests)
    assert cache["cost_as_written"] == pytest.approx(plain, abs=1e-6)
    assert cache["cost_as_written_30pct"] == cache["cost_as_written"]  # no markers: no hit rate
    assert cache["cost_planned_best"] == pytest.approx(best, abs=1e-6)
    assert cache["cost_planned_30pct"] == pytest.approx(low, abs=1e-6)
    assert cache["break_even_hit_rate"] == round(10 / (1.9 * 9), 4)  # n/(n-1) * (w-1)/(w-r)
    assert cache["saving_best"] == pytest.approx(plain - best, abs=1e-6)
    assert (cache["breakpoints"], cache["marked_requests"], cache["ungrouped_requests"]) == (1, 10, 0)
    [group] = cache["groups"]
    assert group["cost_planned_best"] == cache["cost_planned_best"]
    assert (group["at"], group["prefix_tokens"], group["min_cacheable_tokens"]) == (
        "messages.0.content.0", PREFIX, 1024)
    assert group["break_even_formula"] == round(1 / 1.9, 4)


def test_fable_5_1_reads_at_its_own_rate() -> None:
    requests = questions(2, model="claude-fable-5-1", max_tokens=1)
    totals = [estimate_input_tokens(r) for r in requests]
    best = usd(sum(t - PREFIX for t in totals) * 10.0 + PREFIX * 20.0 + PREFIX * 0.25 + 2 * 50.0)
    assert figures(requests)["cost_planned_best"] == pytest.approx(best, abs=1e-6)


def test_markers_as_written_are_honoured() -> None:
    """A marker on the varying question writes every time (1.25x, never read); one on the shared
    document is read after its first write, and the plan, finding it there, adds nothing."""
    varying = []
    for i, r in enumerate(questions(3)):
        r["messages"][0]["content"][1] = text(f"Question {i}", EPH)
        varying.append(r)
    totals = [estimate_input_tokens(r) for r in varying]
    cache = figures(varying)
    written = usd(sum(totals) * WRITE_5M + sum(r["max_tokens"] for r in varying) * OUT)
    assert cache["cost_as_written"] == pytest.approx(written, abs=1e-6)
    assert cache["cost_as_written"] > figures(questions(3))["cost_as_written"]
    shared = questions(3)
    for r in shared:
        r["messages"][0]["content"][0] = text(DOC, EPH)
    cache = figures(shared)
    assert cache["marked_requests"] == 0
    assert cache["groups"][0]["skipped_requests"] == {"already_marked": 3}
    assert cache["cost_planned_best"] == cache["cost_as_written"]
    assert cache["break_even_hit_rate"] is None
    assert cache["cost_as_written_30pct"] > cache["cost_as_written"]


def test_a_marker_under_the_minimum_is_plain_input() -> None:
    short = [ask(f"q{i}", doc="A short note.", system=[text(SYSTEM, EPH)]) for i in range(3)]
    plain = [ask(f"q{i}", doc="A short note.") for i in range(3)]
    assert figures(short)["cost_as_written"] == figures(plain)["cost_as_written"]
    assert figures(short)["breakpoints"] == 0


def test_a_model_without_prices_gets_no_figure() -> None:
    cache = figures([*questions(2), *questions(2, model="my-model")])
    assert cache["cost_as_written"] is None and cache["break_even_hit_rate"] is None
    assert cache["unpriced_models"] == ["my-model"]
    assert cache["groups"][0]["cost_planned_best"] is not None  # the sonnet group is priced
    assert cache["groups"][1]["min_cacheable_tokens"] == 4096  # assumed: the largest
    assert cache["groups"][1]["minimum_source"] == "assumed"


def test_the_report_carries_the_keys_of_the_json_contract() -> None:
    cache = figures(questions(2))
    for key in ("groups", "breakpoints", "cost_as_written", "cost_planned_best",
                "cost_planned_30pct", "break_even_hit_rate", "plan_digest", "minimums_as_of",
                "prices_as_of"):
        assert key in cache, key
    assert len(cache["plan_digest"]) == 64


def test_as_written_without_markers_is_the_dry_runs_estimate(tmp_path: Path) -> None:
    requests = [*questions(3), *questions(2, model="claude-opus-4-8"), ask("x", max_tokens=7)]
    scan = scan_file(write_params(tmp_path / "in.jsonl", *requests))
    dry_run = cost_summary(scan.models, scan.input_tokens, scan.output_tokens, scan.long_tokens)
    assert figures(requests)["cost_as_written"] == pytest.approx(dry_run["est_cost_usd"], abs=1e-6)
