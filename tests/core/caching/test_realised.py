"""What caching saved, from results usage (issue 20 item 4, the computation): hit rate, cost and
saving at batch prices, and the groups where caching did not work."""

from __future__ import annotations

from typing import Any

import pytest

from batchctl.core.caching.realised import NO_CACHE, WRITES_OUTNUMBER_READS, Savings, usage_tokens
from tests.support.caching import SONNET

IN, OUT, WRITE_5M, WRITE_1H, READ = 3.0, 15.0, 3.75, 6.0, 0.30  # claude-sonnet-4-6, standard


def usd(tokens_at_rates: float) -> float:
    return tokens_at_rates / 1_000_000 * 0.5


def usage(input_tokens: int = 50, output: int = 20, read: int = 0, write_1h: int = 0,
          write_5m: int = 0) -> dict[str, Any]:
    return {"input_tokens": input_tokens, "output_tokens": output,
            "cache_read_input_tokens": read, "cache_creation_input_tokens": write_1h + write_5m,
            "cache_creation": {"ephemeral_5m_input_tokens": write_5m,
                               "ephemeral_1h_input_tokens": write_1h}, "service_tier": "batch"}


def test_usage_is_read_as_the_api_reports_it_and_nonsense_counts_zero() -> None:
    assert usage_tokens(usage(read=7, write_1h=5, write_5m=3)) == (50, 20, 3, 5, 7)
    assert usage_tokens({"input_tokens": 1, "cache_creation_input_tokens": 9}) == (1, 0, 9, 0, 0)
    hostile = {"input_tokens": "12", "output_tokens": -3, "cache_read_input_tokens": True,
               "cache_creation_input_tokens": 4, "cache_creation": {"ephemeral_1h_input_tokens": 99}}
    assert usage_tokens(hostile) == (0, 0, 0, 4, 0)


def test_one_write_and_nine_reads() -> None:
    savings = Savings()
    savings.add(SONNET, usage(write_1h=4000), group=1)
    for _ in range(9):
        savings.add(SONNET, usage(read=4000), group=1)
    cost = usd(10 * 50 * IN + 4000 * WRITE_1H + 36000 * READ + 200 * OUT)
    without = usd((500 + 40000) * IN + 200 * OUT)
    figures = savings.as_dict()
    assert figures["cache_hit_rate"] == 0.9
    assert (figures["cache_read_input_tokens"], figures["cache_creation_input_tokens"]) == (36000, 4000)
    assert figures["est_cost_usd"] == pytest.approx(cost, abs=1e-6)
    assert figures["cost_without_cache_usd"] == pytest.approx(without, abs=1e-6)
    assert figures["saved_usd"] == pytest.approx(without - cost, abs=1e-6)
    assert figures["groups"] == [{"group": 1, **{k: v for k, v in figures.items() if k != "groups"},
                                  "flags": []}]


def test_the_groups_where_caching_did_not_work_are_named() -> None:
    savings = Savings()
    for _ in range(3):
        savings.add(SONNET, usage(), group=2)  # under the minimum: both fields 0
    savings.add(SONNET, usage(write_5m=3000), group=3)
    savings.add(SONNET, usage(write_5m=3000), group=3)
    savings.add(SONNET, usage(read=3000), group=3)
    savings.add(SONNET, usage(read=500))  # in no group: counted in the job only
    figures = savings.as_dict()
    assert [(g["group"], g["flags"], g["cache_hit_rate"]) for g in figures["groups"]] == [
        (2, [NO_CACHE], None), (3, [WRITES_OUTNUMBER_READS], round(3000 / 9000, 4))]
    lost = figures["groups"][1]["saved_usd"]
    assert lost == pytest.approx(usd(6000 * IN - 6000 * WRITE_5M + 3000 * IN - 3000 * READ), abs=1e-6)
    assert figures["requests"] == 7 and figures["cache_read_input_tokens"] == 3500


def test_no_figure_for_a_model_without_prices() -> None:
    savings = Savings()
    savings.add("my-model", usage(read=10), group=1)
    figures = savings.as_dict()
    assert figures["saved_usd"] is None and figures["cache_hit_rate"] == 1.0
