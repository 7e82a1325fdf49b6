"""Stream checks no schema can express, over the events of one response (sans-I/O).

A schema sees one event at a time; these rules are about the sequence:

- the SSE ``event:`` name equals the data's ``type`` when both are there (an event without a
  name is dispatched as ``message`` by the WHATWG rules, so ``message`` counts as no name);
- ``sequence_number``, when present, strictly increases, and when one event of the stream has
  one, every event has one (streams recorded before the API sent them have none at all);
- the text and argument deltas of a part concatenate to its ``.done`` value (checked when
  deltas were seen: a resumed stream may start after them). A stream resumed mid-part
  (``GET /v1/responses/{id}?starting_after=N``) starts after some of its deltas: when neither
  the part's item (``output_item.added``) nor the part (``content_part.added``,
  ``reasoning_summary_part.added``) was announced in this stream, its deltas need only be
  the end of the ``.done`` value;
- in a stream that ends with ``response.completed``, every part with deltas is closed by its
  ``.done`` event, and every delta names an item of the response (one that an
  ``output_item`` event or the completed response carries); both are found at the part's
  first delta. A failed, incomplete or cut stream may leave parts open: not checked there;
- exactly one terminal event (``response.completed``, ``.failed`` or ``.incomplete``), unless
  the stream recorded a failure (the transport failed, the client closed early, or an ``error``
  event ended it), and no event after it: the first event after it is found, and so is each
  further terminal event;
- the response id of ``response.created`` is the one of the terminal event, and the terminal
  event's response has the status its type names (``completed`` for ``response.completed``).

Feed events in order with :meth:`StreamChecks.event`, then call :meth:`StreamChecks.end`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from harness._validate_schema import MISSING, Problem, render

__all__ = ["TERMINAL", "StreamChecks"]

TERMINAL = frozenset({"response.completed", "response.failed", "response.incomplete"})

# delta type -> (done type, field of the done event, fields that name the part)
_DELTAS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "response.output_text.delta": (
        "response.output_text.done",
        "text",
        ("item_id", "output_index", "content_index"),
    ),
    "response.refusal.delta": (
        "response.refusal.done",
        "refusal",
        ("item_id", "output_index", "content_index"),
    ),
    "response.function_call_arguments.delta": (
        "response.function_call_arguments.done",
        "arguments",
        ("item_id", "output_index"),
    ),
    "response.custom_tool_call_input.delta": (
        "response.custom_tool_call_input.done",
        "input",
        ("item_id", "output_index"),
    ),
    "response.mcp_call_arguments.delta": (
        "response.mcp_call_arguments.done",
        "arguments",
        ("item_id", "output_index"),
    ),
    "response.code_interpreter_call_code.delta": (
        "response.code_interpreter_call_code.done",
        "code",
        ("item_id", "output_index"),
    ),
    "response.reasoning_summary_text.delta": (
        "response.reasoning_summary_text.done",
        "text",
        ("item_id", "output_index", "summary_index"),
    ),
    "response.reasoning_text.delta": (
        "response.reasoning_text.done",
        "text",
        ("item_id", "output_index", "content_index"),
    ),
}
_DONES = {done: (field, keys) for done, field, keys in _DELTAS.values()}
_PART_ADDED = frozenset({"response.content_part.added", "response.reasoning_summary_part.added"})


class StreamChecks:
    """The sequence rules for one response stream; returns problems with their event index."""

    __slots__ = (
        "_after_terminal",
        "_count",
        "_created",
        "_delta_items",
        "_error_event",
        "_first_deltas",
        "_items",
        "_last_sequence",
        "_numbered",
        "_opened",
        "_parts",
        "_resumed",
        "_terminals",
        "_unnumbered",
    )

    def __init__(self) -> None:
        self._count = 0
        self._last_sequence: tuple[int, int] | None = None  # (sequence number, event index)
        self._numbered = 0  # events with a sequence number
        self._unnumbered: list[int] = []  # indices of the events without one
        self._parts: dict[tuple[str, ...], list[str]] = {}
        self._opened: set[str] = set()  # keys of the ids of the items announced, or with a part
        self._resumed: set[tuple[str, ...]] = set()  # parts whose first delta came unannounced
        self._first_deltas: dict[tuple[str, ...], tuple[int, str]] = {}  # (index, which part)
        self._delta_items: dict[str, tuple[int, Any]] = {}  # id key -> (first delta, item id)
        self._items: set[str] = set()  # keys of the ids of output_item events' and the response's
        self._created: tuple[int, Any] | None = None  # (event index, response id)
        self._terminals: list[tuple[int, str, Any]] = []  # (event index, type, response id)
        self._error_event = False
        self._after_terminal = False  # an event after the terminal one was found

    def event(self, index: int, name: str | None, data: Mapping[str, Any]) -> list[Problem]:
        """Check one event (``name`` is its SSE ``event:`` field, ``None`` when it has none)."""
        self._count += 1
        out: list[Problem] = []
        kind = data.get("type")
        if name and name != "message" and isinstance(kind, str) and name != kind:
            out.append(
                Problem(
                    ("type",),
                    "event-name",
                    f"{render(name)} (the SSE event: field)",
                    render(kind),
                    f"the SSE event is named {name!r} but its data says type {kind!r}",
                )
            )
        sequence = data.get("sequence_number")
        if "sequence_number" in data:
            self._numbered += 1
        else:
            self._unnumbered.append(index)
        if type(sequence) is float and sequence.is_integer():
            sequence = int(sequence)  # an integer to JSON Schema, so to the schema: ordered too
        if type(sequence) is int:
            last = self._last_sequence
            if last is not None and sequence <= last[0]:
                out.append(
                    Problem(
                        ("sequence_number",),
                        "sequence-number",
                        f"> {last[0]} (event #{last[1]})",
                        render(data["sequence_number"]),
                        "sequence numbers must strictly increase",
                    )
                )
            self._last_sequence = (sequence, index)
        if self._terminals and (kind in TERMINAL or not self._after_terminal):
            self._after_terminal = True
            index_first, kind_first, _ = self._terminals[0]
            out.append(
                Problem(
                    ("type",),
                    "terminal-event",
                    f"no event after the terminal {kind_first} (event #{index_first})",
                    render(kind) if "type" in data else MISSING,
                    "a stream has exactly one terminal event"
                    if kind in TERMINAL
                    else f"the stream goes on after its terminal {kind_first}",
                )
            )
        if not isinstance(kind, str):
            return out
        delta = _DELTAS.get(kind)
        if delta is not None:
            text = data.get("delta")
            if isinstance(text, str) and not self._terminals:
                key = (delta[0], *(_key(data.get(field)) for field in delta[2]))
                if key not in self._parts:
                    if _key(data.get("item_id")) not in self._opened:
                        self._resumed.add(key)
                    self._first_deltas[key] = (index, _part_name(data, delta[2]))
                self._parts.setdefault(key, []).append(text)
                if data.get("item_id") is not None:
                    item_id = data["item_id"]
                    self._delta_items.setdefault(_key(item_id), (index, item_id))
        elif kind in ("response.output_item.added", "response.output_item.done"):
            item = data.get("item")
            if isinstance(item, Mapping) and "id" in item:
                self._items.add(_key(item["id"]))
                if kind == "response.output_item.added":
                    self._opened.add(_key(item["id"]))
        elif kind in _PART_ADDED:
            self._opened.add(_key(data.get("item_id")))
        elif kind in _DONES:
            out.extend(self._done(kind, data))
        elif kind in TERMINAL:
            self._terminals.append((index, kind, _response_id(data)))
            out.extend(_terminal_status(kind, data))
            response = data.get("response")
            output = response.get("output") if isinstance(response, Mapping) else None
            if isinstance(output, list):
                self._items.update(
                    _key(item.get("id")) for item in output if isinstance(item, Mapping)
                )
        elif kind == "response.created":
            if self._created is None:
                self._created = (index, _response_id(data))
        elif kind == "error":
            self._error_event = True
        return out

    def _done(self, kind: str, data: Mapping[str, Any]) -> list[Problem]:
        field, keys = _DONES[kind]
        part = (kind, *(_key(data.get(key)) for key in keys))
        pieces = self._parts.pop(part, None)
        self._first_deltas.pop(part, None)
        value = data.get(field)
        if pieces is None or not isinstance(value, str):
            return []
        joined = "".join(pieces)
        where = _part_name(data, keys)
        if part in self._resumed:
            self._resumed.discard(part)
            if value.endswith(joined):
                return []
            return [
                Problem(
                    (field,),
                    "delta-concat",
                    f"a value ending with {render(joined)} (the {len(pieces)} deltas joined; "
                    "the stream started after the part did)",
                    render(value),
                    f"the deltas of {where} are not the end of the {kind} value",
                )
            ]
        if joined == value:
            return []
        return [
            Problem(
                (field,),
                "delta-concat",
                f"{render(joined)} (the {len(pieces)} deltas joined)",
                render(value),
                f"the deltas of {where} do not concatenate to the {kind} value"
                + _first_difference(joined, value),
            )
        ]

    def _left_open(self, completed: int) -> list[tuple[int | None, Problem]]:
        """The parts a completed response left without their .done, and the deltas of items
        it does not have (``completed`` is the index of response.completed)."""
        out: list[tuple[int | None, Problem]] = []
        for (done, *_), (index, where) in self._first_deltas.items():
            out.append(
                (
                    index,
                    Problem(
                        (),
                        "delta-done",
                        f"a {done} for this part before response.completed (event #{completed})",
                        "none",
                        f"the deltas of {where} are never closed by a {done}, "
                        "yet the response completed",
                    ),
                )
            )
        for key, (index, item_id) in self._delta_items.items():
            if key not in self._items:
                out.append(
                    (
                        index,
                        Problem(
                            ("item_id",),
                            "delta-item",
                            "the id of an item of the response",
                            render(item_id),
                            "no output_item event and no item of the completed response has "
                            "the id this delta names",
                        ),
                    )
                )
        return sorted(out, key=lambda pair: pair[0] or 0)

    def end(self, *, failure_recorded: bool = False) -> list[tuple[int | None, Problem]]:
        """The rules about the whole stream; ``None`` as the index means the stream itself."""
        out: list[tuple[int | None, Problem]] = []
        terminals = self._terminals
        # Also for a stream of no events at all (an empty fixture, comments, "[DONE]"): the
        # client would end it with "stream closed before response.completed".
        if not terminals and not failure_recorded and not self._error_event:
            out.append(
                (
                    None,
                    Problem(
                        (),
                        "terminal-event",
                        "one of response.completed, response.failed, response.incomplete",
                        f"none in {self._count} events",
                        "the stream ended without a terminal event, and no failure was recorded",
                    ),
                )
            )
        if self._numbered:
            out.extend(
                (
                    index,
                    Problem(
                        ("sequence_number",),
                        "sequence-number",
                        f"a sequence number (the stream's other {self._numbered} events have one)",
                        MISSING,
                        "an event lacks the sequence number the other events of its stream have",
                    ),
                )
                for index in self._unnumbered
            )
        first = terminals[0] if terminals else None
        if first is not None and first[1] == "response.completed":
            out.extend(self._left_open(first[0]))
        created = self._created
        if (
            created is not None
            and created[1] is not None
            and first is not None
            and created[1] != first[2]
        ):
            out.append(
                (
                    first[0],
                    Problem(
                        ("response", "id"),
                        "response-id",
                        f"{render(created[1])} (the id in response.created, event #{created[0]})",
                        MISSING if first[2] is None else render(first[2]),
                        "the terminal event names another response than response.created",
                    ),
                )
            )
        return out


def _key(value: Any) -> str:
    """A value of an event (an id, an index) as a key: a stream may send anything, a list too."""
    return json.dumps(value, sort_keys=True, default=repr)


def _part_name(data: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    return ", ".join(f"{key} {data.get(key)!r}" for key in keys if key in data)


def _terminal_status(kind: str, data: Mapping[str, Any]) -> list[Problem]:
    response = data.get("response")
    status = response.get("status") if isinstance(response, Mapping) else None
    expected = kind.removeprefix("response.")
    if not isinstance(status, str) or status == expected:
        return []
    return [
        Problem(
            ("response", "status"),
            "terminal-status",
            render(expected),
            render(status),
            f"a {kind} event carries a response whose status is {status!r}",
        )
    ]


def _response_id(data: Mapping[str, Any]) -> Any:
    response = data.get("response")
    return response.get("id") if isinstance(response, Mapping) else None


def _first_difference(joined: str, value: str) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(joined, value, strict=False)) if a != b),
        min(len(joined), len(value)),
    )
    return f" (they differ from character {at} on)"
