"""The HTTP server: keep-alive, concurrent clients, large bodies, quiet."""

from __future__ import annotations

import http.client
import threading

import orjson

from batchctl.emulator import EmulatorServer
from tests.support.emulators import RAW_HEADERS
from tests.support.files import requests_for

HEADERS = RAW_HEADERS


def test_one_connection_serves_many_requests(emulator):
    connection = http.client.HTTPConnection("127.0.0.1", emulator.server.port, timeout=10)
    connection.request(
        "POST",
        "/v1/messages/batches",
        body=orjson.dumps({"requests": requests_for(2)}),
        headers=HEADERS,
    )
    first = connection.getresponse()
    assert first.status == 200 and first.version == 11
    batch_id = orjson.loads(first.read())["id"]
    sock = connection.sock
    for path in ("/v1/messages/batches", f"/v1/messages/batches/{batch_id}", "/v1/nothing"):
        connection.request("GET", path, headers=HEADERS)
        response = connection.getresponse()
        response.read()
        assert response.status in (200, 404) and response.getheader("connection") != "close"
    connection.request("POST", f"/v1/messages/batches/{batch_id}/cancel", headers=HEADERS)
    assert connection.getresponse().status == 200
    assert connection.sock is sock  # never reconnected
    connection.close()


def test_concurrent_clients_all_get_their_batches(emulator):
    made: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with emulator.client() as client:
                for _ in range(4):
                    made.append(client.messages.batches.create(requests=requests_for(3)).id)
                    client.messages.batches.list(limit=5)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(set(made)) == 24
    with emulator.client() as client:
        assert sorted(b.id for b in client.messages.batches.list(limit=100)) == sorted(made)


def test_a_large_results_body_arrives_whole(make_emulator):
    emulator = make_emulator(processing_seconds=1)
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(3000))
        emulator.clock.advance(1)
        ended = client.messages.batches.retrieve(batch.id)
    connection = http.client.HTTPConnection("127.0.0.1", emulator.server.port, timeout=10)
    connection.request("GET", ended.results_url, headers=HEADERS)
    response = connection.getresponse()
    body = response.read()
    assert len(body) == int(response.getheader("content-length")) > 1_000_000
    assert body.count(b"\n") == 3000
    connection.close()


def test_the_server_prints_nothing(make_emulator, capfd):
    emulator = make_emulator(lost_reply_rate=0.5, fault_rate=0.3, drop_rate=1.0, processing_seconds=1)
    with emulator.client(max_retries=0) as client:
        for _ in range(10):
            try:
                client.messages.batches.create(requests=requests_for(1))
            except Exception:  # noqa: BLE001 - faults are the point; the output is what is checked
                pass
    http = emulator.http()
    http.get("/v1/nothing")
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_plain_wsgi_app_with_a_generator_body_is_sent_chunked():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (part for part in (b"abc", b"", b"def" * 100_000))

    with EmulatorServer(app) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.getheader("transfer-encoding") == "chunked"
        assert response.read() == b"abc" + b"def" * 100_000
        connection.request("GET", "/again")
        assert connection.getresponse().read().startswith(b"abc")
        connection.close()


def test_an_app_that_starts_its_response_lazily_is_served():
    def app(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        yield b"gone"

    with EmulatorServer(app) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/x")
        response = connection.getresponse()
        assert (response.status, response.read()) == (404, b"gone")
        connection.close()
