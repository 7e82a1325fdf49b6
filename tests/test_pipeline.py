"""The event pipeline: server-sent events in, typed events out, without any I/O."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from harness import (
    Completed,
    ContextWindowExceededError,
    Created,
    FunctionCall,
    FunctionCallArgumentsDelta,
    InvalidRequestError,
    Message,
    OtherEvent,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    QuotaExceededError,
    ReasoningSummaryDelta,
    ReasoningSummaryPartAdded,
    ReasoningTextDelta,
    ResponseFailedError,
    ResponseIncompleteError,
    ServerOverloadedError,
    ServerSentEvent,
    TokenUsage,
    UnknownItem,
)
from harness._pipeline import EventPipeline, _loads, parse_retry_delay, token_usage


def sse(obj: Any, event: str = "") -> ServerSentEvent:
    return ServerSentEvent(event=event, data=json.dumps(obj))


def process(obj: Any) -> Any:
    return EventPipeline().process(sse(obj))


def test_dispatch_is_on_json_type_not_on_the_event_name() -> None:
    """The SSE `event:` name is ignored; the JSON `type` decides, as in the seed."""
    event = EventPipeline().process(
        sse({"type": "response.created", "response": {"id": "resp_1"}}, event="bogus")
    )
    assert Created(response_id="resp_1") == event


def test_output_item_done_carries_a_typed_function_call_with_raw_arguments() -> None:
    """`response.output_item.done` maps to OutputItemDone with the arguments string untouched."""
    item = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "shell",
        "arguments": '{"command": ["ls"]}',
        "status": "completed",
    }
    event = process({"type": "response.output_item.done", "output_index": 0, "item": item})
    expected = FunctionCall(
        name="shell",
        arguments='{"command": ["ls"]}',
        call_id="call_1",
        id="fc_1",
        status="completed",
    )
    assert isinstance(event, OutputItemDone)
    assert expected == event.item
    assert 0 == event.output_index
    assert item == event.item.to_dict()


def test_output_item_added_carries_the_item() -> None:
    """`response.output_item.added` maps to OutputItemAdded."""
    item = {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "content": [],
        "status": "in_progress",
    }
    event = process({"type": "response.output_item.added", "output_index": 1, "item": item})
    assert (
        OutputItemAdded(
            item=Message(role="assistant", content=(), id="msg_1", status="in_progress"),
            output_index=1,
        )
        == event
    )


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            {
                "type": "response.output_text.delta",
                "delta": "Hi",
                "item_id": "m",
                "output_index": 0,
                "content_index": 0,
                "sequence_number": 4,
            },
            OutputTextDelta(
                delta="Hi", item_id="m", output_index=0, content_index=0, sequence_number=4
            ),
        ),
        (
            {
                "type": "response.reasoning_summary_text.delta",
                "delta": "Think",
                "item_id": "rs",
                "summary_index": 1,
            },
            ReasoningSummaryDelta(delta="Think", item_id="rs", summary_index=1),
        ),
        (
            {"type": "response.reasoning_summary_part.added", "item_id": "rs", "summary_index": 2},
            ReasoningSummaryPartAdded(item_id="rs", summary_index=2),
        ),
        (
            {
                "type": "response.reasoning_text.delta",
                "delta": "raw",
                "item_id": "rs",
                "content_index": 0,
            },
            ReasoningTextDelta(delta="raw", item_id="rs", content_index=0),
        ),
        (
            {
                "type": "response.function_call_arguments.delta",
                "delta": '{"a"',
                "item_id": "fc",
                "output_index": 3,
            },
            FunctionCallArgumentsDelta(delta='{"a"', item_id="fc", output_index=3),
        ),
    ],
)
def test_deltas_map_to_their_typed_events(obj: dict[str, Any], expected: Any) -> None:
    """Each delta event type has its own typed event with its indices."""
    assert expected == process(obj)


def test_completed_carries_response_id_and_full_token_usage() -> None:
    """`response.completed` gives Completed with input, cached, output, reasoning, total tokens."""
    usage = {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 4},
        "output_tokens": 7,
        "output_tokens_details": {"reasoning_tokens": 3},
        "total_tokens": 17,
    }
    pipeline = EventPipeline()
    event = pipeline.process(
        sse({"type": "response.completed", "response": {"id": "resp_9", "usage": usage}})
    )
    assert Completed(response_id="resp_9", token_usage=TokenUsage(10, 4, 7, 3, 17)) == event
    assert pipeline.completed


def test_completed_without_usage_has_no_token_usage() -> None:
    """A completion without `usage` gives `token_usage=None`, not zeros."""
    assert Completed(response_id="r") == process(
        {"type": "response.completed", "response": {"id": "r"}}
    )


def test_token_usage_details_are_none_when_absent() -> None:
    """Missing detail objects give None for cached and reasoning counts."""
    usage = {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    assert TokenUsage(1, None, 2, None, 3) == token_usage(usage)


def test_completed_without_response_id_is_passed_on_but_does_not_complete() -> None:
    """A completion with no response id is kept raw, and the stream is not complete."""
    pipeline = EventPipeline()
    event = pipeline.process(sse({"type": "response.completed", "response": {}}))
    assert isinstance(event, OtherEvent)
    assert not pipeline.completed


def test_unknown_event_types_are_kept_raw() -> None:
    """An event type the pipeline does not map is passed on as OtherEvent with its data."""
    obj = {"type": "response.brand_new_thing", "sequence_number": 2, "x": [1]}
    event = process(obj)
    assert OtherEvent(type="response.brand_new_thing", sequence_number=2) == event
    assert obj == event.data


def test_unknown_item_kinds_are_kept_raw() -> None:
    """An item of a kind we do not model is an UnknownItem holding the raw object."""
    item = {"type": "image_generation_call", "id": "ig_1", "result": "..."}
    event = process({"type": "response.output_item.done", "item": item})
    assert UnknownItem(type="image_generation_call", raw=item) == event.item


def test_unparsable_item_is_kept_raw_with_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    """A function_call without call_id is logged and kept as UnknownItem saying what is wrong."""
    item = {"type": "function_call", "name": "shell", "arguments": "{}"}
    with caplog.at_level(logging.WARNING, logger="harness"):
        event = process({"type": "response.output_item.done", "item": item})
    assert isinstance(event.item, UnknownItem)
    assert "function_call item: field 'call_id' is missing" == event.item.error
    assert "unparsable item" in caplog.text


@pytest.mark.parametrize("data", ["not json", "[DONE]", '{"type": 3}', "[1, 2]", "{}"])
def test_non_json_or_typeless_data_is_skipped(data: str) -> None:
    """Data that is not a JSON object with a string type is skipped (None), never a crash."""
    assert None is EventPipeline().process(ServerSentEvent(data=data))


def test_non_json_data_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Skipped data is logged with the event's index, so it is never lost silently."""
    pipeline = EventPipeline()
    with caplog.at_level(logging.WARNING, logger="harness"):
        pipeline.process(ServerSentEvent(data="{truncated"))
    assert "SSE event #1: data is not JSON" in caplog.text


