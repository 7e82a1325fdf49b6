"""The replayer: httpx transports that serve recorded interactions to the unchanged client.

``ReplayTransport(path)`` and ``AsyncReplayTransport(path)`` answer each request with the
recorded interaction it matches, chunk by chunk, ending the way the recording ended: a
mid-stream failure raises the same kind of transport error after the same bytes, a recorded
stall ends in a read timeout (which the client reports as its idle timeout). Everything above
the transport (retries, SSE decoding, event mapping) runs exactly as live.

- timing: ``"instant"`` (default), ``"recorded"``, or a factor (``2.0`` plays twice as slowly).
  In instant mode a :class:`VirtualClock` passed as ``clock=`` is advanced by the recorded
  gaps instead of waiting; give the client the same clock (``clock=clock.now``,
  ``sleep=clock.sleep``) and its idle timeout and retry delays behave as recorded, at once.
- chunking: ``"recorded"`` (default), ``"event"`` (one SSE event per chunk), ``"bytes:N"``, or
  ``"random:SEED"`` (re-split at random, reproducibly, to shake out parser bugs). A re-cut never
  joins bytes recorded as arriving at different times (it is also cut there), so the client's
  idle clock sees the same arrivals under every chunking.
- faults on demand, by request number: :meth:`Fault.disconnect_after` event k,
  :meth:`Fault.stall_after` event k, :meth:`Fault.status` before the stream.
- matching: method, path and query, and the body as canonical JSON (key order and whitespace do
  not matter), minus ignored JSON paths; secrets in the live request are redacted first, as
  they were in the recording. Identical requests are served in recorded order. A request that
  matches nothing raises :class:`NoMatchError`: never a recorded answer to another question.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import random
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from harness._cassette import Cassette, Interaction, Outcome
from harness._content import UndecodableBody, decoded, encodings
from harness._exceptions import CassetteError, ConfigurationError
from harness._jsonpath import Change, differences, drop_paths, parse_path
from harness._redact import Redactor

__all__ = [
    "AsyncReplayTransport",
    "Chunking",
    "Fault",
    "NoMatchError",
    "ReplayTransport",
    "VirtualClock",
    "parse_timing",
    "plan",
]

_TIMEOUT_ERRORS = {"ReadTimeout", "TimeoutException", "WriteTimeout", "PoolTimeout"}
_EVENT_END = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)")


class NoMatchError(CassetteError):
    """No recorded interaction answers this request (replay never invents an answer)."""


class VirtualClock:
    """Time that moves only when told: replays advance it instead of sleeping.

    ``now`` is a clock for the client (``clock=clock.now``); ``sleep`` and ``asleep`` advance
    it and return at once (``sleep=clock.sleep`` for ``ModelClient``, ``clock.asleep`` for
    ``AsyncModelClient``), so retry delays are honoured without waiting.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(seconds, 0.0)

    def advance_to(self, moment: float) -> None:
        with self._lock:
            self._now = max(self._now, moment)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Chunking:
    """How replayed bodies are cut: as recorded, per event, every ``size`` bytes, or at random."""

    kind: str = "recorded"
    size: int = 0
    seed: int = 0

    @classmethod
    def parse(cls, value: str | Chunking) -> Chunking:
        """``recorded``, ``event``, ``bytes:N`` or ``random:SEED``."""
        if isinstance(value, Chunking):
            return value
        name, _, arg = value.partition(":")
        try:
            if name in ("recorded", "event") and not arg:
                return cls(name)
            if name == "bytes" and int(arg) > 0:
                return cls("bytes", size=int(arg))
            if name == "random":
                return cls("random", seed=int(arg or 0))
        except ValueError:
            pass
        raise ConfigurationError(
            f"unknown chunking {value!r}; use recorded, event, bytes:N (N > 0) or random:SEED"
        )


