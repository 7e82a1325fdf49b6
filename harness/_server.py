"""Scripted Responses server: a real loopback HTTP server that plays scripted responses.

Built on aiohttp's low-level web server, a mature, maintained asyncio HTTP server that gives
chunk-level control of the response body (write, drain, abort the transport) and cancels the
handler when the client disconnects. It runs its own event loop in a daemon thread, so sync and
async tests can both use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web

__all__ = ["Chunk", "End", "ReceivedRequest", "ScriptedResponse", "ScriptedServer"]

# Backstop for aiohttp's graceful shutdown; our own handlers end at once when the server stops.
_SHUTDOWN_GRACE = 1.0


@dataclass(frozen=True, slots=True)
class Chunk:
    """One write of the response body."""

    data: bytes
    delay: float = 0.0
    """Seconds to wait before writing this chunk."""

    def __post_init__(self) -> None:
        if self.delay < 0:
            raise ValueError(f"Chunk delay must be >= 0, got {self.delay}")


class End(enum.StrEnum):
    """How the response body ends."""

    COMPLETE = "complete"
    """Normal end of body (the chunked terminator is sent)."""
    DISCONNECT = "disconnect"
    """Close the TCP connection mid-body, cleanly (FIN), without the chunked terminator."""
    RESET = "reset"
    """Abort the connection with a TCP RST."""
    STALL = "stall"
    """Send nothing more; keep the connection open until the client goes or the server stops."""


def _with_content_type(
    content_type: str, extra: Mapping[str, str] | None
) -> tuple[tuple[str, str], ...]:
    """`content-type` plus the `extra` headers; a content-type in `extra` replaces the default."""
    headers = [("content-type", content_type)]
    for name, value in (extra or {}).items():
        if name.lower() == "content-type":
            headers[0] = (name, value)
        else:
            headers.append((name, value))
    return tuple(headers)


def _frame_event(event: str | Mapping[str, Any]) -> bytes:
    """Frame one SSE event; a str is taken as already framed SSE text."""
    if isinstance(event, str):
        return event.encode()
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    kind = event.get("type")
    prefix = f"event: {kind}\n" if kind is not None else ""
    return f"{prefix}data: {data}\n\n".encode()


@dataclass(frozen=True, slots=True)
class ScriptedResponse:
    """One scripted answer: status line and headers, body chunks, and how the body ends."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("content-type", "text/event-stream"),)
    chunks: tuple[Chunk, ...] = ()
    end: End = End.COMPLETE
    head_delay: float = 0.0
    """Seconds to wait before sending the status line and headers."""

    def __post_init__(self) -> None:
        if self.head_delay < 0:
            raise ValueError(f"head_delay must be >= 0, got {self.head_delay}")

    @classmethod
    def sse(
        cls,
        *events: str | Mapping[str, Any],
        chunk_size: int | None = None,
        delay: float = 0.0,
        end: End = End.COMPLETE,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> ScriptedResponse:
        """An event stream of `events`.

        A Mapping is framed as ``event: {type}\\ndata: {compact JSON}\\n\\n`` (no ``event:`` line
        if it has no "type"; JSON is UTF-8, not ASCII-escaped); a str is taken verbatim. The body
        is one chunk per event, or, with `chunk_size`, re-split every `chunk_size` bytes (which may
        split an event, or a multi-byte character, across chunks). `delay` precedes every chunk.
        """
        framed = [_frame_event(event) for event in events]
        if chunk_size is not None:
            if chunk_size <= 0:
                raise ValueError(f"chunk_size must be > 0, got {chunk_size}")
            body = b"".join(framed)
            framed = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
        return cls(
            status=status,
            headers=_with_content_type("text/event-stream", headers),
            chunks=tuple(Chunk(data, delay) for data in framed),
            end=end,
        )

    @classmethod
    def json(
        cls, status: int, body: Any, headers: Mapping[str, str] | None = None
    ) -> ScriptedResponse:
        """A complete ``application/json`` response, e.g. a 400 with ``{"error": {...}}``."""
        return cls(
            status=status,
            headers=_with_content_type("application/json", headers),
            chunks=(Chunk(json.dumps(body).encode()),),
        )


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """A request as the server received it."""

    method: str
    path: str
    """Path plus query string, as received."""
    headers: tuple[tuple[str, str], ...]
    """In received order, names lower-cased."""
    body: bytes
    """The body as sent (after de-chunking; a Content-Encoding is not undone)."""

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def _exhausted(number: int) -> ScriptedResponse:
    return ScriptedResponse.json(
        500,
        {
            "error": {
                "message": f"scripted server: no response left for request #{number}",
                "type": "scripted_server_error",
                "param": None,
                "code": "script_exhausted",
            }
        },
    )


class ScriptedServer:
    """Serves `responses` in order, one per request, on a loopback port.

    Use as a context manager (or `start`/`stop`). When the script runs out, a request gets a
    500 JSON error naming its number, so a test sees a clear failure. With ``responder``, each
    request is answered by ``responder(request)`` instead (this is how ``harness serve`` plays
    cassettes); it runs on the server's event loop, so it must be quick.
    """

    def __init__(
        self,
        responses: Iterable[ScriptedResponse] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Callable[[ReceivedRequest], ScriptedResponse] | None = None,
    ) -> None:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"scripted server binds loopback IP addresses only, got {host!r}")
        self._host = host
        self._port = port
        self._responder = responder
        self._cond = threading.Condition()
        self._script: deque[ScriptedResponse] = deque()
        self._requests: list[ReceivedRequest] = []
        self._outcomes: list[str] = []
        self.add(*responses)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stopped = False
        self._bound_port: int | None = None
        # Owned by the server thread's event loop.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._stopping = False
        self._handlers: set[asyncio.Task[Any]] = set()

    # -- lifecycle (any thread) --------------------------------------------------------------

    def start(self) -> None:
        """Start the server thread; return once the socket is listening."""
        with self._cond:
            if self._thread is not None:
                raise RuntimeError("scripted server: already started (it cannot be restarted)")
            self._thread = threading.Thread(target=self._run, name="scripted-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise RuntimeError(
                f"scripted server: could not listen on {self._host}:{self._port}"
            ) from self._startup_error

    def stop(self) -> None:
        """Stop serving and join the thread; ends stalled or delayed responses at once.

        Idempotent, and a no-op if the server was never started.
        """
        with self._cond:
            thread = self._thread
            if thread is None or self._stopped:
                return
            self._stopped = True
        loop, stop_requested = self._loop, self._stop_requested
        if loop is not None and stop_requested is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended (failed start)
                loop.call_soon_threadsafe(stop_requested.set)
        thread.join()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- script and observations (any thread) ------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (the OS chooses it when constructed with port 0)."""
        if self._bound_port is None:
            raise RuntimeError("scripted server: not started")
        return self._bound_port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``, the SDK's base_url convention."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/v1"

    def add(self, *responses: ScriptedResponse) -> None:
        """Append responses to the script."""
        for response in responses:
            if not isinstance(response, ScriptedResponse):
                raise TypeError(f"expected ScriptedResponse, got {type(response).__name__}")
        with self._cond:
            self._script.extend(responses)

    @property
    def requests(self) -> list[ReceivedRequest]:
        """A copy of the requests received so far, in arrival order."""
        with self._cond:
            return list(self._requests)

    @property
    def outcomes(self) -> list[str]:
        """A copy of how each served request ended, in the order they ended.

        One of: "complete", "disconnect", "reset" (as scripted); "stall" (a stall ended by the
        server stopping); "client_closed" (the client went away before the scripted body was
        fully written, including during a stall or a delay); "stopped" (the server stopped
        during a delay or a write); "error" (the server failed to play the script, e.g. an
        invalid header; aiohttp logs the exception).
        """
        with self._cond:
            return list(self._outcomes)

    def wait_for_outcomes(self, n: int, timeout: float = 5.0) -> list[str]:
        """Block until at least `n` outcomes are known and return them; TimeoutError if not."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._outcomes) >= n, timeout):
                raise TimeoutError(
                    f"scripted server: expected at least {n} outcome(s) within {timeout}s, "
                    f"got {len(self._outcomes)}: {self._outcomes!r} "
                    f"({len(self._requests)} request(s) received)"
                )
            return list(self._outcomes)

    # -- server thread ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            if self._ready.is_set():
                raise
            self._startup_error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        server = web.Server(
            self._handle,
            # Cancel the handler when the client disconnects: that is what ends a stall.
            handler_cancellation=True,
            access_log=None,
            # Record request bodies exactly as sent.
            auto_decompress=False,
        )
        runner = web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_GRACE)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
            self._bound_port = int(runner.addresses[0][1])
            self._ready.set()
            await self._stop_requested.wait()
            self._stopping = True
            for task in list(self._handlers):
                task.cancel()
        finally:
            await runner.cleanup()
            await self._on_stop()

    async def _on_stop(self) -> None:
        """Runs on the server's loop once it stopped serving; subclasses release resources."""

    def _record_outcome(self, outcome: str) -> None:
        with self._cond:
            self._outcomes.append(outcome)
            self._cond.notify_all()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            if self._stopping:  # arrived while the server was stopping
                task.cancel()
            body = await request.content.read()
            received = ReceivedRequest(
                method=request.method,
                path=request.raw_path,
                headers=tuple(
                    (
                        name.decode("utf-8", "surrogateescape").lower(),
                        value.decode("utf-8", "surrogateescape"),
                    )
                    for name, value in request.raw_headers
                ),
                body=body,
            )
            with self._cond:
                self._requests.append(received)
                number = len(self._requests)
                if self._responder is None:
                    scripted = self._script.popleft() if self._script else _exhausted(number)
            if self._responder is not None:
                scripted = self._responder(received)
            return await self._play(request, scripted)
        finally:
            self._handlers.discard(task)

    async def _play(
        self, request: web.BaseRequest, scripted: ScriptedResponse
    ) -> web.StreamResponse:
        """Play one scripted response and record its outcome."""
        response = web.StreamResponse()
        stalled = False
        try:
            response.set_status(scripted.status)
            if scripted.head_delay > 0:
                await asyncio.sleep(scripted.head_delay)
            for name, value in scripted.headers:
                response.headers.add(name, value)
            transport = request.transport
            if transport is None:
                raise ConnectionResetError("client went away")
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # aiohttp sets this too; one small write per chunk is the point here.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await response.prepare(request)  # StreamResponse sends the head right away
            # A HEAD answer has no content (RFC 9110 9.3.2): a body would be read as the head
            # of the next response on the connection.
            chunks = () if request.method == "HEAD" else scripted.chunks
            for chunk in chunks:
                if chunk.delay > 0:
                    await asyncio.sleep(chunk.delay)
                await response.write(chunk.data)  # an empty chunk writes nothing
            if scripted.end is End.COMPLETE:
                await response.write_eof()
                self._record_outcome("complete")
                return response
            transport = request.transport
            if transport is None or transport.is_closing():
                raise ConnectionResetError("client went away")
            if scripted.end is End.DISCONNECT:
                self._record_outcome("disconnect")
                transport.close()  # flushes what was written, then FIN
            elif scripted.end is End.RESET:
                self._record_outcome("reset")
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()  # close() with linger (1, 0) sends RST
            else:
                stalled = True
                # Resolved by nothing: cancelled when the client disconnects or the server stops.
                await asyncio.get_running_loop().create_future()
            # The transport is closing: aiohttp's own write_eof fails quietly, so no terminator.
            return response
        except asyncio.CancelledError:
            if not self._stopping:
                self._record_outcome("client_closed")
            else:
                self._record_outcome("stall" if stalled else "stopped")
            raise
        except ConnectionError:
            self._record_outcome("client_closed")
            return response  # aiohttp sees the broken connection and drops it quietly
        except Exception:
            self._record_outcome("error")
            raise
