"""Sans-I/O decoder for ``text/event-stream`` bodies, after the WHATWG rules.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

Events are :class:`httpx_sse.ServerSentEvent` values, so code written against httpx-sse reads
them unchanged. The decoding is ours, because httpx-sse departs from the rules where replays
must not:

- it decodes with the response's declared charset; the rules say UTF-8 always;
- it keeps a leading byte order mark, so the first field name becomes ``"\\ufeffdata"`` and the
  first event is lost;
- it dispatches an event whose data buffer is empty (``event: ping`` followed by a blank line);
- it accepts ``retry: +5``, ``retry: -1`` or ``retry: 1_000`` through ``int()``; the rules accept
  ASCII digits only.

The decoder takes bytes exactly as they come off the wire, split anywhere: inside a multi-byte
character, between the CR and LF of a line end, inside a field name.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator

from httpx_sse import ServerSentEvent

__all__ = ["SSEDecoder", "ServerSentEvent", "iter_sse_bytes"]


class SSEDecoder:
    """Turns body chunks into server-sent events; one instance per response body.

    ``feed(chunk)`` returns the events completed by that chunk. ``close()`` ends the body: an
    event that was not terminated by a blank line is dropped, as the rules require.
    """

    __slots__ = (
        "_data",
        "_event",
        "_last_event_id",
        "_pending",
        "_pending_cr",
        "_retry",
        "_text",
    )

    def __init__(self) -> None:
        # "utf-8-sig" strips exactly one leading BOM, also when it is split across chunks.
        self._text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._pending: list[str] = []  # the unterminated tail of the current line
        self._pending_cr = False  # the last chunk ended in CR: a leading LF is part of it
        self._data: list[str] = []
        self._event = ""
        self._last_event_id = ""
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str:
        """The last ``id`` field seen; it survives dispatch, as the rules say."""
        return self._last_event_id

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one chunk of the body and return the events it completed."""
        text = self._text.decode(chunk)
        if not text:
            return []
        if self._pending_cr:
            self._pending_cr = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            if text[-1] == "\r":
                self._pending_cr = True
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        tail = lines.pop()
        if not lines:
            self._pending.append(tail)
            return []
        if self._pending:
            self._pending.append(lines[0])
            lines[0] = "".join(self._pending)
            self._pending = []
        if tail:
            self._pending.append(tail)
        return self._lines(lines)

    def close(self) -> None:
        """End of body: an unterminated last event is dropped, as the rules require.

        The decoder is empty afterwards. A multi-byte character cut off at the end can only
        belong to the unterminated last line, so it is dropped with it.
        """
        self._text.decode(b"", final=True)
        self._text.reset()
        self._pending = []
        self._pending_cr = False
        self._data = []
        self._event = ""
        self._retry = None

    def _lines(self, lines: Iterable[str]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(
                        ServerSentEvent(
                            event=self._event,
                            data="\n".join(data),
                            id=self._last_event_id,
                            retry=self._retry,
                        )
                    )
                    data = self._data = []
                # An empty data buffer dispatches nothing, but the other fields reset anyway.
                self._event = ""
                self._retry = None
            elif line.startswith("data:"):  # the most common line: no partition needed
                data.append(line[6:] if line[5:6] == " " else line[5:])
            elif line[0] != ":":  # a line starting with ":" is a comment, e.g. a keep-alive
                name, colon, value = line.partition(":")
                if colon and value and value[0] == " ":
                    value = value[1:]
                if name == "data":
                    data.append(value)
                elif name == "event":
                    self._event = value
                elif name == "id":
                    if "\0" not in value:
                        self._last_event_id = value
                elif name == "retry" and value.isascii() and value.isdigit():
                    self._retry = int(value)
                # any other field name is ignored
        return events


def iter_sse_bytes(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Decode a whole body given as chunks; a convenience for files and tests."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    decoder.close()
