"""``harness serve`` and ``harness proxy``: real HTTP servers on loopback.

:class:`CassetteServer` plays cassettes and SSE fixtures at ``/v1/responses`` (any path a
recording holds) with their recorded status, headers, chunks and timing, so any client replays
offline: the ``openai`` SDK, curl, the Codex CLI. Requests are matched as the replay transport
matches them; fixtures answer any POST.

:class:`RecordingProxy` forwards every request to an upstream and passes each response chunk on
the moment it arrives, recording the exchange as the recording transport does (redaction
included) into a cassette written when the proxy stops. Clients in any language record through
it.

Both build on the scripted server (aiohttp, in its own thread).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import httpx
from aiohttp import web

from harness._cassette import (
    Cassette,
    Chunk,
    Interaction,
    Outcome,
    RecordedRequest,
    RecordedResponse,
)
from harness._fixture import load_fixture
from harness._record import AsyncRecordingTransport, RecordMode
from harness._replay import Chunking, NoMatchError, _Plan, _Replayer
from harness._server import Chunk as Write
from harness._server import End, ReceivedRequest, ScriptedResponse, ScriptedServer
from harness._upstream import AiohttpTransport

__all__ = ["CassetteServer", "RecordingProxy", "load_source"]

# Hop-by-hop and framing headers: the server that sends the body sets its own.
_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
    }
)
# What the proxy does not pass upstream: those, and the client's Host (the upstream's is set).
_NOT_FORWARDED = frozenset(name.encode() for name in _HOP_HEADERS | {"host"})
_RESET_ERRORS = frozenset({"ReadError", "NetworkError", "ConnectError", "WriteError"})


def load_source(path: str | Path) -> tuple[Cassette, bool]:
    """A cassette, or an SSE fixture as a one-interaction cassette; and whether it is a fixture.

    Files ending in ``.yaml``, ``.yml`` or ``.json`` are cassettes; anything else is a fixture.
    """
    target = Path(path)
    if target.suffix.lower() in (".yaml", ".yml", ".json"):
        return Cassette.load(target), False
    body = load_fixture(target)
    interaction = Interaction(
        RecordedRequest("POST", "http://fixture/v1/responses"),
        RecordedResponse(200, "OK", (("content-type", "text/event-stream"),), body),
        (Chunk(0.0, len(body)),) if body else (),
        Outcome.COMPLETE,
    )
    return Cassette((interaction,), target), True


def scripted(plan: _Plan, scale: float | None) -> ScriptedResponse:
    """What the scripted server must send to play ``plan`` (scaled timing; None is instant)."""
    factor = 0.0 if scale is None else scale
    chunks, previous = [], plan.head_ms
    for offset, data in plan.pieces:
        chunks.append(Write(data, max(offset - previous, 0.0) * factor / 1000))
        previous = offset
    if plan.end == "complete":
        end = End.COMPLETE
    elif plan.end == "stall":
        end = End.STALL
    else:
        end = End.RESET if plan.error[0] in _RESET_ERRORS else End.DISCONNECT
    headers = tuple((k, v) for k, v in plan.headers if k.lower() not in _HOP_HEADERS)
    return ScriptedResponse(
        plan.status, headers, tuple(chunks), end, head_delay=plan.head_ms * factor / 1000
    )


def _error_response(status: int, message: str, kind: str) -> ScriptedResponse:
    return ScriptedResponse.json(
        status, {"error": {"message": message, "type": kind, "param": None, "code": None}}
    )


class CassetteServer(ScriptedServer):
    """Plays cassettes and fixtures to any HTTP client (see the module docstring).

    ``timing`` is ``recorded`` (default), ``instant`` or a factor; ``chunking`` as for the
    replay transport. A request no recording answers gets a 404 whose error message names the
    closest recorded interaction, as the replay transport's error does.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timing: str | float = "recorded",
        chunking: str | Chunking = "recorded",
        match_ignore: Sequence[str] = (),
    ) -> None:
        self.sources: list[tuple[Path, _Replayer]] = []
        self._fixtures: set[Path] = set()
        for path in paths:
            cassette, fixture = load_source(path)
            replayer = _Replayer(
                cassette,
                timing=timing,
                chunking=chunking,
                match_ignore=match_ignore,
                faults=None,
                clock=None,
                allow_repeats=fixture,
                match_body=not fixture,
            )
            self.sources.append((Path(path), replayer))
            if fixture:
                self._fixtures.add(Path(path))
        super().__init__(host=host, port=port, responder=self._respond)

    def _respond(self, received: ReceivedRequest) -> ScriptedResponse:
        request = httpx.Request(
            received.method,
            f"http://{self._host_header(received)}{received.path}",
            headers=list(received.headers),
            content=received.body,
        )
        misses = []
        for path, replayer in self.sources:
            asked = request
            if path in self._fixtures:
                if received.method != "POST":
                    misses.append(f"{path.name}: a fixture answers POST, not {received.method}")
                    continue
                # A fixture answers any POST (any path, any query), as the module says.
                asked = httpx.Request("POST", "http://fixture/v1/responses")
            try:
                interaction, plan, _ = replayer.next(asked)
            except NoMatchError as exc:
                misses.append(f"{path.name}: {exc.message}")
                continue
            if plan is None:
                assert interaction is not None
                error = interaction.error
                what = f"{error.type}: {error.message}" if error else "no response"
                return _error_response(
                    502, f"the recording got no response here ({what})", "harness_unanswered"
                )
            return scripted(plan, replayer.scale)
        return _error_response(
            404, " | ".join(misses) or "no recordings loaded", "harness_no_match"
        )

    @staticmethod
    def _host_header(received: ReceivedRequest) -> str:
        return received.header("host") or "127.0.0.1"

    def unused(self) -> dict[Path, list[int]]:
        """Per file, the recorded interactions no request has used yet (fixtures left out)."""
        unused = {
            path: replayer.matcher.unused()
            for path, replayer in self.sources
            if path not in self._fixtures
        }
        return {path: indices for path, indices in unused.items() if indices}