def test_missing_sequence_numbers_are_fine_and_the_last_one_is_tracked() -> None:
    """Events without sequence_number pass; the pipeline remembers the newest one it saw."""
    pipeline = EventPipeline()
    pipeline.process(sse({"type": "response.in_progress"}))
    assert None is pipeline.last_sequence_number
    pipeline.process(sse({"type": "response.in_progress", "sequence_number": 7}))
    pipeline.process(sse({"type": "response.output_text.delta", "delta": "x"}))
    assert 7 == pipeline.last_sequence_number


def failed(code: str | None, message: str = "boom") -> dict[str, Any]:
    error = {"code": code, "message": message} if code else None
    return {"type": "response.failed", "response": {"id": "r", "error": error}}


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ("context_length_exceeded", ContextWindowExceededError),
        ("insufficient_quota", QuotaExceededError),
        ("invalid_prompt", InvalidRequestError),
        ("server_is_overloaded", ServerOverloadedError),
    ],
)
def test_fatal_failure_codes_raise_non_retryable_errors(
    code: str, error_type: type[ResponseFailedError]
) -> None:
    """The fatal response.failed codes raise their own error, never retryable."""
    with pytest.raises(error_type) as caught:
        process(failed(code, "the message"))
    assert not caught.value.retryable
    assert code == caught.value.code
    assert "the message" in str(caught.value)


