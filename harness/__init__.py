"""harness: record and replay streaming OpenAI Responses API sessions, faithfully and offline."""

from harness._cassette import (
    Cassette,
    Chunk,
    Interaction,
    Outcome,
    RecordedRequest,
    RecordedResponse,
    TransportFailure,
)
from harness._client import (
    SHELL_TOOL,
    AsyncModelClient,
    AsyncResponseStream,
    ModelClient,
    ResponseStream,
)
from harness._diff import EventChange, diff
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
    Reconnecting,
    ResponseEvent,
    TokenUsage,
)
from harness._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    CassetteError,
    ConfigurationError,
    ContextWindowExceededError,
    FixtureError,
    HarnessError,
    IdleTimeoutError,
    InvalidRequestError,
    QuotaExceededError,
    ResponseFailedError,
    ResponseIncompleteError,
    RetryLimitError,
    SecretLeakError,
    ServerOverloadedError,
    StreamClosedError,
    StreamError,
    UnexpectedContentTypeError,
)
from harness._fixture import FixtureTransport, load_fixture
from harness._models import (
    CustomToolCall,
    FunctionCall,
    FunctionCallOutput,
    InputItem,
    LocalShellCall,
    Message,
    Prompt,
    Reasoning,
    ResponseItem,
    UnknownItem,
    WebSearchCall,
)
from harness._normalize import events_from_body, events_from_cassette, normalize
from harness._openai import recording_async_openai, recording_openai
from harness._pipeline import EventPipeline
from harness._record import AsyncRecordingTransport, RecordingTransport, RecordMode
from harness._redact import Redactor, scan
from harness._replay import (
    AsyncReplayTransport,
    Chunking,
    Fault,
    NoMatchError,
    ReplayTransport,
    VirtualClock,
)
from harness._sse import ServerSentEvent, SSEDecoder

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ALLOWLIST",
    "SHELL_TOOL",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "AsyncModelClient",
    "AsyncRecordingTransport",
    "AsyncReplayTransport",
    "AsyncResponseStream",
    "Cassette",
    "CassetteError",
    "Chunk",
    "Chunking",
    "CollapsedDeltasSnapshotExtension",
    "Completed",
    "ConfigurationError",
    "ContextWindowExceededError",
    "Created",
    "CustomToolCall",
    "EventChange",
    "EventPipeline",
    "Fault",
    "Finding",
    "FixtureError",
    "FixtureTransport",
    "FunctionCall",
    "FunctionCallArgumentsDelta",
    "FunctionCallOutput",
    "HarnessError",
    "HarnessSnapshotExtension",
    "IdleTimeoutError",
    "InputItem",
    "Interaction",
    "InvalidRequestError",
    "LocalShellCall",
    "Message",
    "ModelClient",
    "NoMatchError",
    "OtherEvent",
    "Outcome",
    "OutputItemAdded",
    "OutputItemDone",
    "OutputTextDelta",
    "Prompt",
    "QuotaExceededError",
    "Reasoning",
    "ReasoningSummaryDelta",
    "ReasoningSummaryPartAdded",
    "ReasoningTextDelta",
    "Reconnecting",
    "RecordMode",
    "RecordedRequest",
    "RecordedResponse",
    "RecordingTransport",
    "Redactor",
    "ReplayTransport",
    "Report",
    "ResponseEvent",
    "ResponseFailedError",
    "ResponseIncompleteError",
    "ResponseItem",
    "ResponseStream",
    "RetryLimitError",
    "SSEDecoder",
    "SecretLeakError",
    "ServerOverloadedError",
    "ServerSentEvent",
    "StreamClosedError",
    "StreamError",
    "TokenUsage",
    "TransportFailure",
    "UnexpectedContentTypeError",
    "UnknownItem",
    "ValidationError",
    "ValidationMode",
    "ValidationWarning",
    "VirtualClock",
    "Waiver",
    "WebSearchCall",
    "__version__",
    "diff",
    "enforce",
    "events_from_body",
    "events_from_cassette",
    "load_fixture",
    "normalize",
    "recording_async_openai",
    "recording_openai",
    "scan",
    "validate",
]

# Loaded when first asked for: the syrupy extensions import pytest and syrupy (about 0.1 s),
# the validator jsonschema and its schemas (about 0.06 s).
_LAZY = {
    "CollapsedDeltasSnapshotExtension": "harness._snapshot",
    "HarnessSnapshotExtension": "harness._snapshot",
    **dict.fromkeys(
        [
            "DEFAULT_ALLOWLIST",
            "Finding",
            "Report",
            "ValidationError",
            "ValidationMode",
            "ValidationWarning",
            "Waiver",
            "enforce",
            "validate",
        ],
        "harness._validate",
    ),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
