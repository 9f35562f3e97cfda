"""The trust boundary (issue 11, item 5): a malicious server, case by case. The key goes only
to the base URL's origin; ids, urls and text from the server are checked before they reach a
path, the store or a terminal. Hostile answers come from tests/support/hostile.py; the real emulator's
--results-origin shows a results_url on another origin."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from batchctl.core.state.store import Store
from tests.support.emulators import API_KEY
from tests.support.files import request, write_jsonl
from tests.support.fixtures import stopped_after
from tests.support.hostile import Answer, HostileServer, batch, error_answer, json_answer
from tests.support.runs import on

GOOD_ID = "msgbatch_01HostileServerBatch0001"


@pytest.fixture
def servers() -> Iterator[Callable[[Callable[[str, str], Answer]], HostileServer]]:
    yield from stopped_after(lambda answer: HostileServer(answer).start())


@pytest.fixture
def recorder(servers) -> HostileServer:
    """A server on another port that must never be asked anything."""
    return servers(lambda method, path: json_answer({"stolen": True}))


def with_models(answer: Callable[[str, str], Answer]) -> Callable[[str, str], Answer]:
    """``answer``, with GET /v1/models answered by a page of one model (submit asks it first)."""
    from batchctl.core.catalog.models import packaged_table

    info = next(m for m in packaged_table()["models"] if m["id"] == "claude-haiku-4-5-20251001")
    page = {"data": [info], "has_more": False, "first_id": info["id"], "last_id": info["id"]}
    return lambda method, path: (json_answer(page) if path.startswith("/v1/models")
                                 else answer(method, path))


def batch_calls(server: HostileServer) -> list[str]:
    return [s.method for s in server.seen if not s.path.startswith("/v1/models")]


def assert_clean(result) -> None:
    """No traceback, no raw control character, never the key."""
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text and "\x1b" not in text and "\x07" not in text
        assert API_KEY not in text


def test_a_results_url_on_another_origin_is_refused_and_never_asked(
    make_emulator, clock, recorder, tmp_path
):
    emulator = make_emulator(results_origin=recorder.origin, processing_seconds=0)
    path = write_jsonl(tmp_path / "one.jsonl", [request("a")])
    submitted = on(emulator.base_url, clock, "submit", str(path))
    batch_id = submitted.stdout.strip()
    result = on(emulator.base_url, clock, "results", batch_id)
    assert result.exit_code == 6
    assert result.stdout == ""
    port = recorder.origin.rsplit(":", 1)[1]
    origins = f"(http://127.0.0.1:{port}, not {emulator.base_url})"
    assert f"a results_url on another origin {origins}" in result.stderr
    assert "sends the API key only to the base URL's origin" in result.stderr
    collected = on(emulator.base_url, clock, "collect", "--dir", str(tmp_path / "out"))
    assert collected.exit_code == 6 and "another origin" in collected.stderr
    assert recorder.seen == []  # not one request, so never the key
    assert_clean(result)


def test_a_redirect_to_another_origin_is_refused_before_it_is_followed(servers, recorder, clock):
    def answer(method: str, path: str) -> Answer:
        if path.endswith("/results"):
            return 302, {"Location": f"{recorder.origin}/steal"}, b""
        url = f"{hostile.origin}/v1/messages/batches/{GOOD_ID}/results"
        return json_answer(batch(GOOD_ID, results_url=url))

    hostile = servers(answer)
    result = on(hostile.origin, clock, "results", GOOD_ID)
    assert result.exit_code == 6
    assert f"refused to send a request to {recorder.origin}" in result.stderr
    assert recorder.seen == []
    assert [s.path for s in hostile.seen] == [f"/v1/messages/batches/{GOOD_ID}",
                                              f"/v1/messages/batches/{GOOD_ID}/results"]
    assert_clean(result)


def test_a_created_id_of_the_wrong_shape_never_reaches_the_store(servers, clock, tmp_path, state_dir):
    hostile = servers(with_models(
        lambda method, path: json_answer(batch("../../../tmp/evil", status="in_progress"))))
    path = write_jsonl(tmp_path / "one.jsonl", [request("a")])
    result = on(hostile.origin, clock, "submit", str(path))
    assert result.exit_code == 6
    assert result.stdout == ""
    assert "not of the documented shape msgbatch_...: '../../../tmp/evil'" in result.stderr
    assert "the next submit looks for the batch first" in result.stderr
    assert batch_calls(hostile) == ["POST"]  # not sent again
    store = Store.open(state_dir, clock=clock)
    try:
        assert store.batches() == []
    finally:
        store.close()
    assert_clean(result)


def test_control_characters_in_an_id_are_escaped_never_printed(servers, clock):
    page = {"data": [batch("msgbatch_01\x1b[2J\x1b]0;pwned\x07")], "has_more": False,
            "first_id": None, "last_id": None}
    hostile = servers(lambda method, path: json_answer(page))
    result = on(hostile.origin, clock, "list")
    assert result.exit_code == 6
    assert "msgbatch_01\\x1b[2J\\x1b]0;pwned\\x07" in result.stderr
    assert_clean(result)


def test_an_answer_about_another_batch_is_refused(servers, clock):
    other = "msgbatch_01SomebodyElsesBatch0002"
    hostile = servers(lambda method, path: json_answer(batch(other)))
    result = on(hostile.origin, clock, "status", GOOD_ID)
    assert result.exit_code == 6
    assert f"asked for batch {GOOD_ID}, the API answered with batch {other}" in result.stderr
    assert_clean(result)


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("processing_status", "ended\x1b[31m", "processing_status 'ended\\x1b[31m'"),
        ("request_counts", {"succeeded": "all"}, "request_counts"),
        ("created_at", "yesterday", "created_at 'yesterday'"),
        ("results_url", 42, "results_url 42"),
    ],
)
def test_a_malformed_batch_is_refused_naming_the_field(servers, clock, field, value, shown):
    hostile = servers(lambda method, path: json_answer(batch(GOOD_ID, **{field: value})))
    result = on(hostile.origin, clock, "status", GOOD_ID)
    assert result.exit_code == 6
    assert f"the API described batch {GOOD_ID} with a malformed {shown}" in result.stderr
    assert_clean(result)


def test_an_error_message_is_printed_with_its_control_characters_escaped(servers, clock):
    message = "no such thing\x1b]0;owned\x07\r\nerror: fake second line"
    hostile = servers(lambda method, path: error_answer(400, "invalid_request_error", message))
    result = on(hostile.origin, clock, "status", GOOD_ID)
    assert result.exit_code == 2
    assert "no such thing\\x1b]0;owned\\x07\\x0d\\x0aerror: fake second line" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert_clean(result)


def test_retry_after_in_seconds_is_honoured(servers, clock, tmp_path):
    answers = iter([
        error_answer(429, "rate_limit_error", "slow down", **{"retry-after": "3"}),
        json_answer(batch(GOOD_ID, status="in_progress")),
    ])
    hostile = servers(with_models(lambda method, path: next(answers)))
    path = write_jsonl(tmp_path / "one.jsonl", [request("a")])
    result = on(hostile.origin, clock, "submit", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{GOOD_ID}\n"
    assert clock.sleeps == [3.0]


def test_printable_escapes_what_would_drive_a_terminal():
    from batchctl.cli.render.output import _cell
    from batchctl.core.api.untrusted import printable

    assert printable("plain text, ünïcode") == "plain text, ünïcode"
    assert printable("a\x1b[31mb\x07c\u202ed\x9b") == "a\\x1b[31mb\\x07c\\u202ed\\x9b"
    assert printable("x" * 300).endswith("...") and len(printable("x" * 300)) == 203
    assert _cell("errored:\tapi_error\x1b]0;t\x07") == "errored: api_error\\x1b]0;t\\x07"


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("http://127.0.0.1:8765/v1/messages/batches/x/results", True),
        ("HTTP://127.0.0.1:8765/other", True),
        ("/v1/messages/batches/x/results", True),
        ("http://127.0.0.1:8766/v1", False),
        ("https://127.0.0.1:8765/v1", False),
        ("http://localhost:8765/v1", False),
        ("//evil.example/v1", False),
        ("http://127.0.0.1:8765@evil.example/v1", False),
    ],
)
def test_same_origin_is_scheme_host_and_port(url, same):
    from batchctl.core.api.untrusted import same_origin

    assert same_origin(url, "http://127.0.0.1:8765") is same


def test_a_results_body_reaches_a_terminal_without_its_control_characters(servers, clock):
    line = (b'{"custom_id":"a\x1b]0;pwned\x07","result":{"type":"succeeded","message":'
            b'{"content":[{"type":"text","text":"hi\xc2\x9b2J"}]}}}\n')

    def answer(method: str, path: str) -> Answer:
        if path.endswith("/results"):
            return 200, {"Content-Type": "application/x-jsonl"}, line
        url = f"{hostile.origin}/v1/messages/batches/{GOOD_ID}/results"
        return json_answer(batch(GOOD_ID, results_url=url))

    hostile = servers(answer)
    shown = on(hostile.origin, clock, "results", GOOD_ID, tty=True)
    assert shown.exit_code == 6  # raw control characters are not JSON: refused, after...
    assert "that is not JSON" in shown.stderr
    # ... the bytes already copied reached the terminal escaped, never raw
    assert "a\\x1b]0;pwned\\x07" in shown.stdout and "hi\\x9b2J" in shown.stdout
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout and "\x9b" not in shown.stdout
    piped = on(hostile.origin, clock, "results", GOOD_ID)  # data for a program: unchanged
    assert piped.exit_code == 6 and piped.stdout_bytes == line