class RecordingProxy(ScriptedServer):
    """Forwards requests to ``upstream`` and records them into ``path`` (see module docstring).

    ``upstream`` is a base URL (``https://api.openai.com``); a request for ``/v1/responses`` goes
    to ``{upstream}/v1/responses``. The cassette is written when the proxy stops; if that fails
    (a secret left, a body that cannot be checked), :attr:`save_error` holds why.
    """

    save_error: Exception | None = None

    def __init__(
        self,
        upstream: str,
        path: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        mode: RecordMode | str = RecordMode.ALL,
        fixtures: str | Path | None = None,
        secrets: Sequence[str] | None = None,
    ) -> None:
        try:
            parsed = httpx.URL(upstream)
        except httpx.InvalidURL as exc:
            raise ValueError(f"upstream is not a URL: {upstream!r} ({exc})") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"upstream must be an http(s) URL, got {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self.transport = AsyncRecordingTransport(
            AiohttpTransport(), path, mode=mode, fixtures=fixtures, secrets=secrets
        )
        super().__init__(host=host, port=port)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        # Not request.read(): aiohttp caps that at 1 MiB (a 413), and a long conversation's
        # request is larger. The stream has no cap.
        body = await request.content.read()
        headers = [(n, v) for n, v in request.raw_headers if n.lower() not in _NOT_FORWARDED]
        upstream = httpx.Request(
            request.method, f"{self.upstream}{request.raw_path}", headers=headers, content=body
        )
        try:
            response = await self.transport.handle_async_request(upstream)
        except httpx.TransportError as exc:
            return web.json_response(
                {
                    "error": {
                        "message": f"harness proxy: upstream failed: {type(exc).__name__}: {exc}",
                        "type": "harness_proxy_error",
                    }
                },
                status=502,
            )
        answer = web.StreamResponse(status=response.status_code, reason=response.reason_phrase)
        for name, value in response.headers.multi_items():
            if name not in _HOP_HEADERS:  # multi_items() gives lower-case names
                answer.headers.add(name, value)
        try:
            await answer.prepare(request)
            async for chunk in response.aiter_raw():  # on to the client the moment it arrives
                await answer.write(chunk)
            await answer.write_eof()
        except (ConnectionError, httpx.TransportError):
            transport = request.transport
            if transport is not None:
                transport.abort()  # the client sees the upstream's failure as a broken body
        finally:
            await response.aclose()
        return answer

    async def _on_stop(self) -> None:
        try:
            await self.transport.aclose()  # closes the upstream session, writes the cassette
        except Exception as exc:  # the caller of stop() reports it (the server's thread cannot)
            self.save_error = exc
