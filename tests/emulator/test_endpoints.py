"""Every endpoint through the real SDK over real HTTP, plus the envelopes and statuses of errors."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from tests.support.emulators import NEW_VERSION, assert_envelope
from tests.support.failures import failure
from tests.support.files import requests_for

BATCH_KEYS = {
    "id",
    "type",
    "processing_status",
    "request_counts",
    "created_at",
    "expires_at",
    "ended_at",
    "cancel_initiated_at",
    "archived_at",
    "results_url",
}


def test_create_answers_an_in_progress_batch_with_all_ten_keys(emulator, client):
    raw = client.messages.batches.with_raw_response.create(requests=requests_for(3))
    assert raw.headers["content-type"] == "application/json"
    assert raw.headers["request-id"].startswith("req_")
    body = orjson.loads(raw.http_response.content)
    assert set(body) == BATCH_KEYS
    batch = raw.parse()
    assert batch.id.startswith("msgbatch_") and len(batch.id) > len("msgbatch_") + 10
    assert batch.type == "message_batch"
    assert batch.processing_status == "in_progress"
    assert batch.request_counts.to_dict() == {
        "processing": 3, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0
    }
    assert batch.created_at.timestamp() == pytest.approx(emulator.clock.now)
    assert batch.expires_at - batch.created_at == timedelta(hours=24)
    assert (batch.ended_at, batch.cancel_initiated_at, batch.archived_at, batch.results_url) == (None,) * 4
    assert body["created_at"].endswith("Z")


def test_retrieve_follows_the_clock_to_ended(emulator, client):
    batch = client.messages.batches.create(requests=requests_for(4))
    emulator.clock.advance(59.9)
    assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    emulator.clock.advance(0.1)
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert ended.ended_at - ended.created_at == timedelta(seconds=60)
    assert ended.request_counts.succeeded == 4 and ended.request_counts.processing == 0
    assert ended.results_url == f"{emulator.base_url}/v1/messages/batches/{batch.id}/results"


def test_results_url_can_name_a_public_base_url(make_emulator):
    emulator = make_emulator(processing_seconds=0, public_base_url="http://emulator.example:9000/")
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(1))
    assert batch.results_url == f"http://emulator.example:9000/v1/messages/batches/{batch.id}/results"


def test_list_pages_forward_and_backward_in_creation_order(emulator, client):
    # The fake clock stands still: 45 batches share one created_at, so order comes from a sequence.
    ids = [client.messages.batches.create(requests=requests_for(1)).id for _ in range(45)]
    newest_first = ids[::-1]

    first = client.messages.batches.list(limit=20)
    assert [b.id for b in first.data] == newest_first[:20]
    assert (first.has_more, first.first_id, first.last_id) == (True, newest_first[0], newest_first[19])
    second = client.messages.batches.list(limit=20, after_id=first.last_id)
    assert [b.id for b in second.data] == newest_first[20:40] and second.has_more
    third = client.messages.batches.list(limit=20, after_id=second.last_id)
    assert [b.id for b in third.data] == newest_first[40:] and not third.has_more
    assert [b.id for b in client.messages.batches.list(limit=20)] == newest_first  # SDK auto-paging

    back = client.messages.batches.list(limit=20, before_id=ids[0])
    assert [b.id for b in back.data] == ids[20:0:-1]
    assert back.has_more and back.first_id == ids[20] and back.last_id == ids[1]
    # The SDK keeps paging backwards with before_id=<first_id>.
    pages = list(client.messages.batches.list(limit=20, before_id=ids[0]).iter_pages())
    assert [[b.id for b in p.data] for p in pages] == [ids[20:0:-1], ids[40:20:-1], ids[44:40:-1]]
    assert pages[-1].has_more is False

    default = emulator.http().get("/v1/messages/batches").json()
    assert len(default["data"]) == 20 and default["has_more"] is True


def test_empty_list_still_has_every_page_key(emulator):
    page = emulator.http().get("/v1/messages/batches", params={"limit": 1000}).json()
    assert page == {"data": [], "has_more": False, "first_id": None, "last_id": None}


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 1001}, {"limit": "ten"}, {"limit": -3}])
def test_bad_limit_is_400(emulator, query):
    response = emulator.http().get("/v1/messages/batches", params=query)
    body = assert_envelope(response, 400, "invalid_request_error")
    assert "limit" in body["error"]["message"]


def test_unknown_or_conflicting_cursors_are_400(emulator, client):
    batch = client.messages.batches.create(requests=requests_for(1))
    http = emulator.http()
    assert_envelope(
        http.get("/v1/messages/batches", params={"after_id": "msgbatch_nope"}),
        400,
        "invalid_request_error",
    )
    both = {"after_id": batch.id, "before_id": batch.id}
    assert_envelope(http.get("/v1/messages/batches", params=both), 400, "invalid_request_error")


def test_beta_query_known_betas_and_unknown_params_are_accepted(emulator, client):
    """Known anthropic-beta values pass (unknown ones are refused: test_headers.py)."""
    batch = client.beta.messages.batches.create(
        requests=requests_for(2), betas=["message-batches-2024-09-24"]
    )
    http = emulator.http(
        **{
            "anthropic-beta": "files-api-2025-04-14,message-batches-2024-09-24",
            "x-stainless-timeout": "NOT_GIVEN",
        }
    )
    page = http.get(
        "/v1/messages/batches?beta=true&limit=3&colour=blue",
        headers={"accept": "application/binary"},
    )
    assert page.status_code == 200 and [b["id"] for b in page.json()["data"]] == [batch.id]
    assert http.get(f"/v1/messages/batches/{batch.id}?beta=true").json()["id"] == batch.id
    assert client.beta.messages.batches.retrieve(batch.id, betas=["output-300k-2026-03-24"]).id == batch.id


def test_both_auth_headers_and_both_versions_are_accepted(emulator):
    http = emulator.http()
    assert http.get("/v1/messages/batches").status_code == 200  # X-Api-Key, 2023-06-01
    bearer = {"authorization": "Bearer k", "anthropic-version": NEW_VERSION}
    assert http.get("/v1/messages/batches", headers={**bearer, "x-api-key": ""}).status_code == 200


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer"}, {"authorization": "Basic abc"}]
)
def test_no_key_is_401_with_an_envelope(emulator, headers):
    import httpx2

    with httpx2.Client(base_url=emulator.base_url) as http:
        response = http.get("/v1/messages/batches", headers=headers)
        assert_envelope(response, 401, "authentication_error")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing"),
        ("PUT", "/v1/messages/batches"),
        ("GET", "/v1/messages/batches/msgbatch_x/other"),
        ("POST", "/v1/messages/batches/msgbatch_x"),
        ("GET", "/v1/messages/batches//results"),
    ],
)
def test_unknown_routes_are_404_envelopes(emulator, method, path):
    assert_envelope(emulator.http().request(method, path), 404, "not_found_error")


def test_ids_are_percent_decoded(emulator, client):
    batch = client.messages.batches.create(requests=requests_for(1))
    encoded = "".join(f"%{ord(c):02X}" if c == "_" else c for c in batch.id)
    assert emulator.http().get(f"/v1/messages/batches/{encoded}").json()["id"] == batch.id
    caught = failure(lambda: client.messages.batches.retrieve("a/b c"))  # sent as a%2Fb%20c
    assert caught.status_code == 404
    assert "'a/b c'" in caught.body["error"]["message"]
    assert caught.request_id.startswith("req_")


def test_cancel_works_with_and_without_a_content_type(emulator, client):
    one = client.messages.batches.create(requests=requests_for(1)).id
    two = client.messages.batches.create(requests=requests_for(1)).id
    http = emulator.http()
    assert (
        http.post(f"/v1/messages/batches/{one}/cancel", content=b"").json()["processing_status"]
        == "canceling"
    )
    typed = http.post(
        f"/v1/messages/batches/{two}/cancel", headers={"content-type": "application/json"}
    )
    assert typed.json()["cancel_initiated_at"] is not None


def test_delete_needs_an_ended_batch_then_everything_is_404(emulator, client):
    batch = client.messages.batches.create(requests=requests_for(2))
    # 400, never 409 (which the SDKs retry)
    caught = failure(lambda: client.messages.batches.delete(batch.id))
    assert caught.status_code == 400 and "only an ended batch" in caught.body["error"]["message"]
    emulator.clock.advance(60)
    deleted = client.messages.batches.with_raw_response.delete(batch.id)
    assert deleted.headers["request-id"].startswith("req_")
    assert deleted.parse().to_dict() == {"id": batch.id, "type": "message_batch_deleted"}
    http = emulator.http()
    for method, path in [("GET", ""), ("DELETE", ""), ("POST", "/cancel"), ("GET", "/results")]:
        assert_envelope(
            http.request(method, f"/v1/messages/batches/{batch.id}{path}"), 404, "not_found_error"
        )
    assert client.messages.batches.list().data == []


def test_cancel_of_an_ended_batch_is_400(emulator, client):
    batch = client.messages.batches.create(requests=requests_for(1))
    emulator.clock.advance(61)
    caught = failure(lambda: client.messages.batches.cancel(batch.id))
    assert caught.status_code == 400 and "already ended" in caught.body["error"]["message"]


def test_results_before_the_end_are_400(emulator, client):
    batch = client.messages.batches.create(requests=requests_for(1))
    response = emulator.http().get(f"/v1/messages/batches/{batch.id}/results")
    body = assert_envelope(response, 400, "invalid_request_error")
    assert "in_progress" in body["error"]["message"]
    refused = failure(lambda: client.messages.batches.results(batch.id))  # the SDK refuses itself
    assert "results_url" in str(refused) and getattr(refused, "response", None) is None
