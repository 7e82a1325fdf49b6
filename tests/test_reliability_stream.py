"""Property tests: any bytes, cut into chunks any way, through the SSE decoder and the pipeline.

Two kinds of input: arbitrary bytes, and SSE-shaped bytes (``event``/``data``/``id``/``retry``
fields, comments, unknown fields, CR, LF and CRLF line ends, a BOM, multi-byte and invalid
UTF-8, JSON events of every type the pipeline maps, with well-formed and malformed fields), so
that the pipeline's handlers really run. For any input and any chunking (empty chunks
included):

- the decoder gives the same events as for the whole body, and the same as a reference decoder
  written from the WHATWG rules in a dozen lines below;
- the pipeline maps them to the same events, and ends the same way: normally, or with the same
  :class:`~harness.StreamError` (``response.failed``, ``response.incomplete``, ``error``), the
  only exceptions it documents. Anything else escaping is a bug.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import EventPipeline, ServerSentEvent, SSEDecoder, StreamError

# Bounded: the whole file runs in about ten seconds. Not derandomized: every run explores new
# inputs, and a failure prints the example and the seed that reproduce it.
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

EVENT_TYPES = (
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.output_item.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_text.delta",
    "response.reasoning_text.delta",
    "response.function_call_arguments.delta",
    "response.completed",
    "response.failed",
    "response.incomplete",
    "error",
    "harness.unknown",
)
ITEM_TYPES = (
    "message",
    "function_call",
    "function_call_output",
    "local_shell_call",
    "reasoning",
    "custom_tool_call",
    "web_search_call",
    "mystery",
)
ERROR_CODES = (
    "context_length_exceeded",
    "insufficient_quota",
    "invalid_prompt",
    "server_is_overloaded",
    "rate_limit_exceeded",
)

# -- the reference decoder: the WHATWG rules, line by line, on the whole body ---------------------

_LINE_END = re.compile("\r\n|\r|\n")


def reference_decode(body: bytes) -> list[tuple[str, str, str, int | None]]:
    """The rules applied to the whole body at once (the decoder's documented choice for
    ``retry``: reported on the event that carries it, reset after dispatch)."""
    text = body.decode("utf-8", "replace").removeprefix("\ufeff")
    lines = _LINE_END.split(text)[:-1]  # the last piece is not terminated: never dispatched
    events: list[tuple[str, str, str, int | None]] = []
    data: list[str] = []
    event, last_id, retry = "", "", None
    for line in lines:
        if not line:
            if data:
                events.append((event or "message", "\n".join(data), last_id, retry))
            data, event, retry = [], "", None
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        value = value.removeprefix(" ") if colon else ""
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            retry = int(value)
    return events


# -- strategies ---------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly well-formed, sometimes any JSON value: the handlers' guards must hold."""
    return st.one_of(value, value, value, json_values)


