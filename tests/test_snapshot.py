"""The syrupy extension: the snapshot file, --snapshot-update, and failures that list every
change. Whole pytest sessions run in a subprocess with ``pytester``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import (
    Cassette,
    Chunk,
    Interaction,
    ModelClient,
    RecordedRequest,
    RecordedResponse,
    ReplayTransport,
)
from harness._normalize import dumps_snapshot, events_from_body, loads_snapshot, normalize
from harness._snapshot import CollapsedDeltasSnapshotExtension, HarnessSnapshotExtension
from tests.conftest import CORPUS, PROMPT

pytest_plugins = ["pytester"]

TEXT = CORPUS / "sse" / "openllmetry__responses_text_obfuscation.sse"

TEST_MODULE = """
import json
from pathlib import Path

from harness._snapshot import CollapsedDeltasSnapshotExtension, HarnessSnapshotExtension

def events():
    return json.loads(Path(__file__).with_name("events.json").read_text())

def test_turn(snapshot):
    assert snapshot.use_extension(HarnessSnapshotExtension) == events()

def test_collapsed(snapshot):
    assert snapshot.use_extension(CollapsedDeltasSnapshotExtension) == events()
"""


def turn(words: int = 30, rid: str = "resp_67e554a155508191900ee113") -> list[dict[str, Any]]:
    """A text turn with one delta per word, recorded with the given response id."""
    response = {"id": rid, "created_at": 1743082657}
    part = {"item_id": "msg_0fef0f8a68937870006911e9", "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [{"type": "response.created", "response": response}]
    for n in range(words):
        delta = {"type": "response.output_text.delta", **part, "delta": f" w{n}"}
        events.append({**delta, "obfuscation": "x" * (n % 7)})
    events.append({"type": "response.completed", "response": response})
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


Run = Callable[..., pytest.RunResult]


@pytest.fixture
def session(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Runs a pytest session in its own process that snapshots the events of events.json.

    Plugins are not autoloaded, so the session has syrupy and our report hooks and nothing else
    that happens to be installed. pytest does not truncate under CI, and syrupy reports nothing
    in what it takes for an xdist worker, so those variables are unset.
    """
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    for name in ("CI", "BUILD_NUMBER", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_turn=TEST_MODULE)

    def run(events: list[dict[str, Any]], *args: str) -> pytest.RunResult:
        (pytester.path / "events.json").write_text(json.dumps(events))
        return pytester.runpytest_subprocess(
            "-p", "syrupy", "-p", "harness._snapshot", "-p", "no:cacheprovider", *args
        )

    return run


def snapshot_file(pytester: pytest.Pytester, name: str = "test_turn") -> Path:
    return pytester.path / "__snapshots__" / "test_turn" / f"{name}.events"


def test_snapshot_update_writes_one_normalized_event_per_line(
    session: Run, pytester: pytest.Pytester
) -> None:
    """The first run with --snapshot-update writes a header and one line per event."""
    result = session(turn(words=3), "--snapshot-update")

    result.assert_outcomes(passed=2)
    lines = snapshot_file(pytester).read_text().split("\n")
    assert lines[0].startswith("# harness events, format 1")
    assert [
        '{"type":"response.created","response":{"created_at":"<timestamp 1>","id":"resp_1"},'
        '"sequence_number":0}',
        '{"type":"response.output_text.delta","content_index":0,"delta":" w0",'
        '"item_id":"msg_1","output_index":0,"sequence_number":1}',
        '{"type":"response.output_text.delta","content_index":0,"delta":" w1",'
        '"item_id":"msg_1","output_index":0,"sequence_number":2}',
        '{"type":"response.output_text.delta","content_index":0,"delta":" w2",'
        '"item_id":"msg_1","output_index":0,"sequence_number":3}',
        '{"type":"response.completed","response":{"created_at":"<timestamp 1>","id":"resp_1"},'
        '"sequence_number":4}',
        "",
    ] == lines[1:]


def test_collapsed_extension_writes_one_event_per_run_of_deltas(
    session: Run, pytester: pytest.Pytester
) -> None:
    """CollapsedDeltasSnapshotExtension writes the text deltas as one event with their count."""
    session(turn(words=3), "--snapshot-update").assert_outcomes(passed=2)

    events = loads_snapshot(snapshot_file(pytester, "test_collapsed").read_text())

    assert [(" w0 w1 w2", 3)] == [(e["delta"], e["deltas"]) for e in events if "delta" in e]


def test_a_new_recording_of_the_same_session_passes(session: Run) -> None:
    """Other ids, timestamps and padding match the snapshot; the run reports it as passed."""
    session(turn(), "--snapshot-update").assert_outcomes(passed=2)

    result = session(turn(rid="resp_0850765c843cca5300699cc47d93c08"))

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*2 snapshots passed*"])


def changed_turn() -> list[dict[str, Any]]:
    """turn() with twelve deltas changed, one removed and one added near the end."""
    events = turn()
    for n in range(1, 25, 2):
        events[n] = {**events[n], "delta": f" changed{n}"}
    del events[26]
    events.insert(28, {**events[27], "delta": " inserted"})
    return events


