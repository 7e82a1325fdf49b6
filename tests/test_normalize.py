"""Normalization: placeholders that keep their links, collapsed deltas, wire events from
recordings, and the snapshot text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness import (
    Cassette,
    CassetteError,
    EventPipeline,
    Interaction,
    Outcome,
    OutputTextDelta,
    Reconnecting,
    RecordedRequest,
    RecordedResponse,
    ResponseEvent,
    TransportFailure,
    load_fixture,
)
from harness._normalize import (
    dumps_snapshot,
    events_from_body,
    events_from_cassette,
    loads_snapshot,
    normalize,
)
from harness._sse import iter_sse_bytes
from tests.conftest import CORPUS

TRANSCRIPTS = sorted((CORPUS / "sse").glob("*.sse"))
FUNCTION_CALL = CORPUS / "sse" / "pydanticai__responses_function_call_args_deltas.sse"


def session(rid: str, mid: str, created: int, salt: str) -> list[dict[str, Any]]:
    """One short text turn; the ids, the timestamp and the obfuscation padding vary by recording."""
    response = {"id": rid, "created_at": created, "status": "in_progress"}
    part = {"item_id": mid, "output_index": 0, "content_index": 0}
    return [
        {"type": "response.created", "sequence_number": 0, "response": response},
        {"type": "response.output_item.added", "sequence_number": 1, "item": {"id": mid}},
        {"type": "response.output_text.delta", "sequence_number": 2, **part, "delta": "Hel"}
        | {"obfuscation": salt},
        {"type": "response.output_text.delta", "sequence_number": 3, **part, "delta": "lo"}
        | {"obfuscation": salt * 2},
        {
            "type": "response.completed",
            "sequence_number": 4,
            "response": {**response, "status": "completed", "completed_at": created + 2},
        },
    ]


A = session("resp_67e554a155508191900ee113", "msg_0fef0f8a6893787000", 1743082657, "x1")
B = session("resp_0850765c843cca5300699cc4", "msg_9d727f28043244eb12", 1771881597, "Qz9")


def typed(body: bytes) -> list[ResponseEvent]:
    pipeline = EventPipeline()
    return [e for sse in iter_sse_bytes([body]) if (e := pipeline.process(sse)) is not None]


# -- placeholders ---------------------------------------------------------------------------------


def test_ids_become_placeholders_linked_across_events() -> None:
    """The same id gets the same placeholder in every event, so links between events survive."""
    events = normalize(A)

    assert "resp_1" == events[0]["response"]["id"]
    assert "resp_1" == events[4]["response"]["id"]
    assert ["msg_1", "msg_1", "msg_1"] == [
        events[1]["item"]["id"],
        events[2]["item_id"],
        events[3]["item_id"],
    ]


def test_each_prefix_counts_its_own_ids_in_order_of_first_appearance() -> None:
    """The n-th distinct id of a prefix becomes <prefix>_<n>; other prefixes count apart."""
    events: list[dict[str, Any]] = [
        {"type": "a", "item": {"id": "fc_aaaaaaaa1111", "call_id": "call_zzzzzzz9999"}},
        {"type": "b", "item": {"id": "fc_bbbbbbbb2222", "call_id": "call_yyyyyyy8888"}},
        {"type": "c", "item_id": "fc_aaaaaaaa1111", "previous_response_id": "resp_x1234567"},
    ]

    assert [
        {"type": "a", "item": {"id": "fc_1", "call_id": "call_1"}},
        {"type": "b", "item": {"id": "fc_2", "call_id": "call_2"}},
        {"type": "c", "item_id": "fc_1", "previous_response_id": "resp_1"},
    ] == normalize(events)


def test_ids_without_a_known_shape_are_replaced_under_id_keys() -> None:
    """A value under id, *_id or *_ids is an id whatever it looks like; without a prefix: id_<n>."""
    events: list[dict[str, Any]] = [
        {"type": "x", "id": "4f3a2b1c", "user_id": "4f3a2b1c", "tool_ids": ["toolu_vrtx_01", ""]},
        {"type": "y", "id": "chatcmpl-9Xtj47S36iWN", "gen": {"id": "gen-1762-abcdef"}},
    ]

    assert [
        {"type": "x", "id": "id_1", "user_id": "id_1", "tool_ids": ["toolu_1", ""]},
        {"type": "y", "id": "chatcmpl-1", "gen": {"id": "gen-1"}},
    ] == normalize(events)


def test_id_shaped_values_elsewhere_are_replaced_but_content_is_not() -> None:
    """An OpenAI-shaped value under any key is an id; text, names and arguments never are."""
    event = {
        "type": "response.output_text.delta",
        "system_fingerprint": "fp_44709d6fcb",
        "delta": "resp_67e554a155508191900ee113",
        "name": "get_temperature2025",
        "arguments": '{"id": "call_abc12345678"}',
        "status": "in_progress",
    }

    assert {**event, "system_fingerprint": "fp_1"} == normalize([event])[0]


def test_timestamps_become_linked_placeholders() -> None:
    """Equal timestamps share a placeholder; a different one gets the next number."""
    events = normalize(A)

    assert "<timestamp 1>" == events[0]["response"]["created_at"]
    assert "<timestamp 1>" == events[4]["response"]["created_at"]
    assert "<timestamp 2>" == events[4]["response"]["completed_at"]


def test_obfuscation_is_dropped_and_sequence_numbers_are_kept() -> None:
    """The random padding of deltas goes; the order the server gave stays."""
    events = normalize(A)

    assert [0, 1, 2, 3, 4] == [event["sequence_number"] for event in events]
    assert all("obfuscation" not in event for event in events)


def test_encrypted_reasoning_becomes_a_linked_placeholder() -> None:
    """Encrypted content, new at every recording, is a placeholder linked like an id."""
    events = [
        {"type": "added", "item": {"id": "rs_1", "encrypted_content": "gAAAAABoydL8ifhOG"}},
        {"type": "done", "item": {"id": "rs_1", "encrypted_content": "gAAAAABoydL8ifhOG"}},
        {"type": "other", "item": {"id": "rs_2", "encrypted_content": "gAAAAABoydMADQ6Ha"}},
    ]

    assert ["<encrypted_content 1>", "<encrypted_content 1>", "<encrypted_content 2>"] == [
        event["item"]["encrypted_content"] for event in normalize(events)
    ]


def test_two_recordings_of_the_same_session_normalize_equal() -> None:
    """Different ids, timestamps and padding, same conversation: the same normalized events."""
    assert normalize(A) == normalize(B)
    assert A != B


def test_normalizing_twice_changes_nothing() -> None:
    """A normalized sequence (a snapshot) is its own normalization, collapsed or not."""
    once = normalize(A)
    collapsed = normalize(A, collapse_deltas=True)

    assert once == normalize(once)
    assert collapsed == normalize(collapsed, collapse_deltas=True)


def test_the_input_is_not_modified() -> None:
    """normalize returns new dicts and leaves the caller's events as they were."""
    events = session("resp_67e554a155508191900ee113", "msg_0fef0f8a6893787000", 1, "x")
    before = repr(events)

    normalize(events, collapse_deltas=True)

    assert before == repr(events)


