"""The recording transports against the scripted server: faithful timing, outcomes, modes,
fixtures, redaction, and the real third-party clients (httpx2, the openai SDK)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import httpx2
import pytest

from harness import (
    AsyncModelClient,
    AsyncRecordingTransport,
    Cassette,
    CassetteError,
    Completed,
    ConfigurationError,
    Created,
    ModelClient,
    Outcome,
    Prompt,
    RecordingTransport,
    RecordMode,
    SecretLeakError,
    StreamClosedError,
    recording_openai,
)
from harness._server import Chunk, End, ScriptedResponse, ScriptedServer
from tests.conftest import CORPUS

SSE = (CORPUS / "sse" / "pydanticai__responses_text_deltas_after_tool.sse").read_bytes()
EVENTS = [block + b"\n\n" for block in SSE.split(b"\n\n") if block]
CANARY = "sk-canary-0123456789abcdefCANARY"


def events_response(delay: float = 0.0, end: End = End.COMPLETE) -> ScriptedResponse:
    return ScriptedResponse(chunks=tuple(Chunk(event, delay) for event in EVENTS), end=end)


def record_sync(server: ScriptedServer, path: Path, **options: object) -> list[object]:
    transport = RecordingTransport(httpx.HTTPTransport(), path, **options)  # type: ignore[arg-type]
    with ModelClient(
        "gpt-4o",
        base_url=server.base_url,
        api_key="sk-test",
        transport=transport,
        sleep=lambda _: None,
        stream_max_retries=1,
    ) as client:
        try:
            return list(client.stream(Prompt.text("hi")))
        except StreamClosedError as exc:
            return [exc]


def drain(client: httpx.Client, url: str) -> bytes:
    with client.stream("POST", url) as response:
        return b"".join(response.iter_raw())


def test_chunks_are_recorded_with_their_boundaries_and_arrival_offsets(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """Each chunk is recorded as it arrived: its size, and an offset no earlier than it was sent."""
    server.add(events_response(delay=0.03))
    record_sync(server, tmp_path / "c.yaml")
    [interaction] = Cassette.load(tmp_path / "c.yaml").interactions
    assert [len(event) for event in EVENTS] == [chunk.size for chunk in interaction.chunks]
    offsets = [chunk.offset_ms for chunk in interaction.chunks]
    # The server waits 30 ms before each write, so chunk i cannot arrive before (i + 1) * 30 ms.
    assert all(offset >= 30 * (i + 1) for i, offset in enumerate(offsets)), offsets
    assert offsets == sorted(offsets)
    assert interaction.head_ms is not None
    assert interaction.head_ms <= offsets[0]


def test_each_chunk_reaches_the_caller_before_the_stream_ends(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """The first event is in the caller's hands while the server still holds the rest back."""
    server.add(ScriptedResponse(chunks=(Chunk(EVENTS[0]),), end=End.STALL))
    transport = RecordingTransport(httpx.HTTPTransport(), tmp_path / "c.yaml")
    with (
        ModelClient(
            "m", base_url=server.base_url, api_key="sk-test", transport=transport
        ) as client,
        client.stream(Prompt.text("hi")) as events,
    ):
        assert isinstance(next(events), Created)  # would block forever if the body were buffered
    [interaction] = Cassette.load(tmp_path / "c.yaml").interactions
    assert Outcome.CLOSED == interaction.outcome
    assert [len(EVENTS[0])] == [chunk.size for chunk in interaction.chunks]


