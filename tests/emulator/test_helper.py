"""The plan helper: a large create's plan is built in two processes and comes out the same."""

from __future__ import annotations

import orjson
import pytest

from batchctl.emulator import helper
from tests.emulator.support import requests_for
from tests.emulator.test_endpoints import assert_envelope


def _mixed(count: int) -> list[dict]:
    """Valid requests with some invalid ones spread through, so both halves have each kind."""
    requests = requests_for(count)
    for index in range(0, count, 7):
        requests[index]["params"]["max_tokens"] = 0
    for index in range(3, count, 11):
        requests[index]["params"]["messages"] = [
            {"role": "user", "content": [{"type": "text", "text": "é\nx"}]}
        ]
    return requests


@pytest.fixture
def with_helper(monkeypatch):
    monkeypatch.setattr(helper, "MIN_BYTES", 0)
    yield helper.shared()
    helper.shared().close()


def _plan_of(start_emu, body: bytes) -> bytes:
    emu = start_emu(seed=11, error_rate=0.2, expire_rate=0.1)
    response = emu.http().post(
        "/v1/messages/batches", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    return emu.app.store.read_plan(response.json()["id"])


def test_a_plan_built_with_the_helper_is_the_plan_built_alone(start_emu, with_helper, monkeypatch):
    body = orjson.dumps({"requests": _mixed(500)})
    assisted = _plan_of(start_emu, body)
    # it did take part
    assert with_helper._process is not None and with_helper._process.poll() is None
    monkeypatch.setattr(helper, "MIN_BYTES", 1 << 62)
    alone = _plan_of(start_emu, body)
    assert assisted == alone
    assert len(orjson.loads(alone)) == 500


def test_a_helper_answer_that_does_not_fit_is_replaced(start_emu, with_helper, monkeypatch):
    body = orjson.dumps({"requests": _mixed(200)})
    expected = _plan_of(start_emu, body)
    monkeypatch.setattr(helper, "HEAD_SHARE", 0.25)  # the helper process keeps its own split
    assert _plan_of(start_emu, body) == expected


def test_a_bad_envelope_with_the_helper_busy_is_still_a_400(start_emu, with_helper):
    emu = start_emu()
    http = emu.http()
    duplicate = orjson.dumps({"requests": [*requests_for(50), *requests_for(1)]})
    response = http.post(
        "/v1/messages/batches", content=duplicate, headers={"content-type": "application/json"}
    )
    assert (
        "requests.50.custom_id"
        in assert_envelope(response, 400, "invalid_request_error")["error"]["message"]
    )
    good = orjson.dumps({"requests": _mixed(60)})
    response = http.post(
        "/v1/messages/batches", content=good, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200 and response.json()["request_counts"]["processing"] == 60