def test_typed_events_normalize_like_their_wire_data() -> None:
    """Typed events from the client normalize exactly like the wire JSON they came from."""
    body = FUNCTION_CALL.read_bytes()

    assert normalize(events_from_body(body)) == normalize(typed(body))


def test_reconnecting_becomes_a_harness_event() -> None:
    """The client's Reconnecting is kept as harness.reconnecting, with its attempt and error."""
    event = Reconnecting(attempt=1, max_retries=5, delay=0.2, error="stream closed")

    assert [{"type": "harness.reconnecting", "attempt": 1, "error": "stream closed"}] == normalize(
        [event]
    )


def test_typed_event_built_by_hand_is_refused() -> None:
    """A typed event without wire data cannot be normalized; the message says what to pass."""
    with pytest.raises(ValueError, match="normalize the wire JSON dicts instead"):
        normalize([OutputTextDelta(delta="hi")])


# -- collapsed deltas -----------------------------------------------------------------------------


def test_collapse_merges_consecutive_deltas_of_the_same_part() -> None:
    """A run of deltas becomes the first delta event with the whole text and their count."""
    events = normalize(A, collapse_deltas=True)

    assert 4 == len(events)
    assert {
        "type": "response.output_text.delta",
        "sequence_number": 2,
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hello",
        "deltas": 2,
    } == events[2]


