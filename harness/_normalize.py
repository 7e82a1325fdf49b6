"""Normalized event sequences: what stays the same when one session is recorded twice (sans-I/O).

:func:`normalize` turns the events of a stream (wire JSON dicts, or the typed events the client
yields) into plain JSON dicts where everything that changes from one recording to the next is
replaced by a stable placeholder:

- ids become ``<prefix>_<n>``: the n-th distinct id with that prefix, in order of first
  appearance, so links survive (the ``resp_1`` of ``response.created`` is the ``resp_1`` of
  ``response.completed``, the ``item_id`` of a delta names the item it belongs to). An id is
  the value of a key named ``id``, ``*_id`` or ``*_ids``, or any other value shaped like an
  OpenAI id (``resp_67e5...``, ``call_P9Ay...``, ``chatcmpl-9Xtj...``);
- timestamps (numbers under ``*_at``, ``created`` or ``timestamp``) become ``"<timestamp n>"``,
  linked the same way;
- ``encrypted_content`` (reasoning the server encrypts anew each time) becomes
  ``"<encrypted_content n>"``, linked the same way;
- ``obfuscation`` (random padding the server adds to deltas) is dropped.

``sequence_number`` is kept: its order is part of the protocol. With ``collapse_deltas``, runs of
text deltas become one event holding their concatenation, so a snapshot does not change when
the server splits the same text differently.

Normalizing twice changes nothing, so a snapshot file (already normalized) compares with a fresh
recording. :func:`dumps_snapshot` and :func:`loads_snapshot` are the text of such a sequence,
one event per line; :func:`events_from_body` and :func:`events_from_cassette` get the wire
events out of recordings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from harness._cassette import Cassette, Interaction, Outcome
from harness._events import Reconnecting, ResponseEvent
from harness._exceptions import CassetteError
from harness._redact import KEY_SHAPED_TEXT, MIN_SECRET_LENGTH, default_secrets, mask
from harness._sse import iter_sse_bytes

__all__ = [
    "SNAPSHOT_FORMAT",
    "dumps_snapshot",
    "events_from_body",
    "events_from_cassette",
    "is_snapshot",
    "loads_snapshot",
    "normalize",
]

Event = Mapping[str, Any]

# -- ids and timestamps -------------------------------------------------------------------------

# Prefixes of the ids OpenAI (and the gateways in front of it) hand out. A value with one of these
# and a suffix of digits is also a placeholder this module wrote, so normalizing is idempotent.
_KNOWN_PREFIXES = "resp|msg|fc|call|rs|ws|ig|ctc|lsh|fs|ci|cu|mcp|mcpl|mcpr|cntr|vs|fp|toolu"
_ID_VALUE = re.compile(
    r"[a-z]+_(?=[A-Za-z]*[0-9])[A-Za-z0-9]{8,}"  # resp_67e5..., call_P9Ay...: a digit, 8+ long
    rf"|(?:{_KNOWN_PREFIXES})_[0-9]+"  # resp_1: a placeholder (or a hand-written id)
    r"|(?:chatcmpl|gen)-[A-Za-z0-9-]+",  # Chat Completions, OpenRouter
)
_PREFIX = re.compile(r"([a-z]+)_|(chatcmpl|gen)-")
# Values under these keys are content, never ids, whatever they look like.
_CONTENT_KEYS = frozenset(
    {
        "arguments",
        "data",
        "delta",
        "message",
        "name",
        "output",
        "refusal",
        "text",
    }
)
_TIMESTAMP_KEYS = frozenset({"created", "timestamp"})
# A placeholder written before, or a date and time as text (ISO 8601).
_TIMESTAMP_TEXT = re.compile(
    r"<timestamp [0-9]+>|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*"
)
_DROPPED_KEYS = frozenset({"obfuscation"})
# Opaque blobs the server makes anew each time (encrypted reasoning): linked placeholders too.
_OPAQUE_KEYS = frozenset({"encrypted_content"})


def _is_id_key(key: str) -> bool:
    return key == "id" or key.endswith(("_id", "_ids"))


def _is_timestamp_key(key: str) -> bool:
    return key.endswith("_at") or key in _TIMESTAMP_KEYS


class _Placeholders:
    """The placeholders handed out in one sequence: the same value always gets the same one."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._times: dict[object, str] = {}
        self._opaque: dict[tuple[str, str], str] = {}

    def id(self, value: str) -> str:
        known = self._ids.get(value)
        if known is None:
            match = _PREFIX.match(value)
            if match is None:
                prefix, separator = "id", "_"
            elif match[1]:
                prefix, separator = match[1], "_"
            else:
                prefix, separator = match[2], "-"
            count = self._counts[prefix] = self._counts.get(prefix, 0) + 1
            known = self._ids[value] = f"{prefix}{separator}{count}"
        return known

    def timestamp(self, value: object) -> str:
        known = self._times.get(value)
        if known is None:
            known = self._times[value] = f"<timestamp {len(self._times) + 1}>"
        return known

    def opaque(self, key: str, value: str) -> str:
        known = self._opaque.get((key, value))
        if known is None:
            count = 1 + sum(1 for seen, _ in self._opaque if seen == key)
            known = self._opaque[key, value] = f"<{key} {count}>"
        return known

    def walk(self, value: Any, key: str | None) -> Any:
        """A normalized copy of ``value``, found under ``key`` (list items inherit the key)."""
        if isinstance(value, Mapping):
            return {
                str(k): self.walk(v, str(k)) for k, v in value.items() if k not in _DROPPED_KEYS
            }
        if isinstance(value, list | tuple):
            return [self.walk(item, key) for item in value]
        if key is None:
            return value
        if isinstance(value, str):
            if not value or key in _CONTENT_KEYS:
                return value
            if key in _OPAQUE_KEYS:
                return self.opaque(key, value)
            if _is_id_key(key) or _ID_VALUE.fullmatch(value):
                return self.id(value)
            if _is_timestamp_key(key) and _TIMESTAMP_TEXT.fullmatch(value):
                return self.timestamp(value)
            return value
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return self.timestamp(value) if is_number and _is_timestamp_key(key) else value