def parse_timing(value: str | float) -> float | None:
    """``instant`` -> None; ``recorded`` -> 1.0; a number -> that factor (>= 0)."""
    if value in ("instant", None):
        return None
    if value == "recorded":
        return 1.0
    try:
        factor = float(value)
    except (TypeError, ValueError):
        factor = -1.0
    if not 0 <= factor <= 1000:  # also refuses nan and inf
        raise ConfigurationError(
            f"unknown timing {value!r}; use instant, recorded, or a factor from 0 to 1000 "
            "such as 0.5"
        )
    return factor


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault to inject into one replayed request (see :class:`ReplayTransport`)."""

    kind: str  # "disconnect", "stall" or "status"
    after_event: int = 0
    status_code: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @classmethod
    def disconnect_after(cls, event: int) -> Fault:
        """Serve ``event`` events, then drop the connection (the body stays incomplete)."""
        return cls("disconnect", after_event=event)

    @classmethod
    def stall_after(cls, event: int) -> Fault:
        """Serve ``event`` events, then go silent until the client's read timeout."""
        return cls("stall", after_event=event)

    @classmethod
    def status(
        cls, status: int, headers: Mapping[str, str] | None = None, body: bytes | str = b""
    ) -> Fault:
        """Answer with ``status`` instead, before the stream; the recording is kept for the
        next request (so a client retry gets it)."""
        data = body.encode() if isinstance(body, str) else body
        return cls("status", status_code=status, headers=tuple((headers or {}).items()), body=data)


# -- the plan: what to send, when, and how it ends (no I/O) -------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    head_ms: float
    pieces: tuple[tuple[float, bytes], ...]  # (offset in ms since the request, data)
    end: str  # "complete", "error" or "stall"
    end_ms: float
    error: tuple[str, str] = ("", "")  # exception class name and message, for "error"


# A line of a block that makes it dispatch an event: a "data" field, with or without a colon.
_DATA_LINE = re.compile(rb"(?:^|[\r\n])data(?::|[\r\n]|$)")


def _event_ends(body: bytes) -> list[int]:
    """Where each event ends: after the blank line of each block that dispatches one. A block
    of comments alone (a keep-alive) or of fields without data dispatches nothing, as the
    WHATWG rules say: it is not an event, and goes with the event after it."""
    ends, start = [], 0
    for match in _EVENT_END.finditer(body):
        # From the line break before the block, so that its first line counts as a line.
        if _DATA_LINE.search(body, max(start - 1, 0), match.end()):
            ends.append(match.end())
        start = match.end()
    return ends


def _cut(body: bytes, chunking: Chunking, recorded: list[int]) -> list[int]:
    """Chunk end offsets for ``body``."""
    if chunking.kind == "recorded":
        return recorded  # the same list: plan() takes the recorded chunks as they are
    if chunking.kind == "event":
        ends = _event_ends(body)
    elif chunking.kind == "bytes":
        ends = list(range(chunking.size, len(body), chunking.size))
    else:
        rng = random.Random(chunking.seed)
        ends, pos = [], 0
        while pos < len(body):
            pos += rng.randint(1, 64)
            ends.append(min(pos, len(body)))
    if not ends or ends[-1] != len(body):
        ends.append(len(body))
    return [end for end in ends if end > 0] if body else []


