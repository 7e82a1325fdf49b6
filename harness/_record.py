"""The recorder: httpx transports that tee every response into a cassette as it streams.

``RecordingTransport(wrapped, path)`` and ``AsyncRecordingTransport(wrapped, path)`` sit between
a client and its real transport. Every body chunk is handed to the caller the moment the wrapped
transport yields it; the recorder only notes its arrival time and keeps a reference. Each HTTP
attempt becomes one interaction, with how it ended: complete, closed early by the client (after
how many bytes), or failed (the exception, after how many bytes). The cassette is written when
the transport is closed, redacted and scanned first, atomically. Nothing is patched globally:
two transports recording to two cassettes never see each other's traffic.

The transports work for httpx and for httpx2 (the ``openai`` SDK's default), which share the
transport API: the tee stream is built on whichever library the response came from.
"""

from __future__ import annotations

import asyncio
import enum
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, Protocol, TypeVar

import httpx

from harness._cassette import (
    Cassette,
    Chunk,
    Interaction,
    Outcome,
    RecordedRequest,
    RecordedResponse,
    TransportFailure,
    decoded_interaction,
)
from harness._content import UndecodableBody
from harness._exceptions import CassetteError, ConfigurationError
from harness._files import check_write, write_atomic
from harness._redact import DEFAULT_DROP_HEADERS, DEFAULT_REDACT_HEADERS, Redactor

__all__ = ["AsyncRecordingTransport", "RecordMode", "RecordingTransport"]


