"""CSV in the request file's order made in one pass (batchctl.core.results.csvorder) writes what
the general way (the spool of lines, looked up one by one, then parsed again) writes: the same
bytes, summary and notes, on results as odd as they come: an id twice, an id the file does not
have, requests with no result, result types the API does not name, text that needs quoting,
thinking blocks, --only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.results import csvorder
from batchctl.core.results.export import Export
from batchctl.core.results.options import Options
from batchctl.core.results.selection import Source


def succeeded(cid: str, text: str, *, model: str = "claude-haiku-4-5",
              thinking: str | None = None) -> dict[str, Any]:
    content = ([{"type": "thinking", "thinking": thinking, "signature": "s"}] if thinking else [])
    content.append({"type": "text", "text": text})
    message = {"id": f"msg_{cid}", "type": "message", "role": "assistant", "model": model,
               "content": content, "stop_reason": "end_turn", "stop_sequence": None,
               "usage": {"input_tokens": len(cid), "output_tokens": len(text),
                         "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}
    return {"custom_id": cid, "result": {"type": "succeeded", "message": message}}


def other(cid: str, kind: Any) -> dict[str, Any]:
    if kind == "errored":
        error = {"type": "error", "error": {"type": "api_error", "message": 'says "no", twice'}}
        return {"custom_id": cid, "result": {"type": "errored", "error": error}}
    return {"custom_id": cid, "result": {"type": kind}}


IDS = [f"r{i:04}" for i in range(4500)]  # more than one block of 2000 either way
RESULTS = [
    other("r0007", "errored"),
    succeeded("r0003", "a, b\r\nand \"c\"", thinking="first\nthought"),
    succeeded("r0007", "a second result of r0007: the first one is kept"),
    other("stray-1", "expired"),
    other("r0010", "weird"),  # a type the API does not name
    other("r0004", 5),  # not even a string
    other("r0012", "also-weird"),
    succeeded("r0002", "é ünïcode ✓", model="claude-sonnet-4-6"),
    other("r0001", "canceled"),
    other("stray-0", "succeeded"),
    *[succeeded(cid, f"answer {cid}") for cid in reversed(IDS[20:])],
]  # r0000, r0005, r0006, r0008, r0009, r0011, r0013..r0019: no result


class Crafted(Export):
    """An export whose download is ``body``, in chunks that cut lines anywhere."""

    body = b""

    def _fetch(self, source: Source) -> Iterator[bytes]:
        return iter([self.body[i:i + 7001] for i in range(0, len(self.body), 7001)])


def export(requests: Path, options: Options, *, general: bool,
           monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, dict[str, Any], list[str], int]:
    row = {"request_file": str(requests)}
    source = Source({"id": "msgbatch_1", "request_counts": {"succeeded": len(RESULTS)}}, row)
    exported = Crafted(None, None, [source], [], options)  # type: ignore[arg-type]
    exported.body = b"".join(json.dumps(r).encode() + b"\n" for r in RESULTS)
    with monkeypatch.context() as m:
        if general:
            m.setattr(csvorder, "applies", lambda reader: False)
        data = b"".join(exported.chunks())
    notes = [n.text for n in exported.notes]
    return data, exported.summary.as_dict(), notes, exported.ordered  # ordered: the step's count


@pytest.mark.parametrize("options", [
    Options(format="csv", order="input"),
    Options(format="csv", order="input", only=frozenset({"succeeded", "errored"})),
    Options(format="csv", order="input", thinking=True),
    Options(format="csv", order="input", columns=("text", "custom_id", "thinking")),
], ids=["all", "only", "thinking", "columns"])
def test_one_pass_writes_what_the_general_way_writes(
    options: Options, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps({"custom_id": c, "params": {}}) + "\n" for c in IDS))
    fast = export(requests, options, general=False, monkeypatch=monkeypatch)
    slow = export(requests, options, general=True, monkeypatch=monkeypatch)
    assert fast == slow
    data, summary, notes, _ = fast
    rows = data.decode().split("\r\n")
    if options.columns is not None:
        assert rows[0] == "text,custom_id,thinking" and rows[2] == "é ünïcode ✓,r0002,"
        return
    assert rows[1 if options.only else 2].startswith("r0002,succeeded,claude-sonnet-4-6")
    assert 'says ""no"", twice' in data.decode()  # the first r0007 is the one kept
    assert b"second result" not in data
    assert rows[-2].startswith("stray-0,succeeded")  # after the file's rows, as they came
    assert summary["counts"]["succeeded"] == len(IDS) - 20 + 3
    if options.only is None:
        assert rows[1].startswith("r0001,canceled") and rows[-3].startswith("stray-1,expired")
        assert list(summary["counts"])[4:] == ["unknown", "weird", "also-weird"]  # file order
        assert notes == ["13 requests of the request file have no result",
                         "2 results have a custom_id that is not in the request file; "
                         "they come last"]


def test_a_request_file_that_repeats_an_id_goes_the_general_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = tmp_path / "requests.jsonl"
    repeated = [*IDS[:30], "r0003", *IDS[30:]]
    requests.write_text("".join(json.dumps({"custom_id": c}) + "\n" for c in repeated))
    options = Options(format="csv", order="input")
    fast = export(requests, options, general=False, monkeypatch=monkeypatch)
    assert fast == export(requests, options, general=True, monkeypatch=monkeypatch)
    assert fast[0].count(b"\r\nr0003,succeeded") == 2  # written for each line that asks
    assert fast[1]["counts"]["succeeded"] == len(IDS) - 20 + 4