EVERY_CHANGE = [
    *(f'event {n} $.delta: " w{n - 1}" -> " changed{n}"' for n in range(1, 25, 2)),
    "event 26: removed response.output_text.delta *",
    "event 28: added response.output_text.delta *",
]


def test_a_mismatch_lists_every_change_although_pytest_truncates(session: Run) -> None:
    """Without -vv pytest cuts the explanation; the report section still lists every change."""
    session(turn(), "--snapshot-update").assert_outcomes(passed=2)

    result = session(changed_turn())

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*Full output truncated*"])
    result.stdout.fnmatch_lines(
        [
            "*- harness snapshot: every change -*",
            "14 changes from the snapshot (32 events) to the received events (32):",
            *EVERY_CHANGE,
            "Run pytest --snapshot-update to accept the received events, if the change is *",
        ]
    )


def test_with_vv_the_explanation_itself_lists_every_change(session: Run) -> None:
    """Under -vv the assertion explanation is whole, and no section repeats it."""
    session(turn(), "--snapshot-update").assert_outcomes(passed=2)

    result = session(changed_turn(), "-vv")

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([f"E * {line}" for line in EVERY_CHANGE])
    result.stdout.no_fnmatch_line("*harness snapshot: every change*")


def test_snapshot_update_accepts_the_changes(session: Run, pytester: pytest.Pytester) -> None:
    """--snapshot-update rewrites a mismatched snapshot; the next run passes with it."""
    session(turn(), "--snapshot-update").assert_outcomes(passed=2)
    session(changed_turn()).assert_outcomes(failed=2)

    updated = session(changed_turn(), "--snapshot-update")
    again = session(changed_turn())

    updated.assert_outcomes(passed=2)
    updated.stdout.fnmatch_lines(["*2 snapshots updated*"])
    again.assert_outcomes(passed=2)
    assert normalize(changed_turn()) == loads_snapshot(snapshot_file(pytester).read_text())


# -- the extension without a session ---------------------------------------------------------------


def cassette_of(body: bytes) -> Cassette:
    request = RecordedRequest("POST", "https://api.openai.com/v1/responses", (), b"{}")
    response = RecordedResponse(200, "OK", (("content-type", "text/event-stream"),), body)
    return Cassette((Interaction(request, response, (Chunk(1.0, len(body)),)),))


def test_a_snapshot_is_made_from_a_cassette_a_path_bytes_or_events(tmp_path: Path) -> None:
    """Every kind of recording serializes to the same snapshot text."""
    body = TEXT.read_bytes()
    cassette = cassette_of(body)
    extension = HarnessSnapshotExtension()

    texts = {
        extension.serialize(source)
        for source in (body, TEXT, str(TEXT), cassette, events_from_body(body))
    }

    assert {dumps_snapshot(normalize(events_from_body(body)))} == texts


def test_a_replay_through_the_client_snapshots_like_its_cassette() -> None:
    """The typed events of a replay give the same snapshot as the cassette they came from."""
    cassette = cassette_of(TEXT.read_bytes())
    transport = ReplayTransport(cassette, match_body=False)
    with ModelClient(
        "gpt-4.1-nano", base_url="http://replay.invalid/v1", api_key="sk-test", transport=transport
    ) as client:
        events = list(client.stream(PROMPT))
    extension = HarnessSnapshotExtension()

    assert extension.serialize(cassette) == extension.serialize(events)


def test_snapshots_compare_as_events_not_as_text() -> None:
    """A snapshot that differs only in its header still matches."""
    extension = CollapsedDeltasSnapshotExtension()
    serialized = extension.serialize(turn())
    plain = dumps_snapshot(loads_snapshot(str(serialized)), collapsed=False)

    assert plain != serialized
    assert extension.matches(serialized_data=serialized, snapshot_data=plain)


def test_an_unreadable_snapshot_does_not_match_and_says_how_to_fix_it() -> None:
    """A damaged snapshot fails the assertion with a way out, so --snapshot-update can fix it."""
    extension = HarnessSnapshotExtension()
    serialized = extension.serialize(turn(words=1))

    assert not extension.matches(serialized_data=serialized, snapshot_data="garbage\n")
    assert [
        "The snapshot cannot be read: not a harness events snapshot: the first line is "
        "'garbage', expected '# harness events, format 1'. Rewrite it with pytest "
        "--snapshot-update."
    ] == list(extension.diff_lines(serialized, "garbage\n"))


def test_a_missing_snapshot_is_explained_in_one_line() -> None:
    """No snapshot yet: one line saying how many events came and how to write them."""
    extension = HarnessSnapshotExtension()
    serialized = extension.serialize(turn(words=1))

    assert [
        "No snapshot yet; 3 events received. Run pytest --snapshot-update to write it."
    ] == list(extension.diff_lines(serialized, ""))


def test_property_filters_are_refused() -> None:
    """exclude= and include= have no meaning for event sequences; the error says what to do."""
    with pytest.raises(TypeError, match="Drop the events or fields"):
        HarnessSnapshotExtension().serialize(turn(), exclude=lambda **_: False)