# -- normalize ----------------------------------------------------------------------------------


def _wire(event: Event | ResponseEvent) -> dict[str, Any]:
    if isinstance(event, Mapping):
        return dict(event)
    if isinstance(event, Reconnecting):
        return {"type": "harness.reconnecting", "attempt": event.attempt, "error": event.error}
    if not event.data:
        raise ValueError(
            f"{type(event).__name__} has no wire data (it was built by hand, not read from a "
            "stream); normalize the wire JSON dicts instead"
        )
    return dict(event.data)


def normalize(
    events: Iterable[Event | ResponseEvent], *, collapse_deltas: bool = False
) -> list[dict[str, Any]]:
    """The events as plain JSON dicts with ids and timestamps replaced by linked placeholders.

    ``events`` are wire event dicts, typed events (their wire ``data``; a
    :class:`~harness.Reconnecting` becomes ``{"type": "harness.reconnecting", ...}``), or an
    already normalized sequence, which comes back unchanged. Placeholders are numbered within
    this one sequence, so two recordings of the same session normalize equal. The input is not
    modified.
    """
    placeholders = _Placeholders()
    secrets = tuple(s for s in default_secrets() if len(s) >= MIN_SECRET_LENGTH)
    normalized = [placeholders.walk(_wire(event), None) for event in events]
    if collapse_deltas:
        normalized = _collapse(normalized)
    # Masked last: a key the server sent in two deltas is whole only once they are collapsed.
    return [_masked(event, secrets) for event in normalized]


def _masked(value: Any, secrets: tuple[str, ...]) -> Any:
    """Secrets masked in every string: snapshots are written from live events, and a key the
    server echoes must not reach ``__snapshots__`` (nor make two runs differ)."""
    if isinstance(value, str):
        if KEY_SHAPED_TEXT.search(value) or any(secret in value for secret in secrets):
            return mask(value, secrets)
        return value
    if isinstance(value, dict):
        return {key: _masked(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, secrets) for item in value]
    return value


# Deltas merge when all of these are equal: they continue the same part of the same item.
_DELTA_KEYS = ("type", "item_id", "output_index", "content_index", "summary_index")


def _is_text_delta(event: Mapping[str, Any]) -> bool:
    kind = event.get("type")
    return isinstance(kind, str) and kind.endswith(".delta") and isinstance(event.get("delta"), str)


