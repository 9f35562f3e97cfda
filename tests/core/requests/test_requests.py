"""Request files: validation with line numbers, both line forms, splitting, the streamed body."""

from __future__ import annotations

from functools import partial

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchctl.core.catalog.prices import estimate_input_tokens
from batchctl.core.errors import ExitCode, InputError, StateError, UsageError
from batchctl.core.requests.body import CHUNK_SIZE, READ_SIZE, iter_body, part_body
from batchctl.core.requests.scan import (
    BODY_OVERHEAD,
    check_limits,
    parse_size,
    scan_file,
)
from tests.support.files import request

req = partial(request, max_tokens=16)


def line(obj) -> bytes:
    return orjson.dumps(obj)


def write(tmp_path, *lines: bytes | dict, name: str = "in.jsonl", end: bytes = b"\n"):
    path = tmp_path / name
    path.write_bytes(b"".join((line(x) if isinstance(x, dict) else x) + end for x in lines))
    return path


def problems(path, **kwargs) -> list[str]:
    with pytest.raises(InputError) as info:
        scan_file(path, display_name="in.jsonl", **kwargs)
    assert info.value.exit_code == ExitCode.INVALID_INPUT
    return info.value.problems


def body_requests(scan) -> list[list[dict]]:
    out = []
    for part in scan.parts:
        data = b"".join(part_body(scan.path, part))
        assert len(data) == part.body_size
        out.append(orjson.loads(data)["requests"])
    return out


def test_valid_file_gives_one_part_whose_body_is_exactly_the_requests(tmp_path):
    reqs = [req("a"), req("b", "hello there", model="claude-opus-5-5"), req("c")]
    path = write(tmp_path, *reqs)
    scan = scan_file(path)
    assert scan.request_count == 3
    assert scan.byte_size == path.stat().st_size
    assert [(p.first_line, p.last_line, p.request_count) for p in scan.parts] == [(1, 3, 3)]
    assert (scan.parts[0].start_offset, scan.parts[0].end_offset) == (0, scan.byte_size)
    assert body_requests(scan) == [reqs]
    assert scan.models == {"claude-haiku-4-5": 2, "claude-opus-5-5": 1}
    assert scan.max_output_tokens == 48