def plan(interaction: Interaction, chunking: Chunking, fault: Fault | None = None) -> _Plan:
    """What replaying ``interaction`` sends (sans-I/O)."""
    response = interaction.response
    assert response is not None
    body = response.body
    recorded_ends, total, offsets = [], 0, []
    for chunk in interaction.chunks:
        total += chunk.size
        recorded_ends.append(total)
        offsets.append(chunk.offset_ms)
    head_ms = interaction.head_ms or 0.0
    ends = _cut(body, chunking, recorded_ends)
    if ends is not recorded_ends:
        # A re-cut piece never joins bytes that arrived at different times: each byte keeps its
        # recorded arrival, so the idle clock sees what it saw live, whatever the chunking.
        arrivals = {
            recorded_ends[i] for i in range(len(recorded_ends) - 1) if offsets[i + 1] != offsets[i]
        }
        ends = sorted(set(ends) | arrivals)
    end, error = "complete", ("", "")
    if interaction.outcome is Outcome.FAILED and interaction.error is not None:
        is_timeout = interaction.error.type in _TIMEOUT_ERRORS
        end = "stall" if is_timeout else "error"
        error = (interaction.error.type, interaction.error.message)
    if fault is not None and fault.kind in ("disconnect", "stall"):
        boundaries = [0, *_event_ends(body)]
        cut_at = boundaries[fault.after_event] if fault.after_event < len(boundaries) else len(body)
        ends = [e for e in ends if e < cut_at] + ([cut_at] if cut_at else [])
        body = body[:cut_at]
        end = fault.kind if fault.kind == "stall" else "error"
        error = (
            "RemoteProtocolError",
            f"peer closed connection without sending complete message body "
            f"(harness fault: disconnect after event {fault.after_event})",
        )
    pieces: list[tuple[float, bytes]] = []
    if ends is recorded_ends:  # as recorded: the chunks are the pieces
        pieces = list(zip(offsets, interaction.chunk_bodies(), strict=True))
        ends = []
    start = 0
    for chunk_end in ends:
        # A re-cut chunk is available when the recorded chunk holding its last byte arrived.
        index = min(bisect.bisect_left(recorded_ends, chunk_end), len(offsets) - 1)
        offset = offsets[index] if offsets else head_ms
        pieces.append((offset, body[start:chunk_end]))
        start = chunk_end
    last = pieces[-1][0] if pieces else head_ms
    end_ms = interaction.end_ms if interaction.end_ms is not None else last
    if fault is not None:  # an injected ending happens right after the last byte served
        end_ms = last
    return _Plan(
        response.status,
        response.reason,
        response.headers,
        head_ms,
        tuple(pieces),
        end,
        max(end_ms, last),
        error,
    )


def _status_plan(fault: Fault) -> _Plan:
    headers = fault.headers or (("content-type", "application/json"),)
    pieces = ((0.0, fault.body),) if fault.body else ()
    return _Plan(fault.status_code, "", headers, 0.0, pieces, "complete", 0.0)


# -- matching (no I/O) ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Key:
    method: str
    target: tuple[str, tuple[tuple[str, str], ...]]  # path, sorted query
    body: Any  # parsed JSON minus ignored paths, or the raw bytes

    def describe(self) -> str:
        path, query = self.target
        return f"{self.method} {path}" + (
            "?" + "&".join(f"{k}={v}" for k, v in query) if query else ""
        )


_NOT_JSON = object()


def _parse_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


class _Matcher:
    """Which recorded interaction answers a request; each is served once, in recorded order."""

    def __init__(
        self, cassette: Cassette, ignore: Sequence[str], allow_repeats: bool, match_body: bool
    ) -> None:
        self.cassette = cassette
        self._match_body = match_body
        try:
            self._ignore = [parse_path(path) for path in ignore]
        except ValueError as exc:
            raise ConfigurationError(f"match_ignore: {exc}") from None
        self._allow_repeats = allow_repeats
        self._keys = [
            self._key(i.request.method, i.request.uri, i.request.body, Redactor(secrets=set()))
            for i in cassette.interactions
        ]
        self.served: list[int] = []
        self._lock = threading.Lock()

    def _key(self, method: str, uri: str, body: bytes, redactor: Redactor) -> _Key:
        parts = urlsplit(redactor.url(uri))
        query = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))
        if not self._match_body:
            return _Key(method.upper(), (parts.path or "/", query), None)
        redacted, _ = redactor.body(body)
        parsed = _parse_body(redacted)
        content = redacted if parsed is _NOT_JSON else drop_paths(parsed, self._ignore)
        return _Key(method.upper(), (parts.path or "/", query), content)

    def take(self, request: Any) -> int:
        redactor = Redactor()
        redactor.headers(request.headers.multi_items())  # learn the live request's secrets
        body, codings = request.content, encodings(request.headers.multi_items())
        if codings:  # recorded decoded (harness._content): compared decoded
            with contextlib.suppress(UndecodableBody):
                body = b"".join(decoded(codings, [body]))
        key = self._key(request.method, str(request.url), body, redactor)
        with self._lock:
            candidates = [i for i, known in enumerate(self._keys) if known == key]
            fresh = [i for i in candidates if i not in self.served]
            if fresh or (candidates and self._allow_repeats):
                index = (fresh or candidates)[0] if fresh else candidates[-1]
                self.served.append(index)
                return index
        raise self._miss(key, candidates)

    def unused(self) -> list[int]:
        return [i for i in range(len(self._keys)) if i not in self.served]

    def _miss(self, key: _Key, candidates: list[int]) -> NoMatchError:
        where = self.cassette.path or "<cassette>"
        fix = (
            "Re-record with --record-mode=new_episodes (pytest) or record mode 'new_episodes', "
            "or delete the cassette and record it again."
        )
        if candidates:
            return NoMatchError(
                f"{key.describe()} matches interaction(s) {candidates}, all already served; "
                f"the client asked more often than when it was recorded. {fix}",
                path=where,
            )
        if not self._keys:
            return NoMatchError(
                f"no recorded interaction; {key.describe()} cannot be served. {fix}", path=where
            )
        scored = []
        for index, known in enumerate(self._keys):
            changes = _body_changes(known.body, key.body)
            rank = (known.method != key.method, known.target != key.target, len(changes))
            scored.append((rank, index, known, changes))
        _, index, closest, changes = min(scored, key=lambda entry: entry[0])
        if closest.method != key.method or closest.target != key.target:
            why = f"it was {closest.describe()}"
        elif changes:
            more = f" (and {len(changes) - 1} more)" if len(changes) > 1 else ""
            why = f"body differs at {changes[0]}{more}"
        else:
            why = "it differs"
        return NoMatchError(
            f"no recorded interaction matches {key.describe()}. Closest: #{index}, {why}. {fix}",
            path=where,
        )


