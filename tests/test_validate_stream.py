"""The stream rules no schema can express, each on a real transcript with one thing changed."""

from __future__ import annotations

import copy
import json
from typing import Any

from harness import Reconnecting, ServerSentEvent, events_from_body, load_fixture
from harness._sse import iter_sse_bytes
from harness._validate import DEFAULT_ALLOWLIST, Report, validate
from tests.conftest import CORPUS

TEXT = events_from_body(
    load_fixture(CORPUS / "sse" / "openllmetry__responses_text_obfuscation.sse")
)
CALLS = events_from_body(
    load_fixture(CORPUS / "sse" / "pydanticai__responses_parallel_function_calls_usage.sse")
)
FIRST_DELTA, TEXT_DONE, COMPLETED = 4, 82, 85
ARGUMENTS_DONE = 11


def text() -> list[dict[str, Any]]:
    return copy.deepcopy(TEXT)


def found(report: Report) -> list[tuple[str, str, int | None, str]]:
    return [(f.path, f.rule, f.event, f.subject) for f in report.findings]


def named(events: list[dict[str, Any]], names: dict[int, str]) -> list[ServerSentEvent]:
    return [
        ServerSentEvent(event=names.get(i, event["type"]), data=json.dumps(event))
        for i, event in enumerate(events)
    ]


def test_a_real_stream_passes_every_rule() -> None:
    """The unchanged transcripts (text deltas; two parallel calls) have no findings."""
    assert [] == found(validate(TEXT))
    assert [] == found(validate(CALLS))
    assert [] == found(validate(named(TEXT, {})))


def test_an_event_name_that_differs_from_its_type_is_found() -> None:
    """The SSE event: name must equal data.type when both are present."""
    report = validate(named(TEXT, {1: "response.created"}))
    assert [("$.type", "event-name", 1, "response.in_progress")] == found(report)
    assert '"response.created" (the SSE event: field)' == report.findings[0].expected


def test_events_without_a_name_are_not_blamed() -> None:
    """Data-only events (dispatched as the default 'message') have no name to compare."""
    events = [ServerSentEvent(data=json.dumps(event)) for event in TEXT]
    assert [] == found(validate(events))


def test_a_sequence_number_that_does_not_increase_is_found() -> None:
    """sequence_number must strictly increase: a repeat and a step back are each found."""
    events = text()
    events[5]["sequence_number"] = 4
    events[9]["sequence_number"] = 2
    report = validate(events)
    assert [
        ("$.sequence_number", "sequence-number", 5, "response.output_text.delta"),
        ("$.sequence_number", "sequence-number", 9, "response.output_text.delta"),
    ] == found(report)
    assert "> 4 (event #4)" == report.findings[0].expected


def test_a_sequence_number_written_as_a_float_is_ordered_too() -> None:
    """1.0 is an integer to JSON Schema, so the schema passes it and the order check uses it."""
    events = text()
    events[7]["sequence_number"] = 1.0
    events[8]["sequence_number"] = 8.0
    report = validate(events)
    assert [("$.sequence_number", "sequence-number", 7, "response.output_text.delta")] == found(
        report
    )
    assert ("> 6 (event #6)", "1.0") == (report.findings[0].expected, report.findings[0].found)


def test_one_event_without_a_sequence_number_in_a_numbered_stream_is_found() -> None:
    """The default waiver covers streams with no sequence numbers, not one event lacking its."""
    events = text()
    del events[9]["sequence_number"]
    expected = [("$.sequence_number", "sequence-number", 9, "response.output_text.delta")]
    assert expected == found(validate(events))
    unwaived = found(validate(events, allowlist=()))
    assert expected == [f for f in unwaived if f[0] == "$.sequence_number"]
    for event in events:
        event.pop("sequence_number", None)
    report = validate(events)
    assert [] == found(report)
    assert len(events) == dict(report.waivers)[DEFAULT_ALLOWLIST[0]]


def test_text_deltas_that_do_not_add_up_to_the_done_text_are_found() -> None:
    """The output_text deltas of a part concatenate to its output_text.done text."""
    events = text()
    events[TEXT_DONE]["text"] += "!"
    report = validate(events)
    assert [("$.text", "delta-concat", TEXT_DONE, "response.output_text.done")] == found(report)
    assert "differ from character" in report.findings[0].message


