"""The streaming client against a real scripted server on 127.0.0.1, async and sync alike.

Every scenario runs twice through the ``stream`` fixture: once with ``AsyncModelClient`` and
once with ``ModelClient``. Sleeps are injected and recorded, so retry delays are asserted
without waiting; the idle-timeout scenarios use a short real timeout.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import (
    APIConnectionError,
    APIStatusError,
    AsyncModelClient,
    Completed,
    ContextWindowExceededError,
    Created,
    FunctionCall,
    FunctionCallArgumentsDelta,
    IdleTimeoutError,
    InvalidRequestError,
    ModelClient,
    OtherEvent,
    OutputItemDone,
    OutputTextDelta,
    Prompt,
    QuotaExceededError,
    Reconnecting,
    ResponseFailedError,
    ResponseIncompleteError,
    RetryLimitError,
    ServerOverloadedError,
    StreamClosedError,
    TokenUsage,
    UnexpectedContentTypeError,
    UnknownItem,
)
from harness._server import Chunk, End, ScriptedResponse, ScriptedServer
from tests.conftest import PROMPT, Run

Stream = Callable[..., Run]

USAGE = {
    "input_tokens": 12,
    "input_tokens_details": {"cached_tokens": 2},
    "output_tokens": 5,
    "output_tokens_details": {"reasoning_tokens": 1},
    "total_tokens": 17,
}
MESSAGE = {
    "type": "message",
    "id": "msg_1",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "Hello world", "annotations": []}],
}


def created(rid: str = "resp_1") -> dict[str, Any]:
    return {"type": "response.created", "response": {"id": rid, "status": "in_progress"}}


def text(delta: str) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": delta,
    }


def done(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": 0, "item": item}


def completed(rid: str = "resp_1", usage: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"id": rid, "status": "completed", "output": []}
    if usage is not None:
        response["usage"] = usage
    return {"type": "response.completed", "response": response}


def numbered(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


HAPPY = [created(), text("Hello"), text(" world"), done(MESSAGE), completed(usage=USAGE)]


def test_happy_path_with_usage_and_sequence_numbers(stream: Stream, server: ScriptedServer) -> None:
    """Created, deltas, the finished item and Completed with token usage, in order."""
    server.add(ScriptedResponse.sse(*numbered(*HAPPY)))
    run = stream(server.base_url)
    assert None is run.error
    assert [Created, OutputTextDelta, OutputTextDelta, OutputItemDone, Completed] == [
        type(event) for event in run.events
    ]
    assert [0, 1, 2, 3, 4] == [getattr(event, "sequence_number", None) for event in run.events]
    assert (
        Completed(response_id="resp_1", token_usage=TokenUsage(12, 2, 5, 1, 17), sequence_number=4)
        == run.events[-1]
    )
    assert "Hello world" == run.events[3].item.text


def test_happy_path_without_usage_or_sequence_numbers(
    stream: Stream, server: ScriptedServer
) -> None:
    """The pre-May-2025 wire format (no sequence_number, no usage) streams the same way."""
    server.add(ScriptedResponse.sse(created(), done(MESSAGE), completed()))
    run = stream(server.base_url)
    assert None is run.error
    assert Completed(response_id="resp_1") == run.events[-1]
    assert all(getattr(event, "sequence_number", None) is None for event in run.events)


def test_request_is_the_seeds(stream: Stream, server: ScriptedServer) -> None:
    """POST {base_url}/responses with bearer auth, SSE accept, the beta header and the payload."""
    server.add(ScriptedResponse.sse(created(), completed()))
    stream(server.base_url, api_key="sk-test-123")
    [request] = server.requests
    assert ("POST", "/v1/responses") == (request.method, request.path)
    assert "Bearer sk-test-123" == request.header("authorization")
    assert "text/event-stream" == request.header("accept")
    assert "responses=experimental" == request.header("openai-beta")
    assert "application/json" == request.header("content-type")
    body = request.json()
    assert "o4-mini" == body["model"]
    assert True is body["stream"]
    assert ["shell"] == [tool["name"] for tool in body["tools"]]


def test_function_call_via_argument_deltas(stream: Stream, server: ScriptedServer) -> None:
    """Argument deltas stream live, then the call arrives whole with its raw JSON arguments."""
    call = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "shell",
        "arguments": '{"command":["ls","-la"]}',
        "status": "completed",
    }
    deltas = ['{"command":', '["ls",', '"-la"]}']
    server.add(
        ScriptedResponse.sse(
            created(),
            *(
                {
                    "type": "response.function_call_arguments.delta",
                    "item_id": "fc_1",
                    "output_index": 0,
                    "delta": d,
                }
                for d in deltas
            ),
            {
                "type": "response.function_call_arguments.done",
                "item_id": "fc_1",
                "arguments": call["arguments"],
            },
            done(call),
            completed(),
        )
    )
    run = stream(server.base_url)
    assert deltas == [event.delta for event in run.of(FunctionCallArgumentsDelta)]
    assert [
        FunctionCall(
            name="shell",
            arguments='{"command":["ls","-la"]}',
            call_id="call_1",
            id="fc_1",
            status="completed",
        )
    ] == [event.item for event in run.of(OutputItemDone)]
    assert ["response.function_call_arguments.done"] == [e.type for e in run.of(OtherEvent)]


def test_early_close_before_completed_then_a_successful_retry(
    stream: Stream, server: ScriptedServer
) -> None:
    """A body that ends without response.completed is retried whole, after a Reconnecting event."""
    server.add(
        ScriptedResponse.sse(created("resp_a"), text("partial")),
        ScriptedResponse.sse(created("resp_b"), completed("resp_b")),
    )
    run = stream(server.base_url)
    assert None is run.error
    assert 2 == len(server.requests)
    assert [Created, OutputTextDelta, Reconnecting, Created, Completed] == [
        type(event) for event in run.events
    ]
    [reconnecting] = run.of(Reconnecting)
    assert "stream closed before response.completed" in reconnecting.error
    assert [reconnecting.delay] == run.sleeps
    assert 0.18 <= reconnecting.delay <= 0.22  # first backoff: 200 ms +- 10 %


def test_early_close_without_retries_left_is_the_seeds_error(
    stream: Stream, server: ScriptedServer
) -> None:
    """With no stream retries left, the error is "stream closed before response.completed"."""
    server.add(ScriptedResponse.sse(created(), text("partial")))
    run = stream(server.base_url, stream_max_retries=0)
    assert isinstance(run.error, StreamClosedError)
    assert "stream closed before response.completed" == run.error.message
    assert [Created, OutputTextDelta] == [type(event) for event in run.events]


@pytest.mark.parametrize("end", [End.RESET, End.DISCONNECT])
def test_connection_lost_mid_event_then_a_successful_retry(
    stream: Stream, server: ScriptedServer, end: End
) -> None:
    """A reset or a cut in the middle of an event is a retryable stream error."""
    cut = b'event: response.output_text.delta\ndata: {"type":"response.output_te'
    server.add(
        ScriptedResponse(
            chunks=(Chunk(ScriptedResponse.sse(created()).chunks[0].data), Chunk(cut)), end=end
        ),
        ScriptedResponse.sse(created("resp_2"), completed("resp_2")),
    )
    run = stream(server.base_url)
    assert None is run.error
    [reconnecting] = run.of(Reconnecting)
    assert "stream closed before response.completed" in reconnecting.error
    assert Completed(response_id="resp_2") == run.events[-1]


def test_connection_lost_with_no_retries_left_raises(
    stream: Stream, server: ScriptedServer
) -> None:
    """The transport error behind a lost connection is chained to the StreamClosedError."""
    server.add(ScriptedResponse(chunks=(Chunk(b'data: {"type":'),), end=End.RESET))
    run = stream(server.base_url, stream_max_retries=0)
    assert isinstance(run.error, StreamClosedError)
    assert run.error.__cause__ is not None


def test_idle_timeout_on_silence(stream: Stream, server: ScriptedServer) -> None:
    """A stream that goes silent fails with "idle timeout waiting for SSE"."""
    server.add(ScriptedResponse.sse(created(), end=End.STALL))
    run = stream(server.base_url, idle_timeout=0.3, stream_max_retries=0)
    assert isinstance(run.error, IdleTimeoutError)
    assert "idle timeout waiting for SSE" == run.error.message
    assert [Created] == [type(event) for event in run.events]


def test_idle_timeout_when_only_keep_alive_comments_arrive(
    stream: Stream, server: ScriptedServer
) -> None:
    """Keep-alive comments do not reset the idle timer: only events do."""
    keep_alive = tuple(Chunk(b": keep-alive\n\n", delay=0.05) for _ in range(100))
    server.add(
        ScriptedResponse(chunks=(Chunk(b'data: {"type":"response.created"}\n\n'), *keep_alive))
    )
    run = stream(server.base_url, idle_timeout=0.3, stream_max_retries=0)
    assert isinstance(run.error, IdleTimeoutError)
    assert ["client_closed"] == server.wait_for_outcomes(1)  # gave up before the 5 s of comments


@pytest.mark.parametrize("client", ["sync", "async"])
def test_time_the_consumer_spends_on_an_event_is_not_idle_time(
    server: ScriptedServer, client: str
) -> None:
    """A consumer that runs a tool call for longer than the idle timeout, with the rest of the
    turn already on its way, gets the rest: the server was never silent. (The seed times only
    its wait for the next event.)"""
    first = ScriptedResponse.sse(created(), done(MESSAGE)).chunks
    last = ScriptedResponse.sse(completed()).chunks[0].data
    server.add(ScriptedResponse(chunks=(*first, Chunk(last[:20]), Chunk(last[20:]))))
    now = [0.0]
    seen: list[type] = []

    def take(event: object) -> None:
        seen.append(type(event))
        if isinstance(event, OutputItemDone):
            now[0] += 5.0  # five idle timeouts spent on the tool call

    options: dict[str, Any] = {
        "base_url": server.base_url,
        "api_key": "sk-test",
        "idle_timeout": 1.0,
        "stream_max_retries": 0,
        "clock": lambda: now[0],
    }
    if client == "sync":
        with ModelClient("o4-mini", **options) as sync_client:
            for event in sync_client.stream(PROMPT):
                take(event)
    else:

        async def main() -> None:
            async with AsyncModelClient("o4-mini", **options) as async_client:
                async for event in async_client.stream(PROMPT):
                    take(event)

        asyncio.run(main())
    assert [Created, OutputItemDone, Completed] == seen


def test_idle_timeout_is_retried(stream: Stream, server: ScriptedServer) -> None:
    """An idle timeout is retryable: the request is sent again."""
    server.add(
        ScriptedResponse.sse(created(), end=End.STALL), ScriptedResponse.sse(created(), completed())
    )
    run = stream(server.base_url, idle_timeout=0.3)
    assert None is run.error
    assert ["idle timeout waiting for SSE"] == [event.error for event in run.of(Reconnecting)]


@pytest.mark.parametrize(
    ("headers", "delay"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.75"}, 0.75),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:09 GMT"}, 9.0),
    ],
)
def test_429_honours_each_retry_after_form(
    stream: Stream, server: ScriptedServer, headers: dict[str, str], delay: float
) -> None:
    """The client sleeps exactly what Retry-After (any form) or retry-after-ms asks."""
    server.add(
        ScriptedResponse.json(429, {"error": {"message": "slow down"}}, headers=headers),
        ScriptedResponse.sse(created(), completed()),
    )
    run = stream(server.base_url, wall_clock=lambda: 1445412480.0)  # 07:28:00 GMT that day
    assert None is run.error
    assert [delay] == run.sleeps
    assert 2 == len(server.requests)


def test_429_without_retry_after_backs_off(stream: Stream, server: ScriptedServer) -> None:
    """Without Retry-After the delays grow exponentially from 200 ms."""
    server.add(
        *[ScriptedResponse.json(429, {"error": {"message": "slow"}})] * 3,
        ScriptedResponse.sse(created(), completed()),
    )
    run = stream(server.base_url)
    assert None is run.error
    assert 3 == len(run.sleeps)
    for sleep, base in zip(run.sleeps, [0.2, 0.4, 0.8], strict=True):
        assert base * 0.9 <= sleep <= base * 1.1


@pytest.mark.parametrize(
    "headers",
    [{"retry-after": "3600"}, {"retry-after-ms": "99999999999"}, {"retry-after": "9" * 400}],
    ids=["an-hour", "ms", "400-digits"],
)
def test_a_retry_after_longer_than_max_retry_delay_is_not_waited_out(
    stream: Stream, server: ScriptedServer, headers: dict[str, str]
) -> None:
    """A server asking for an hour (or for ever) gets the error at once, not a hung client."""
    server.add(ScriptedResponse.json(429, {"error": {"message": "slow down"}}, headers=headers))
    run = stream(server.base_url)
    assert isinstance(run.error, APIStatusError)
    assert "not retried: the server asked to wait" in str(run.error)
    assert [] == run.sleeps
    assert 1 == len(server.requests)


def test_max_retry_delay_can_allow_a_longer_wait(stream: Stream, server: ScriptedServer) -> None:
    """max_retry_delay raises the cap for a caller who would rather wait."""
    server.add(
        ScriptedResponse.json(429, {"error": {"message": "slow"}}, headers={"retry-after": "3600"}),
        ScriptedResponse.sse(created(), completed()),
    )
    run = stream(server.base_url, max_retry_delay=7200)
    assert None is run.error
    assert [3600.0] == run.sleeps


def test_a_try_again_in_longer_than_max_retry_delay_is_raised(
    stream: Stream, server: ScriptedServer
) -> None:
    """The same cap holds for a response.failed that says "try again in 86400s"."""
    server.add(
        ScriptedResponse.sse(
            created(), failed("rate_limit_exceeded", "Please try again in 86400s.")
        )
    )
    run = stream(server.base_url)
    assert isinstance(run.error, ResponseFailedError)
    assert "not retried" in str(run.error)
    assert [] == run.sleeps
    assert 1 == len(server.requests)


def test_5xx_sequence_then_success(stream: Stream, server: ScriptedServer) -> None:
    """500, 502 and 503 are retried until the stream starts."""
    server.add(
        *(
            ScriptedResponse.json(status, {"error": {"message": "oops"}})
            for status in (500, 502, 503)
        ),
        ScriptedResponse.sse(created(), completed()),
    )
    run = stream(server.base_url)
    assert None is run.error
    assert 4 == len(server.requests)
    assert 3 == len(run.sleeps)


def test_5xx_until_retries_run_out(stream: Stream, server: ScriptedServer) -> None:
    """Exhaustion raises RetryLimitError with the status, the request id and the attempt count."""
    server.add(
        *[
            ScriptedResponse.json(
                503, {"error": {"message": "overloaded"}}, headers={"x-request-id": "req_503"}
            )
        ]
        * 3
    )
    run = stream(server.base_url, max_retries=2)
    assert isinstance(run.error, RetryLimitError)
    assert (503, "req_503", 3) == (run.error.status, run.error.request_id, run.error.attempts)
    assert 3 == len(server.requests)
    assert 2 == len(run.sleeps)
    assert "overloaded" in str(run.error)
    assert "request id req_503" in str(run.error)


def test_connection_refused_is_retried_then_raised(stream: Stream) -> None:
    """A refused connection is retried with backoff, then raises APIConnectionError."""
    with socket.socket() as sock:  # a loopback port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = stream(f"http://127.0.0.1:{port}/v1", max_retries=2)
    assert isinstance(run.error, APIConnectionError)
    assert 3 == run.error.attempts
    assert 2 == len(run.sleeps)
    assert "ConnectError" in str(run.error)


def test_400_surfaces_the_servers_error_after_one_request(
    stream: Stream, server: ScriptedServer
) -> None:
    """A 400 is not retried; the error carries status, parsed error, raw body and request id."""
    error = {
        "message": "Unknown parameter: 'input[0].metadata'.",
        "type": "invalid_request_error",
        "param": "input[0].metadata",
        "code": "unknown_parameter",
    }
    server.add(
        ScriptedResponse.json(
            400, {"error": error}, headers={"x-request-id": "req_400", "cf-ray": "ray-9"}
        )
    )
    run = stream(server.base_url)
    assert isinstance(run.error, APIStatusError)
    assert not isinstance(run.error, RetryLimitError)
    assert 1 == len(server.requests)
    assert [] == run.sleeps
    assert (400, error, "req_400", "ray-9") == (
        run.error.status,
        run.error.error,
        run.error.request_id,
        run.error.cf_ray,
    )
    assert "Unknown parameter: 'input[0].metadata'." in str(run.error)
    assert '"unknown_parameter"' in run.error.body


def test_4xx_with_a_non_json_body_shows_the_text(stream: Stream, server: ScriptedServer) -> None:
    """A 4xx without a JSON error still shows the server's text."""
    server.add(
        ScriptedResponse(
            status=404, headers=(("content-type", "text/plain"),), chunks=(Chunk(b"no such route"),)
        )
    )
    run = stream(server.base_url)
    assert isinstance(run.error, APIStatusError)
    assert None is run.error.error
    assert "404 Not Found" in str(run.error)
    assert "no such route" in str(run.error)


