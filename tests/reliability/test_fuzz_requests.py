"""The request reader fuzzed: random bytes, mutated valid files, hostile JSON shapes.

Whatever the file holds, `scan_file` either accepts it (and then the parts and the streamed body
agree with what it measured) or raises InputError whose problems are all ``FILE:LINE: message``
with a real line number; `batchctl submit --dry-run` exits 0 or 3 on the same files, never 1.
Deterministic: derandomized hypothesis, bounded examples.
"""

from __future__ import annotations

import re
import string
import tempfile
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from batchctl.core.errors import ExitCode, InputError
from batchctl.core.requests.body import part_body
from batchctl.core.requests.scan import scan_file
from tests.helpers import invoke

FUZZ = settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
NAME = "in.jsonl"
PROBLEM = re.compile(r"^in\.jsonl:(\d+): \S")

_WORK = Path(tempfile.mkdtemp(prefix="batchctl-fuzz-"))


def physical_lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def has_content(data: bytes) -> bool:
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    return any(line.strip() for line in body.split(b"\n"))


def check_scan(data: bytes, **limits: int) -> str:
    """Scan ``data``; assert the contract either way. Returns "ok" or "rejected"."""
    path = _WORK / NAME
    path.write_bytes(data)
    try:
        scan = scan_file(path, display_name=NAME, max_problems=20, **limits)
    except InputError as exc:
        assert exc.exit_code == ExitCode.INVALID_INPUT
        assert exc.problems, "an InputError without problems"
        lines = physical_lines(data)
        for problem in exc.problems:
            assert "\n" not in problem and "\r" not in problem, problem  # one line each
            m = PROBLEM.match(problem)
            if m is None:
                # The one problem with no line to point at: a file with no request on any line.
                assert problem.startswith(f"{NAME}: no requests"), problem
                assert not has_content(data), problem
                continue
            assert 1 <= int(m.group(1)) <= lines, (problem, lines)
        assert exc.more >= 0
        return "rejected"
    # Accepted: the parts cover every request once, in order, and each streamed body is the
    # JSON document it claims to be, of exactly the size measured.
    assert scan.byte_size == len(data)
    assert scan.request_count == sum(p.request_count for p in scan.parts) >= 1
    expected_line = 0
    for part in scan.parts:
        assert part.first_line > expected_line
        expected_line = part.last_line
        body = b"".join(part_body(path, part))
        assert len(body) == part.body_size
        doc = orjson.loads(body)
        assert len(doc["requests"]) == part.request_count
        for request in doc["requests"]:
            assert set(request) == {"custom_id", "params"}
        if "max_bytes" in limits:
            assert part.body_size <= limits["max_bytes"]
    return "ok"


# -- strategies -------------------------------------------------------------------------------
# The custom_id rule's language, drawn directly (from_regex drew and filtered: 3x slower).
custom_ids = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=64)
text = st.text(max_size=40)
json_leaf = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | text | st.floats(
    allow_nan=False, allow_infinity=False
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def valid_request(draw: st.DrawFn) -> dict:
    params: dict = {
        "model": draw(st.sampled_from(["claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-5"])),
        "max_tokens": draw(st.integers(1, 4096)),
        "messages": [{"role": "user", "content": draw(text | st.lists(
            st.fixed_dictionaries({"type": st.just("text"), "text": text}), min_size=1,
            max_size=3))}],
    }
    params.update(draw(st.dictionaries(st.sampled_from(["system", "metadata", "tools", "zz"]),
                                       json_value, max_size=2)))
    if draw(st.booleans()):
        return {"custom_id": draw(custom_ids), "params": params}
    return {"custom_id": draw(custom_ids), "method": "POST", "url": "/v1/messages",
            "body": params}


@st.composite
def valid_file(draw: st.DrawFn) -> bytes:
    requests = draw(st.lists(valid_request(), min_size=1, max_size=8,
                             unique_by=lambda r: r["custom_id"]))
    lines = [orjson.dumps(r) for r in requests]
    sep = draw(st.sampled_from([b"\n", b"\r\n", b"\n\n", b"\n  \n"]))
    data = sep.join(lines) + draw(st.sampled_from([b"", b"\n", b"\r\n"]))
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data


@st.composite
def mutated_file(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(valid_file()))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup_line", "truncate", "splice"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=4) | st.sampled_from(
                [b"\n", b"\r", b"\x00", b"\xef\xbb\xbf", b'"', b"{", b"}", b",", b"\\u0000",
                 b"\xed\xa0\x80", b"\xff", b"\xc3"]))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 8))]
        elif op == "dup_line":
            lines = bytes(data).split(b"\n")
            j = draw(st.integers(0, len(lines) - 1))
            lines.insert(j, lines[j])
            data = bytearray(b"\n".join(lines))
        elif op == "truncate":
            del data[i:]
        else:  # replace a JSON token with another value
            data[i:i] = orjson.dumps(draw(json_value))
    return bytes(data)


