"""Sans-I/O event pipeline: server-sent events in, typed :mod:`harness._events` out.

Dispatch is on the JSON ``type`` field; the SSE ``event:`` name is ignored, as in the seed (some
servers send no ``event:`` line at all). Data that is not JSON, or has no ``type``, is logged on
the ``harness`` logger and skipped, as the seed does (``data: [DONE]`` from Chat Completions and
OpenRouter is the common case). Terminal failures raise :class:`~harness.StreamError` subclasses
that say whether a retry can help.
"""

from __future__ import annotations

import json
import json.scanner
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from httpx_sse import ServerSentEvent

from harness._events import (
    Completed,
    Created,
    FunctionCallArgumentsDelta,
    OtherEvent,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ReasoningSummaryDelta,
    ReasoningSummaryPartAdded,
    ReasoningTextDelta,
    ResponseEvent,
    TokenUsage,
)
from harness._exceptions import (
    ContextWindowExceededError,
    InvalidRequestError,
    QuotaExceededError,
    ResponseFailedError,
    ResponseIncompleteError,
    ServerOverloadedError,
)
from harness._models import UnknownItem, item_from_dict

__all__ = ["EventPipeline", "parse_retry_delay", "token_usage"]

logger = logging.getLogger("harness")

# json.loads spends more time on its two whitespace checks (a regex match before the value and
# one after) than on reading an event's JSON: 2.4 us against 1.1 us for a text delta. Data that
# is exactly one JSON value, as every real event's is, is read with the C scanner alone;
# anything else (surrounding whitespace, not JSON at all) goes through json.loads, so errors
# and edge cases are json.loads's own.
_c_scanner: Callable[[json.JSONDecoder], Callable[[str, int], tuple[Any, int]]] | None = getattr(
    json.scanner, "c_make_scanner", None
)
_scan = _c_scanner(json.JSONDecoder()) if _c_scanner is not None else None


def _loads(data: str) -> Any:
    if _scan is not None:
        try:
            value, end = _scan(data, 0)
        except (StopIteration, ValueError):
            pass
        else:
            if end == len(data):
                return value
    return json.loads(data)


_FATAL: dict[str, type[ResponseFailedError]] = {
    "context_length_exceeded": ContextWindowExceededError,
    "insufficient_quota": QuotaExceededError,
    "invalid_prompt": InvalidRequestError,
    "server_is_overloaded": ServerOverloadedError,
}

# "Please try again in 11.054s", "try again in 28ms", "Try again in 35 seconds."
_TRY_AGAIN = re.compile(r"try again in\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?)\b", re.I)


def parse_retry_delay(message: str) -> float | None:
    """The delay (seconds) a rate-limit message asks for, or ``None`` if it names none."""
    match = _TRY_AGAIN.search(message)
    if match is None:
        return None
    value = float(match.group(1))
    return value / 1000 if match.group(2).lower() == "ms" else value