def test_rate_limit_failure_is_retryable_with_the_delay_from_the_message() -> None:
    """rate_limit_exceeded is retryable, after the delay its message asks for."""
    with pytest.raises(ResponseFailedError) as caught:
        process(failed("rate_limit_exceeded", "Please try again in 11.054s. Visit ..."))
    assert caught.value.retryable
    assert 11.054 == caught.value.retry_after


def test_failure_without_error_object_is_a_retryable_stream_error() -> None:
    """response.failed without an error object still fails, with the seed's wording."""
    with pytest.raises(ResponseFailedError, match=r"response\.failed event received"):
        process(failed(None))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Please try again in 11.054s.", 11.054),
        ("Please try again in 28ms.", 0.028),
        ("Try again in 35 seconds.", 35.0),
        ("try again in 1 second", 1.0),
        ("no hint here", None),
    ],
)
def test_retry_delay_is_parsed_from_rate_limit_messages(message: str, expected: float) -> None:
    """The "try again in" forms real servers use all parse, in seconds."""
    assert expected == parse_retry_delay(message)


def test_incomplete_raises_with_its_reason() -> None:
    """response.incomplete raises ResponseIncompleteError with incomplete_details.reason."""
    obj = {
        "type": "response.incomplete",
        "response": {"id": "r", "incomplete_details": {"reason": "max_output_tokens"}},
    }
    with pytest.raises(ResponseIncompleteError) as caught:
        process(obj)
    assert "max_output_tokens" == caught.value.reason
    assert "Incomplete response returned, reason: max_output_tokens" == str(caught.value)


def test_top_level_error_event_raises() -> None:
    """A top-level `error` event (code/message at the top) raises ResponseFailedError."""
    obj = {
        "type": "error",
        "code": "server_error",
        "message": "The server had an error",
        "param": None,
        "sequence_number": 3,
    }
    with pytest.raises(ResponseFailedError) as caught:
        process(obj)
    assert "server_error" == caught.value.code
    assert "error event: server_error: The server had an error" == str(caught.value)


def test_errors_carry_the_request_ids_of_the_attempt() -> None:
    """Errors raised by the pipeline carry the request id and cf-ray it was created with."""
    pipeline = EventPipeline(request_id="req_42", cf_ray="ray-1")
    with pytest.raises(ResponseFailedError) as caught:
        pipeline.process(sse(failed("server_error")))
    assert ("req_42", "ray-1") == (caught.value.request_id, caught.value.cf_ray)
    assert "request id req_42, cf-ray ray-1" in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        '{"type": "a", "n": 1}',
        ' {"type": "a"}',
        '{"type": "a"}\t',
        '{"type": "a"}{"type": "b"}',
        '{"type": "a"} x',
        "",
        "   ",
        "[DONE]",
        "NaN",
        "-Infinity",
        "12",
        '"text"',
        '{"type": "\u0001"}',
        '{"type": "a\x01"}',
        '{"type": "a", "type": "b"}',
        '{"n": 1' + "0" * 5000 + "}",
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=repr,
)
def test_event_json_is_read_exactly_as_json_loads_reads_it(data: str) -> None:
    """The pipeline's fast JSON read gives what json.loads gives, or fails as it fails."""
    expected: Any
    try:
        expected = json.loads(data)
    except (ValueError, RecursionError) as exc:
        with pytest.raises(type(exc)):
            _loads(data)
    else:
        assert json.dumps(expected) == json.dumps(_loads(data))
