"""Conversation items and the prompt, as the Responses API spells them.

Items are immutable values. Each kind models the fields the Codex client relies on; every other
field the server sends is kept in ``extra``, so ``to_dict()`` gives back what was received,
key for key (new API fields survive a round trip even before we model them). Kinds we do not
know become :class:`UnknownItem` with the raw object: kept, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

__all__ = [
    "CustomToolCall",
    "FunctionCall",
    "FunctionCallOutput",
    "InputItem",
    "LocalShellCall",
    "Message",
    "Prompt",
    "Reasoning",
    "ResponseItem",
    "UnknownItem",
    "WebSearchCall",
    "item_from_dict",
]


class ItemParseError(ValueError):
    """An item of a known kind lacks a required field or has one of the wrong type."""


def _to_dict(item: Any, fields: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": item.type}
    for name in fields:
        value = getattr(item, name)
        if value is not None:
            out[name] = list(value) if isinstance(value, tuple) else value
    out.update(item.extra)
    return out


def _take(
    obj: Mapping[str, Any],
    required: Mapping[str, type | tuple[type, ...]],
    optional: Mapping[str, type | tuple[type, ...]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a wire object into modelled fields (type-checked) and everything else."""
    values: dict[str, Any] = {}
    for name, kind in required.items():
        value = obj.get(name)
        if not isinstance(value, kind):
            found = "missing" if name not in obj else type(value).__name__
            raise ItemParseError(f"{obj.get('type')} item: field {name!r} is {found}")
        values[name] = tuple(value) if isinstance(value, list) else value
    for name, kind in optional.items():
        value = obj.get(name)
        if value is not None:
            if not isinstance(value, kind):
                raise ItemParseError(
                    f"{obj.get('type')} item: field {name!r} is {type(value).__name__}"
                )
            values[name] = tuple(value) if isinstance(value, list) else value
    known = required.keys() | optional.keys() | {"type"}
    extra = {key: value for key, value in obj.items() if key not in known}
    return values, extra


class _Item:
    """What every modelled item kind shares: ``to_dict()`` from its fields and ``extra``."""

    __slots__ = ()
    type: ClassVar[str]
    _fields: ClassVar[tuple[str, ...]]

    def to_dict(self) -> dict[str, Any]:
        """The wire object: ``type``, the modelled fields that are set, then ``extra``."""
        return _to_dict(self, self._fields)


@dataclass(frozen=True, slots=True)
class Message(_Item):
    """A message; ``content`` holds the parts (``input_text``, ``output_text``, ...) as sent."""

    type: ClassVar[str] = "message"
    _fields: ClassVar[tuple[str, ...]] = ("id", "role", "content", "status")

    role: str
    content: tuple[Mapping[str, Any], ...]
    id: str | None = None
    status: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def user(cls, text: str) -> Message:
        """A user message with one ``input_text`` part."""
        return cls(role="user", content=({"type": "input_text", "text": text},))

    @property
    def text(self) -> str:
        """The text parts joined, the way a person would read the message."""
        return "".join(
            part.get("text", "")
            for part in self.content
            if part.get("type") in ("input_text", "output_text")
        )


@dataclass(frozen=True, slots=True)
class FunctionCall(_Item):
    """A call of a function tool; ``arguments`` is the raw JSON string the model wrote."""

    type: ClassVar[str] = "function_call"
    _fields: ClassVar[tuple[str, ...]] = ("id", "call_id", "name", "arguments", "status")

    name: str
    arguments: str
    call_id: str
    id: str | None = None
    status: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class FunctionCallOutput(_Item):
    """What a function call returned, sent back to the model as input."""

    type: ClassVar[str] = "function_call_output"
    _fields: ClassVar[tuple[str, ...]] = ("id", "call_id", "output", "status")

    call_id: str
    output: Any
    id: str | None = None
    status: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class LocalShellCall(_Item):
    """A ``local_shell`` tool call; ``action`` is ``{"type": "exec", "command": [...], ...}``."""

    type: ClassVar[str] = "local_shell_call"
    _fields: ClassVar[tuple[str, ...]] = ("id", "call_id", "status", "action")

    status: str
    action: Mapping[str, Any]
    call_id: str | None = None
    id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class Reasoning(_Item):
    """A reasoning item: summary parts, optional raw reasoning content, encrypted state."""

    type: ClassVar[str] = "reasoning"
    _fields: ClassVar[tuple[str, ...]] = ("id", "summary", "content", "encrypted_content")

    id: str
    summary: tuple[Mapping[str, Any], ...]
    content: tuple[Mapping[str, Any], ...] | None = None
    encrypted_content: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def summary_text(self) -> str:
        return "\n\n".join(part.get("text", "") for part in self.summary)