def test_argument_deltas_that_do_not_add_up_to_the_done_arguments_are_found() -> None:
    """The function_call_arguments deltas of a call concatenate to its .done arguments."""
    events = copy.deepcopy(CALLS)
    events[ARGUMENTS_DONE]["arguments"] = '{"city": "Paris"}'
    assert [
        ("$.arguments", "delta-concat", ARGUMENTS_DONE, "response.function_call_arguments.done")
    ] == found(validate(events))


def test_a_stream_resumed_mid_text_needs_its_deltas_only_to_end_the_done_text() -> None:
    """A stream resumed after some deltas (starting_after=N) ends the .done text, no more."""
    resumed = text()[FIRST_DELTA + 7 :]
    assert [] == found(validate(resumed))
    resumed[0]["delta"] = " enchanted!"
    report = validate(resumed)
    at = TEXT_DONE - FIRST_DELTA - 7
    assert [("$.text", "delta-concat", at, "response.output_text.done")] == found(report)
    assert "the stream started after the part did" in report.findings[0].expected


def test_a_lost_first_delta_is_found_when_the_part_began_in_the_stream() -> None:
    """After output_item.added and content_part.added, the deltas must give the whole text."""
    events = text()
    del events[FIRST_DELTA]
    report = validate(events)
    assert [("$.text", "delta-concat", TEXT_DONE - 1, "response.output_text.done")] == found(report)