items = st.fixed_dictionaries(
    {"type": st.sampled_from(ITEM_TYPES)},
    optional={
        "id": maybe(st.text(max_size=8)),
        "role": maybe(st.sampled_from(("assistant", "user"))),
        "content": maybe(
            st.lists(st.fixed_dictionaries({"type": st.just("output_text"), "text": st.text()}))
        ),
        "name": maybe(st.text(max_size=8)),
        "arguments": maybe(st.text(max_size=20)),
        "call_id": maybe(st.text(max_size=8)),
        "status": maybe(st.text(max_size=8)),
        "action": maybe(st.dictionaries(st.text(max_size=4), json_scalars, max_size=2)),
        "summary": maybe(st.lists(json_values, max_size=2)),
        "output": json_values,
        "input": maybe(st.text(max_size=8)),
    },
)
usage = st.fixed_dictionaries(
    {
        "input_tokens": maybe(st.integers(0, 10**6)),
        "output_tokens": maybe(st.integers(0, 10**6)),
        "total_tokens": maybe(st.integers(0, 10**6)),
    },
    optional={
        "input_tokens_details": maybe(st.fixed_dictionaries({"cached_tokens": st.integers(0)})),
        "output_tokens_details": maybe(st.fixed_dictionaries({"reasoning_tokens": st.integers(0)})),
    },
)
errors = st.fixed_dictionaries(
    {},
    optional={
        "code": maybe(st.sampled_from(ERROR_CODES)),
        "type": maybe(st.sampled_from(ERROR_CODES)),
        "message": maybe(
            st.one_of(
                st.text(max_size=30),
                st.builds("Please try again in {}s.".format, st.floats(0, 100)),
                st.builds("Try again in {}ms".format, st.integers(0, 10**4)),
            )
        ),
    },
)
responses = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe(st.text(min_size=1, max_size=10)),
        "usage": maybe(usage),
        "error": maybe(errors),
        "incomplete_details": maybe(st.fixed_dictionaries({"reason": maybe(st.text(max_size=10))})),
    },
)
any_events = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(EVENT_TYPES), json_values)},
    optional={
        "sequence_number": maybe(st.integers(-5, 10**9)),
        "delta": maybe(st.text(max_size=20)),
        "item_id": maybe(st.text(max_size=8)),
        "output_index": maybe(st.integers(0, 5)),
        "content_index": maybe(st.integers(0, 5)),
        "summary_index": maybe(st.integers(0, 5)),
        "item": maybe(items),
        "response": maybe(responses),
        "error": maybe(errors),
        "code": maybe(st.sampled_from(ERROR_CODES)),
        "message": maybe(st.text(max_size=20)),
    },
)

# What each event type needs to be mapped (not passed on as malformed), and items likewise.
ITEM_FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "message": {"role": st.just("assistant"), "content": st.lists(json_values, max_size=2)},
    "function_call": {"name": st.text(max_size=6), "arguments": st.text(), "call_id": st.text()},
    "function_call_output": {"call_id": st.text(max_size=6), "output": json_values},
    "local_shell_call": {"status": st.text(max_size=6), "action": st.just({"type": "exec"})},
    "reasoning": {"id": st.text(max_size=6), "summary": st.lists(json_values, max_size=2)},
    "custom_tool_call": {"call_id": st.text(), "name": st.text(), "input": st.text()},
    "web_search_call": {},
    "mystery": {},
}
well_formed_items = st.sampled_from(sorted(ITEM_FIELDS)).flatmap(
    lambda kind: st.fixed_dictionaries({"type": st.just(kind), **ITEM_FIELDS[kind]})
)
delta = {"delta": st.text(max_size=20), "item_id": st.text(max_size=8)}
EVENT_FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "response.created": {"response": st.fixed_dictionaries({"id": st.text(max_size=10)})},
    "response.output_item.added": {"item": well_formed_items, "output_index": st.integers(0, 3)},
    "response.output_item.done": {"item": well_formed_items, "output_index": st.integers(0, 3)},
    "response.output_text.delta": {**delta, "content_index": st.integers(0, 3)},
    "response.reasoning_summary_part.added": {"summary_index": st.integers(0, 3)},
    "response.reasoning_summary_text.delta": {**delta, "summary_index": st.integers(0, 3)},
    "response.reasoning_text.delta": {**delta, "content_index": st.integers(0, 3)},
    "response.function_call_arguments.delta": {**delta, "output_index": st.integers(0, 3)},
    "response.completed": {
        "response": st.fixed_dictionaries({"id": st.text(max_size=10), "usage": maybe(usage)})
    },
    "response.failed": {"response": st.fixed_dictionaries({"error": errors})},
    "response.incomplete": {
        "response": st.fixed_dictionaries(
            {"incomplete_details": st.fixed_dictionaries({"reason": st.text(max_size=10)})}
        )
    },
    "error": {"code": st.sampled_from(ERROR_CODES), "message": st.text(max_size=20)},
}
well_formed_events = st.sampled_from(sorted(EVENT_FIELDS)).flatmap(
    lambda kind: st.fixed_dictionaries(
        {"type": st.just(kind), **EVENT_FIELDS[kind]},
        optional={"sequence_number": st.integers(0, 10**6), "obfuscation": st.text(max_size=4)},
    )
)
events = st.one_of(well_formed_events, well_formed_events, any_events)