def failed(code: str, message: str) -> dict[str, Any]:
    return {
        "type": "response.failed",
        "response": {
            "id": "resp_f",
            "status": "failed",
            "error": {"code": code, "message": message},
        },
    }


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ("context_length_exceeded", ContextWindowExceededError),
        ("insufficient_quota", QuotaExceededError),
        ("invalid_prompt", InvalidRequestError),
        ("server_is_overloaded", ServerOverloadedError),
    ],
)
def test_fatal_response_failed_is_never_retried(
    stream: Stream, server: ScriptedServer, code: str, error_type: type[Exception]
) -> None:
    """Fatal response.failed codes raise at once, with one request and no sleep."""
    server.add(ScriptedResponse.sse(created(), failed(code, f"{code} happened")))
    run = stream(server.base_url)
    assert isinstance(run.error, error_type)
    assert 1 == len(server.requests)
    assert [] == run.sleeps


def test_rate_limited_response_failed_is_retried_after_the_asked_delay(
    stream: Stream, server: ScriptedServer
) -> None:
    """rate_limit_exceeded retries the whole request after the "try again in" delay."""
    server.add(
        ScriptedResponse.sse(
            created(), failed("rate_limit_exceeded", "Please try again in 11.054s. Visit ...")
        ),
        ScriptedResponse.sse(created(), completed()),
    )
    run = stream(server.base_url)
    assert None is run.error
    assert [11.054] == run.sleeps
    assert 11.054 == run.of(Reconnecting)[0].delay


