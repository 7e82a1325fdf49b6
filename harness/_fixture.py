"""The fixture short-circuit: stream a response from a file instead of the network.

Two forms are read:

- a raw ``text/event-stream`` body, exactly as the server sent it (what the recorder writes);
- the Codex ``CODEX_RS_SSE_FIXTURE`` form, one field per line, to which Codex appends a blank
  line each (so every line ends an event).

A file given by ``CODEX_RS_SSE_FIXTURE`` is always read the Codex way. Otherwise a file that
ends with a blank line is a complete raw body, read byte for byte; any other file is taken in the
Codex form (a raw body needs a blank line after every event, the last one included, or the rules
drop that event; Codex's own fixture ends without one). The bytes are served by a transport, so a
fixture runs through the very same SSE decoder, pipeline and checks as a live response.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from harness._exceptions import FixtureError
from harness._files import read_regular

__all__ = ["FixtureTransport", "load_fixture"]


def _ends_with_blank_line(raw: bytes) -> bool:
    for end in (b"\r\n", b"\n", b"\r"):
        if raw.endswith(end):
            return raw[: -len(end)].endswith((b"\n", b"\r"))
    return False


def load_fixture(path: str | Path, *, codex_form: bool | None = None) -> bytes:
    """The SSE body a fixture file stands for; ``codex_form=None`` tells the form by content."""
    try:
        raw = read_regular(path)
    except OSError as exc:
        raise FixtureError(
            f"cannot read SSE fixture {path}: {exc.strerror or exc}", path=str(path)
        ) from exc
    if codex_form is None:
        codex_form = not _ends_with_blank_line(raw)
    if not codex_form:
        return raw
    # Every line becomes its own event, as Codex reads the file. A line that only names the
    # event type then does nothing by the WHATWG rules (the blank line after it resets the type
    # before any data), so it is left out: a client that is not as strict (the openai SDK
    # dispatches it as an event with no data, and fails on it) reads the same events.
    return b"".join(line + b"\n\n" for line in raw.splitlines() if not _type_only(line))


def _type_only(line: bytes) -> bool:
    return line == b"event" or line.startswith(b"event:")


class FixtureTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers every request with ``200 text/event-stream`` and the fixture body; no network."""

    def __init__(self, path: str | Path, *, codex_form: bool | None = None) -> None:
        self.path = str(path)
        self.body = load_fixture(path, codex_form=codex_form)

    def _response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream", "x-harness-fixture": self.path},
            content=self.body,
            request=request,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._response(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._response(request)