def test_collapse_keeps_deltas_of_different_parts_and_types_apart() -> None:
    """Deltas merge only with the same type, item, output, content and summary index."""

    def delta(kind: str, item: str, delta: str, **where: int) -> dict[str, Any]:
        return {"type": kind, "item_id": item, "delta": delta, **where}

    text, args = "response.output_text.delta", "response.function_call_arguments.delta"
    events = [
        delta(text, "msg_1", "a", content_index=0),
        delta(text, "msg_1", "b", content_index=0),
        delta(text, "msg_1", "c", content_index=1),
        delta(text, "msg_2", "d", content_index=1),
        delta(args, "msg_2", "e", content_index=1),
        {"type": "response.output_text.done", "item_id": "msg_2"},
        delta(args, "msg_2", "f", content_index=1),
    ]

    assert [("ab", 2), ("c", 1), ("d", 1), ("e", 1), None, ("f", 1)] == [
        (event["delta"], event["deltas"]) if "delta" in event else None
        for event in normalize(events, collapse_deltas=True)
    ]


def test_collapse_makes_rechunked_streams_equal() -> None:
    """The same text split into different deltas collapses to the same events."""
    split = [dict(event) for event in A]
    split[2] = {**split[2], "delta": "H"}
    split[3] = {**split[3], "delta": "ello"}

    assert normalize(A) != normalize(split)
    assert normalize(A, collapse_deltas=True) == normalize(split, collapse_deltas=True)


# -- wire events from recordings ------------------------------------------------------------------


def test_events_from_body_keeps_data_that_is_not_json() -> None:
    """[DONE] and other non-JSON data stay in the sequence as harness.non_json events."""
    body = b'data: {"type": "a"}\n\ndata: [1, 2]\n\n: keep-alive\n\ndata: [DONE]\n\n'

    assert [
        {"type": "a"},
        {"type": "harness.non_object", "data": [1, 2]},
        {"type": "harness.non_json", "data": "[DONE]"},
    ] == events_from_body(body)


REQUEST = RecordedRequest("POST", "https://api.openai.com/v1/responses", (), b"{}")
SSE_HEADERS = (("content-type", "text/event-stream; charset=utf-8"),)


def interaction(
    body: bytes,
    status: int = 200,
    outcome: Outcome = Outcome.COMPLETE,
    headers: tuple[tuple[str, str], ...] = SSE_HEADERS,
) -> Interaction:
    error = (
        TransportFailure("RemoteProtocolError", "peer closed")
        if outcome is Outcome.FAILED
        else None
    )
    return Interaction(
        REQUEST, RecordedResponse(status, "", headers, body), outcome=outcome, error=error
    )


def test_a_cassette_of_one_stream_reads_like_its_body() -> None:
    """One complete event stream: its events and nothing else."""
    body = FUNCTION_CALL.read_bytes()

    assert events_from_body(body) == events_from_cassette(Cassette((interaction(body),)))