class RecordMode(enum.StrEnum):
    """vcrpy's record modes, with vcrpy's names."""

    NONE = "none"
    """Never record (replay only)."""
    ONCE = "once"
    """Record only if the cassette does not exist yet."""
    NEW_EPISODES = "new_episodes"
    """Keep what the cassette has and append what is new."""
    ALL = "all"
    """Record everything again, replacing the cassette."""

    @classmethod
    def parse(cls, value: RecordMode | str) -> RecordMode:
        """The mode named ``value``; a clear error listing the choices otherwise."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(mode.value for mode in cls)
            raise ConfigurationError(
                f"unknown record mode {value!r}; choose one of {choices}"
            ) from None


class _Tape:
    """One HTTP attempt as it is being recorded."""

    __slots__ = (
        "chunks",
        "data",
        "end_ms",
        "error",
        "head_ms",
        "outcome",
        "request",
        "response",
        "started",
    )

    def __init__(self, request: RecordedRequest, started: float) -> None:
        self.request = request
        self.started = started
        self.response: RecordedResponse | None = None
        self.head_ms: float | None = None
        self.chunks: list[Chunk] = []
        self.data: list[bytes] = []
        self.outcome: Outcome | None = None  # None while the body is still open
        self.error: TransportFailure | None = None
        self.end_ms: float | None = None

    def end(self, outcome: Outcome, now: float, exc: BaseException | None = None) -> None:
        self.outcome = outcome
        self.end_ms = round((now - self.started) * 1000, 3)
        if exc is not None:
            self.error = _failure(exc)

    def interaction(self) -> Interaction:
        """The attempt as recorded, its bodies decoded (see ``harness._content``): raises
        :class:`UndecodableBody` for a body whose encoding cannot be undone."""
        response = self.response
        if response is not None:
            response = RecordedResponse(
                response.status, response.reason, response.headers, b"".join(self.data)
            )
        raw = Interaction(
            self.request,
            response,
            tuple(self.chunks),
            # A response still open when the cassette is written was left unread: closed.
            self.outcome or Outcome.CLOSED,
            self.head_ms,
            self.error,
            self.end_ms,
        )
        return decoded_interaction(raw)


def _failure(exc: BaseException) -> TransportFailure:
    return TransportFailure(type(exc).__name__, str(exc))


class _TeeMixin:
    """What the sync and async tee streams share: noting chunks and the ending."""

    _tape: _Tape
    _clock: Callable[[], float]
    _ended: bool

    def _chunk(self, data: bytes) -> None:
        tape = self._tape
        tape.chunks.append(Chunk(round((self._clock() - tape.started) * 1000, 3), len(data)))
        tape.data.append(data)

    def _end(self, outcome: Outcome, exc: BaseException | None = None) -> None:
        if not self._ended:
            self._ended = True
            self._tape.end(outcome, self._clock(), exc)


def _library(response: Any) -> ModuleType:
    """``httpx`` or ``httpx2``: the library whose response this is."""
    return sys.modules[type(response).__module__.partition(".")[0]]


_SYNC_TEES: dict[ModuleType, type] = {}
_ASYNC_TEES: dict[ModuleType, type] = {}


class _SyncStream(Protocol):
    def __iter__(self) -> Iterator[bytes]: ...
    def close(self) -> None: ...


class _AsyncStream(Protocol):
    def __aiter__(self) -> AsyncIterator[bytes]: ...
    async def aclose(self) -> None: ...


def _sync_tee(response: Any, tape: _Tape, clock: Callable[[], float]) -> Any:
    lib = _library(response)
    cls = _SYNC_TEES.get(lib)
    if cls is None:
        cls = _SYNC_TEES[lib] = type("RecordingStream", (_SyncTee, lib.SyncByteStream), {})
    return cls(response.stream, tape, clock)


def _async_tee(response: Any, tape: _Tape, clock: Callable[[], float]) -> Any:
    lib = _library(response)
    cls = _ASYNC_TEES.get(lib)
    if cls is None:
        cls = _ASYNC_TEES[lib] = type("RecordingStream", (_AsyncTee, lib.AsyncByteStream), {})
    return cls(response.stream, tape, clock)


class _SyncTee(_TeeMixin):
    def __init__(self, stream: _SyncStream, tape: _Tape, clock: Callable[[], float]) -> None:
        self._stream, self._tape, self._clock, self._ended = stream, tape, clock, False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for data in self._stream:
                self._chunk(data)
                yield data
        except Exception as exc:
            self._end(Outcome.FAILED, exc)
            raise
        self._end(Outcome.COMPLETE)

    def close(self) -> None:
        self._end(Outcome.CLOSED)
        self._stream.close()


class _AsyncTee(_TeeMixin):
    def __init__(self, stream: _AsyncStream, tape: _Tape, clock: Callable[[], float]) -> None:
        self._stream, self._tape, self._clock, self._ended = stream, tape, clock, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._stream:
                self._chunk(data)
                yield data
        except Exception as exc:
            self._end(Outcome.FAILED, exc)
            raise
        self._end(Outcome.COMPLETE)

    async def aclose(self) -> None:
        self._end(Outcome.CLOSED)
        await self._stream.aclose()


class _Recorder:
    """Everything the two transports share that does no network I/O."""

    def __init__(
        self,
        path: str | Path,
        *,
        mode: RecordMode | str,
        fixtures: str | Path | None,
        fixture_name: str | None,
        secrets: Iterable[str] | None,
        drop_headers: Sequence[str],
        redact_headers: Iterable[str],
        clock: Callable[[], float],
        validate: str = "off",
    ) -> None:
        self.path = Path(path)
        self.validate = validate
        self.mode = RecordMode.parse(mode)
        self.fixtures = None if fixtures is None else Path(fixtures)
        self.fixture_name = fixture_name or self.path.stem
        self._secrets = None if secrets is None else set(secrets)
        self._drop = tuple(drop_headers)
        self._redact = frozenset(name.lower() for name in redact_headers)
        self._clock = clock
        self._tapes: list[_Tape] = []
        self._lock = threading.Lock()
        self._saved = False
        if self.mode is RecordMode.NONE:
            raise ConfigurationError(
                "record mode 'none' never records; replay the cassette instead, or choose "
                "'once', 'new_episodes' or 'all'"
            )
        exists = self.path.exists()
        if self.mode is RecordMode.ONCE and exists:
            raise CassetteError(
                "already recorded, and record mode 'once' records only a missing cassette; "
                "replay it, or record again with mode 'all' or 'new_episodes'",
                path=self.path,
            )
        if self.mode is RecordMode.NEW_EPISODES and exists:
            Cassette.load(self.path)  # refused now if it cannot be read, not after the session

    def redactor(self) -> Redactor:
        secrets = self._secrets
        redactor = Redactor(drop_headers=self._drop, redact_headers=self._redact)
        if secrets is not None:
            redactor.secrets = set(secrets)
        return redactor

    def begin(self, request: Any, body: bytes) -> _Tape:
        tape = _Tape(
            RecordedRequest(
                request.method, str(request.url), tuple(request.headers.multi_items()), body
            ),
            self._clock(),
        )
        with self._lock:
            self._tapes.append(tape)
        return tape

    def answered(self, tape: _Tape, response: Any) -> None:
        tape.head_ms = round((self._clock() - tape.started) * 1000, 3)
        reason = response.extensions.get("reason_phrase", b"")
        reason = reason.decode("ascii", "replace") if isinstance(reason, bytes) else str(reason)
        if not reason:
            try:
                reason = HTTPStatus(response.status_code).phrase
            except ValueError:
                reason = ""
        tape.response = RecordedResponse(
            response.status_code, reason, tuple(response.headers.multi_items())
        )

    def already_read(self, tape: _Tape, response: Any) -> bool:
        """Record a body the wrapped transport already read (``MockTransport`` with
        ``content=``, a fixture): the client will never iterate its stream, so nothing would
        pass the tee. Such a body arrived whole, as one chunk."""
        content = getattr(response, "_content", None)
        if not isinstance(content, bytes):
            return False
        now = self._clock()
        tape.chunks.append(Chunk(round((now - tape.started) * 1000, 3), len(content)))
        tape.data.append(content)
        tape.end(Outcome.COMPLETE, now)
        return True

    def failed(self, tape: _Tape, exc: BaseException) -> None:
        tape.end(Outcome.FAILED, self._clock(), exc)

    def cassette(self) -> Cassette:
        """What this transport recorded so far (not redacted: it has not left memory)."""
        with self._lock:
            tapes = list(self._tapes)
        interactions = []
        for number, tape in enumerate(tapes, start=1):
            try:
                interactions.append(tape.interaction())
            except UndecodableBody as exc:
                raise CassetteError(
                    f"attempt {number}: a body harness cannot decode ({exc}) cannot be "
                    "checked for secrets, so it is not recorded; ask for it uncompressed "
                    "(accept-encoding: identity)",
                    path=self.path,
                ) from None
        return Cassette(tuple(interactions), self.path)

    def save(self) -> Path | None:
        """Write the cassette (and fixtures); once. ``None`` if nothing was recorded."""
        if self._saved:
            return None
        self._saved = True
        recorded = self.cassette().interactions
        if not recorded:
            return None
        redactor = self.redactor()
        # new_episodes appends to what the cassette holds when it is written (not when this
        # transport was made): another recorder of the same file may have written since.
        previous: tuple[Interaction, ...] = ()
        if self.mode is RecordMode.NEW_EPISODES and self.path.exists():
            previous = Cassette.load(self.path).interactions
        cassette = Cassette(previous + recorded, self.path)
        data = cassette.dumps(redactor)  # learns every header secret before any fixture
        fixtures = self._fixtures(recorded, redactor) if self.fixtures is not None else []
        # Every file is checked before the first is written, so that a set is written whole:
        # a secret left anywhere, or a target that cannot be replaced, stops them all.
        for target, body in [(self.path, data), *fixtures]:
            check_write(target, body, secrets=redactor.secrets)
        write_atomic(self.path, data, secrets=redactor.secrets, checked=True)
        for target, body in fixtures:
            write_atomic(target, body, secrets=redactor.secrets, checked=True)
        if self.validate != "off":
            from harness._validate import enforce, validate  # jsonschema loads only when asked

            enforce(
                validate(self.path, secrets=redactor.secrets), self.validate, what=str(self.path)
            )
        return self.path

    def _fixtures(
        self, recorded: Sequence[Interaction], redactor: Redactor
    ) -> list[tuple[Path, bytes]]:
        """Each streamed interaction's redacted body and the fixture file it goes to."""
        assert self.fixtures is not None
        streamed = [
            interaction
            for interaction in recorded
            if interaction.response is not None
            and (interaction.response.header("content-type") or "")
            .lower()
            .startswith("text/event-stream")  # media types are case-insensitive (RFC 9110)
        ]
        out = []
        for number, interaction in enumerate(streamed, start=1):
            assert interaction.response is not None
            suffix = "" if number == 1 else f"-{number}"
            body, _ = redactor.body(
                interaction.response.body, cut_short=interaction.outcome is not Outcome.COMPLETE
            )
            out.append((self.fixtures / f"{self.fixture_name}{suffix}.sse", body))
        return out