def token_usage(usage: Any) -> TokenUsage | None:
    """``TokenUsage`` from a response's ``usage`` object; ``None`` when absent or malformed."""
    if not isinstance(usage, dict):
        return None
    counts = (usage.get("input_tokens"), usage.get("output_tokens"), usage.get("total_tokens"))
    if not (type(counts[0]) is int and type(counts[1]) is int and type(counts[2]) is int):
        logger.warning("usage without integer token counts, ignored: %r", usage)
        return None
    input_details = usage.get("input_tokens_details")
    output_details = usage.get("output_tokens_details")
    cached = input_details.get("cached_tokens") if isinstance(input_details, dict) else None
    reasoning = output_details.get("reasoning_tokens") if isinstance(output_details, dict) else None
    return TokenUsage(
        input_tokens=counts[0],
        cached_input_tokens=cached if type(cached) is int else None,
        output_tokens=counts[1],
        reasoning_output_tokens=reasoning if type(reasoning) is int else None,
        total_tokens=counts[2],
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


class EventPipeline:
    """Maps the server-sent events of one response to :data:`~harness.ResponseEvent` values.

    One instance per HTTP attempt. ``process`` returns ``None`` for data it skips and raises a
    :class:`~harness.StreamError` for a terminal failure. ``completed`` turns true with the
    :class:`~harness.Completed` event; ``last_sequence_number`` tracks the newest one seen.
    """

    __slots__ = ("cf_ray", "completed", "events_seen", "last_sequence_number", "request_id")

    def __init__(self, *, request_id: str | None = None, cf_ray: str | None = None) -> None:
        self.request_id = request_id
        self.cf_ray = cf_ray
        self.completed = False
        self.last_sequence_number: int | None = None
        self.events_seen = 0

    def process(self, sse: ServerSentEvent) -> ResponseEvent | None:
        """Map one server-sent event; ``None`` when its data is skipped."""
        self.events_seen += 1
        try:
            obj = _loads(sse.data)
        except (ValueError, RecursionError):  # RecursionError: nested past Python's limit
            level = logging.DEBUG if sse.data.strip() == "[DONE]" else logging.WARNING
            logger.log(
                level,
                "SSE event #%d: data is not JSON, skipped: %.200r",
                self.events_seen,
                sse.data,
            )
            return None
        kind = obj.get("type") if isinstance(obj, dict) else None
        if not isinstance(kind, str):
            logger.warning(
                'SSE event #%d: JSON without a string "type", skipped: %.200r',
                self.events_seen,
                sse.data,
            )
            return None
        sequence_number = obj.get("sequence_number")
        if type(sequence_number) is int:
            self.last_sequence_number = sequence_number
        else:
            sequence_number = None
        handler = _HANDLERS.get(kind)
        if handler is None:
            return OtherEvent(type=kind, sequence_number=sequence_number, data=obj)
        event = handler(self, obj, sequence_number)
        if event is None:
            return OtherEvent(type=kind, sequence_number=sequence_number, data=obj)
        return event

    def _malformed(self, obj: Mapping[str, Any], why: str) -> None:
        logger.warning(
            "SSE event #%d (%s): %s; passed on as OtherEvent",
            self.events_seen,
            obj.get("type"),
            why,
        )

    def _created(self, obj: dict[str, Any], seq: int | None) -> ResponseEvent | None:
        response = obj.get("response")
        response_id = _str(response.get("id")) if isinstance(response, dict) else None
        return Created(response_id=response_id, sequence_number=seq, data=obj)

    def _item(self, obj: dict[str, Any], seq: int | None) -> ResponseEvent | None:
        raw = obj.get("item")
        if not isinstance(raw, dict):
            self._malformed(obj, 'no "item" object')
            return None
        item = item_from_dict(raw)
        if isinstance(item, UnknownItem) and item.error is not None:
            logger.warning(
                "SSE event #%d (%s): unparsable item kept raw: %s",
                self.events_seen,
                obj["type"],
                item.error,
            )
        cls = OutputItemDone if obj["type"] == "response.output_item.done" else OutputItemAdded
        return cls(
            item=item, output_index=_int(obj.get("output_index")), sequence_number=seq, data=obj
        )

    def _text_delta(self, obj: dict[str, Any], seq: int | None) -> ResponseEvent | None:
        # The most frequent event by far: the checks are inlined.
        delta = obj.get("delta")
        if delta.__class__ is not str:
            self._malformed(obj, 'no string "delta"')
            return None
        item_id = obj.get("item_id")
        output_index = obj.get("output_index")
        content_index = obj.get("content_index")
        return OutputTextDelta(
            delta=delta,
            item_id=item_id if item_id.__class__ is str else None,
            output_index=output_index if output_index.__class__ is int else None,
            content_index=content_index if content_index.__class__ is int else None,
            sequence_number=seq,
            data=obj,
        )

    def _summary_part(self, obj: dict[str, Any], seq: int | None) -> ResponseEvent | None:
        return ReasoningSummaryPartAdded(
            item_id=_str(obj.get("item_id")),
            summary_index=_int(obj.get("summary_index")),
            sequence_number=seq,
            data=obj,
        )

    def _summary_delta(self, obj: dict[str, Any], seq: int | None) -> ResponseEvent | None:
        delta = obj.get("delta")
        if not isinstance(delta, str):
            self._malformed(obj, 'no string "delta"')
            return None
        return ReasoningSummaryDelta(
            delta=delta,
            item_id=_str(obj.get("item_id")),
            summary_index=_int(obj.get("summary_index")),
            sequence_number=seq,
            data=obj,
        )

    def _reasoning_delta(self, obj: dict[str, Any], seq: int | None) -> ResponseEvent | None:
        delta = obj.get("delta")
        if not isinstance(delta, str):
            self._malformed(obj, 'no string "delta"')
            return None
        return ReasoningTextDelta(
            delta=delta,
            item_id=_str(obj.get("item_id")),
            content_index=_int(obj.get("content_index")),
            sequence_number=seq,
            data=obj,
        )

    def _arguments_delta(self, obj: dict[str, Any], seq: int | None) -> ResponseEvent | None:
        delta = obj.get("delta")
        if not isinstance(delta, str):
            self._malformed(obj, 'no string "delta"')
            return None
        return FunctionCallArgumentsDelta(
            delta=delta,
            item_id=_str(obj.get("item_id")),
            output_index=_int(obj.get("output_index")),
            sequence_number=seq,
            data=obj,
        )

    def _completed(self, obj: dict[str, Any], seq: int | None) -> ResponseEvent | None:
        response = obj.get("response")
        response_id = _str(response.get("id")) if isinstance(response, dict) else None
        if response_id is None:
            # The seed logs this and goes on; the stream then ends without a completion.
            self._malformed(obj, 'no "response.id"')
            return None
        assert isinstance(response, dict)
        self.completed = True
        return Completed(
            response_id=response_id,
            token_usage=token_usage(response.get("usage")),
            sequence_number=seq,
            data=obj,
        )

    def _failed(self, obj: dict[str, Any], seq: int | None) -> ResponseEvent | None:
        response = obj.get("response")
        error = response.get("error") if isinstance(response, dict) else None
        if not isinstance(error, dict):
            raise ResponseFailedError(
                "response.failed event received",
                code=None,
                request_id=self.request_id,
                cf_ray=self.cf_ray,
            )
        raise self._error(error, "response.failed")

    def _incomplete(self, obj: dict[str, Any], seq: int | None) -> ResponseEvent | None:
        response = obj.get("response")
        details = response.get("incomplete_details") if isinstance(response, dict) else None
        reason = _str(details.get("reason")) if isinstance(details, dict) else None
        raise ResponseIncompleteError(
            f"Incomplete response returned, reason: {reason or 'unknown'}",
            reason=reason,
            request_id=self.request_id,
            cf_ray=self.cf_ray,
        )

    def _error_event(self, obj: dict[str, Any], seq: int | None) -> ResponseEvent | None:
        # The Responses API puts code/message/param at the top level; some servers nest them.
        nested = obj.get("error")
        raise self._error(nested if isinstance(nested, dict) else obj, "error event")

    def _error(self, error: Mapping[str, Any], source: str) -> ResponseFailedError:
        code = _str(error.get("code")) or _str(error.get("type"))
        message = _str(error.get("message")) or f"{source} received"
        cls = _FATAL.get(code or "", ResponseFailedError)
        retry_after = None if cls is not ResponseFailedError else parse_retry_delay(message)
        text = f"{source}: {code}: {message}" if code else f"{source}: {message}"
        return cls(
            text, code=code, retry_after=retry_after, request_id=self.request_id, cf_ray=self.cf_ray
        )


_Handler = Callable[[EventPipeline, dict[str, Any], int | None], ResponseEvent | None]
_HANDLERS: dict[str, _Handler] = {
    "response.created": EventPipeline._created,
    "response.output_item.added": EventPipeline._item,
    "response.output_item.done": EventPipeline._item,
    "response.output_text.delta": EventPipeline._text_delta,
    "response.reasoning_summary_part.added": EventPipeline._summary_part,
    "response.reasoning_summary_text.delta": EventPipeline._summary_delta,
    "response.reasoning_text.delta": EventPipeline._reasoning_delta,
    "response.function_call_arguments.delta": EventPipeline._arguments_delta,
    "response.completed": EventPipeline._completed,
    "response.failed": EventPipeline._failed,
    "response.incomplete": EventPipeline._incomplete,
    "error": EventPipeline._error_event,
}
