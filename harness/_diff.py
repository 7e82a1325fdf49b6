"""Semantic diff of two event sequences: recordings, snapshots, or events in memory.

Both sides are normalized the same way (:func:`~harness._normalize.normalize`), so ids and
timestamps never show as changes. The sequences are aligned before they are compared: first on
whole events, then, where events differ, on their ``type``. One inserted event shows as one
added event, not as every later event changed; an event whose text changed shows as that one
JSON path. ``sequence_number`` moving along with an earlier insertion or removal is not reported
again at every later event.

:func:`diff_events` is the sans-I/O core; :func:`diff` reads what it is given first.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, TypeAlias

from harness._cassette import Cassette
from harness._events import ResponseEvent
from harness._exceptions import CassetteError
from harness._files import read_regular
from harness._fixture import load_fixture
from harness._jsonpath import Change, differences
from harness._normalize import (
    events_from_body,
    events_from_cassette,
    is_snapshot,
    loads_snapshot,
    normalize,
)

__all__ = ["EventChange", "EventSource", "diff", "diff_events", "load_events"]

EventSource: TypeAlias = (
    str | os.PathLike[str] | bytes | Cassette | Iterable[Mapping[str, Any] | ResponseEvent]
)
"""What :func:`diff` compares: a file (cassette, snapshot, SSE body), an SSE body, a loaded
cassette, or events (wire dicts or typed)."""

_LIMIT = 80
_CONTEXT = 24


@dataclass(frozen=True, slots=True)
class EventChange:
    """One difference between two event sequences (the old ``a`` and the new ``b``).

    ``path`` is ``"$"`` when a whole event was ``added`` (``new`` is the event, ``index`` its
    position in ``b``) or ``removed`` (``old`` is the event, ``index`` its position in ``a``).
    Otherwise one JSON value of an event present on both sides ``changed``, or was ``added`` or
    ``removed``; ``index`` is the event's position in ``a`` and ``new_index`` in ``b``.
    """

    index: int
    path: str
    old: Any
    new: Any
    kind: str  # "changed", "added", "removed"
    new_index: int | None = None

    def __str__(self) -> str:
        if self.path == "$" and self.kind in ("added", "removed"):
            event = self.new if self.kind == "added" else self.old
            return f"event {self.index}: {self.kind} {_describe(event)}"
        where = f"event {self.index}"
        if self.new_index is not None and self.new_index != self.index:
            where += f" (now {self.new_index})"
        if self.kind == "changed" and isinstance(self.old, str) and isinstance(self.new, str):
            old, new = _excerpts(self.old, self.new)
            return f"{where} {self.path}: {old} -> {new}"
        return f"{where} {Change(self.path, self.old, self.new, self.kind)}"


def _short(value: Any, limit: int = _LIMIT) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(event: Any) -> str:
    """``response.output_text.delta {"delta": "Hi", ...}``: the type, then the rest, shortened."""
    if isinstance(event, Mapping) and isinstance(event.get("type"), str):
        rest = {key: value for key, value in event.items() if key != "type"}
        return f"{event['type']} {_short(rest)}" if rest else str(event["type"])
    return _short(event)


def _excerpts(old: str, new: str) -> tuple[str, str]:
    """Two strings as JSON literals; long ones cut to the part that differs, with some context."""
    if len(old) <= _LIMIT and len(new) <= _LIMIT:
        return _short(old), _short(new)
    prefix = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        prefix += 1
    suffix = 0
    for a, b in zip(reversed(old[prefix:]), reversed(new[prefix:]), strict=False):
        if a != b:
            break
        suffix += 1
    start = max(prefix - _CONTEXT, 0)

    def cut(text: str) -> str:
        end = min(len(text) - suffix + _CONTEXT, len(text))
        middle = text[start:end]
        if len(middle) > 3 * _LIMIT:
            middle = middle[: 3 * _LIMIT] + "..."
        lead = "..." if start else ""
        tail = "..." if end < len(text) and not middle.endswith("...") else ""
        return json.dumps(lead + middle + tail, ensure_ascii=False)

    return cut(old), cut(new)


# -- alignment and comparison (sans-I/O) --------------------------------------------------------


def _content_key(event: Mapping[str, Any]) -> str:
    rest = {key: value for key, value in event.items() if key != "sequence_number"}
    return json.dumps(rest, sort_keys=True, ensure_ascii=False)


def _type_key(event: Mapping[str, Any]) -> str:
    return str(event.get("type"))


Pair: TypeAlias = tuple[int | None, int | None]


def _align(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[Pair]:
    """Pairs ``(i, j)`` of events that correspond, ``(i, None)`` removed, ``(None, j)`` added."""
    pairs: list[Pair] = []
    whole = SequenceMatcher(
        None, [_content_key(e) for e in old], [_content_key(e) for e in new], autojunk=False
    )
    for tag, i1, i2, j1, j2 in whole.get_opcodes():
        if tag == "equal":
            pairs.extend(zip(range(i1, i2), range(j1, j2), strict=True))
        else:
            pairs.extend(_align_by_type(old, new, i1, i2, j1, j2))
    return pairs


def _align_by_type(
    old: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    i1: int,
    i2: int,
    j1: int,
    j2: int,
) -> list[Pair]:
    a = [_type_key(e) for e in old[i1:i2]]
    b = [_type_key(e) for e in new[j1:j2]]
    # The runs of equal types at both ends pair up as they are: SequenceMatcher over
    # thousands of equal keys (two streams of text deltas) takes quadratic time.
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    pairs: list[Pair] = [(i1 + k, j1 + k) for k in range(head)]
    types = SequenceMatcher(None, a[head : len(a) - tail], b[head : len(b) - tail], autojunk=False)
    for tag, a1, a2, b1, b2 in types.get_opcodes():
        olds = range(i1 + head + a1, i1 + head + a2)
        news = range(j1 + head + b1, j1 + head + b2)
        if tag == "equal" or (tag == "replace" and len(olds) == len(news)):
            pairs.extend(zip(olds, news, strict=True))
        else:
            pairs.extend((i, None) for i in olds)
            pairs.extend((None, j) for j in news)
    pairs.extend((i2 - tail + k, j2 - tail + k) for k in range(tail))
    return pairs


def _sequence_number(event: Mapping[str, Any]) -> int | None:
    number = event.get("sequence_number")
    return number if type(number) is int else None


def diff_events(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]
) -> list[EventChange]:
    """Every difference between two normalized sequences, in order; empty when they are equal.

    A ``sequence_number`` change is reported only where its shift differs from what the
    insertions and removals before it explain.
    """
    changes: list[EventChange] = []
    shift, index_shift = 0, 0  # new - old sequence_number, and j - i, at the last pair
    for i, j in _align(old, new):
        if j is None:
            assert i is not None
            changes.append(EventChange(i, "$", old[i], None, "removed"))
            continue
        if i is None:
            changes.append(EventChange(j, "$", None, new[j], "added"))
            continue
        expected = shift + (j - i) - index_shift
        index_shift = j - i
        before, after = _sequence_number(old[i]), _sequence_number(new[j])
        if before is not None and after is not None:
            shift, numbered = after - before, True
        else:
            shift, numbered = expected, False
        for change in differences(old[i], new[j]):
            if change.path == "$.sequence_number" and numbered and shift == expected:
                continue  # moved along with an insertion or removal already reported
            changes.append(EventChange(i, change.path, change.old, change.new, change.kind, j))
    return changes


# -- reading sources ------------------------------------------------------------------------------

_CASSETTE_SUFFIXES = frozenset({".yaml", ".yml", ".json"})


Events: TypeAlias = list[Mapping[str, Any] | ResponseEvent]


def load_events(source: EventSource) -> Events:
    """The events ``source`` holds, not yet normalized.

    A path is read by its content: a snapshot file, a cassette (ours, or vcrpy's ``.yaml`` /
    ``.json``, see :func:`~harness._normalize.events_from_cassette`), else an SSE body (raw, or
    the Codex fixture form). ``bytes`` are an SSE body.
    """
    return _load(source)[0]


def _load(source: EventSource) -> tuple[Events, bool]:
    """The events, and whether they come from a snapshot file."""
    if isinstance(source, Cassette):
        return list(events_from_cassette(source)), False
    if isinstance(source, bytes):
        return list(events_from_body(source)), False
    if isinstance(source, str | os.PathLike):
        return _load_file(Path(source))
    return list(source), False


def _load_file(path: Path) -> tuple[Events, bool]:
    try:
        data = read_regular(path)
    except OSError as exc:
        raise CassetteError(
            f"cannot read: {exc.strerror or exc}. Give a cassette, a snapshot file or an SSE body.",
            path=path,
        ) from exc
    if is_snapshot(data):
        return list(loads_snapshot(data.decode("utf-8", "replace"), path=str(path))), True
    if data.startswith(b"# harness cassette") or path.suffix.lower() in _CASSETTE_SUFFIXES:
        return list(events_from_cassette(Cassette.loads(data, path))), False
    events = events_from_body(load_fixture(path))
    if data.strip() and not events:
        raise CassetteError(
            "no events found: the file is not a harness cassette or snapshot, not a vcrpy "
            "cassette (.yaml, .json), and holds no server-sent event. Give one of those.",
            path=path,
        )
    return list(events), False


def _is_collapsed(events: Events) -> bool:
    return any(
        isinstance(e, Mapping) and "deltas" in e and isinstance(e.get("delta"), str) for e in events
    )


def diff(a: EventSource, b: EventSource, *, collapse_deltas: bool = False) -> list[EventChange]:
    """The changes from ``a`` to ``b``, both normalized the same way; an empty list means equal.

    Each side is a path (cassette, snapshot file, SSE body or Codex fixture), an SSE body as
    ``bytes``, a :class:`~harness.Cassette`, or events (wire dicts or typed). Text deltas are
    collapsed on both sides with ``collapse_deltas``, or when a side is a snapshot written with
    collapsed deltas (a collapsed sequence only compares with another one).
    """
    (old, old_is_snapshot), (new, new_is_snapshot) = _load(a), _load(b)
    collapse = (
        collapse_deltas
        or (old_is_snapshot and _is_collapsed(old))
        or (new_is_snapshot and _is_collapsed(new))
    )
    return diff_events(
        normalize(old, collapse_deltas=collapse), normalize(new, collapse_deltas=collapse)
    )