def test_stream_retries_run_out(stream: Stream, server: ScriptedServer) -> None:
    """After OPENAI_STREAM_MAX_RETRIES re-sends the last stream error is raised."""
    server.add(
        *[ScriptedResponse.sse(created(), failed("rate_limit_exceeded", "try again in 28ms"))] * 3
    )
    run = stream(server.base_url, stream_max_retries=2)
    assert isinstance(run.error, ResponseFailedError)
    assert [0.028, 0.028] == run.sleeps
    assert 3 == len(server.requests)


def test_response_incomplete_raises_with_its_reason(stream: Stream, server: ScriptedServer) -> None:
    """response.incomplete ends the stream with its reason."""
    server.add(
        ScriptedResponse.sse(
            created(),
            {
                "type": "response.incomplete",
                "response": {"id": "resp_1", "incomplete_details": {"reason": "max_output_tokens"}},
            },
        )
    )
    run = stream(server.base_url, stream_max_retries=0)
    assert isinstance(run.error, ResponseIncompleteError)
    assert "max_output_tokens" == run.error.reason


def test_error_event_raises(stream: Stream, server: ScriptedServer) -> None:
    """A top-level error event ends the stream with the server's message."""
    server.add(
        ScriptedResponse.sse(
            created(),
            {"type": "error", "code": "server_error", "message": "Something broke", "param": None},
        )
    )
    run = stream(server.base_url, stream_max_retries=0)
    assert isinstance(run.error, ResponseFailedError)
    assert "error event: server_error: Something broke" == run.error.message


