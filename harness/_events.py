"""The typed events a stream yields.

The seed client has two, ``OutputItemDone(item)`` and ``Completed{response_id}``; the mature
Codex client adds the deltas that drive a live UI. Every event from the wire keeps its
``sequence_number`` (``None`` when the server sends none) and its parsed JSON in ``data`` (not
part of equality or repr), so nothing the server said is lost. Event types we do not map become
:class:`OtherEvent`: passed through, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from harness._models import ResponseItem

__all__ = [
    "Completed",
    "Created",
    "FunctionCallArgumentsDelta",
    "OtherEvent",
    "OutputItemAdded",
    "OutputItemDone",
    "OutputTextDelta",
    "ReasoningSummaryDelta",
    "ReasoningSummaryPartAdded",
    "ReasoningTextDelta",
    "Reconnecting",
    "ResponseEvent",
    "TokenUsage",
]


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts from ``response.completed``; the detail counts are ``None`` when absent."""

    input_tokens: int
    cached_input_tokens: int | None
    output_tokens: int
    reasoning_output_tokens: int | None
    total_tokens: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Created:
    """``response.created``: the server accepted the request and named the response."""

    response_id: str | None
    sequence_number: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputItemAdded:
    """``response.output_item.added``: an item started; its content follows as deltas."""

    item: ResponseItem
    output_index: int | None = None
    sequence_number: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputItemDone:
    """``response.output_item.done``: an item is final. Forwarded the moment it arrives."""

    item: ResponseItem
    output_index: int | None = None
    sequence_number: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputTextDelta:
    """``response.output_text.delta``: more text of a message part."""

    delta: str
    item_id: str | None = None
    output_index: int | None = None
    content_index: int | None = None
    sequence_number: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasoningSummaryPartAdded:
    """``response.reasoning_summary_part.added``: a new summary paragraph starts."""

    item_id: str | None = None
    summary_index: int | None = None
    sequence_number: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasoningSummaryDelta:
    """``response.reasoning_summary_text.delta``: more text of a reasoning summary."""

    delta: str
    item_id: str | None = None
    summary_index: int | None = None
    sequence_number: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasoningTextDelta:
    """``response.reasoning_text.delta``: more raw reasoning text (open-weight models)."""

    delta: str
    item_id: str | None = None
    content_index: int | None = None
    sequence_number: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionCallArgumentsDelta:
    """``response.function_call_arguments.delta``: more of a call's JSON arguments."""

    delta: str
    item_id: str | None = None
    output_index: int | None = None
    sequence_number: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Completed:
    """``response.completed``: the turn is over. Emitted as soon as it arrives."""

    response_id: str
    token_usage: TokenUsage | None = None
    sequence_number: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherEvent:
    """Any other event type (``response.in_progress``, ``response.output_text.done``, new ones)."""

    type: str
    sequence_number: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconnecting:
    """Not from the wire: the stream broke with a retryable error and the client re-sends.

    Events before this one belong to an attempt that will not complete; a consumer that
    accumulates text should drop what it has so far.
    """

    attempt: int
    max_retries: int
    delay: float
    error: str


ResponseEvent: TypeAlias = (
    Created
    | OutputItemAdded
    | OutputItemDone
    | OutputTextDelta
    | ReasoningSummaryPartAdded
    | ReasoningSummaryDelta
    | ReasoningTextDelta
    | FunctionCallArgumentsDelta
    | Completed
    | OtherEvent
    | Reconnecting
)
"""Everything ``ModelClient.stream`` yields."""
