"""``RecordingProxy`` in process, between httpx clients and the scripted server on loopback: it
records what the recording transport records, passes every chunk and failure on, and never hangs
on a client or an upstream that goes away. (``harness serve`` and ``harness proxy`` as real
processes are tested in test_cli.py.)"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness._cassette import Cassette, Interaction, Outcome
from harness._record import RecordingTransport
from harness._serve import CassetteServer, RecordingProxy
from harness._server import Chunk, End, ScriptedResponse, ScriptedServer
from tests.conftest import CORPUS

BODY = (b"event: a\ndata: {}\n\n", b"event: b\ndata: {}\n\n", b"event: c\ndata: {}\n\n")
HEADERS = {"authorization": "Bearer sk-test", "x-trace": "1"}


@pytest.fixture
def proxy(server: ScriptedServer, tmp_path: Path) -> Iterator[RecordingProxy]:
    with RecordingProxy(server.base_url.removesuffix("/v1"), tmp_path / "proxied.yaml") as running:
        yield running


def timeless(interaction: Interaction) -> tuple[object, ...]:
    """What was recorded, without the timing (the Date header too), the wording of an error,
    and the hop-by-hop Connection header (a proxy does not forward it)."""
    request, response = interaction.request, interaction.response
    assert response is not None
    return (
        request.uri,
        tuple((k, v) for k, v in request.headers if k != "connection"),
        request.body,
        (response.status, response.reason, response.body),
        tuple((k, v) for k, v in response.headers if k != "date"),
        sum(chunk.size for chunk in interaction.chunks),
        interaction.outcome,
        interaction.error.type if interaction.error else None,
    )


def read(client: httpx.Client, url: str, got: list[bytes]) -> None:
    with client.stream("POST", url, content=b'{"stream": true}') as response:
        got.extend(response.iter_raw())


@pytest.mark.parametrize("end", [End.COMPLETE, End.DISCONNECT, End.RESET])
def test_the_proxy_records_what_the_recording_transport_records(
    server: ScriptedServer, tmp_path: Path, end: End
) -> None:
    """The same exchange recorded directly and through the proxy: the same request, response,
    bytes, outcome and failure type."""
    script = ScriptedResponse(chunks=tuple(Chunk(part) for part in BODY), end=end)
    server.add(script, script)
    direct = RecordingTransport(httpx.HTTPTransport(), tmp_path / "direct.yaml")
    with (
        httpx.Client(transport=direct, headers=HEADERS) as client,
        contextlib.suppress(httpx.TransportError),
    ):
        read(client, f"{server.base_url}/responses", [])
    with (
        RecordingProxy(server.base_url.removesuffix("/v1"), tmp_path / "p.yaml") as proxy,
        httpx.Client(headers=HEADERS) as client,
        contextlib.suppress(httpx.TransportError),
    ):
        read(client, f"{proxy.base_url}/responses", [])
    [recorded] = direct.cassette.interactions
    [proxied] = proxy.transport.cassette.interactions
    assert timeless(recorded) == timeless(proxied)
    assert (end is End.COMPLETE) == (Outcome.COMPLETE == proxied.outcome)


def test_chunks_pass_through_as_they_arrive(server: ScriptedServer, proxy: RecordingProxy) -> None:
    """The client holds the first chunk while the upstream still holds back the rest; when the
    client hangs up, the proxy hangs up upstream and records the close."""
    server.add(ScriptedResponse(chunks=(Chunk(BODY[0]),), end=End.STALL))
    with (
        httpx.Client(timeout=10) as client,
        client.stream("POST", f"{proxy.base_url}/responses") as response,
    ):
        assert BODY[0] == next(response.iter_raw())
    assert ["client_closed"] == server.wait_for_outcomes(1)
    proxy.stop()
    [interaction] = proxy.transport.cassette.interactions
    assert (Outcome.CLOSED, len(BODY[0])) == (interaction.outcome, interaction.chunks[0].size)


def test_a_failure_upstream_breaks_the_clients_body(
    server: ScriptedServer, proxy: RecordingProxy
) -> None:
    """An upstream reset mid-body is not passed on as a clean end: the client's read fails after
    the bytes that did arrive."""
    server.add(ScriptedResponse(chunks=(Chunk(BODY[0]),), end=End.RESET))
    got: list[bytes] = []
    with httpx.Client(timeout=10) as client, pytest.raises(httpx.TransportError):
        read(client, f"{proxy.base_url}/responses", got)
    assert BODY[0] == b"".join(got)


def test_error_statuses_pass_through(server: ScriptedServer, proxy: RecordingProxy) -> None:
    """A 429 reaches the client with its Retry-After and error body, and is recorded."""
    error = {"error": {"message": "Rate limit reached", "type": "requests", "code": None}}
    server.add(ScriptedResponse.json(429, error, headers={"retry-after": "2"}))
    with httpx.Client(timeout=10) as client:
        response = client.post(f"{proxy.base_url}/responses", json={})
    assert (429, "2", error) == (
        response.status_code,
        response.headers["retry-after"],
        response.json(),
    )
    proxy.stop()
    [interaction] = proxy.transport.cassette.interactions
    assert 429 == interaction.response.status  # type: ignore[union-attr]


def test_an_unreachable_upstream_is_a_502_naming_it(tmp_path: Path) -> None:
    """Nothing listens upstream: the client gets a 502 whose error names the connect failure,
    and the cassette holds the attempt with no response."""
    with ScriptedServer() as gone:
        upstream = gone.base_url.removesuffix("/v1")
    with (
        RecordingProxy(upstream, tmp_path / "c.yaml") as proxy,
        httpx.Client(timeout=10) as client,
    ):
        response = client.post(f"{proxy.base_url}/responses", json={})
    assert 502 == response.status_code
    assert "upstream failed: ConnectError" in response.json()["error"]["message"]
    [interaction] = proxy.transport.cassette.interactions
    assert (None, "ConnectError") == (interaction.response, interaction.error.type)  # type: ignore[union-attr]


def test_a_request_body_over_a_megabyte_is_forwarded_and_recorded(
    server: ScriptedServer, proxy: RecordingProxy
) -> None:
    """aiohttp caps request.read() at 1 MiB (a 413); a long conversation's request is larger.
    The proxy forwards and records 3 MiB as sent."""
    server.add(ScriptedResponse(chunks=tuple(Chunk(part) for part in BODY)))
    big = b'{"input": "' + b"x" * (3 << 20) + b'"}'
    answer = httpx.post(f"{proxy.base_url}/responses", content=big, timeout=30)
    assert 200 == answer.status_code
    assert big == server.requests[0].body
    assert str(len(big)) == server.requests[0].header("content-length")
    proxy.stop()
    [interaction] = proxy.transport.cassette.interactions
    assert len(big) <= len(interaction.request.body)


def test_a_client_that_leaves_before_the_head_is_recorded_as_cancelled(
    server: ScriptedServer, proxy: RecordingProxy, tmp_path: Path
) -> None:
    """The upstream has not answered when the client gives up: the attempt is recorded as
    cancelled before its response head, not as an unknown error."""
    server.add(ScriptedResponse(chunks=tuple(Chunk(part) for part in BODY), head_delay=5.0))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{proxy.base_url}/responses", content=b"{}", timeout=0.5)
    server.wait_for_outcomes(1)
    proxy.stop()
    [interaction] = Cassette.load(tmp_path / "proxied.yaml").interactions
    assert interaction.response is None
    assert interaction.error is not None
    assert "CancelledError" == interaction.error.type
    assert "before the response head" in interaction.error.message


def test_a_fixture_answers_any_post(tmp_path: Path) -> None:
    """A fixture answers any POST: a Chat Completions path, a query such as api-version.
    (serve given a folder: test_cli.py.)"""
    (tmp_path / "turn.sse").write_bytes(b"".join(BODY))
    with CassetteServer([tmp_path / "turn.sse"]) as served:
        for path in ("/chat/completions", "/responses?api-version=2025-04-01"):
            answer = httpx.post(f"{served.base_url}{path}", content=b"{}")
            assert (200, b"".join(BODY)) == (answer.status_code, answer.content), path


def test_a_codex_form_fixture_plays_to_the_openai_sdk() -> None:
    """Codex's fixture form puts each line in its own event; an "event:" line alone does
    nothing by the WHATWG rules, but the openai SDK dispatches it with no data and fails on
    it. Served, the fixture gives the SDK the same events our client reads."""
    import openai

    fixture = CORPUS / "sse" / "codex__CODEX_RS_SSE_FIXTURE_format_cli_responses_fixture.sse"
    with (
        CassetteServer([fixture]) as served,
        openai.OpenAI(base_url=served.base_url, api_key="sk-test", max_retries=0) as client,
        client.responses.create(model="o4-mini", input="hi", stream=True) as stream,
    ):
        kinds = [event.type for event in stream]
    assert ["response.created", "response.output_item.done", "response.completed"] == kinds


def test_a_head_request_gets_no_body_and_the_connection_stays_usable(tmp_path: Path) -> None:
    """HEAD is answered with a head only (RFC 9110): a body after it was read as the status
    line of the next response on the same connection."""
    (tmp_path / "turn.sse").write_bytes(b"".join(BODY))
    with CassetteServer([tmp_path / "turn.sse"]) as served, httpx.Client() as client:
        head = client.head(f"{served.base_url}/responses")
        assert b"" == head.content
        answer = client.post(f"{served.base_url}/responses", content=b"{}")
        assert (200, b"".join(BODY)) == (answer.status_code, answer.content)