@pytest.mark.parametrize(
    ("last", "error_type"),
    [
        (failed("context_length_exceeded", "too long"), ContextWindowExceededError),
        (failed("rate_limit_exceeded", "try again in 20ms"), ResponseFailedError),
        (
            {"type": "response.incomplete", "response": {"id": "resp_1", "status": "incomplete"}},
            ResponseIncompleteError,
        ),
        ({"type": "error", "code": "server_error", "message": "broke"}, ResponseFailedError),
    ],
    ids=["fatal", "retryable", "incomplete", "error-event"],
)
def test_events_before_a_failure_in_the_same_chunk_reach_the_consumer_first(
    stream: Stream, server: ScriptedServer, last: dict[str, Any], error_type: type[Exception]
) -> None:
    """A server flushes the last events of a turn together: an item finished in the same chunk
    as the failure after it is still delivered, then the error."""
    server.add(ScriptedResponse.sse(created(), text("Hi"), done(MESSAGE), last, chunk_size=1 << 16))
    run = stream(server.base_url, stream_max_retries=0)
    assert isinstance(run.error, error_type)
    assert [Created, OutputTextDelta, OutputItemDone] == [type(event) for event in run.events]
    assert 1 == len(server.requests)


def test_malformed_data_is_skipped_or_kept_raw_never_a_crash(
    stream: Stream, server: ScriptedServer
) -> None:
    """Non-JSON and type-less data are skipped; unknown types and bad items are kept raw."""
    server.add(
        ScriptedResponse.sse(
            created(),
            "data: this is not json\n\n",
            'data: {"no_type": true}\n\n',
            {"type": "response.future_event", "x": 1},
            done({"type": "function_call", "name": "shell"}),
            completed(),
        )
    )
    run = stream(server.base_url)
    assert None is run.error
    assert [Created, OtherEvent, OutputItemDone, Completed] == [type(e) for e in run.events]
    assert "response.future_event" == run.events[1].type
    assert isinstance(run.events[2].item, UnknownItem)