def test_sha256_is_of_the_whole_file(tmp_path):
    import hashlib

    path = write(tmp_path, req("a"), b"", req("b"))
    assert scan_file(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_bom_crlf_and_blank_lines_are_accepted_with_physical_line_numbers(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + line(req("a")) + b"\r\n\r\n   \r\n" + line(req("b")) + b"\r\n"
        + b"{\"custom_id\": 5}\r\n"
    )
    assert problems(path) == [
        "in.jsonl:5: custom_id must be a string, got a number",
        "in.jsonl:5: params is missing",
    ]
    path.write_bytes(b"\xef\xbb\xbf" + line(req("a")) + b"\r\n\r\n   \r\n" + line(req("b")) + b"\r\n")
    scan = scan_file(path)
    assert [(p.first_line, p.last_line) for p in scan.parts] == [(1, 4)]
    assert body_requests(scan) == [[req("a"), req("b")]]


def test_a_line_without_a_final_newline_is_read(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(line(req("a")) + b"\n" + line(req("b")))
    assert body_requests(scan_file(path)) == [[req("a"), req("b")]]


def test_openai_style_lines_are_converted_to_params(tmp_path):
    body = req("x")["params"]
    openai = {"custom_id": "x", "method": "POST", "url": "/v1/messages", "body": body}
    path = write(tmp_path, openai, req("y"))
    scan = scan_file(path)
    assert scan.openai_style == 1
    assert body_requests(scan) == [[{"custom_id": "x", "params": body}, req("y")]]


@pytest.mark.parametrize(
    ("changes", "messages"),
    [
        ({"method": "GET"}, ['method must be "POST", got "GET"']),
        ({"url": "/v1/chat/completions"}, ['url must be "/v1/messages", got "/v1/chat/completions"']),
        ({"body": None}, ["body must be an object, got null"]),
        ({"params": {}}, ["mixes the native form (params) with the OpenAI form (method, url, body)"]),
    ],
)
def test_openai_style_errors(tmp_path, changes, messages):
    obj = {"custom_id": "x", "method": "POST", "url": "/v1/messages", "body": req("x")["params"]}
    obj.update(changes)
    path = write(tmp_path, req("a"), b"", obj)
    assert problems(path) == [f"in.jsonl:3: {m}" for m in messages]


def test_openai_style_body_problems_name_body(tmp_path):
    obj = {"custom_id": "x", "method": "POST", "url": "/v1/messages", "body": {"model": "m"}}
    assert problems(write(tmp_path, obj)) == [
        "in.jsonl:1: body.messages is missing",
        "in.jsonl:1: body.max_tokens is missing",
    ]


BAD_LINES = [
    (b'{"custom_id": "a", "params": ', "invalid JSON: unexpected end of data at column 29"),
    (line(req("a")) + b" extra", "trailing characters after the JSON object at column"),
    (b"[1, 2]", "expected a JSON object, got a list"),
    (b'"text"', "expected a JSON object, got a string"),
    (line({"params": req("a")["params"]}), "custom_id is missing"),
    (line({**req("a"), "custom_id": 7}), "custom_id must be a string, got a number"),
    (line(req("has space")), 'custom_id "has space" must be 1 to 64 characters from a-z A-Z 0-9 _ -'),
    (line(req("")), 'custom_id "" must be 1 to 64 characters from a-z A-Z 0-9 _ -: it is 0 '
                    'characters long'),
    # The length found (issue 21, item 7), and the first character outside the set.
    (line(req("x" * 65)), "must be 1 to 64 characters from a-z A-Z 0-9 _ -: it is 65 characters "
                          "long"),
    (line(req("x" * 70 + "é")), '_ -: it is 71 characters long, and has "é" at character 71'),
    (line(req("é")), 'must be 1 to 64 characters from a-z A-Z 0-9 _ -: it has "é" at character 1'),
    (line({"custom_id": "a"}), "params is missing"),
    (line({"custom_id": "a", "params": [1]}), "params must be an object, got a list"),
    (line({"custom_id": "a", "params": {"max_tokens": 5, "messages": [1]}}), "params.model is missing"),
    (line(req("a", model="")), 'params.model must be a non-empty string, got ""'),
    (line(req("a", model=3)), "params.model must be a non-empty string, got 3"),
    (line({"custom_id": "a", "params": {"model": "m", "max_tokens": 5}}), "params.messages is missing"),
    (line(req("a", messages="hi")), "params.messages must be a list, got a string"),
    (line(req("a", messages=[])), "params.messages is empty"),
    (line({"custom_id": "a", "params": {"model": "m", "messages": [1]}}), "params.max_tokens is missing"),
    (line(req("a", max_tokens="5")), 'params.max_tokens must be an integer, got "5"'),
    (line(req("a", max_tokens=2.0)), "params.max_tokens must be an integer, got 2.0"),
    (line(req("a", max_tokens=True)), "params.max_tokens must be an integer, got true"),
    (line(req("a", max_tokens=0)), "params.max_tokens: must be at least 1, got 0"),
    (line(req("a", max_tokens=-3)), "params.max_tokens: must be at least 1, got -3"),
    (line(req("a", stream=True)), "params.stream: streaming is not supported in the Message Batches API"),
    (b'{"custom_id": "a", "params": "\xff"}', "bytes that are not UTF-8 at column 31"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_every_rule_is_reported_with_its_line_number(tmp_path, bad, message):
    path = write(tmp_path, req("ok1"), b"", b"  ", bad, req("ok2"))
    found = problems(path)
    assert len(found) == 1, found
    assert found[0].startswith("in.jsonl:4: ")
    assert message in found[0]


def test_all_problems_are_reported_in_file_order(tmp_path):
    path = write(tmp_path, req("a"), b"  ?", req("b"), req("a"), req("c", max_tokens=0), req("b"))
    assert problems(path) == [
        "in.jsonl:2: invalid JSON: unexpected character, expected a JSON value at column 3",
        'in.jsonl:4: custom_id "a" repeats line 1',
        "in.jsonl:5: params.max_tokens: must be at least 1, got 0; set max_tokens to 1 or more "
        "[max-tokens-min; source: https://platform.claude.com/docs/en/build-with-claude/batch-processing]",
        'in.jsonl:6: custom_id "b" repeats line 3',
    ]


def test_a_line_can_have_several_problems(tmp_path):
    path = write(tmp_path, {"custom_id": "bad id", "params": {"stream": True}})
    assert problems(path) == [
        'in.jsonl:1: custom_id "bad id" must be 1 to 64 characters from a-z A-Z 0-9 _ -: it '
        'has " " at character 4',
        "in.jsonl:1: params.model is missing",
        "in.jsonl:1: params.messages is missing",
        "in.jsonl:1: params.max_tokens is missing",
    ]  # the rules (stream here) are checked once the request's structure is sound


def test_problem_list_is_capped_and_the_rest_counted(tmp_path):
    # 60 different problems (one ends at another column on each line): the same problem on
    # many lines is one problem line (tests/core/requests/test_problems.py)
    path = write(tmp_path, *[b"{\"" + b"k" * (n + 1) + b"\": " for n in range(60)])
    with pytest.raises(InputError) as info:
        scan_file(path, display_name="f", max_problems=50)
    assert len(info.value.problems) == 50
    assert info.value.more == 10
    assert info.value.problems[-1].startswith("f:50: ")
    assert "60 problems" in info.value.message


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf\r\n"])
def test_empty_or_blank_file_is_an_error(tmp_path, content):
    path = tmp_path / "in.jsonl"
    path.write_bytes(content)
    assert problems(path) == ["in.jsonl: no requests: the file is empty or has only blank lines"]


def test_unknown_params_keys_pass_untouched(tmp_path):
    r = req("a", future_feature={"x": [1, 2]}, metadata={"user_id": "u"})
    assert body_requests(scan_file(write(tmp_path, r))) == [[r]]


def test_native_lines_are_copied_byte_for_byte(tmp_path):
    raw = (
        b'{ "custom_id" : "a",  "params": {"model":"claude-opus-5","max_tokens":1,'
        b'"messages":[{"role":"user","content":"\\u00e9 1.50"}], "x": 1.50} }'
    )
    path = write(tmp_path, raw, end=b"  \r\n")
    scan = scan_file(path)
    data = b"".join(part_body(scan.path, scan.parts[0]))
    assert data == b'{"requests":[' + raw + b"]}"
    assert scan.parts[0].body_size == len(data)


def test_extra_top_level_keys_are_dropped_by_re_encoding(tmp_path):
    r = {**req("a"), "note": "mine"}
    scan = scan_file(write(tmp_path, req("z"), r))
    assert scan.parts[0].convert_lines == frozenset({2})
    assert body_requests(scan) == [[req("z"), req("a")]]


def test_split_at_exactly_max_requests(tmp_path):
    reqs = [req(f"r{i}") for i in range(7)]
    path = write(tmp_path, *reqs[:3], b"", *reqs[3:])
    scan = scan_file(path, max_requests=3)
    assert [(p.index, p.first_line, p.last_line, p.request_count) for p in scan.parts] == [
        (1, 1, 3, 3),
        (2, 5, 7, 3),
        (3, 8, 8, 1),
    ]
    assert body_requests(scan) == [reqs[:3], reqs[3:6], reqs[6:]]
    data = path.read_bytes()
    in_range = [  # the offsets delimit exactly each part's lines
        [
            orjson.loads(x)["custom_id"]
            for x in data[p.start_offset : p.end_offset].split(b"\n")
            if x
        ]
        for p in scan.parts
    ]
    assert in_range == [["r0", "r1", "r2"], ["r3", "r4", "r5"], ["r6"]]
    assert data[scan.parts[2].end_offset :] == b""
    assert len(scan_file(path, max_requests=7).parts) == 1


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """100,001 minimal requests (about 9 MB)."""
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    template = (
        b'{"custom_id":"r%d","params":{"model":"claude-opus-5","max_tokens":1,'
        b'"messages":[{"role":"user","content":"x"}]}}\n'
    )
    path.write_bytes(b"".join(template % i for i in range(100_001)))
    return path


def test_api_limit_of_100000_requests(big_file, tmp_path):
    scan = scan_file(big_file)
    assert [(p.first_line, p.last_line, p.request_count) for p in scan.parts] == [
        (1, 100_000, 100_000),
        (100_001, 100_001, 1),
    ]
    exact = tmp_path / "exact.jsonl"
    with open(big_file, "rb") as src:
        exact.write_bytes(src.read(scan.parts[0].end_offset))
    scan = scan_file(exact)
    assert [p.request_count for p in scan.parts] == [100_000]
    total = sum(len(c) for c in iter_body(exact, scan.parts[0]))
    assert total == scan.parts[0].body_size


def test_split_by_bytes(tmp_path):
    reqs = [req(f"r{i}", "x" * (i * 10)) for i in range(6)]
    sizes = [len(line(r)) for r in reqs]
    limit = BODY_OVERHEAD + sizes[0] + 1 + sizes[1]  # exactly two first requests
    scan = scan_file(write(tmp_path, *reqs), max_bytes=limit)
    assert scan.parts[0].request_count == 2
    assert scan.parts[0].body_size == limit
    assert all(p.body_size <= limit for p in scan.parts)
    assert body_requests(scan)[0] == reqs[:2]
    assert [r for part in body_requests(scan) for r in part] == reqs
    assert scan_file(write(tmp_path, *reqs), max_bytes=limit - 1).parts[0].request_count == 1


def test_a_request_bigger_than_the_byte_limit_is_a_problem(tmp_path):
    small, big = req("a"), req("b", "y" * 500)
    limit = BODY_OVERHEAD + len(line(big)) - 1
    assert problems(write(tmp_path, small, big), max_bytes=limit) == [
        f"in.jsonl:2: request is {len(line(big)):,} bytes: too big for one batch of at most {limit:,} bytes"
    ]


def test_limits_are_checked():
    with pytest.raises(UsageError):
        check_limits(0, 1000)
    with pytest.raises(UsageError):
        check_limits(100_001, 1000)
    with pytest.raises(UsageError):
        check_limits(10, 257_000_000)
    check_limits(100_000, 256_000_000)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("123", 123),
        ("10k", 10_000),
        ("10K", 10_000),
        ("250MB", 250_000_000),
        ("250mb", 250_000_000),
        ("1MiB", 1_048_576),
        ("1.5kb", 1500),
        ("2GiB", 2 * 1024**3),
        ("64KiB", 65_536),
    ],
)
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "MB", "-5", "1Xb", "1i", "0", "ten"])
def test_parse_size_rejects(text):
    with pytest.raises(UsageError):
        parse_size(text)