def test_each_attempt_of_a_cassette_opens_with_a_marker() -> None:
    """Several attempts: a marker with index, status and outcome opens each one."""
    first = b'data: {"type": "response.created"}\n\n'
    second = b'data: {"type": "response.created"}\n\ndata: {"type": "response.completed"}\n\n'
    cassette = Cassette((interaction(first, outcome=Outcome.FAILED), interaction(second)))

    assert [
        {
            "type": "harness.interaction",
            "index": 0,
            "status": 200,
            "outcome": "failed",
            "error": "RemoteProtocolError",
        },
        {"type": "response.created"},
        {"type": "harness.interaction", "index": 1, "status": 200, "outcome": "complete"},
        {"type": "response.created"},
        {"type": "response.completed"},
    ] == events_from_cassette(cassette)


def test_a_response_that_is_not_a_stream_keeps_its_body_in_the_marker() -> None:
    """An HTTP 400 with a JSON error is one marker holding the parsed body."""
    cassette = Cassette.load(
        CORPUS / "cassettes" / "pydanticai__responses_stream_request_http_400.yaml"
    )

    [marker] = events_from_cassette(cassette)

    assert 400 == marker["status"]
    assert "decimal_below_min_value" == marker["body"]["error"]["code"]


def test_a_corpus_cassette_with_two_turns_has_two_markers() -> None:
    """The two recorded turns of a vcrpy cassette are both there, each after its marker."""
    path = CORPUS / "cassettes" / "pydanticai__responses_stream_function_call_roundtrip.yaml"
    events = events_from_cassette(Cassette.load(path))

    assert [0, 1] == [e["index"] for e in events if e["type"] == "harness.interaction"]
    assert 2 == sum(e["type"] == "response.completed" for e in events)


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[path.stem for path in TRANSCRIPTS])
def test_every_corpus_transcript_normalizes_deterministically(path: Path) -> None:
    """Each real transcript gives the same text every time, and normalizing it again is a no-op."""
    first = normalize(events_from_body(load_fixture(path)))
    second = normalize(events_from_body(load_fixture(path)))

    assert first
    assert dumps_snapshot(first) == dumps_snapshot(second)
    assert first == normalize(first)
    assert first == loads_snapshot(dumps_snapshot(first))
    collapsed = normalize(first, collapse_deltas=True)
    assert collapsed == normalize(collapsed, collapse_deltas=True)


# -- the snapshot text ----------------------------------------------------------------------------


def test_snapshot_text_is_a_header_then_one_event_per_line() -> None:
    """A format line, then each event as compact JSON with type first and sorted keys."""
    text = dumps_snapshot([{"type": "b", "z": 1, "a": {"y": 2, "x": 1}}, {"type": "c"}])

    header, *lines = text.split("\n")
    assert header.startswith("# harness events, format 1")
    assert ['{"type":"b","a":{"x":1,"y":2},"z":1}', '{"type":"c"}', ""] == lines


def test_snapshot_text_keeps_every_event_on_its_own_line() -> None:
    """Line breaks inside strings, Unicode ones included, are escaped."""
    events = [{"type": "d", "delta": "a\nb\r\u2028c\u2029\x85"}]
    text = dumps_snapshot(events)

    assert 2 == len(text.splitlines(keepends=True))
    assert events == loads_snapshot(text)


def test_a_file_that_is_not_a_snapshot_is_refused_with_its_line() -> None:
    """A foreign first line, or a line that is not a JSON object, is named in the error."""
    good = dumps_snapshot([{"type": "a"}])

    with pytest.raises(CassetteError, match="not a harness events snapshot") as first:
        loads_snapshot("[1]\n", path="x.events")
    with pytest.raises(CassetteError, match="not a JSON object") as third:
        loads_snapshot(good + "[1]\n", path="x.events")

    assert (1, 3) == (first.value.line, third.value.line)
    assert "x.events:3" in str(third.value)


def test_a_snapshot_of_another_format_is_refused() -> None:
    """A format this harness does not know is refused, with the way out."""
    with pytest.raises(CassetteError, match=r"format 2 is not supported.*--snapshot-update"):
        loads_snapshot("# harness events, format 2: ...\n")
