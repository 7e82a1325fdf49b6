"""Snapshots of event sequences with syrupy: one file per snapshot, one normalized event per line.

::

    from harness._snapshot import HarnessSnapshotExtension

    def test_turn(snapshot):
        events = list(client.stream(prompt))   # typed events, wire dicts, a Cassette, a path
        assert snapshot.use_extension(HarnessSnapshotExtension) == events

The file (``__snapshots__/<test file>/<test name>.events``) is the text of
:func:`~harness._normalize.dumps_snapshot`: a header line with the format, then each event as
compact JSON, ids and timestamps replaced by linked placeholders. ``pytest --snapshot-update``
writes and rewrites it as for any syrupy snapshot. :class:`CollapsedDeltasSnapshotExtension`
collapses runs of text deltas first, for streams whose chunking is not the point.

A mismatch is explained as the list of every change, ``event <i> <JSON path>: <old> -> <new>``,
with the semantic diff of :func:`harness.diff`. pytest cuts long assertion explanations short
unless run with ``-vv``; the hooks in this module (``-p harness._snapshot``, or registered by the
harness pytest plugin) add the whole list as a section of the failure report whenever the
explanation was cut.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterator
from typing import ClassVar

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
from syrupy.types import PropertyFilter, PropertyMatcher, SerializableData, SerializedData

from harness._diff import diff_events, load_events
from harness._exceptions import CassetteError
from harness._normalize import dumps_snapshot, loads_snapshot, normalize

__all__ = [
    "CollapsedDeltasSnapshotExtension",
    "HarnessSnapshotExtension",
    "pytest_runtest_makereport",
]

_UPDATE = "Run pytest --snapshot-update to accept the received events, if the change is intended."

# Explanations written during the current test, for the report hook below. Bounded, so that
# nothing accumulates when the hook is not registered.
_EXPLAINED: deque[list[str]] = deque(maxlen=16)


class HarnessSnapshotExtension(SingleFileSnapshotExtension):
    """Serializes an event sequence, normalized, one event per line (see the module docstring).

    Accepts typed events or wire dicts, a :class:`~harness.Cassette`, an SSE body as bytes, or the
    path of a cassette, SSE body or snapshot file. Snapshots compare as event sequences, not as
    text: a header or formatting change alone is no mismatch. Subclass and set
    ``collapse_deltas`` (or use :class:`CollapsedDeltasSnapshotExtension`) to collapse text
    deltas.
    """

    file_extension = "events"
    _write_mode = WriteMode.TEXT
    collapse_deltas: ClassVar[bool] = False

    def serialize(
        self,
        data: SerializableData,
        *,
        exclude: PropertyFilter | None = None,
        include: PropertyFilter | None = None,
        matcher: PropertyMatcher | None = None,  # syrupy always passes its own; nothing to do
    ) -> SerializedData:
        if exclude is not None or include is not None:
            raise TypeError(
                f"{type(self).__name__} does not filter properties (exclude=, include=): every "
                "event is kept whole. Drop the events or fields you do not want before the "
                "assertion."
            )
        events = normalize(load_events(data), collapse_deltas=self.collapse_deltas)
        return dumps_snapshot(events, collapsed=self.collapse_deltas)

    def matches(
        self, *, serialized_data: SerializableData, snapshot_data: SerializableData
    ) -> bool:
        try:
            return loads_snapshot(str(serialized_data)) == loads_snapshot(str(snapshot_data))
        except CassetteError:
            return False  # an unreadable snapshot never matches; --snapshot-update rewrites it

    def diff_snapshots(
        self, serialized_data: SerializedData, snapshot_data: SerializedData
    ) -> SerializedData:
        raise TypeError(
            f"{type(self).__name__} does not store snapshots as a diff of another snapshot "
            "(snapshot(diff=...)); compare two recordings with harness.diff(a, b) instead."
        )

    def diff_lines(
        self, serialized_data: SerializedData, snapshot_data: SerializedData
    ) -> Iterator[str]:
        lines = self._explain(str(serialized_data), str(snapshot_data))
        _EXPLAINED.append(lines)
        yield from lines

    def _explain(self, serialized: str, snapshot: str) -> list[str]:
        received = loads_snapshot(serialized)
        if not snapshot:
            return [
                f"No snapshot yet; {len(received)} events received. "
                "Run pytest --snapshot-update to write it."
            ]
        try:
            recorded = loads_snapshot(snapshot)
        except CassetteError as exc:
            return [f"The snapshot cannot be read: {exc.message}"]
        changes = diff_events(recorded, received)
        return [
            f"{len(changes)} change{'s' if len(changes) != 1 else ''} from the snapshot "
            f"({len(recorded)} events) to the received events ({len(received)}):",
            *(str(change) for change in changes),
            _UPDATE,
        ]


class CollapsedDeltasSnapshotExtension(HarnessSnapshotExtension):
    """:class:`HarnessSnapshotExtension` with runs of text deltas collapsed to one event each."""

    collapse_deltas: ClassVar[bool] = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Adds every change to the report of a failed snapshot assertion whose explanation pytest
    cut short (it does below ``-vv``)."""
    report = yield
    if call.when == "setup":
        _EXPLAINED.clear()
    elif call.when == "call" and _EXPLAINED:
        explained = list(_EXPLAINED)
        _EXPLAINED.clear()
        message = str(call.excinfo.value) if call.excinfo is not None else ""
        if report.failed and any(line not in message for lines in explained for line in lines):
            text = "\n\n".join("\n".join(lines) for lines in explained)
            report.sections.append(("harness snapshot: every change", text))
    return report