def test_body_is_chunked_and_can_be_read_again(tmp_path):
    reqs = [req(f"r{i}", "z" * 100_000) for i in range(40)]  # 4 MB: four chunks of ~1 MiB
    scan = scan_file(write(tmp_path, *reqs))
    body = part_body(scan.path, scan.parts[0])
    first, second = list(body), list(body)
    assert len(first) > 3 and max(map(len, first)) < CHUNK_SIZE + 101_000 + READ_SIZE
    assert first == second
    assert sum(map(len, first)) == body.size == scan.parts[0].body_size


def test_body_refuses_a_file_changed_after_the_scan(tmp_path):
    big = [req(f"r{i}", "z" * 100_000) for i in range(12)]  # more than one chunk comes out
    path = write(tmp_path, *big, req("a", "one"), req("b", "two"))
    scan = scan_file(path)
    path.write_bytes(path.read_bytes().replace(b"two", b"TWO"))
    sent: list[bytes] = []
    with pytest.raises(StateError) as info:
        sent.extend(iter_body(path, scan.parts[0]))
    assert info.value.exit_code == ExitCode.STATE
    assert sent and not any(c.endswith(b"]}") for c in sent)  # the closing bytes never go out


def test_the_body_of_one_part_and_a_bad_line(tmp_path):
    reqs = [req(f"r{i}") for i in range(5)]
    path = write(tmp_path, *reqs)
    scan = scan_file(path, max_requests=2)
    assert [p.first_line for p in scan.parts] == [1, 3, 5]
    assert [r["custom_id"] for r in body_requests(scan)[1]] == ["r2", "r3"]
    bad = write(tmp_path, req("a"), b"{", name="bad.jsonl")
    assert problems(bad) == ["in.jsonl:2: invalid JSON: unexpected end of data at column 2"]


