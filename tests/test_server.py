"""Tests of the scripted Responses server, driven by plain httpx clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness._server import Chunk, End, ScriptedResponse, ScriptedServer

PAYLOAD = {"model": "gpt-test", "input": "hi", "stream": True}


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    # trust_env=False: no proxy from the environment may come between us and the loopback server.
    with httpx.Client(timeout=2.0, trust_env=False) as c:
        yield c


def url(server: ScriptedServer) -> str:
    return f"{server.base_url}/responses"


def test_base_url_and_port() -> None:
    """base_url is the loopback address with the OS-chosen port and the SDK's /v1 suffix."""
    with ScriptedServer() as srv:
        assert srv.port > 0
        assert srv.base_url == f"http://127.0.0.1:{srv.port}/v1"


def test_rejects_non_loopback_host() -> None:
    """The server refuses to bind anything but a loopback address."""
    with pytest.raises(ValueError, match="loopback"):
        ScriptedServer(host="0.0.0.0")
    with pytest.raises(ValueError, match="loopback"):
        ScriptedServer(host="example.com")


def test_chunks_arrive_with_scripted_boundaries(
    server: ScriptedServer, client: httpx.Client
) -> None:
    """Each scripted chunk reaches the client as its own piece of the body."""
    pieces = (b"data: one\n\n", b"data: two\n\n", b"data: three\n\n")
    server.add(ScriptedResponse(chunks=tuple(Chunk(p, delay=0.05) for p in pieces)))
    with client.stream("POST", url(server), json=PAYLOAD) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        received = [piece for piece in response.iter_raw() if piece]
    assert received == list(pieces)
    assert server.wait_for_outcomes(1) == ["complete"]


def test_status_and_headers_are_served(server: ScriptedServer, client: httpx.Client) -> None:
    """The scripted status, headers and body are what the client receives."""
    body = b'{"error":{"message":"slow down"}}'
    server.add(
        ScriptedResponse(
            status=429,
            headers=(
                ("content-type", "application/json"),
                ("retry-after", "1"),
                ("x-request-id", "req_123"),
                ("content-length", str(len(body))),
            ),
            chunks=(Chunk(body),),
        ),
        ScriptedResponse.json(400, {"error": {"message": "bad", "type": "invalid_request_error"}}),
    )
    first = client.post(url(server), json=PAYLOAD)
    assert first.status_code == 429
    assert first.headers["retry-after"] == "1"
    assert first.headers["x-request-id"] == "req_123"
    assert first.headers["content-type"] == "application/json"
    assert "transfer-encoding" not in first.headers
    assert first.content == body
    second = client.post(url(server), json=PAYLOAD)
    assert second.status_code == 400
    assert second.headers["content-type"] == "application/json"
    assert second.json() == {"error": {"message": "bad", "type": "invalid_request_error"}}
    assert server.wait_for_outcomes(2) == ["complete", "complete"]


def test_requests_are_recorded_before_the_response_starts(
    server: ScriptedServer, client: httpx.Client
) -> None:
    """Method, path and query, lower-cased headers and body are recorded before the head."""
    server.add(ScriptedResponse(end=End.STALL))
    with client.stream(
        "POST",
        url(server) + "?trace=1",
        json=PAYLOAD,
        headers={"Authorization": "Bearer sk-test", "X-Custom": "yes"},
    ) as response:
        assert response.status_code == 200
        [request] = server.requests
    assert request.method == "POST"
    assert request.path == "/v1/responses?trace=1"
    assert request.header("authorization") == "Bearer sk-test"
    assert request.header("X-CUSTOM") == "yes"
    assert request.header("x-missing") is None
    assert all(name == name.lower() for name, _ in request.headers)
    assert ("x-custom", "yes") in request.headers
    assert request.json() == PAYLOAD
    assert request.body == httpx.Request("POST", "http://x", json=PAYLOAD).content
    assert server.wait_for_outcomes(1) == ["client_closed"]