def test_a_client_that_stops_early_is_recorded_as_closed_after_its_bytes(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """Closing the response after one chunk records outcome closed, with that one chunk."""
    server.add(events_response(delay=0.02))
    with (
        httpx.Client(
            transport=RecordingTransport(httpx.HTTPTransport(), tmp_path / "c.yaml")
        ) as client,
        client.stream("POST", f"{server.base_url}/responses") as response,
    ):
        first = next(response.iter_raw())
    [interaction] = Cassette.load(tmp_path / "c.yaml").interactions
    assert (Outcome.CLOSED, first) == (interaction.outcome, interaction.response.body)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("end", "error"), [(End.RESET, "ReadError"), (End.DISCONNECT, "RemoteProtocolError")]
)
def test_a_mid_stream_failure_is_recorded_with_its_exception_and_bytes(
    server: ScriptedServer, tmp_path: Path, end: End, error: str
) -> None:
    """A reset or a cut body is recorded as failed: the exception type and the bytes before it."""
    server.add(ScriptedResponse(chunks=(Chunk(EVENTS[0]), Chunk(EVENTS[1][:40], 0.02)), end=end))
    transport = RecordingTransport(httpx.HTTPTransport(), tmp_path / "c.yaml")
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.TransportError):
        drain(client, f"{server.base_url}/responses")
    [interaction] = Cassette.load(tmp_path / "c.yaml").interactions
    assert Outcome.FAILED == interaction.outcome
    assert interaction.error is not None
    assert error == interaction.error.type
    assert EVENTS[0] + EVENTS[1][:40] == interaction.response.body  # type: ignore[union-attr]