def _body_changes(recorded: Any, live: Any) -> list[Change]:
    if isinstance(recorded, bytes) or isinstance(live, bytes):
        return [] if recorded == live else [Change("$", "<body>", "<other body>", "changed")]
    return differences(recorded, live)


# -- the transports -------------------------------------------------------------------------------


def _library(obj: Any) -> ModuleType:
    return sys.modules[type(obj).__module__.partition(".")[0]]


def _transport_error(
    lib: ModuleType, name: str, message: str, request: Any, default: str
) -> Exception:
    cls = getattr(lib, name, None)
    if not (isinstance(cls, type) and issubclass(cls, lib.TransportError)):
        cls = getattr(lib, default)
    error: Exception = cls(message, request=request)
    return error


class _Replayer:
    """What the two transports share: the cassette, the matcher, plans, faults, the clock."""

    def __init__(
        self,
        cassette: str | Path | Cassette,
        *,
        timing: str | float,
        chunking: str | Chunking,
        match_ignore: Sequence[str],
        faults: Mapping[int, Fault] | None,
        clock: VirtualClock | None,
        allow_repeats: bool,
        match_body: bool,
        validate: str = "off",
    ) -> None:
        self.cassette = cassette if isinstance(cassette, Cassette) else Cassette.load(cassette)
        if validate != "off":
            from harness._validate import enforce
            from harness._validate import validate as check

            enforce(check(self.cassette), validate, what=str(self.cassette.path or "the cassette"))
        self.scale = parse_timing(timing)
        self.chunking = Chunking.parse(chunking)
        self.faults = dict(faults or {})
        self.clock = clock
        self.matcher = _Matcher(self.cassette, match_ignore, allow_repeats, match_body)
        self._count = 0
        self._lock = threading.Lock()

    def next(self, request: Any) -> tuple[Interaction | None, _Plan | None, Fault | None]:
        """The interaction (or an injected status) for this request."""
        with self._lock:
            number = self._count
            self._count += 1
        fault = self.faults.get(number)
        if fault is not None and fault.kind == "status":
            return None, _status_plan(fault), fault
        interaction = self.cassette.interactions[self.matcher.take(request)]
        if interaction.response is None:
            return interaction, None, fault
        return interaction, plan(interaction, self.chunking, fault), fault

    def response(self, request: Any, the_plan: _Plan, stream: Any) -> Any:
        lib = _library(request)
        return lib.Response(
            the_plan.status,
            # As bytes: httpx would encode str values as ASCII, and a recorded value may be
            # UTF-8 text (the recorder keeps what the server sent).
            headers=[(name.encode(), value.encode()) for name, value in the_plan.headers],
            stream=stream,
            request=request,
            extensions={"reason_phrase": the_plan.reason.encode("ascii", "replace")}
            if the_plan.reason
            else {},
        )

    def unanswered_error(self, request: Any, interaction: Interaction) -> Exception:
        error = interaction.error
        name, message = (error.type, error.message) if error else ("ConnectError", "")
        return _transport_error(_library(request), name, message, request, "ConnectError")

    def end_error(self, request: Any, the_plan: _Plan) -> Exception:
        name, message = the_plan.error
        if the_plan.end == "stall":
            name, message = "ReadTimeout", message or "timed out (replayed stall)"
        return _transport_error(_library(request), name, message, request, "ReadError")

    def stall_seconds(self, request: Any, the_plan: _Plan, last_ms: float) -> float:
        """How long a stall lasts: as recorded, else the client's read timeout."""
        recorded = (the_plan.end_ms - last_ms) / 1000
        if recorded > 0:
            return recorded
        timeouts = request.extensions.get("timeout") or {}
        read = timeouts.get("read")
        return float(read) if isinstance(read, int | float) else 0.0