def test_disconnect_gives_protocol_error_after_partial_body(
    server: ScriptedServer, client: httpx.Client
) -> None:
    """DISCONNECT delivers the written bytes, then closes without the chunked terminator."""
    server.add(ScriptedResponse(chunks=(Chunk(b"data: partial\n\n"),), end=End.DISCONNECT))
    with client.stream("POST", url(server), json=PAYLOAD) as response:
        pieces = response.iter_raw()
        assert next(pieces) == b"data: partial\n\n"
        with pytest.raises(httpx.RemoteProtocolError):
            next(pieces)
    assert server.wait_for_outcomes(1) == ["disconnect"]


def test_reset_gives_read_error(server: ScriptedServer, client: httpx.Client) -> None:
    """RESET aborts the connection with an RST, which the client sees as a read error."""
    server.add(ScriptedResponse(chunks=(Chunk(b"data: partial\n\n"),), end=End.RESET))
    with (
        client.stream("POST", url(server), json=PAYLOAD) as response,
        pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)),
    ):
        response.read()
    assert server.wait_for_outcomes(1) == ["reset"]


def test_client_closing_a_stall_is_seen_promptly(
    server: ScriptedServer, client: httpx.Client
) -> None:
    """A client that closes a stalled stream is recorded as "client_closed" right away."""
    server.add(ScriptedResponse(chunks=(Chunk(b"data: first\n\n"),), end=End.STALL))
    with client.stream("POST", url(server), json=PAYLOAD) as response:
        assert next(response.iter_raw()) == b"data: first\n\n"
        closed_at = time.monotonic()
    assert server.wait_for_outcomes(1, timeout=2.0) == ["client_closed"]
    assert time.monotonic() - closed_at < 1.0


async def test_async_client_closing_a_stall_is_seen() -> None:
    """An httpx.AsyncClient that stops iterating an SSE stream closes the connection."""
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"id": "resp_1"}},
        {"type": "x.delta"},
    ]
    with ScriptedServer([ScriptedResponse.sse(*events, end=End.STALL)]) as srv:
        async with (
            httpx.AsyncClient(timeout=2.0, trust_env=False) as aclient,
            aclient.stream("POST", url(srv), json=PAYLOAD) as response,
        ):
            received = b""
            async for piece in response.aiter_raw():
                received += piece
                if received.count(b"\n\n") == len(events):
                    break
        assert received == b"".join(c.data for c in ScriptedResponse.sse(*events).chunks)
        assert srv.wait_for_outcomes(1, timeout=2.0) == ["client_closed"]


def test_stop_while_stalled_returns_promptly(client: httpx.Client) -> None:
    """stop() ends a stalled response at once, records "stall", and is idempotent."""
    srv = ScriptedServer([ScriptedResponse(chunks=(Chunk(b"data: x\n\n"),), end=End.STALL)])
    srv.start()
    try:
        with client.stream("POST", url(srv), json=PAYLOAD) as response:
            pieces = response.iter_raw()
            assert next(pieces) == b"data: x\n\n"
            started = time.monotonic()
            srv.stop()
            assert time.monotonic() - started < 1.0
            assert srv.outcomes == ["stall"]
            with pytest.raises(httpx.RemoteProtocolError):
                next(pieces)
    finally:
        srv.stop()
    srv.stop()


def test_stop_during_a_delay_records_stopped(client: httpx.Client) -> None:
    """stop() interrupts a pending chunk delay and records "stopped"."""
    srv = ScriptedServer([ScriptedResponse(chunks=(Chunk(b"late", delay=30.0),))])
    with srv, client.stream("POST", url(srv), json=PAYLOAD) as response:
        assert response.status_code == 200
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 1.0
    assert srv.outcomes == ["stopped"]