def test_token_estimate_counts_text_of_system_messages_and_tools():
    params = {
        "system": [{"type": "text", "text": "a" * 40}],
        "messages": [
            {"role": "user", "content": "b" * 20},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "c" * 20},
                    {"type": "image", "source": {"data": "d" * 999}},
                ],
            },
        ],
    }
    assert estimate_input_tokens(params) == 20
    params["tools"] = [{"name": "t"}]
    assert estimate_input_tokens(params) == 20 + 4  # len('[{"name":"t"}]') == 14 -> 94 chars


def test_token_estimates_are_per_model(tmp_path):
    path = write(tmp_path, req("a", "x" * 40), req("b", "x" * 8, model="claude-opus-5"),
                 req("c", "x" * 4))
    scan = scan_file(path)
    assert scan.input_tokens == {"claude-haiku-4-5": 11, "claude-opus-5": 2}
    assert scan.est_input_tokens == 13
    assert scan.output_tokens == {"claude-haiku-4-5": 32, "claude-opus-5": 16}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(st.text(max_size=40), min_size=1, max_size=25),
    blank=st.lists(st.booleans(), min_size=25, max_size=25),
    openai=st.lists(st.booleans(), min_size=25, max_size=25),
    max_requests=st.integers(1, 30),
    slack=st.integers(0, 400),
)
def test_any_split_covers_every_request_in_order_within_the_limits(
    tmp_path, texts, blank, openai, max_requests, slack
):
    reqs = [req(f"id{i}", t) for i, t in enumerate(texts)]
    lines = []
    for i, r in enumerate(reqs):
        if blank[i]:
            lines.append(b"")
        if openai[i]:
            lines.append(
                {
                    "custom_id": r["custom_id"],
                    "method": "POST",
                    "url": "/v1/messages",
                    "body": r["params"],
                }
            )
        else:
            lines.append(r)
    max_bytes = BODY_OVERHEAD + max(len(line(r)) for r in reqs) + slack
    scan = scan_file(write(tmp_path, *lines), max_requests=max_requests, max_bytes=max_bytes)
    parts = body_requests(scan)
    assert [r for part in parts for r in part] == reqs
    for part in scan.parts:
        assert part.request_count <= max_requests
        assert part.body_size <= max_bytes
    assert [p.index for p in scan.parts] == list(range(1, len(scan.parts) + 1))
