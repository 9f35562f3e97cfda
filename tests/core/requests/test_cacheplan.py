"""The scan with a cache plan (core/requests/cacheplan.py): the parts are cut by the sizes sent,
each body streams exactly the bytes the scan measured, the plan names each group's first line,
and a plain submit plans only a sample."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from batchctl.core.caching.place import CachePlan
from batchctl.core.requests.body import iter_body
from batchctl.core.requests.cacheplan import SAMPLE, Caching
from batchctl.core.requests.scan import BODY_OVERHEAD, Scan, scan_file
from tests.support.caching import DOC, SONNET, ask

MARKER = {"type": "ephemeral", "ttl": "1h"}


def mixed_file(path: Path, count: int = 12) -> Path:
    """Native lines as orjson writes them, lines with spaces, OpenAI-style lines, a BOM, blank
    lines and CRLF; a string system prompt and string questions: markers on the document."""
    out = [b"\xef\xbb\xbf"]
    for i in range(count):
        params = {"model": SONNET, "max_tokens": 40, "system": DOC,
                  "messages": [{"role": "user", "content": f"question {i} \u00e9"}]}
        if i % 3 == 0:
            line = orjson.dumps({"custom_id": f"r{i}", "params": params})
        elif i % 3 == 1:
            line = json.dumps({"custom_id": f"r{i}", "params": params}).encode()
        else:
            line = orjson.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/messages",
                                 "body": params})
        out.append(line + (b"\r\n" if i % 4 == 0 else b"\n"))
        if i % 5 == 0:
            out.append(b"\n")
    path.write_bytes(b"".join(out))
    return path


def sent(path: Path, scan: Scan) -> list[bytes]:
    plan = CachePlan.from_record(scan.cache.plan) if scan.cache.plan else None
    bodies = []
    for part in scan.parts:
        body = b"".join(iter_body(path, part, plan))
        assert len(body) == part.body_size  # what the scan measured is what streams
        bodies.append(body)
    return bodies


def test_every_body_streams_the_bytes_the_split_measured(tmp_path: Path) -> None:
    path = mixed_file(tmp_path / "m.jsonl")
    before = path.read_bytes()
    scan = scan_file(path, caching=Caching("auto", warmup=False))
    (body,) = sent(path, scan)
    requests = orjson.loads(body)["requests"]
    assert len(requests) == 12
    for r in requests:
        assert r["params"]["system"] == [{"type": "text", "text": DOC, "cache_control": MARKER}]
    assert path.read_bytes() == before


def test_the_split_holds_the_byte_limit_with_the_markers(tmp_path: Path) -> None:
    path = mixed_file(tmp_path / "m.jsonl")
    each = scan_file(path, max_requests=1, caching=Caching("off", given=True))
    sizes = [p.body_size - BODY_OVERHEAD for p in each.parts]  # each line as written
    limit = BODY_OVERHEAD + sizes[0] + 1 + sizes[1]  # the first two lines as written, exactly
    unmarked = scan_file(path, max_bytes=limit, caching=Caching("off", given=True))
    marked = scan_file(path, max_bytes=limit, caching=Caching("auto"))
    assert unmarked.parts[0].request_count == 2
    assert marked.parts[0].request_count == 1  # with its marker, the second no longer fits
    assert all(p.body_size <= limit for p in marked.parts)
    bodies = sent(path, marked)
    assert sum(len(orjson.loads(b)["requests"]) for b in bodies) == 12


def test_the_summary_names_each_planned_groups_first_line(tmp_path: Path) -> None:
    lines = [{"custom_id": f"q{i}", "params": ask(f"q{i}")} for i in range(3)]
    lines += [{"custom_id": f"o{i}", "params": ask(f"o{i}", doc=DOC.upper())} for i in range(2)]
    path = tmp_path / "g.jsonl"
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    scan = scan_file(path, caching=Caching("auto"))
    assert scan.cache.firsts == [1, 4]
    assert scan.cache.report["breakpoints"] == 2


def test_a_plain_submit_plans_only_a_sample(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    one = {"model": SONNET, "max_tokens": 10, "system": DOC[:5000],
           "messages": [{"role": "user", "content": "q"}]}
    path.write_bytes(b"".join(
        orjson.dumps({"custom_id": f"r{i}", "params": {**one, "messages": [
            {"role": "user", "content": f"q{i}"}]}}) + b"\n" for i in range(SAMPLE + 50)))
    plain = scan_file(path, caching=Caching())
    assert plain.cache.sample == SAMPLE
    assert plain.cache.report["groups"][0]["requests"] == SAMPLE
    assert plain.cache.plan is None and plain.cache.digest == ""
    whole = scan_file(path, caching=Caching(whole=True))
    assert whole.cache.sample is None
    assert whole.cache.report["groups"][0]["requests"] == SAMPLE + 50
    assert scan_file(path, caching=Caching("off", given=True)).cache is None  # --cache off


def test_a_warm_up_streams_the_bytes_measured_and_no_request_twice(tmp_path: Path) -> None:
    path = mixed_file(tmp_path / "m.jsonl")
    scan = scan_file(path, caching=Caching("auto"), max_requests=5)
    warm, *rest = scan.parts
    assert warm.only == frozenset(scan.cache.firsts) and all(p.after == 1 for p in rest)
    bodies = [orjson.loads(b)["requests"] for b in sent(path, scan)]
    ids = [r["custom_id"] for body in bodies for r in body]
    assert len(ids) == len(set(ids)) == scan.request_count == 12
    assert len(bodies[0]) == len(scan.cache.firsts)
    assert all(r["params"]["system"][0]["cache_control"] == MARKER for r in bodies[0])

