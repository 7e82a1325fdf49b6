"""The replayer: recorded sessions drive the unchanged client offline, faithfully."""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai
import pytest

from harness import (
    APIStatusError,
    AsyncModelClient,
    AsyncReplayTransport,
    Cassette,
    Chunk,
    Completed,
    ConfigurationError,
    Created,
    Fault,
    IdleTimeoutError,
    Interaction,
    ModelClient,
    NoMatchError,
    Outcome,
    Prompt,
    RecordedRequest,
    RecordedResponse,
    RecordingTransport,
    ReplayTransport,
    StreamClosedError,
    VirtualClock,
)
from harness._replay import Chunking, plan
from harness._server import Chunk as Write
from harness._server import End, ScriptedResponse, ScriptedServer
from tests.conftest import CORPUS, PROMPT, Run
from tests.test_corpus import MANIFEST, check

SSE = (CORPUS / "sse" / "pydanticai__responses_function_call_args_deltas.sse").read_bytes()
EVENTS = [block + b"\n\n" for block in SSE.split(b"\n\n") if block]


def record(server: ScriptedServer, path: Path, prompt: Prompt = PROMPT) -> list[Any]:
    transport = RecordingTransport(httpx.HTTPTransport(), path)
    with ModelClient(
        "gpt-4o",
        base_url=server.base_url,
        api_key="sk-test",
        transport=transport,
        sleep=lambda _: None,
    ) as client:
        return list(client.stream(prompt))


def replay(path: Path | Cassette, prompt: Prompt = PROMPT, **options: Any) -> Run:
    clock = options.pop("clock", VirtualClock())
    client_options = {
        k: options.pop(k) for k in ("stream_max_retries", "idle_timeout") if k in options
    }
    transport = ReplayTransport(path, clock=clock, **options)
    run = Run()
    with ModelClient(
        "gpt-4o",
        base_url="http://replay.invalid/v1",
        api_key="sk-test",
        transport=transport,
        clock=clock.now,
        sleep=clock.sleep,
        **client_options,
    ) as client:
        try:
            run.events.extend(client.stream(prompt))
        except Exception as exc:
            run.error = exc  # type: ignore[assignment]
    run.sleeps.extend(clock.slept)
    return run


def raw_chunks(transport: httpx.BaseTransport) -> list[bytes]:
    with (
        httpx.Client(transport=transport) as client,
        client.stream("POST", "http://replay.invalid/v1/responses", content=b"{}") as response,
    ):
        return list(response.iter_raw())