def test_wrong_content_type_is_a_clear_error(stream: Stream, server: ScriptedServer) -> None:
    """A 200 that is not text/event-stream is not parsed, nor retried."""
    server.add(ScriptedResponse.json(200, {"id": "resp_1", "object": "response"}))
    run = stream(server.base_url)
    assert isinstance(run.error, UnexpectedContentTypeError)
    assert "application/json" == run.error.content_type
    assert "not 'text/event-stream'" in str(run.error)
    assert 1 == len(server.requests)


def test_completed_is_emitted_as_soon_as_it_arrives(server: ScriptedServer) -> None:
    """Completed reaches the consumer while the server is still holding the connection open."""
    server.add(ScriptedResponse.sse(created(), completed(), end=End.STALL))
    with ModelClient("m", base_url=server.base_url, api_key="k") as client:
        events = list(client.stream(PROMPT))  # a stalled body would block without early stop
    assert Completed(response_id="resp_1") == events[-1]
    assert ["client_closed"] == server.wait_for_outcomes(1)


def test_sync_consumer_that_stops_closes_the_connection(server: ScriptedServer) -> None:
    """Closing the stream after the first event closes the HTTP connection at once."""
    server.add(ScriptedResponse.sse(created(), end=End.STALL))
    with ModelClient("m", base_url=server.base_url, api_key="k") as client:
        with client.stream(PROMPT) as events:
            assert isinstance(next(events), Created)
        assert ["client_closed"] == server.wait_for_outcomes(1)


