"""The semantic diff: aligned event sequences, changes by event index and JSON path, and every
kind of recording as input."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from harness import Cassette, CassetteError, Chunk, Interaction, RecordedRequest, RecordedResponse
from harness._diff import EventChange, diff, diff_events
from harness._normalize import dumps_snapshot, events_from_body, normalize
from tests.conftest import CORPUS

TRANSCRIPTS = sorted((CORPUS / "sse").glob("*.sse"))
TEXT = CORPUS / "sse" / "openllmetry__responses_text_obfuscation.sse"


def turn(*deltas: str, rid: str = "resp_67e554a155508191900ee113") -> list[dict[str, Any]]:
    """A text turn with numbered events: created, one event per delta, completed."""
    events: list[dict[str, Any]] = [{"type": "response.created", "response": {"id": rid}}]
    for delta in deltas:
        events.append(
            {
                "type": "response.output_text.delta",
                "item_id": "msg_0fef0f8a68937870",
                "delta": delta,
            }
        )
    events.append({"type": "response.completed", "response": {"id": rid}})
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


def sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


# -- changes --------------------------------------------------------------------------------------


def test_equal_sequences_have_no_changes() -> None:
    """An empty list means equal."""
    assert [] == diff(turn("Hi", " there"), turn("Hi", " there"))


def test_other_ids_and_timestamps_are_no_change() -> None:
    """Two recordings that differ only in ids are equal once normalized."""
    assert [] == diff(turn("Hi"), turn("Hi", rid="resp_0850765c843cca5300699cc4"))


def test_a_changed_delta_is_reported_at_its_event_and_path() -> None:
    """A different text shows as that one JSON path of that one event."""
    assert [EventChange(2, "$.delta", " there", " world", "changed", 2)] == diff(
        turn("Hi", " there", "!"), turn("Hi", " world", "!")
    )


def test_an_inserted_event_is_one_added_change() -> None:
    """One more delta is one added event; the events after it are not reported as changed."""
    changes = diff(turn("a", "b", "c", "d"), turn("a", "b", "X", "c", "d"))

    assert [EventChange(3, "$", None, normalize(turn("a", "b", "X"))[3], "added")] == changes


def test_long_runs_of_one_event_type_are_compared_event_by_event() -> None:
    """Two streams of thousands of text deltas with different text (aligned by type in linear
    time at both ends): each delta is one change, and an event of another type inserted in
    the middle is one addition, with nothing after it shifted."""
    old = turn(*(f"a{n}" for n in range(3000)))
    new = turn(*(f"b{n}" for n in range(3000)))
    changes = diff(old, new)
    assert 3000 == len(changes)
    assert all(change.kind == "changed" and change.path == "$.delta" for change in changes)
    inserted = [*old[:1500], {"type": "response.in_progress"}, *old[1500:]]
    assert ["added"] == [change.kind for change in diff_events(normalize(old), normalize(inserted))]


def test_a_removed_event_is_one_removed_change() -> None:
    """One delta less is one removed event, at its index in the old sequence."""
    old = turn("a", "b", "c", "d")

    assert [EventChange(2, "$", normalize(old)[2], None, "removed")] == diff(
        old, turn("a", "c", "d")
    )


def test_an_insertion_among_repeated_deltas_is_found_where_it_happened() -> None:
    """Alignment is on whole events first, so identical neighbours do not hide the insertion."""
    changes = diff(turn("x", "x", "x", "x"), turn("x", "x", "y", "x", "x"))

    assert [
        'event 3: added response.output_text.delta {"delta": "y", "item_id": "msg_1", '
        '"sequence_number": 3}'
    ] == [str(change) for change in changes]


def test_a_changed_event_type_is_paired_with_its_counterpart() -> None:
    """An event that changed type in place shows as field changes, not as remove-and-add."""
    old = turn("a")
    new = [*old[:-1], {**old[-1], "type": "response.incomplete"}]

    assert ['event 2 $.type: "response.completed" -> "response.incomplete"'] == [
        str(change) for change in diff(old, new)
    ]


def test_a_gap_in_sequence_numbers_is_reported() -> None:
    """Sequence numbers that moved without an insertion or removal are a change."""
    new = turn("a", "b")
    new[2] = {**new[2], "sequence_number": 7}

    assert [EventChange(2, "$.sequence_number", 2, 7, "changed", 2)] == diff(turn("a", "b"), new)


def test_collapse_deltas_ignores_how_the_text_was_split() -> None:
    """With collapse_deltas the same text in other chunks is equal; without, it is not."""
    old, new = turn("Hel", "lo", " world"), turn("Hello", " wor", "ld")

    assert [] == diff(old, new, collapse_deltas=True)
    assert diff(old, new)


def test_diff_is_empty_exactly_when_the_normalized_sequences_are_equal() -> None:
    """Random edits of real transcripts always show, and only edits show."""
    rng = random.Random(7)
    for path in TRANSCRIPTS:
        events = normalize(events_from_body(path.read_bytes()))
        edited = [dict(event) for event in events]
        position = rng.randrange(len(edited))
        match rng.choice(["insert", "remove", "change"]):
            case "insert":
                edited.insert(position, {"type": "harness.inserted"})
            case "remove":
                del edited[position]
            case _:
                edited[position]["harness_edit"] = 1
        assert [] == diff_events(events, [dict(event) for event in events]), path.name
        assert diff_events(events, edited), path.name


# -- how changes read -----------------------------------------------------------------------------


def test_changes_read_as_event_index_path_old_and_new() -> None:
    """Each kind of change has a one-line form naming the event and the JSON path."""
    delta = {"type": "response.output_text.delta", "delta": "!"}

    assert [
        'event 3 $.delta: "Hi" -> "Hello"',
        'event 3 (now 4) $.delta: "Hi" -> "Hello"',
        "event 3 $.logprobs: added []",
        'event 3 $.obfuscation: removed "x"',
        'event 7: added response.output_text.delta {"delta": "!"}',
        "event 2: removed response.done",
    ] == [
        str(EventChange(3, "$.delta", "Hi", "Hello", "changed", 3)),
        str(EventChange(3, "$.delta", "Hi", "Hello", "changed", 4)),
        str(EventChange(3, "$.logprobs", None, [], "added", 3)),
        str(EventChange(3, "$.obfuscation", "x", None, "removed", 3)),
        str(EventChange(7, "$", None, delta, "added")),
        str(EventChange(2, "$", {"type": "response.done"}, None, "removed")),
    ]


def test_a_change_in_a_long_text_shows_the_part_that_differs() -> None:
    """Long strings are cut around the difference, so the change is visible on the line."""
    old = "Once upon a time " * 10 + "there was a cat." + " The end." * 10
    new = old.replace("a cat", "a dog")

    line = str(EventChange(4, "$.delta", old, new, "changed", 4))

    assert "a cat" in line
    assert "a dog" in line
    assert len(line) < 200


# -- sources --------------------------------------------------------------------------------------


def cassette_of(body: bytes) -> Cassette:
    request = RecordedRequest("POST", "https://api.openai.com/v1/responses", (), b"{}")
    response = RecordedResponse(200, "OK", (("content-type", "text/event-stream"),), body)
    return Cassette((Interaction(request, response, (Chunk(1.0, len(body)),)),))


def test_a_recording_compares_with_its_sse_body_cassette_and_snapshot(tmp_path: Path) -> None:
    """An SSE file, a saved cassette, a snapshot file and bytes of one session are all equal."""
    body = TEXT.read_bytes()
    cassette = cassette_of(body).save(tmp_path / "turn.yaml")
    snapshot = tmp_path / "turn.events"
    snapshot.write_text(dumps_snapshot(normalize(events_from_body(body))), encoding="utf-8")

    assert [] == diff(TEXT, cassette)
    assert [] == diff(str(cassette), snapshot)
    assert [] == diff(snapshot, body)
    assert [] == diff(Cassette.load(cassette), events_from_body(body))


def test_a_vcrpy_cassette_compares_with_the_same_stream() -> None:
    """A vcrpy cassette from the corpus is read with its markers, turn by turn."""
    path = CORPUS / "cassettes" / "pydanticai__responses_stream_function_call_roundtrip.yaml"
    first_turn = CORPUS / "sse" / "pydanticai__responses_function_call_args_deltas.sse"

    changes = diff(first_turn, path)

    assert "event 0: added harness.interaction" in str(changes[0])
    assert all(change.kind == "added" and change.path == "$" for change in changes)


def test_a_collapsed_snapshot_is_compared_with_collapsed_deltas(tmp_path: Path) -> None:
    """A snapshot written with collapsed deltas collapses the other side too."""
    snapshot = tmp_path / "turn.events"
    collapsed = normalize(turn("Hel", "lo"), collapse_deltas=True)
    snapshot.write_text(dumps_snapshot(collapsed, collapsed=True), encoding="utf-8")

    assert [] == diff(snapshot, sse(turn("H", "ello")))


def test_a_changed_recording_shows_against_a_snapshot(tmp_path: Path) -> None:
    """The diff of a snapshot and a new recording names the changed event and path."""
    snapshot = tmp_path / "turn.events"
    snapshot.write_text(dumps_snapshot(normalize(turn("Hi", " there"))), encoding="utf-8")

    assert ['event 2 $.delta: " there" -> " world"'] == [
        str(change) for change in diff(snapshot, sse(turn("Hi", " world")))
    ]


def test_a_missing_file_is_a_cassette_error_naming_it(tmp_path: Path) -> None:
    """A path that cannot be read raises CassetteError with the path and what to give."""
    with pytest.raises(CassetteError, match="cannot read") as caught:
        diff(tmp_path / "nope.sse", turn())

    assert str(tmp_path / "nope.sse") == caught.value.path


def test_a_file_with_no_events_is_refused(tmp_path: Path) -> None:
    """A file that is none of the known kinds is refused rather than read as an empty stream."""
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes\n\n")

    with pytest.raises(CassetteError, match="no events found"):
        diff(notes, turn())