W = TypeVar("W")


class _RecordingBase(Generic[W]):
    """What both recording transports hold: the wrapped transport and the recorder."""

    def __init__(
        self,
        wrapped: W,
        path: str | Path,
        *,
        mode: RecordMode | str = RecordMode.ALL,
        fixtures: str | Path | None = None,
        fixture_name: str | None = None,
        secrets: Iterable[str] | None = None,
        drop_headers: Sequence[str] = DEFAULT_DROP_HEADERS,
        redact_headers: Iterable[str] = DEFAULT_REDACT_HEADERS,
        clock: Callable[[], float] = time.perf_counter,
        validate: str = "off",
    ) -> None:
        self._wrapped = wrapped
        self._recorder = _Recorder(
            path,
            mode=mode,
            fixtures=fixtures,
            fixture_name=fixture_name,
            secrets=secrets,
            drop_headers=drop_headers,
            redact_headers=redact_headers,
            clock=clock,
            validate=validate,
        )

    @property
    def path(self) -> Path:
        return self._recorder.path

    @property
    def cassette(self) -> Cassette:
        """What was recorded so far, in memory (not redacted)."""
        return self._recorder.cassette()


class RecordingTransport(_RecordingBase[httpx.BaseTransport], httpx.BaseTransport):
    """Records every attempt made through ``wrapped`` into the cassette at ``path``.

    ``mode`` is a :class:`RecordMode` (or its name): ``all`` (default) replaces the cassette,
    ``new_episodes`` appends to it, ``once`` refuses an existing one, ``none`` is refused here.
    ``fixtures`` names a folder for the raw SSE body of each streamed interaction
    (``NAME.sse``, then ``NAME-2.sse``...; ``NAME`` defaults to the cassette's stem).
    ``secrets`` replaces the default (``$OPENAI_API_KEY``); every value seen in a redacted
    header is added to it. ``validate`` (``off``, ``warn`` or ``fail``, a
    :class:`~harness.ValidationMode`) checks the written cassette with :func:`harness.validate`.
    The cassette is written by :meth:`close`.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        tape = self._recorder.begin(request, request.read())
        try:
            response = self._wrapped.handle_request(request)
        except Exception as exc:
            self._recorder.failed(tape, exc)
            raise
        self._recorder.answered(tape, response)
        if not self._recorder.already_read(tape, response):
            response.stream = _sync_tee(response, tape, self._recorder._clock)
        return response

    def close(self) -> None:
        """Close the wrapped transport, then write the cassette."""
        try:
            self._wrapped.close()
        finally:
            self._recorder.save()


class AsyncRecordingTransport(_RecordingBase[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`RecordingTransport`; the cassette is written by
    :meth:`aclose` (in a worker thread, so the event loop keeps running)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        tape = self._recorder.begin(request, await request.aread())
        try:
            response = await self._wrapped.handle_async_request(request)
        except Exception as exc:
            self._recorder.failed(tape, exc)
            raise
        except asyncio.CancelledError:  # the caller gave up before the response head
            gave_up = asyncio.CancelledError("cancelled before the response head arrived")
            self._recorder.failed(tape, gave_up)
            raise
        self._recorder.answered(tape, response)
        if not self._recorder.already_read(tape, response):
            response.stream = _async_tee(response, tape, self._recorder._clock)
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport, then write the cassette."""
        try:
            await self._wrapped.aclose()
        finally:
            await asyncio.to_thread(self._recorder.save)