def test_async_consumer_that_stops_closes_the_connection(server: ScriptedServer) -> None:
    """Leaving `async with` after the first event closes the HTTP connection at once."""
    server.add(ScriptedResponse.sse(created(), end=End.STALL))

    async def main() -> None:
        async with AsyncModelClient("m", base_url=server.base_url, api_key="k") as client:
            async with client.stream(PROMPT) as events:
                assert isinstance(await anext(events), Created)
            outcomes = await asyncio.to_thread(server.wait_for_outcomes, 1)
            assert ["client_closed"] == outcomes

    asyncio.run(main())


def test_cancelling_the_consuming_task_closes_the_connection(server: ScriptedServer) -> None:
    """Cancelling a task that is waiting on the stream closes the connection; no task leaks."""
    server.add(ScriptedResponse.sse(created(), end=End.STALL))

    async def main() -> None:
        first = asyncio.Event()
        async with AsyncModelClient("m", base_url=server.base_url, api_key="k") as client:

            async def consume() -> None:
                async for _ in client.stream(PROMPT):
                    first.set()

            task = asyncio.create_task(consume())
            await first.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert ["client_closed"] == await asyncio.to_thread(server.wait_for_outcomes, 1)
        assert {asyncio.current_task()} == asyncio.all_tasks()

    asyncio.run(main())