def test_every_attempt_of_a_retried_call_is_an_interaction(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """503, then a body cut mid-stream, then success: three interactions with their outcomes."""
    server.add(
        ScriptedResponse.json(503, {"error": {"message": "busy"}}),
        ScriptedResponse(chunks=(Chunk(EVENTS[0]),), end=End.DISCONNECT),
        events_response(),
    )
    events = record_sync(server, tmp_path / "c.yaml")
    assert isinstance(events[-1], Completed)
    interactions = Cassette.load(tmp_path / "c.yaml").interactions
    assert [(503, Outcome.COMPLETE), (200, Outcome.FAILED), (200, Outcome.CLOSED)] == [
        (i.response.status, i.outcome)
        for i in interactions  # type: ignore[union-attr]
    ]


def test_attempts_that_got_no_response_are_kept_in_order(tmp_path: Path) -> None:
    """Refused connections are recorded (outside vcrpy's interactions) with their error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = RecordingTransport(httpx.HTTPTransport(), tmp_path / "c.yaml")
    with (
        ModelClient(
            "m",
            base_url=f"http://127.0.0.1:{port}/v1",
            api_key="sk-test",
            transport=transport,
            max_retries=1,
            sleep=lambda _: None,
        ) as client,
        pytest.raises(Exception, match="ConnectError"),
    ):
        list(client.stream(Prompt.text("hi")))
    interactions = Cassette.load(tmp_path / "c.yaml").interactions
    assert [(None, "ConnectError")] * 2 == [(i.response, i.error.type) for i in interactions]  # type: ignore[union-attr]


def test_async_recording_gives_the_same_cassette_as_sync(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """The async transport records the same interaction, written on aclose()."""
    server.add(events_response(), events_response())
    record_sync(server, tmp_path / "sync.yaml")

    async def main() -> None:
        transport = AsyncRecordingTransport(httpx.AsyncHTTPTransport(), tmp_path / "async.yaml")
        async with AsyncModelClient(
            "gpt-4o", base_url=server.base_url, api_key="sk-test", transport=transport
        ) as client:
            assert isinstance([e async for e in client.stream(Prompt.text("hi"))][-1], Completed)
        assert (tmp_path / "async.yaml").exists()

    asyncio.run(main())
    sync, asynchronous = (
        Cassette.load(tmp_path / n).interactions[0] for n in ("sync.yaml", "async.yaml")
    )
    assert sync.request == asynchronous.request
    assert sync.response == asynchronous.response


def test_canary_key_is_in_no_byte_of_any_file_written(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key planted in header, body, query, echoed header, set-cookie and response body never
    reaches the disk: not the cassette, not the fixture."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    leaky_body = (
        EVENTS[0] + f'data: {{"type":"echo","key":"{CANARY}"}}\n\n'.encode() + b"".join(EVENTS[1:])
    )
    server.add(
        ScriptedResponse(
            headers=(
                ("content-type", "text/event-stream"),
                ("x-echo-key", CANARY),
                ("set-cookie", f"session={CANARY}; Path=/"),
                ("openai-organization", "org-CANARYORG1"),
            ),
            chunks=tuple(Chunk(leaky_body[i : i + 64]) for i in range(0, len(leaky_body), 64)),
        )
    )
    transport = RecordingTransport(
        httpx.HTTPTransport(), tmp_path / "c.yaml", fixtures=tmp_path / "fx"
    )
    with httpx.Client(transport=transport) as client:
        response = client.post(
            f"{server.base_url}/responses?api_key={CANARY}&stream=true",
            headers={"Authorization": f"Bearer {CANARY}", "OpenAI-Organization": "org-CANARYORG1"},
            json={"input": f"my key is {CANARY}", "stream": True},
        )
        assert CANARY.encode() in response.content  # the caller gets the real bytes
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert [tmp_path / "c.yaml", tmp_path / "fx" / "c.sse"] == written
    for path in written:
        data = path.read_bytes()
        assert CANARY.encode() not in data, path
        assert b"CANARYORG1" not in data, path
    cassette = Cassette.load(tmp_path / "c.yaml")
    assert "<redacted>" in cassette.interactions[0].request.uri
    assert len(leaky_body) - len(CANARY) + len("<redacted>") == sum(
        chunk.size for chunk in cassette.interactions[0].chunks
    )


def test_a_key_shaped_token_left_in_a_body_stops_the_write(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """An unknown sk-... token in the response: SecretLeakError, and the old file is untouched."""
    path = tmp_path / "c.yaml"
    path.write_bytes(b"previous")
    leaked = b'data: {"type":"x","text":"sk-live-abcdefghijklmnopqrstuvwxyz"}\n\n'
    server.add(ScriptedResponse(chunks=(Chunk(leaked),)))
    transport = RecordingTransport(httpx.HTTPTransport(), path, mode="all", secrets=())
    client = httpx.Client(transport=transport)
    client.post(f"{server.base_url}/responses")
    with pytest.raises(
        SecretLeakError, match=r"line \d+, column \d+: key-shaped token 'sk-liv\.\.\.'"
    ):
        client.close()
    assert b"previous" == path.read_bytes()
    assert [path] == list(tmp_path.iterdir())  # no temp file left behind


def test_fixtures_hold_the_raw_sse_body_and_replay_through_the_client(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """With fixtures=, each streamed interaction's body is written to NAME.sse, NAME-2.sse..."""
    server.add(
        events_response(),
        ScriptedResponse.json(400, {"error": {"message": "no"}}),
        events_response(),
    )
    transport = RecordingTransport(
        httpx.HTTPTransport(), tmp_path / "c.yaml", fixtures=tmp_path / "fx", fixture_name="turn"
    )
    with httpx.Client(transport=transport) as client:
        for _ in range(3):
            client.post(f"{server.base_url}/responses")
    assert ["turn-2.sse", "turn.sse"] == sorted(p.name for p in (tmp_path / "fx").iterdir())
    assert SSE == (tmp_path / "fx" / "turn.sse").read_bytes()
    with ModelClient("m", fixture=tmp_path / "fx" / "turn.sse") as client:
        assert isinstance(list(client.stream(Prompt()))[-1], Completed)


@pytest.mark.parametrize("media", ["Text/Event-Stream", "TEXT/EVENT-STREAM; charset=utf-8"])
def test_a_fixture_is_written_whatever_the_case_of_the_media_type(
    media: str, server: ScriptedServer, tmp_path: Path
) -> None:
    """Media types are case-insensitive (RFC 9110): the client reads these as streams, so the
    recorder writes their fixture too."""
    server.add(ScriptedResponse(headers=(("content-type", media),), chunks=(Chunk(SSE),)))
    transport = RecordingTransport(
        httpx.HTTPTransport(), tmp_path / "c.yaml", fixtures=tmp_path / "fx"
    )
    with httpx.Client(transport=transport) as client:
        client.post(f"{server.base_url}/responses")
    assert SSE == (tmp_path / "fx" / "c.sse").read_bytes()


def test_the_cassette_and_its_fixtures_are_written_as_a_set_or_not_at_all(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """A second fixture that cannot be written (its name is taken by a folder) stops the
    cassette and the first fixture too: no partial set is left."""
    server.add(events_response(), events_response())
    (tmp_path / "fx" / "turn-2.sse").mkdir(parents=True)
    transport = RecordingTransport(
        httpx.HTTPTransport(), tmp_path / "c.yaml", fixtures=tmp_path / "fx", fixture_name="turn"
    )
    with httpx.Client(transport=transport) as client:
        for _ in range(2):
            client.post(f"{server.base_url}/responses")
        with pytest.raises(OSError, match=r"turn-2\.sse"):
            transport.close()
    assert not (tmp_path / "c.yaml").exists()
    assert ["turn-2.sse"] == [p.name for p in (tmp_path / "fx").iterdir()]


def test_record_modes(server: ScriptedServer, tmp_path: Path) -> None:
    """all replaces, new_episodes appends, once refuses an existing cassette, none never records."""
    path = tmp_path / "c.yaml"
    server.add(*(events_response() for _ in range(3)))
    record_sync(server, path, mode="once")
    record_sync(server, path, mode=RecordMode.NEW_EPISODES)
    assert 2 == len(Cassette.load(path).interactions)
    record_sync(server, path, mode="all")
    assert 1 == len(Cassette.load(path).interactions)
    with pytest.raises(CassetteError, match="record mode 'once' records only a missing cassette"):
        RecordingTransport(httpx.HTTPTransport(), path, mode="once")
    with pytest.raises(ConfigurationError, match="'none' never records"):
        RecordingTransport(httpx.HTTPTransport(), path, mode="none")
    with pytest.raises(ConfigurationError, match="choose one of none, once, new_episodes, all"):
        RecordingTransport(httpx.HTTPTransport(), path, mode="sometimes")


def test_nothing_is_written_when_nothing_was_recorded(tmp_path: Path) -> None:
    """A transport closed without traffic leaves no file."""
    RecordingTransport(httpx.HTTPTransport(), tmp_path / "c.yaml").close()
    assert [] == list(tmp_path.iterdir())


def test_httpx2_clients_record_through_the_same_transport(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """An httpx2 client (the openai SDK's library) records with the same transport class."""
    server.add(events_response())
    transport = RecordingTransport(httpx2.HTTPTransport(), tmp_path / "c.yaml")  # type: ignore[arg-type]
    with (
        httpx2.Client(transport=transport) as client,  # type: ignore[arg-type]
        client.stream("POST", f"{server.base_url}/responses", json={"a": 1}) as response,
    ):
        chunks = list(response.iter_raw())
    [interaction] = Cassette.load(tmp_path / "c.yaml").interactions
    assert SSE == b"".join(chunks) == interaction.response.body  # type: ignore[union-attr]
    assert Outcome.COMPLETE == interaction.outcome


def test_the_openai_sdk_records_a_streaming_call(server: ScriptedServer, tmp_path: Path) -> None:
    """openai.OpenAI().responses.create(stream=True) through recording_openai() is recorded."""
    server.add(events_response(delay=0.005))
    with recording_openai(
        tmp_path / "sdk.yaml", api_key=CANARY, base_url=server.base_url
    ) as client:
        stream = client.responses.create(model="gpt-4o", input="Say hi", stream=True)
        types = [event.type for event in stream]
    assert "response.completed" == types[-1]
    assert 15 == len(types)
    [interaction] = Cassette.load(tmp_path / "sdk.yaml").interactions
    assert {"model": "gpt-4o", "input": "Say hi", "stream": True} == interaction.request.json()
    assert SSE == interaction.response.body  # type: ignore[union-attr]
    assert [len(event) for event in EVENTS] == [chunk.size for chunk in interaction.chunks]
    headers = dict(interaction.request.headers)
    assert "<redacted>" == headers["authorization"]
    assert not any(name.startswith("x-stainless") for name in headers)
    assert CANARY.encode() not in (tmp_path / "sdk.yaml").read_bytes()