# Field values: JSON events mostly, and what servers also send ([DONE], text, nothing).
data_values = st.one_of(
    events.map(lambda e: json.dumps(e, ensure_ascii=False)),
    events.map(lambda e: json.dumps(e, ensure_ascii=False)),
    events.map(lambda e: json.dumps(e, ensure_ascii=False)),
    events.map(lambda e: json.dumps(e, ensure_ascii=True, indent=1)),  # multi-line: many data:
    st.sampled_from(("[DONE]", "", " ", "{", "null", "[]", '{"type": 5}')),
    st.text(max_size=20),
)
line_ends = st.sampled_from(("\n", "\r", "\r\n"))


@st.composite
def field_lines(draw: st.DrawFn) -> str:
    """One line of an event stream, without its line end."""
    kind = draw(
        st.sampled_from(
            ("data", "data", "data", "event", "id", "retry", "comment", "unknown", "bare", "blank")
        )
    )
    space = draw(st.sampled_from((" ", "", "  ")))
    if kind == "data":
        return "\n".join(f"data:{space}{part}" for part in draw(data_values).split("\n"))
    if kind == "event":
        return f"event:{space}{draw(st.one_of(st.sampled_from(EVENT_TYPES), st.text(max_size=8)))}"
    if kind == "id":
        return f"id:{space}{draw(st.text(max_size=8))}"
    if kind == "retry":
        value = draw(st.one_of(st.integers(0, 10**6).map(str), st.text(max_size=6)))
        return f"retry:{space}{value}"
    if kind == "comment":
        return f":{draw(st.text(max_size=10))}"
    if kind == "unknown":
        return f"{draw(st.text(max_size=6))}:{space}{draw(st.text(max_size=6))}"
    if kind == "bare":
        return draw(st.sampled_from(("data", "event", "id", "retry")))
    return ""


extra_lines = st.lists(field_lines().filter(lambda line: not line.startswith("data")), max_size=2)