class _ReplayBase:
    """What both replay transports share: the replayer, and when each piece is due (no I/O)."""

    def __init__(
        self,
        cassette: str | Path | Cassette,
        *,
        timing: str | float = "instant",
        chunking: str | Chunking = "recorded",
        match_ignore: Sequence[str] = (),
        faults: Mapping[int, Fault] | None = None,
        clock: VirtualClock | None = None,
        allow_repeats: bool = False,
        match_body: bool = True,
        validate: str = "off",
    ) -> None:
        self._replayer = _Replayer(
            cassette,
            timing=timing,
            chunking=chunking,
            match_ignore=match_ignore,
            faults=faults,
            clock=clock,
            allow_repeats=allow_repeats,
            match_body=match_body,
            validate=validate,
        )

    @property
    def cassette(self) -> Cassette:
        return self._replayer.cassette

    def unused(self) -> list[int]:
        """Indices of recorded interactions no request has used."""
        return self._replayer.matcher.unused()

    def _start(self) -> float:
        replayer = self._replayer
        if replayer.scale is None:
            return replayer.clock.now() if replayer.clock is not None else 0.0
        return time.perf_counter()

    def _delay(self, start: float, offset_ms: float) -> float:
        """Seconds to wait before what is due ``offset_ms`` after ``start``; in instant mode
        the virtual clock moves there instead, and nothing waits."""
        replayer = self._replayer
        if replayer.scale is None:
            if replayer.clock is not None:
                replayer.clock.advance_to(start + offset_ms / 1000)
            return 0.0
        return start + offset_ms * replayer.scale / 1000 - time.perf_counter()


class ReplayTransport(_ReplayBase, httpx.BaseTransport):
    """Serves the interactions of a cassette (ours or vcrpy's) to a blocking client.

    ``cassette`` is a path or a loaded :class:`~harness.Cassette`. ``faults`` maps a request
    number (0 for the first request this transport sees) to a :class:`Fault`. ``match_ignore``
    lists JSON paths of the request body to leave out of matching (``$.metadata``,
    ``$.input[*].id``); ``match_body=False`` matches on method, path and query alone (a
    cassette recorded by another client). ``allow_repeats`` serves the last matching interaction
    again once all have been used. ``validate`` (``off``, ``warn``, ``fail``) checks the cassette
    with :func:`harness.validate` when it loads. ``unused()`` lists the interactions not served
    yet.
    """

    def __init__(
        self,
        cassette: str | Path | Cassette,
        *,
        timing: str | float = "instant",
        chunking: str | Chunking = "recorded",
        match_ignore: Sequence[str] = (),
        faults: Mapping[int, Fault] | None = None,
        clock: VirtualClock | None = None,
        allow_repeats: bool = False,
        match_body: bool = True,
        validate: str = "off",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            cassette,
            timing=timing,
            chunking=chunking,
            match_ignore=match_ignore,
            faults=faults,
            clock=clock,
            allow_repeats=allow_repeats,
            match_body=match_body,
            validate=validate,
        )
        self._sleep = sleep  # the blocking twin's wait; the async one uses asyncio.sleep

    def _wait_until(self, start: float, offset_ms: float) -> None:
        delay = self._delay(start, offset_ms)
        if delay > 0:
            self._sleep(delay)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        start = self._start()
        interaction, the_plan, _ = self._replayer.next(request)
        if the_plan is None:
            assert interaction is not None
            self._wait_until(start, interaction.end_ms or 0.0)
            raise self._replayer.unanswered_error(request, interaction)
        self._wait_until(start, the_plan.head_ms)
        stream = _sync_stream(request, self, the_plan, start)
        response: httpx.Response = self._replayer.response(request, the_plan, stream)
        return response

    def _body(self, request: Any, the_plan: _Plan, start: float) -> Iterator[bytes]:
        last = the_plan.head_ms
        if self._replayer.scale is None and self._replayer.clock is None:
            for _, data in the_plan.pieces:  # instant, no clock to move: nothing to wait for
                yield data
            last = the_plan.pieces[-1][0] if the_plan.pieces else last
        else:
            for offset, data in the_plan.pieces:
                self._wait_until(start, offset)
                last = offset
                yield data
        if the_plan.end == "complete":
            return
        if the_plan.end == "stall":
            stall = self._replayer.stall_seconds(request, the_plan, last)
            self._wait_until(start, last + stall * 1000)
        else:
            self._wait_until(start, the_plan.end_ms)
        raise self._replayer.end_error(request, the_plan)