@dataclass(frozen=True, slots=True)
class CustomToolCall(_Item):
    """A call of a custom (free-form) tool; ``input`` is the raw text the model wrote."""

    type: ClassVar[str] = "custom_tool_call"
    _fields: ClassVar[tuple[str, ...]] = ("id", "call_id", "name", "input", "status")

    call_id: str
    name: str
    input: str
    id: str | None = None
    status: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class WebSearchCall(_Item):
    """A hosted web search the server ran; ``action`` says what it searched or opened."""

    type: ClassVar[str] = "web_search_call"
    _fields: ClassVar[tuple[str, ...]] = ("id", "status", "action")

    id: str | None = None
    status: str | None = None
    action: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class UnknownItem:
    """An item of a kind we do not model, or one we could not parse (``error`` says why)."""

    type: str
    raw: Mapping[str, Any] = field(repr=False)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)


ResponseItem: TypeAlias = (
    Message
    | FunctionCall
    | FunctionCallOutput
    | LocalShellCall
    | Reasoning
    | CustomToolCall
    | WebSearchCall
    | UnknownItem
)
"""An output item, as ``response.output_item.added``/``.done`` carry it."""

InputItem: TypeAlias = ResponseItem | Mapping[str, Any]
"""What a prompt's input may hold: typed items or plain JSON objects, mixed freely."""

_S, _L, _D = str, (list, tuple), dict
_PARSERS: dict[str, tuple[type, dict[str, Any], dict[str, Any]]] = {
    "message": (Message, {"role": _S, "content": _L}, {"id": _S, "status": _S}),
    "function_call": (
        FunctionCall,
        {"name": _S, "arguments": _S, "call_id": _S},
        {"id": _S, "status": _S},
    ),
    "function_call_output": (
        FunctionCallOutput,
        {"call_id": _S},
        {"output": object, "id": _S, "status": _S},
    ),
    "local_shell_call": (
        LocalShellCall,
        {"status": _S, "action": _D},
        {"call_id": _S, "id": _S},
    ),
    "reasoning": (
        Reasoning,
        {"id": _S, "summary": _L},
        {"content": _L, "encrypted_content": _S},
    ),
    "custom_tool_call": (
        CustomToolCall,
        {"call_id": _S, "name": _S, "input": _S},
        {"id": _S, "status": _S},
    ),
    "web_search_call": (WebSearchCall, {}, {"id": _S, "status": _S, "action": _D}),
}


def item_from_dict(obj: Mapping[str, Any]) -> ResponseItem:
    """The typed item for a wire object; unknown or malformed ones become :class:`UnknownItem`."""
    kind = obj.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        return UnknownItem(type=str(kind), raw=obj)
    cls, required, optional = parser
    try:
        values, extra = _take(obj, required, optional)
    except ItemParseError as exc:
        return UnknownItem(type=str(kind), raw=obj, error=str(exc))
    if cls is FunctionCallOutput and "output" not in values:
        return UnknownItem(type=str(kind), raw=obj, error="function_call_output: no 'output'")
    item: ResponseItem = cls(**values, extra=extra)
    return item


def item_to_dict(item: InputItem) -> dict[str, Any]:
    """The JSON object for an input item, typed or plain."""
    if isinstance(item, Mapping):
        return dict(item)
    return item.to_dict()


@dataclass(frozen=True, slots=True)
class Prompt:
    """One turn's input, as the seed's ``Prompt``: items, previous response id, instructions."""

    input: Sequence[InputItem] = ()
    previous_response_id: str | None = None
    instructions: str | None = None

    @classmethod
    def text(cls, text: str, *, instructions: str | None = None) -> Prompt:
        """A prompt of one user message."""
        return cls(input=(Message.user(text),), instructions=instructions)
