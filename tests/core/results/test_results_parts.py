"""The parts of `results` below the CLI: CSV encoding, summary arithmetic, the atomic writer,
the on-disk spool."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest

from batchctl.core.atomic import atomic_file, sweep_stale
from batchctl.core.errors import UsageError
from batchctl.core.results import csvout
from batchctl.core.results.ordering import Spool
from tests.support.files import read_csv

MODEL = "claude-sonnet-4-6"

NASTY = 'He said "hi, there",\nthen left\r\n— naïve café, 日本語, emoji 🎉; a\ttab'


def test_csv_round_trip_keeps_quotes_newlines_commas_and_non_ascii() -> None:
    records = [
        {"custom_id": "ok", "result": {"type": "succeeded", "message": {
            "id": "m", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": NASTY[:20]}, {"type": "tool_use", "id": "t",
                        "name": "f", "input": {}}, {"type": "text", "text": NASTY[20:]}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 7, "output_tokens": 9, "cache_creation_input_tokens": 3,
                      "cache_read_input_tokens": 2}}}},
        {"custom_id": "bad", "result": {"type": "errored", "error": {"type": "error", "error": {
            "type": "invalid_request_error", "message": NASTY}, "request_id": None}}},
        {"custom_id": "late", "result": {"type": "expired"}},
    ]
    encoder = csvout.Encoder()  # as Export._csv writes a block of results
    data = (encoder.add(map(csvout.row, records)) or b"") + encoder.take()
    assert data.startswith(",".join(csvout.COLUMNS).encode() + b"\r\n")
    assert data.endswith(b"\r\n") and not data.startswith(b"\xef\xbb\xbf")
    rows = read_csv(data)
    assert [r["custom_id"] for r in rows] == ["ok", "bad", "late"]
    assert rows[0]["text"] == NASTY  # text blocks joined, tool_use skipped
    assert (rows[0]["input_tokens"], rows[0]["output_tokens"]) == ("7", "9")
    assert rows[0]["cache_creation_input_tokens"] == "3"
    assert rows[0]["cache_read_input_tokens"] == "2"
    assert rows[1]["error_type"] == "invalid_request_error"  # result.error.error, one level down
    assert rows[1]["error_message"] == NASTY
    assert rows[2] == dict.fromkeys(csvout.COLUMNS, "") | {"custom_id": "late",
                                                           "result_type": "expired"}


def _parsed_line(record: dict[str, Any]) -> bytes:
    """One results line written unlike the API (spaces after separators): the summary parses
    it in full instead of reading it as bytes."""
    return json.dumps(record).encode() + b"\n"


def _succeeded(cid: str, model: str, usage: dict[str, Any], content: Any = None) -> dict:
    return {"custom_id": cid, "result": {"type": "succeeded", "message": {
        "id": f"msg_{cid}", "type": "message", "role": "assistant", "model": model,
        "content": content or [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
        "stop_sequence": None, "usage": usage}}}


def test_read_as_bytes_or_parsed_the_summary_agrees_and_prices_each_tier() -> None:
    from batchctl.core.results.summary import Summary

    plain = [_succeeded(f"p{i}", MODEL, {"input_tokens": 10 + i, "output_tokens": 5,
                                         "cache_creation_input_tokens": 0,
                                         "cache_read_input_tokens": 0}) for i in range(5)]
    mixed = [
        _succeeded("long", "claude-haiku-5-5", {"input_tokens": 150_000, "output_tokens": 10,
                                                "cache_creation_input_tokens": 0,
                                                "cache_read_input_tokens": 0}),
        _succeeded("cache", MODEL, {"input_tokens": 1, "output_tokens": 2,
                                    "cache_creation_input_tokens": 300,
                                    "cache_read_input_tokens": 40,
                                    "cache_creation": {"ephemeral_5m_input_tokens": 200,
                                                       "ephemeral_1h_input_tokens": 100}}),
        _succeeded("tricky", MODEL, {"input_tokens": 3, "output_tokens": 4}, content=[
            {"type": "tool_use", "id": "t", "name": "f",
             "input": {"result": {"type": "errored"}, "model": "x", "usage": {"a": 1}}}]),
        {"custom_id": "e", "result": {"type": "errored", "error": {"type": "error", "error": {
            "type": "api_error", "message": 'a "usage":{ in a message'}, "request_id": None}}},
        {"custom_id": "x", "result": {"type": "expired"}},
        {"custom_id": "c", "result": {"type": "canceled"}},
    ]
    blocks = [plain, mixed]
    by_record, by_bytes = Summary(), Summary()
    for records in blocks:
        for r in records:
            by_record.add(_parsed_line(r))
        by_bytes.add(b"".join(orjson.dumps(r) + b"\n" for r in records))
    assert by_record.as_dict() == by_bytes.as_dict()
    totals = by_record.as_dict()
    assert totals["counts"] == {"succeeded": 8, "errored": 1, "canceled": 1, "expired": 1}
    assert totals["cache_creation_input_tokens"] == 300 and totals["cache_read_input_tokens"] == 40
    # haiku-5-5 above 100k prompt tokens: the long-prompt rates ($0.5 / $2.5 per million)
    assert totals["cost_by_model"]["claude-haiku-5-5"] == round(
        (150_000 * 0.5 + 10 * 2.5) / 1e6 * 0.5, 6)
    # sonnet-4-6: $3 in, $15 out, $3.75 5-minute write, $6 1-hour write, $0.3 read
    sonnet_in = sum(10 + i for i in range(5)) + 1 + 3
    sonnet_out = 5 * 5 + 2 + 4
    assert totals["cost_by_model"][MODEL] == round(
        (sonnet_in * 3 + sonnet_out * 15 + 200 * 3.75 + 100 * 6 + 40 * 0.3) / 1e6 * 0.5, 6)


def test_the_column_paths_sum_per_model_and_fall_back_per_group() -> None:
    """Blocks the summary reads as bytes, summing per model: several models,
    errored/expired lines among them, 1-hour cache writes (summed per record), a long prompt and
    a null token field (that model's group summed per record): the same figures as the full
    parse."""
    from batchctl.core.results.summary import Summary

    def usage(i: int, o: int, cw: int = 0, cr: int = 0, **extra: Any) -> dict[str, Any]:
        return {
            "input_tokens": i,
            "output_tokens": o,
            "cache_creation_input_tokens": cw,
            "cache_read_input_tokens": cr,
            **extra,
        }

    zero_1h = {"cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}}
    blocks = [
        [
            _succeeded(
                f"m{i}",
                ("claude-haiku-4-5", MODEL, "claude-opus-4-1")[i % 3],
                usage(100 + i, 7 * i, cr=i % 2, **zero_1h),
            )
            for i in range(30)
        ],
        [
            _succeeded("a", MODEL, usage(5, 6)),
            {
                "custom_id": "e",
                "result": {
                    "type": "errored",
                    "error": {
                        "type": "error",
                        "error": {"type": "overloaded_error", "message": "busy"},
                        "request_id": None,
                    },
                },
            },
            _succeeded("b", "claude-haiku-5-5", usage(150_000, 10)),  # the long-prompt tier
            _succeeded("c", "claude-haiku-5-5", usage(20, 3)),
            _succeeded("d", "claude-haiku-4-5", usage(8, None)),  # type: ignore[arg-type]
            {"custom_id": "x", "result": {"type": "expired"}},
        ],
        [
            _succeeded(
                "h",
                MODEL,
                usage(
                    1,
                    2,
                    300,
                    40,
                    cache_creation={
                        "ephemeral_5m_input_tokens": 200,
                        "ephemeral_1h_input_tokens": 100,
                    },
                ),
            ),
            _succeeded("i", "claude-haiku-4-5", usage(3, 4)),
        ],
        [_succeeded("u", "", usage(1, 1))],  # no model name: "unknown", as the full parse says
    ]
    by_record, by_bytes = Summary(), Summary()
    for records in blocks:
        for r in records:
            by_record.add(_parsed_line(r))
        by_bytes.add(b"".join(orjson.dumps(r) + b"\n" for r in records))
    assert by_bytes.as_dict() == by_record.as_dict()
    assert by_bytes.counts == {"succeeded": 37, "errored": 1, "canceled": 0, "expired": 1}
    assert ("claude-haiku-5-5", True) in by_bytes.buckets and "unknown" in {
        m for m, _ in by_bytes.buckets
    }
    # An escaped quote in the model name, no usage, usage not the last field: the same figures
    # as each line parsed on its own.
    escaped = _succeeded("q", 'claude-"odd"', usage(1, 1))
    no_usage = _succeeded("n", MODEL, usage(1, 1))
    del no_usage["result"]["message"]["usage"]
    trailing = {**_succeeded("t", MODEL, usage(1, 1)), "z": 1}
    for odd in (escaped, no_usage, trailing):
        whole, each = Summary(), Summary()
        whole.add(b"".join(orjson.dumps(r) + b"\n" for r in (blocks[0][0], odd)))
        for r in (blocks[0][0], odd):
            each.add(_parsed_line(r))
        assert whole.as_dict() == each.as_dict()


# -- the atomic writer ----------------------------------------------------------------------------
def test_atomic_file_replaces_the_target_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"old\n")
    os.chmod(target, 0o640)
    with pytest.raises(RuntimeError), atomic_file(target) as out:
        out.write(b"half")
        assert target.read_bytes() == b"old\n" and out.tmp.exists()
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # the temp file is gone
    with atomic_file(target) as out:
        out.write(b"new\n")
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o640  # an existing file keeps its mode
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_atomic_file_interrupted_and_renamed(tmp_path: Path) -> None:
    target = tmp_path / "a.jsonl"
    with pytest.raises(KeyboardInterrupt), atomic_file(target) as out:
        out.write(b"x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with atomic_file(target) as out:
        out.write(b"named by content")
        out.target = tmp_path / "a-1234.jsonl"
    assert [p.name for p in tmp_path.iterdir()] == ["a-1234.jsonl"]
    with pytest.raises(UsageError, match="cannot write"), atomic_file(tmp_path / "no" / "x"):
        pass
    with pytest.raises(UsageError, match="directory"), atomic_file(tmp_path):
        pass


def test_sweep_removes_only_temp_files_of_dead_processes(tmp_path: Path) -> None:
    target = tmp_path / "r.csv"
    dead, alive = 2**22 + 12345, os.getppid()  # a pid above pid_max is never running
    stale = tmp_path / f".r.csv.abc.{dead}.tmp"
    live = tmp_path / f".r.csv.def.{alive}.tmp"
    other = tmp_path / f".s.csv.ghi.{dead}.tmp"
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    assert sweep_stale(target) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


# -- the spool ------------------------------------------------------------------------------------
def test_spool_orders_merges_and_cleans_up() -> None:
    with Spool() as spool:
        for i in range(5000):  # more than one executemany batch
            spool.put(f"c{i}", "errored", b"old%d" % i)
        spool.put("c1", "succeeded", b"duplicate, ignored")
        spool.put("stray", "expired", b"not in the file")
        assert spool.replace_all([("c7", "succeeded", b"new7"), ("zz", "x", b"unknown")]) == 1
        wanted = ["c9", "c7", "missing", "c0"]
        assert list(spool.lookup(wanted)) == [
            ("c9", "errored", b"old9"),
            ("c7", "succeeded", b"new7"),
            ("missing", None, None),
            ("c0", "errored", b"old0"),
        ]
        assert spool.count == 5001
        everything = [f"c{i}" for i in range(5000)]
        assert list(spool.not_in(everything)) == [("stray", "expired", b"not in the file")]
        assert [c for c, _, _ in spool.in_spool_order()][:3] == ["c0", "c1", "c2"]
        path = spool.path
        assert path.is_file() and path.parent == Path(tempfile.gettempdir())
    assert not path.exists()