class AsyncReplayTransport(_ReplayBase, httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`ReplayTransport`."""

    async def _wait_until(self, start: float, offset_ms: float) -> None:
        delay = self._delay(start, offset_ms)
        if delay > 0:
            await asyncio.sleep(delay)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        start = self._start()
        interaction, the_plan, _ = self._replayer.next(request)
        if the_plan is None:
            assert interaction is not None
            await self._wait_until(start, interaction.end_ms or 0.0)
            raise self._replayer.unanswered_error(request, interaction)
        await self._wait_until(start, the_plan.head_ms)
        stream = _async_stream(request, self, the_plan, start)
        response: httpx.Response = self._replayer.response(request, the_plan, stream)
        return response

    async def _body(self, request: Any, the_plan: _Plan, start: float) -> AsyncIterator[bytes]:
        last = the_plan.head_ms
        if self._replayer.scale is None and self._replayer.clock is None:
            for _, data in the_plan.pieces:  # instant, no clock to move: nothing to wait for
                yield data
            last = the_plan.pieces[-1][0] if the_plan.pieces else last
        else:
            for offset, data in the_plan.pieces:
                await self._wait_until(start, offset)
                last = offset
                yield data
        if the_plan.end == "complete":
            return
        if the_plan.end == "stall":
            stall = self._replayer.stall_seconds(request, the_plan, last)
            await self._wait_until(start, last + stall * 1000)
        else:
            await self._wait_until(start, the_plan.end_ms)
        raise self._replayer.end_error(request, the_plan)


_SYNC_STREAMS: dict[ModuleType, type] = {}
_ASYNC_STREAMS: dict[ModuleType, type] = {}


class _SyncBody:
    def __init__(self, body: Iterator[bytes]) -> None:
        self._body = body

    def __iter__(self) -> Iterator[bytes]:
        return self._body

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


class _AsyncBody:
    def __init__(self, body: AsyncIterator[bytes]) -> None:
        self._body = body

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._body

    async def aclose(self) -> None:
        close = getattr(self._body, "aclose", None)
        if close is not None:
            await close()


def _sync_stream(request: Any, transport: ReplayTransport, the_plan: _Plan, start: float) -> Any:
    lib = _library(request)
    cls = _SYNC_STREAMS.get(lib)
    if cls is None:
        cls = _SYNC_STREAMS[lib] = type("ReplayStream", (_SyncBody, lib.SyncByteStream), {})
    return cls(transport._body(request, the_plan, start))


def _async_stream(
    request: Any, transport: AsyncReplayTransport, the_plan: _Plan, start: float
) -> Any:
    lib = _library(request)
    cls = _ASYNC_STREAMS.get(lib)
    if cls is None:
        cls = _ASYNC_STREAMS[lib] = type("ReplayStream", (_AsyncBody, lib.AsyncByteStream), {})
    return cls(transport._body(request, the_plan, start))