def _collapse(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs of text deltas to one event each: the first's fields, the concatenated ``delta``, and
    ``deltas``, how many there were (collapsing a collapsed sequence changes nothing)."""
    out: list[dict[str, Any]] = []
    for event in events:
        if not _is_text_delta(event):
            out.append(event)
            continue
        previous = out[-1] if out else None
        if (
            previous is not None
            and _is_text_delta(previous)
            and all(previous.get(key) == event.get(key) for key in _DELTA_KEYS)
        ):
            previous["delta"] += event["delta"]
            previous["deltas"] = previous["deltas"] + event.get("deltas", 1)
            continue
        out.append({**event, "deltas": event.get("deltas", 1)})
    return out


# -- wire events from recordings ----------------------------------------------------------------


def events_from_body(body: bytes) -> list[dict[str, Any]]:
    """The JSON of every event in an SSE body, decoded by the WHATWG rules.

    Nothing is dropped silently: data that is not JSON (``[DONE]``) becomes
    ``{"type": "harness.non_json", "data": ...}``, JSON that is not an object
    ``{"type": "harness.non_object", "data": ...}``.
    """
    events: list[dict[str, Any]] = []
    for sse in iter_sse_bytes([body]):
        try:
            value = json.loads(sse.data)
        except (ValueError, RecursionError):
            events.append({"type": "harness.non_json", "data": sse.data})
            continue
        if isinstance(value, dict):
            events.append(value)
        else:
            events.append({"type": "harness.non_object", "data": value})
    return events


def _is_sse(interaction: Interaction) -> bool:
    response = interaction.response
    content_type = (response.header("content-type") or "") if response else ""
    return content_type.split(";")[0].strip().lower() == "text/event-stream"


def _marker(index: int, interaction: Interaction) -> dict[str, Any]:
    response = interaction.response
    marker: dict[str, Any] = {
        "type": "harness.interaction",
        "index": index,
        "status": response.status if response else None,
        "outcome": interaction.outcome.value,
    }
    if interaction.error is not None:
        marker["error"] = interaction.error.type
    if response is not None and response.body and not _is_sse(interaction):
        try:
            marker["body"] = json.loads(response.body)
        except ValueError:
            marker["body"] = response.body.decode("utf-8", "replace")
    return marker


def events_from_cassette(cassette: Cassette) -> list[dict[str, Any]]:
    """The wire events of every interaction, in the order they were attempted.

    A ``{"type": "harness.interaction", "index": i, "status": ..., "outcome": ...}`` marker opens
    each interaction (with ``error``, the failure's type, and ``body`` for a response that is not
    an event stream), so a diff shows where each attempt starts and how it ended. A cassette of
    one complete event stream has no marker: it reads exactly like its SSE body.
    """
    interactions = cassette.interactions
    plain = (
        len(interactions) == 1
        and _is_sse(interactions[0])
        and interactions[0].outcome is Outcome.COMPLETE
        and interactions[0].response is not None
        and interactions[0].response.status < 300
    )
    events: list[dict[str, Any]] = []
    for index, interaction in enumerate(interactions):
        if not plain:
            events.append(_marker(index, interaction))
        if interaction.response is not None and _is_sse(interaction):
            events.extend(events_from_body(interaction.response.body))
    return events


# -- the snapshot text ----------------------------------------------------------------------------

SNAPSHOT_FORMAT = 1
_SNAPSHOT_HEADER = "# harness events, format "
# JSON leaves these raw with ensure_ascii=False; some tools break lines at them.
_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def _line(event: Mapping[str, Any]) -> str:
    """One event as compact JSON on one line: ``type`` first, then the keys sorted."""
    rest = {key: value for key, value in event.items() if key != "type"}
    body = json.dumps(rest, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if "type" in event:
        head = '{"type":' + json.dumps(event["type"], ensure_ascii=False)
        body = head + ("}" if body == "{}" else "," + body[1:])
    return body.translate(_LINE_BREAKS)


def dumps_snapshot(events: Iterable[Mapping[str, Any]], *, collapsed: bool = False) -> str:
    """A normalized sequence as text: a header line with the format, then one event per line.

    Deterministic (keys sorted, ``type`` first), so the file diffs well. ``collapsed`` only says
    in the header that text deltas were collapsed.
    """
    note = ", text deltas collapsed" if collapsed else ""
    header = (
        f"{_SNAPSHOT_HEADER}{SNAPSHOT_FORMAT}{note}: one normalized event per line "
        "(ids and timestamps are placeholders). pytest --snapshot-update rewrites it.\n"
    )
    return header + "".join(_line(event) + "\n" for event in events)


def is_snapshot(text: str | bytes) -> bool:
    """Whether ``text`` starts like a file :func:`dumps_snapshot` wrote."""
    if isinstance(text, bytes):
        return text.startswith(_SNAPSHOT_HEADER.encode())
    return text.startswith(_SNAPSHOT_HEADER)


def loads_snapshot(text: str, *, path: str | None = None) -> list[dict[str, Any]]:
    """The events of a snapshot text; :class:`~harness.CassetteError` (with the line) if it is
    not one."""
    fix = "Rewrite it with pytest --snapshot-update."
    lines = text.split("\n")
    header = lines[0]
    if not header.startswith(_SNAPSHOT_HEADER):
        raise CassetteError(
            f"not a harness events snapshot: the first line is {header[:60]!r}, expected "
            f"{_SNAPSHOT_HEADER + str(SNAPSHOT_FORMAT)!r}. {fix}",
            path=path,
            line=1,
        )
    version = re.match(r"[0-9]+", header[len(_SNAPSHOT_HEADER) :])
    if version is None or version[0].lstrip("0") != str(SNAPSHOT_FORMAT):
        raise CassetteError(
            f"snapshot format {version[0][:20] if version else '?'} is not supported by this "
            f"harness (format {SNAPSHOT_FORMAT}). {fix}",
            path=path,
            line=1,
        )
    if lines[-1] == "":
        lines.pop()
    events: list[dict[str, Any]] = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise CassetteError(f"line is not JSON ({exc}). {fix}", path=path, line=number) from exc
        if not isinstance(event, dict):
            raise CassetteError(f"line is not a JSON object. {fix}", path=path, line=number)
        events.append(event)
    return events