def test_round_trip_gives_identical_events_and_chunk_boundaries(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """A session recorded from the server replays to the same events, cut at the same bytes."""
    server.add(ScriptedResponse(chunks=tuple(Write(event, 0.01) for event in EVENTS)))
    live = record(server, tmp_path / "c.yaml")
    replayed = replay(tmp_path / "c.yaml")
    assert None is replayed.error
    assert live == replayed.events
    [interaction] = Cassette.load(tmp_path / "c.yaml").interactions
    assert EVENTS == interaction.chunk_bodies()
    assert EVENTS == raw_chunks(ReplayTransport(tmp_path / "c.yaml", match_body=False))


def test_async_replay_gives_the_same_events(server: ScriptedServer, tmp_path: Path) -> None:
    """AsyncReplayTransport drives AsyncModelClient to the same events."""
    server.add(ScriptedResponse(chunks=tuple(Write(event) for event in EVENTS)))
    live = record(server, tmp_path / "c.yaml")

    async def main() -> list[Any]:
        clock = VirtualClock()
        transport = AsyncReplayTransport(tmp_path / "c.yaml", clock=clock)
        async with AsyncModelClient(
            "gpt-4o",
            base_url="http://replay.invalid/v1",
            api_key="k",
            transport=transport,
            clock=clock.now,
            sleep=clock.asleep,
        ) as client:
            return [event async for event in client.stream(PROMPT)]

    assert live == asyncio.run(main())


def test_recorded_timing_reproduces_the_gaps(server: ScriptedServer, tmp_path: Path) -> None:
    """In recorded timing the median error of the gaps between chunks is under 10 ms."""
    server.add(ScriptedResponse(chunks=tuple(Write(event, 0.03) for event in EVENTS)))
    record(server, tmp_path / "c.yaml")
    [interaction] = Cassette.load(tmp_path / "c.yaml").interactions
    recorded = [c.offset_ms for c in interaction.chunks]
    arrivals = []
    with httpx.Client(
        transport=ReplayTransport(tmp_path / "c.yaml", timing="recorded", match_body=False)
    ) as client:
        start = time.perf_counter()
        with client.stream("POST", "http://replay.invalid/v1/responses") as response:
            for _ in response.iter_raw():
                arrivals.append((time.perf_counter() - start) * 1000)
    recorded_gaps = [b - a for a, b in itertools.pairwise(recorded)]
    replayed_gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    errors = [abs(r - p) for r, p in zip(recorded_gaps, replayed_gaps, strict=True)]
    assert statistics.median(errors) < 10.0


def test_a_recorded_429_replays_as_the_same_retry_without_waiting(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """429 (Retry-After: 7) then 200: the replay asks the client's sleep for 7 s, on a virtual
    clock, and ends as the recording did."""
    server.add(
        ScriptedResponse.json(429, {"error": {"message": "slow"}}, headers={"retry-after": "7"}),
        ScriptedResponse(chunks=tuple(Write(event) for event in EVENTS)),
    )
    live = record(server, tmp_path / "c.yaml")
    clock = VirtualClock()
    replayed = replay(tmp_path / "c.yaml", clock=clock)
    assert [7.0] == replayed.sleeps
    assert live == replayed.events
    assert 7.0 <= clock.now()


def drain(client: httpx.Client, url: str, sink: list[bytes]) -> None:
    with client.stream("POST", url) as response:
        sink.extend(response.iter_raw())


def test_a_recorded_mid_stream_failure_raises_the_same_error_after_the_same_bytes(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """A connection reset mid-stream replays as the same transport error after the same bytes."""
    server.add(ScriptedResponse(chunks=(Write(EVENTS[0]), Write(EVENTS[1][:50])), end=End.RESET))
    live: list[bytes] = []
    transport = RecordingTransport(httpx.HTTPTransport(), tmp_path / "c.yaml")
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ReadError):
        drain(client, f"{server.base_url}/responses", live)
    replayed: list[bytes] = []
    replayer = ReplayTransport(tmp_path / "c.yaml", match_body=False)
    with httpx.Client(transport=replayer) as client, pytest.raises(httpx.ReadError):
        drain(client, "http://replay.invalid/v1/responses", replayed)
    assert [EVENTS[0], EVENTS[1][:50]] == replayed
    assert b"".join(live) == b"".join(replayed)


def test_a_recorded_stall_fires_the_idle_timeout_on_the_virtual_clock(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """A stream that went silent replays as the client's idle timeout, with no real waiting."""
    server.add(ScriptedResponse(chunks=(Write(EVENTS[0]),), end=End.STALL))
    transport = RecordingTransport(httpx.HTTPTransport(), tmp_path / "c.yaml")
    with (
        ModelClient(
            "gpt-4o",
            base_url=server.base_url,
            api_key="sk-test",
            transport=transport,
            idle_timeout=0.3,
            stream_max_retries=0,
        ) as client,
        pytest.raises(IdleTimeoutError),
    ):
        list(client.stream(PROMPT))
    clock = VirtualClock()
    started = time.perf_counter()
    replayed = replay(tmp_path / "c.yaml", clock=clock, idle_timeout=30.0, stream_max_retries=0)
    assert isinstance(replayed.error, IdleTimeoutError)
    assert [Created] == [type(event) for event in replayed.events]
    assert 0.29 <= clock.now()  # the recorded silence passed on the virtual clock
    assert time.perf_counter() - started < 0.29  # and not on the wall clock


@pytest.mark.parametrize("chunking", ["recorded", "event", "bytes:7", "random:1", "random:2"])
@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["file"][:-4] for entry in MANIFEST])
def test_every_corpus_transcript_replays_to_its_outcome_under_each_chunking(
    entry: dict[str, Any], chunking: str
) -> None:
    """Each transcript, as a recorded interaction, replays to the MANIFEST outcome."""
    from harness import load_fixture

    body = load_fixture(CORPUS / "sse" / entry["file"])
    sizes = [len(body) // 3, len(body) // 3]
    sizes.append(len(body) - sum(sizes))
    interaction = Interaction(
        RecordedRequest("POST", "https://api.openai.com/v1/responses", (), b"{}"),
        RecordedResponse(200, "OK", (("content-type", "text/event-stream"),), body),
        tuple(Chunk(float(n), size) for n, size in enumerate(sizes) if size),
        Outcome.COMPLETE,
    )
    run = replay(
        Cassette((interaction,)), chunking=chunking, match_body=False, stream_max_retries=0
    )
    check(entry, run)


def corpus_cassette(name: str) -> Path:
    return CORPUS / "cassettes" / name


def test_a_pydantic_ai_cassette_replays_both_turns_through_the_client() -> None:
    """pydantic-ai's variant (parsed_body): two streamed turns, each body as one chunk."""
    path = corpus_cassette("pydanticai__responses_stream_function_call_roundtrip.yaml")
    transport = ReplayTransport(path, match_body=False)
    with ModelClient(
        "gpt-4o", base_url="http://replay.invalid/v1", api_key="k", transport=transport
    ) as client:
        first = list(client.stream(PROMPT))
        second = list(client.stream(PROMPT))
    assert "resp_67e554a155508191900ee113293c4c830794405d35281ae2" == first[-1].response_id
    assert "resp_67e554a21aa88191b65876ac5e5bbe0406c52f0e511c76ed" == second[-1].response_id
    assert [] == transport.unused()


def test_a_vcrpy_400_replays_as_the_servers_error() -> None:
    """The recorded 400 reaches the client as APIStatusError with the server's message."""
    path = corpus_cassette("pydanticai__responses_stream_request_http_400.yaml")
    with (
        ModelClient(
            "gpt-4o",
            base_url="http://replay.invalid/v1",
            api_key="k",
            transport=ReplayTransport(path, match_body=False),
        ) as client,
        pytest.raises(APIStatusError, match="Invalid 'temperature'") as caught,
    ):
        list(client.stream(PROMPT))
    assert 400 == caught.value.status


def test_a_vcrpy_resume_get_replays_through_the_openai_sdk() -> None:
    """The background POST and the GET ...?starting_after=0 resume both replay for the SDK."""
    path = corpus_cassette("pydanticai__responses_background_resume_starting_after.yaml")
    transport = ReplayTransport(path, match_body=False)
    client = openai.OpenAI(
        api_key="k",
        base_url="http://replay.invalid/v1",
        http_client=httpx2.Client(transport=transport),
    )  # type: ignore[arg-type]
    with client:
        started = [
            e.type
            for e in client.responses.create(
                model="gpt-4o", input="x", stream=True, background=True
            )
        ]
        resumed = [
            e.type
            for e in client.responses.retrieve(
                "resp_0850765c843cca5300699cc47d93c0819089a181f5feeff8eb",
                stream=True,
                starting_after=0,
            )
        ]
    assert "response.created" == started[0]
    assert ("response.queued", "response.completed") == (resumed[0], resumed[-1])
    assert [] == transport.unused()


def test_a_vcrpy_chat_completions_cassette_replays_through_the_openai_sdk() -> None:
    """openllmetry's standard vcrpy cassette streams its tool-call chunks to the SDK."""
    transport = ReplayTransport(
        corpus_cassette("openllmetry__chat_tools_streaming.yaml"), match_body=False
    )
    with openai.OpenAI(
        api_key="k",
        base_url="http://replay.invalid/v1",
        http_client=httpx2.Client(transport=transport),
    ) as client:  # type: ignore[arg-type]
        chunks = list(client.chat.completions.create(model="gpt-4o", messages=[], stream=True))
    assert "tool_calls" == chunks[-1].choices[0].finish_reason


def test_a_different_prompt_never_gets_a_recorded_answer(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """Another prompt is a NoMatchError naming the cassette, closest, path and how to re-record."""
    server.add(ScriptedResponse(chunks=(Write(SSE),)))
    record(server, tmp_path / "c.yaml", Prompt.text("What is the capital of France?"))
    run = replay(tmp_path / "c.yaml", Prompt.text("What is the capital of Spain?"))
    assert isinstance(run.error, NoMatchError)
    message = str(run.error)
    assert str(tmp_path / "c.yaml") in message
    assert "Closest: #0" in message
    assert '$.input[0].content[0].text: "What is the capital of France?" -> ' in message
    assert "--record-mode=new_episodes" in message


def test_ignored_json_paths_and_key_order_do_not_matter(tmp_path: Path) -> None:
    """The body matches as canonical JSON; ignored paths may differ."""
    recorded = {"model": "m", "input": [{"id": "a", "text": "hi"}], "metadata": {"run": 1}}
    live = {"metadata": {"run": 2}, "input": [{"text": "hi", "id": "b"}], "model": "m"}
    interaction = Interaction(
        RecordedRequest("POST", "http://h/v1/responses", (), json.dumps(recorded).encode()),
        RecordedResponse(200, "OK", (), b"ok"),
        (Chunk(0.0, 2),),
    )
    transport = ReplayTransport(
        Cassette((interaction,)), match_ignore=["$.metadata", "$.input[*].id"]
    )
    with httpx.Client(transport=transport) as client:
        assert b"ok" == client.post("http://other/v1/responses", json=live).content
    strict = ReplayTransport(Cassette((interaction,)))
    with (
        httpx.Client(transport=strict) as client,
        pytest.raises(NoMatchError, match=r"\$\.input\[0\]\.id"),
    ):
        client.post("http://other/v1/responses", json=live)


def test_identical_requests_are_served_in_recorded_order(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """Two identical requests get the first then the second recording; a third is refused."""
    server.add(
        ScriptedResponse.sse({"type": "response.completed", "response": {"id": "r1"}}),
        ScriptedResponse.sse({"type": "response.completed", "response": {"id": "r2"}}),
    )
    path = tmp_path / "c.yaml"
    transport = RecordingTransport(httpx.HTTPTransport(), path)
    with ModelClient("m", base_url=server.base_url, api_key="k", transport=transport) as client:
        list(client.stream(PROMPT)), list(client.stream(PROMPT))
    with ModelClient(
        "m", base_url="http://r.invalid/v1", api_key="k", transport=ReplayTransport(path)
    ) as client:
        assert ["r1", "r2"] == [list(client.stream(PROMPT))[-1].response_id for _ in range(2)]
        with pytest.raises(NoMatchError, match=r"all already served"):
            list(client.stream(PROMPT))


def test_faults_on_demand(server: ScriptedServer, tmp_path: Path) -> None:
    """A status before the stream, a disconnect after event 2, then the recording: the client
    retries through both and ends as recorded."""
    server.add(ScriptedResponse(chunks=(Write(SSE),)))
    record(server, tmp_path / "c.yaml")
    faults = {
        0: Fault.status(503, {"retry-after": "1"}, '{"error": {"message": "injected"}}'),
        1: Fault.disconnect_after(2),
    }
    run = replay(tmp_path / "c.yaml", faults=faults, allow_repeats=True)
    assert None is run.error
    kinds = [type(event).__name__ for event in run.events]
    assert ["Created", "OtherEvent", "Reconnecting", "Created"] == kinds[:4]
    assert isinstance(run.events[-1], Completed)
    assert [1.0, run.events[2].delay] == run.sleeps  # Retry-After, then the stream backoff


def test_a_stall_fault_fires_the_idle_timeout(server: ScriptedServer, tmp_path: Path) -> None:
    """Fault.stall_after(1) ends in the client's idle timeout, on the virtual clock."""
    server.add(ScriptedResponse(chunks=(Write(SSE),)))
    record(server, tmp_path / "c.yaml")
    clock = VirtualClock()
    run = replay(
        tmp_path / "c.yaml",
        clock=clock,
        faults={0: Fault.stall_after(1)},
        idle_timeout=5.0,
        stream_max_retries=0,
    )
    assert isinstance(run.error, IdleTimeoutError)
    assert [Created] == [type(event) for event in run.events]
    assert 5.0 <= clock.now()


def streamed(body: bytes, chunks: tuple[Chunk, ...] = ()) -> Interaction:
    """A recorded POST /v1/responses answered by the stream ``body``, in ``chunks`` (one chunk
    at 1 ms when none are given)."""
    return Interaction(
        RecordedRequest("POST", "http://h/v1/responses", (), b"{}"),
        RecordedResponse(200, "OK", (("content-type", "text/event-stream"),), body),
        chunks or (Chunk(1.0, len(body)),),
    )


def cut_after(body: bytes, events: int) -> Run:
    """``body`` replayed with no retries and ``Fault.disconnect_after(events)``."""
    return replay(
        Cassette((streamed(body),)),
        match_body=False,
        stream_max_retries=0,
        faults={0: Fault.disconnect_after(events)},
    )


def test_a_disconnect_fault_without_retries_is_the_seeds_error(tmp_path: Path) -> None:
    """Fault.disconnect_after(0) cuts the body before any event."""
    run = cut_after(SSE, 0)
    assert isinstance(run.error, StreamClosedError)
    assert [] == run.events


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("timing", "fast", "unknown timing 'fast'"),
        ("chunking", "lines", "unknown chunking 'lines'"),
        ("chunking", "bytes:0", "unknown chunking 'bytes:0'"),
        ("match_ignore", ["input"], "a JSON path starts with '\\$'"),
    ],
)
def test_bad_options_are_clear_errors(option: str, value: Any, message: str) -> None:
    """Unknown timing, chunking or a malformed ignore path is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match=message):
        ReplayTransport(Cassette(()), **{option: value})


def test_a_corrupt_cassette_is_refused_before_any_request(tmp_path: Path) -> None:
    """A truncated cassette fails at construction, naming the file."""
    from harness import CassetteError

    good = tmp_path / "good.yaml"
    Cassette((Interaction(RecordedRequest("GET", "http://h/"), RecordedResponse(200, "OK")),)).save(
        good
    )
    cut = tmp_path / "cut.yaml"
    cut.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(CassetteError, match=r"cut\.yaml"):
        ReplayTransport(cut)


PINGED = (
    b'event: response.created\ndata: {"type":"response.created","response":{"id":"r"}}\n\n'
    + b": ping\n\n" * 5
    + b'event: response.completed\ndata: {"type":"response.completed",'
    b'"response":{"id":"r","status":"completed"}}\n\n'
)


def pinged() -> Interaction:
    """response.created at 1 ms, five keep-alive comments 250 ms apart, then the end."""
    first = PINGED.index(b": ping")
    sizes = [first, *[len(b": ping\n\n")] * 5]
    sizes.append(len(PINGED) - sum(sizes))
    return streamed(PINGED, tuple(Chunk(1.0 + 250.0 * n, size) for n, size in enumerate(sizes)))


@pytest.mark.parametrize("chunking", ["event", "bytes:7", "bytes:64", "random:4"])
def test_every_byte_keeps_its_recorded_arrival_under_any_chunking(chunking: str) -> None:
    """A re-cut piece is sent when all its bytes had arrived, and no byte is held back past
    its own arrival: the client's idle clock sees the same stream whatever the chunking."""
    interaction = pinged()
    arrival = [
        chunk.offset_ms for chunk in interaction.chunks for _ in range(chunk.size)
    ]  # per byte
    pieces = plan(interaction, Chunking.parse(chunking)).pieces
    assert PINGED == b"".join(data for _, data in pieces)
    position = 0
    for offset, data in pieces:
        assert {offset} == set(arrival[position : position + len(data)]), (position, data)
        position += len(data)


def test_a_fault_counts_events_not_keep_alive_comments() -> None:
    """Fault.disconnect_after(1) serves one event, whatever comment blocks come before it
    (a comment dispatches nothing, by the WHATWG rules)."""
    run = cut_after(b": OPENROUTER PROCESSING\n\n" + PINGED, 1)
    assert isinstance(run.error, StreamClosedError)
    assert [Created] == [type(event) for event in run.events]