def renumbered(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, event in enumerate(events):
        event["sequence_number"] = i
    return events


def test_a_part_left_open_by_a_completed_response_is_found_at_its_first_delta() -> None:
    """A completed response closes every part it streamed deltas for with its .done event."""
    events = text()
    del events[TEXT_DONE]
    report = validate(renumbered(events))
    assert [("$", "delta-done", FIRST_DELTA, "response.output_text.delta")] == found(report)
    assert "item_id 'msg_0fef0f8a6893787" in report.findings[0].message


def test_a_part_left_open_by_an_incomplete_or_cut_stream_is_not_blamed() -> None:
    """A response that did not complete may stop mid-part: no .done is missing."""
    events = text()
    del events[TEXT_DONE]
    incomplete = renumbered(copy.deepcopy(events))
    incomplete[-1]["type"] = "response.incomplete"
    incomplete[-1]["response"]["status"] = "incomplete"
    incomplete[-1]["response"]["incomplete_details"] = {"reason": "max_output_tokens"}
    assert [] == found(validate(incomplete))
    cut = Reconnecting(attempt=1, max_retries=5, delay=0.5, error="stream closed")
    assert [] == found(validate([*events[:TEXT_DONE], cut, *text()]))


def test_a_delta_for_an_item_the_response_does_not_have_is_found() -> None:
    """In a completed stream, every delta names an item of an output_item event or the response."""
    events = text()
    ghost = {"item_id": "msg_ghost", "output_index": 1, "content_index": 0, "logprobs": []}
    stray = [
        {**ghost, "type": "response.output_text.delta", "delta": "Boo"},
        {**ghost, "type": "response.output_text.done", "text": "Boo"},
    ]
    report = validate(renumbered([*events[:COMPLETED], *stray, events[COMPLETED]]))
    assert [("$.item_id", "delta-item", COMPLETED, "response.output_text.delta")] == found(report)
    assert '"msg_ghost"' == report.findings[0].found


def test_ids_of_any_json_type_are_findings_not_a_crash() -> None:
    """An item_id or item id that is an object or a list is a schema finding, and the sequence
    rules still run."""
    events = text()
    events[2]["item"]["id"] = ["msg"]
    for event in events[3:COMPLETED]:
        if "item_id" in event:
            event["item_id"] = {"id": "msg"}
    rules = {(path, rule) for path, rule, _, _ in found(validate(events))}
    assert {("$.item.id", "type"), ("$.item_id", "type"), ("$.item_id", "delta-item")} == rules


def test_a_stream_without_a_terminal_event_is_found() -> None:
    """A stream that just stops, with no failure recorded, lacks its terminal event."""
    report = validate(text()[:COMPLETED])
    assert [("$", "terminal-event", None, "stream")] == found(report)
    assert "none in 85 events" == report.findings[0].found


def test_an_error_event_ends_a_stream_without_a_terminal_event() -> None:
    """A stream that ends with an error event recorded its failure: no terminal is missing."""
    error = {"type": "error", "code": "server_error", "message": "boom", "param": None}
    events = [*text()[:COMPLETED], {**error, "sequence_number": COMPLETED}]
    assert [] == found(validate(events))


def test_a_second_terminal_event_is_found() -> None:
    """Exactly one terminal event: another one after it is found where it is."""
    events = text()
    again = {**copy.deepcopy(events[COMPLETED]), "sequence_number": COMPLETED + 1}
    report = validate([*events, again])
    assert [("$.type", "terminal-event", COMPLETED + 1, "response.completed")] == found(report)


def test_an_event_after_the_terminal_event_is_found_at_the_first_one() -> None:
    """Nothing follows the terminal event: the first event after it is found, not the rest."""
    events = text()
    late = [{**copy.deepcopy(events[i]), "sequence_number": COMPLETED + i} for i in (4, 5)]
    report = validate([*events, *late])
    assert [("$.type", "terminal-event", COMPLETED + 1, "response.output_text.delta")] == found(
        report
    )
    assert "no event after the terminal response.completed (event #85)" == (
        report.findings[0].expected
    )


def test_a_terminal_event_for_another_response_is_found() -> None:
    """The response id of response.completed is the one response.created announced."""
    events = text()
    events[COMPLETED]["response"]["id"] = "resp_other"
    report = validate(events)
    assert [("$.response.id", "response-id", COMPLETED, "response.completed")] == found(report)
    assert report.findings[0].expected.startswith('"resp_0fef0f8a6893787000')


def test_a_terminal_event_with_another_status_is_found() -> None:
    """response.completed carries a response whose status is completed."""
    events = text()
    events[COMPLETED]["response"]["status"] = "failed"
    assert [("$.response.status", "terminal-status", COMPLETED, "response.completed")] == found(
        validate(events)
    )


def test_a_reconnect_starts_a_new_attempt() -> None:
    """Typed events with a Reconnecting: the broken attempt needs no terminal event."""
    broken = text()[:10]
    retry = Reconnecting(attempt=1, max_retries=5, delay=0.5, error="stream closed")
    assert [] == found(validate([*broken, retry, *text()]))


def test_done_from_chat_completions_is_waived_by_default_and_found_without() -> None:
    """'data: [DONE]' ends OpenRouter's Responses streams: waived by the default allowlist."""
    body = (
        b"".join(f"data: {json.dumps(event)}\n\n".encode() for event in TEXT) + b"data: [DONE]\n\n"
    )
    report = validate(body)
    assert [] == found(report)
    assert 1 == dict(report.waivers)[DEFAULT_ALLOWLIST[-1]]
    assert [("$", "sse-done", COMPLETED + 1, "")] == found(validate(body, allowlist=()))[-1:]


def test_data_that_is_not_json_is_found() -> None:
    """Any other non-JSON data is a finding at its event index."""
    body = b"event: response.created\ndata: {not json\n\n"
    assert [("$", "json", 0, "")] == found(validate(body))[:1]


def test_a_chat_completions_stream_is_noted_not_checked() -> None:
    """Chunks of Chat Completions are not Responses events: a note, no findings."""
    body = load_fixture(CORPUS / "sse" / "pydanticai__chat_completions_tool_call_deltas.sse")
    report = validate(body)
    assert report.ok
    assert ["a Chat Completions stream, not a Responses stream: not checked"] == list(report.notes)


def test_a_chat_completions_chunk_in_a_responses_stream_is_found() -> None:
    """One stray chunk does not make a Responses stream Chat Completions: it is checked, and
    the chunk is found."""
    body = load_fixture(CORPUS / "sse" / "pydanticai__chat_completions_tool_call_deltas.sse")
    (chunk, *_) = (event.data for event in iter_sse_bytes([body]) if event.data != "[DONE]")
    events = text()
    events[COMPLETED]["response"]["status"] = "in_progress"
    report = validate([*events[:3], json.loads(chunk), *events[3:]])
    assert [
        ("$.object", "chat-chunk", 3, ""),
        ("$.response.status", "terminal-status", COMPLETED + 1, "response.completed"),
    ] == found(report)
    assert [] == list(report.notes)


def test_a_stream_of_no_events_has_no_terminal_event() -> None:
    """An empty fixture, one of comments only, or only "[DONE]": the client would end it with
    "stream closed before response.completed", so it is a finding, not a clean file."""
    for body in (b"", b": hello\n: world\n\n", b"data: [DONE]\n\n"):
        rules = [finding.rule for finding in validate(body).findings]
        assert ["terminal-event"] == rules, body