def test_fixture_short_circuit_in_codex_form(
    stream: Stream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CODEX_RS_SSE_FIXTURE streams a one-line-per-field file; no network, no key needed."""
    fixture = tmp_path / "codex.sse"
    fixture.write_text(
        "event: response.created\n"
        'data: {"type":"response.created","response":{"id":"resp_fx"}}\n'
        'data: {"type":"response.output_item.done","item":{"type":"message","role":"assistant",'
        '"content":[{"type":"output_text","text":"fixture hello"}]}}\n'
        'data: {"type":"response.completed","response":{"id":"resp_fx","output":[]}}\n'
    )
    monkeypatch.setenv("CODEX_RS_SSE_FIXTURE", str(fixture))
    run = stream("http://127.0.0.1:9/v1", api_key="")
    assert None is run.error
    assert [Created, OutputItemDone, Completed] == [type(event) for event in run.events]
    assert "fixture hello" == run.events[1].item.text


def test_fixture_short_circuit_with_a_raw_body(
    stream: Stream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HARNESS_SSE_FIXTURE streams a raw recorded body through the same pipeline."""
    fixture = tmp_path / "raw.sse"
    fixture.write_bytes(b"".join(ScriptedResponse.sse(*HAPPY).chunks[i].data for i in range(5)))
    monkeypatch.setenv("HARNESS_SSE_FIXTURE", str(fixture))
    run = stream("http://127.0.0.1:9/v1")
    assert None is run.error
    assert 5 == len(run.events)


def test_missing_fixture_is_a_clear_error(stream: Stream, tmp_path: Path) -> None:
    """A fixture path that does not exist names the file."""
    from harness import FixtureError

    with pytest.raises(FixtureError, match=r"cannot read SSE fixture .*missing\.sse"):
        stream("http://127.0.0.1:9/v1", fixture=tmp_path / "missing.sse")


def test_prompt_input_accepts_previous_response_and_typed_outputs(
    stream: Stream, server: ScriptedServer
) -> None:
    """A follow-up turn sends previous_response_id and the function output as input."""
    server.add(ScriptedResponse.sse(created(), completed()))
    prompt = Prompt(
        input=({"type": "function_call_output", "call_id": "c1", "output": "ok"},),
        previous_response_id="resp_0",
    )
    stream(server.base_url, prompt)
    body = server.requests[0].json()
    assert "resp_0" == body["previous_response_id"]
    assert [{"type": "function_call_output", "call_id": "c1", "output": "ok"}] == body["input"]


def test_sync_consumer_that_breaks_out_of_the_loop_closes_the_connection(
    server: ScriptedServer,
) -> None:
    """`break` out of a for loop over the stream (no close call) closes the connection."""
    server.add(ScriptedResponse.sse(created(), end=End.STALL))
    with ModelClient("m", base_url=server.base_url, api_key="k") as client:
        for event in client.stream(PROMPT):
            assert isinstance(event, Created)
            break
        assert ["client_closed"] == server.wait_for_outcomes(1)


def test_async_consumer_that_breaks_out_of_the_loop_closes_the_connection(
    server: ScriptedServer,
) -> None:
    """`break` out of `async for` (no aclose call) closes the connection, via the loop's
    async-generator finaliser."""
    server.add(ScriptedResponse.sse(created(), end=End.STALL))

    async def main() -> None:
        async with AsyncModelClient("m", base_url=server.base_url, api_key="k") as client:
            async for event in client.stream(PROMPT):
                assert isinstance(event, Created)
                break
            assert ["client_closed"] == await asyncio.to_thread(server.wait_for_outcomes, 1)

    asyncio.run(main())