def test_running_out_of_script_gives_clear_500(
    server: ScriptedServer, client: httpx.Client
) -> None:
    """A request beyond the script gets a 500 whose JSON error names the request number."""
    server.add(ScriptedResponse.json(200, {"ok": True}))
    assert client.post(url(server), json=PAYLOAD).json() == {"ok": True}
    response = client.post(url(server), json=PAYLOAD)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["message"] == "scripted server: no response left for request #2"
    assert len(server.requests) == 2
    assert server.wait_for_outcomes(2) == ["complete", "complete"]


def test_sse_framing_is_exact() -> None:
    """sse() frames mappings as event/data lines with compact JSON and keeps strings verbatim."""
    scripted = ScriptedResponse.sse(
        {"type": "response.created", "response": {"id": "r1", "text": "é"}},
        {"no_type": 1},
        "data: [DONE]\n\n",
        delay=0.25,
        end=End.DISCONNECT,
        status=201,
        headers={"x-request-id": "req_1"},
    )
    assert scripted.chunks == (
        Chunk(
            'event: response.created\ndata: {"type":"response.created",'
            '"response":{"id":"r1","text":"é"}}\n\n'.encode(),
            0.25,
        ),
        Chunk(b'data: {"no_type":1}\n\n', 0.25),
        Chunk(b"data: [DONE]\n\n", 0.25),
    )
    assert scripted.headers == (("content-type", "text/event-stream"), ("x-request-id", "req_1"))
    assert (scripted.status, scripted.end) == (201, End.DISCONNECT)


def test_sse_chunk_size_resplits_the_body() -> None:
    """sse(chunk_size=n) cuts the framed body every n bytes, across event boundaries."""
    scripted = ScriptedResponse.sse({"type": "a"}, "data: [DONE]\n\n", chunk_size=10, delay=0.1)
    body = b'event: a\ndata: {"type":"a"}\n\ndata: [DONE]\n\n'
    assert [c.data for c in scripted.chunks] == [body[i : i + 10] for i in range(0, len(body), 10)]
    assert [c.data for c in scripted.chunks][:2] == [b"event: a\nd", b'ata: {"typ']
    assert {c.delay for c in scripted.chunks} == {0.1}
    with pytest.raises(ValueError, match="chunk_size"):
        ScriptedResponse.sse("x", chunk_size=0)


def test_head_delay_delays_the_headers(server: ScriptedServer) -> None:
    """A read timeout shorter than head_delay fires before the status line arrives."""
    server.add(ScriptedResponse(head_delay=0.3, chunks=(Chunk(b"data: x\n\n"),)))
    timeout = httpx.Timeout(2.0, read=0.05)
    with (
        httpx.Client(timeout=timeout, trust_env=False) as c,
        pytest.raises(httpx.ReadTimeout),
    ):
        c.post(url(server), json=PAYLOAD)
    assert server.wait_for_outcomes(1) == ["client_closed"]


def test_head_delay_then_response_arrives(server: ScriptedServer, client: httpx.Client) -> None:
    """With a long enough timeout the response arrives, no earlier than head_delay."""
    server.add(ScriptedResponse(head_delay=0.1, chunks=(Chunk(b"late"),)))
    started = time.monotonic()
    response = client.post(url(server), json=PAYLOAD)
    assert response.content == b"late"
    assert time.monotonic() - started >= 0.1
    assert server.wait_for_outcomes(1) == ["complete"]


def test_unplayable_script_records_error(server: ScriptedServer, client: httpx.Client) -> None:
    """A response aiohttp refuses to send (a newline in a header) gives a 500 and "error"."""
    server.add(ScriptedResponse(headers=(("x-bad", "a\r\nb"),)))
    assert client.post(url(server), json=PAYLOAD).status_code == 500
    assert server.wait_for_outcomes(1) == ["error"]


def test_wait_for_outcomes_times_out_clearly(server: ScriptedServer) -> None:
    """wait_for_outcomes raises TimeoutError saying what it waited for and what it got."""
    with pytest.raises(TimeoutError, match=r"at least 1 outcome\(s\) within 0.01s, got 0"):
        server.wait_for_outcomes(1, timeout=0.01)