# -- tests ------------------------------------------------------------------------------------
@FUZZ
@given(st.binary(max_size=400))
@example(b"")
@example(b"\xef\xbb\xbf")
@example(b"\n\r\n \t\x0b\x0c\n")
@example(b"\xff\xfe{}\n")
@example(b"[]\n{}\nnull\n1\n\"s\"\n")
def test_random_bytes_are_accepted_or_reported_by_line(data: bytes) -> None:
    assert check_scan(data) == "rejected"  # random bytes never make a valid request


@FUZZ
@given(valid_file())
def test_valid_files_are_accepted(data: bytes) -> None:
    assert check_scan(data) == "ok"


@FUZZ
@given(mutated_file(), st.sampled_from([{}, {"max_requests": 2}, {"max_bytes": 600}]))
def test_mutated_files_are_accepted_or_reported_by_line(data: bytes, limits: dict) -> None:
    assert check_scan(data, **limits) in ("ok", "rejected")


def _deep(depth: int) -> str:
    return "[" * depth + '"x"' + "]" * depth


DEEP = 1000  # orjson reads up to 1024 levels, writes at most 254, and Python recurses ~1000
HOSTILE = {
    "deep content": '{"custom_id":"a","params":{"model":"m","max_tokens":5,'
    '"messages":[{"role":"user","content":%s}]}}' % _deep(DEEP),
    "deep tools": '{"custom_id":"a","params":{"model":"m","max_tokens":5,'
    '"messages":[{"role":"user","content":"hi"}],"tools":%s}}' % _deep(DEEP),
    "deep tool_use input": '{"custom_id":"a","params":{"model":"m","max_tokens":5,'
    '"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n",'
    '"input":{"k":%s}}]}]}}' % _deep(DEEP),
    "deep model": '{"custom_id":"a","params":{"model":%s,"max_tokens":5,'
    '"messages":[{"role":"user","content":"hi"}]}}' % _deep(DEEP),
    "deep max_tokens": '{"custom_id":"a","params":{"model":"m","max_tokens":%s,'
    '"messages":[{"role":"user","content":"hi"}]}}' % _deep(DEEP),
    "deep openai body": '{"custom_id":"a","method":"POST","url":"/v1/messages","body":'
    '{"model":"m","max_tokens":5,"messages":[{"role":"user","content":%s}]}}' % _deep(DEEP),
    "deep extra key": '{"custom_id":"a","params":{"model":"m","max_tokens":5,'
    '"messages":[{"role":"user","content":"hi"}]},"note":%s}' % _deep(DEEP),
    "deep url": '{"custom_id":"a","method":"POST","url":%s,"body":{}}' % _deep(DEEP),
    "too deep for orjson": _deep(1100),
    "huge integer": '{"custom_id":"a","params":{"model":"m","max_tokens":'
    '123456789012345678901234567890,"messages":[{"role":"user","content":"hi"}]}}',
    "lone surrogate": '{"custom_id":"a","params":{"model":"\\ud800","max_tokens":5,'
    '"messages":[{"role":"user","content":"\\udc00"}]}}',
    "line breaks in values": '{"custom_id":"a\\nb","method":"GET\\r\\n","url":"/v1/\\u2028",'
    '"body":{"model":"","max_tokens":"1\\n2","messages":[]}}',
    "nul bytes": '{"custom_id":"a\\u0000","params":{"model":"m\\u0000","max_tokens":5,'
    '"messages":[{"role":"user","content":"\\u0000"}]}}',
}


@pytest.mark.parametrize("line", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_json_shapes_are_accepted_or_reported_by_line(line: str) -> None:
    data = (line + "\n").encode()
    assert check_scan(data) in ("ok", "rejected")
    assert check_scan(data + data) == "rejected"  # the same custom_id twice


@settings(FUZZ, max_examples=25)
@given(st.one_of(mutated_file(), st.binary(max_size=200)))
@example(("\n".join(HOSTILE.values()) + "\n").encode())
def test_cli_exits_0_or_3_with_file_line_problems(data: bytes) -> None:
    path = _WORK / NAME
    path.write_bytes(data)
    result = invoke(["submit", "--dry-run", str(path)])
    assert result.exit_code in (ExitCode.OK, ExitCode.INVALID_INPUT), (
        result.exit_code, result.stderr[-2000:], result.exception)
    if result.exit_code == ExitCode.INVALID_INPUT:
        problems = [x for x in result.stderr.splitlines() if x.startswith(str(path))]
        assert problems, result.stderr
        for line in problems:
            assert re.match(re.escape(str(path)) + r"(:\d+)?: \S", line), line
        assert "Traceback" not in result.stderr