@st.composite
def event_lines(draw: st.DrawFn) -> list[str]:
    """The lines of one event: mostly one JSON event (other fields around it), sometimes any
    field lines at all."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.lists(field_lines(), min_size=1, max_size=5))
    space = draw(st.sampled_from((" ", "")))
    data = [f"data:{space}{part}" for part in draw(data_values).split("\n")]
    return [*draw(extra_lines), *data, *draw(extra_lines)]


@st.composite
def sse_bodies(draw: st.DrawFn) -> bytes:
    """An event stream: events blank-line separated, with mixed line ends, an optional BOM, and
    sometimes invalid UTF-8 or a cut-off last event."""
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        end = draw(line_ends)  # one per event: a CR then an LF would make one line end
        for line in draw(event_lines()):
            parts.extend(piece + end for piece in line.split("\n"))
        parts.append(end)  # the blank line that dispatches the event
    body = "".join(parts).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        body = b"\xef\xbb\xbf" + body
    if draw(st.integers(0, 4)) == 0:  # a stray byte that is not UTF-8, anywhere
        at = draw(st.integers(0, len(body)))
        stray = draw(st.sampled_from((b"\xff", b"\xc3", b"\xe2\x82", b"\x80")))
        body = body[:at] + stray + body[at:]
    if draw(st.integers(0, 4)) == 0:  # cut off mid-stream
        body = body[: draw(st.integers(0, len(body)))]
    return body


bodies = st.one_of(st.binary(max_size=400), sse_bodies())


@st.composite
def chunkings(draw: st.DrawFn, body: bytes) -> list[bytes]:
    """``body`` cut at arbitrary points; repeated cuts give empty chunks."""
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=24)))
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


# -- running the decoder and the pipeline ---------------------------------------------------------


def decode(chunks: Iterable[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    out: list[ServerSentEvent] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    decoder.close()
    return out


def as_tuples(sses: Sequence[ServerSentEvent]) -> list[tuple[str, str, str, int | None]]:
    return [(sse.event, sse.data, sse.id, sse.retry) for sse in sses]


def pipeline_run(chunks: Iterable[bytes]) -> tuple[list[str], str | None]:
    """What the client would see: each mapped event (with its wire data), then how it ended.

    Events compare by ``repr`` (their ``data`` included), so NaN values compare equal.
    """
    pipeline = EventPipeline(request_id="req_1")
    decoder = SSEDecoder()
    seen: list[str] = []
    for chunk in chunks:
        for sse in decoder.feed(chunk):
            try:
                event = pipeline.process(sse)
            except StreamError as exc:  # the documented ends: failed, incomplete, error event
                return seen, f"{type(exc).__name__}: {exc} retry_after={exc.retry_after}"
            seen.append(
                "skipped" if event is None else f"{event!r} {getattr(event, 'data', None)!r}"
            )
    decoder.close()
    return seen, None


# -- the properties -------------------------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_any_chunking_decodes_to_the_same_events_as_the_whole_body(data: st.DataObject) -> None:
    """Any bytes, split anywhere (empty chunks too), decode to the events of the whole body."""
    body = data.draw(bodies, label="body")
    chunks = data.draw(chunkings(body), label="chunks")
    assert as_tuples(decode([body])) == as_tuples(decode(chunks))


@SETTINGS
@given(bodies)
def test_the_decoder_follows_the_whatwg_rules_on_any_bytes(body: bytes) -> None:
    """On any bytes the decoder gives what a line-by-line reading of the rules gives."""
    assert reference_decode(body) == as_tuples(decode([body]))


@SETTINGS
@given(st.data())
def test_any_chunking_gives_the_same_pipeline_events_and_ending(data: st.DataObject) -> None:
    """Decoder and pipeline give the same events, and the same documented error or none, for
    any chunking; no other exception escapes."""
    body = data.draw(bodies, label="body")
    chunks = data.draw(chunkings(body), label="chunks")
    assert pipeline_run([body]) == pipeline_run(chunks)


@SETTINGS
@given(st.lists(events, min_size=1, max_size=6), st.data())
def test_json_events_of_every_type_reach_the_pipeline_intact(
    wire: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Well-framed JSON events, cut anywhere: one pipeline result per event until a documented
    error, each result carrying exactly the JSON that was sent."""
    body = b"".join(
        f"event: x\ndata: {json.dumps(event, ensure_ascii=False)}\n\n".encode() for event in wire
    )
    chunks = data.draw(chunkings(body), label="chunks")
    pipeline = EventPipeline()
    results: list[Any] = []
    ended = None
    for sse in decode(chunks):
        try:
            results.append(pipeline.process(sse))
        except StreamError as exc:
            ended = exc
            break
    if ended is None:
        assert len(wire) == len(results)
    else:
        assert wire[len(results)]["type"] in ("response.failed", "response.incomplete", "error")
    for sent, result in zip(wire, results, strict=False):
        if result is not None:  # None: skipped, only when "type" is not a string
            assert json.dumps(sent) == json.dumps(result.data)
        else:
            assert not isinstance(sent.get("type"), str)


# -- what escapes today, that should not ----------------------------------------------------------


def test_deeply_nested_json_data_is_skipped_not_a_crash() -> None:
    """A data field of 100 000 nested arrays is skipped like any other unusable data."""
    sse = ServerSentEvent(data="[" * 100_000)
    assert EventPipeline().process(sse) is None
