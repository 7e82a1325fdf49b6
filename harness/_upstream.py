"""An httpx transport that sends through aiohttp's client: the recording proxy's upstream hop.

``harness proxy`` wraps this in :class:`~harness._record.AsyncRecordingTransport`, so what it
records is exactly what the recording transport records for an httpx client. Why not httpx's
own ``AsyncHTTPTransport``: the second hop is what a proxy costs, and aiohttp's client
(C-accelerated parser, no anyio layer) gets a response head back from a loopback server in
0.39 ms where httpx takes 0.88 ms. With it the proxy's cost per request fell from about 1.8 ms
to about 0.8 ms, what a TCP relay that only copies bytes costs (``bench/proxy.py``).

It forwards faithfully: no header the client did not send (aiohttp's automatic User-Agent,
Accept, Accept-Encoding and Content-Type are skipped), bytes as they came (no decompression),
no cookie jar shared between clients, no redirects followed, no timeout of its own, and the
certificates httpx would trust for an https upstream. aiohttp's exceptions become httpx's, so
a proxied recording names its failures as a direct one would: ``ConnectError``, ``ReadError``
(reset), ``RemoteProtocolError`` (closed mid-body or malformed).
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import aiohttp
import httpx
from multidict import CIMultiDict
from yarl import URL

__all__ = ["AiohttpTransport"]

# Headers aiohttp adds on its own when a request lacks them: a proxy must not add them.
_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
# Framing: aiohttp sets it from the body it sends.
_FRAMING = frozenset({"content-length", "transfer-encoding"})
# aiohttp keeps the socket error of a body cut short only in its message:
# "Response payload is not completed: <...>. ConnectionResetError(104, '...')".
_SOCKET_ERROR = re.compile(r"\. \w+Error\(.*\)$")


def _text(value: bytes) -> str:
    """A header value as aiohttp wants it: aiohttp sends str values UTF-8 encoded, so UTF-8
    bytes go out unchanged. Bytes that are not UTF-8 (rare, obsolete) go as Latin-1 text."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _translate(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    """The httpx exception an httpx client would have raised for ``exc``."""
    message = str(exc)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ClientPayloadError):
        if _SOCKET_ERROR.search(message):
            return httpx.ReadError(message, request=request)
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, TimeoutError):  # aiohttp.ServerTimeoutError too
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientResponseError):  # a malformed status line or head
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, OSError):
        return httpx.ReadError(message, request=request)
    return httpx.NetworkError(message, request=request)


_LARGE_BODY = 1 << 20


class _Body(httpx.AsyncByteStream):
    """The response body, chunk by chunk as aiohttp receives it."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._response.content.iter_any():
                yield data
        except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            raise _translate(exc, self._request) from exc

    async def aclose(self) -> None:
        # Unread body left: the connection cannot be reused; close() drops it, release() would
        # read on. Fully read: release() returns it to the pool.
        if self._response.content.is_eof():
            self._response.release()
        else:
            self._response.close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests with an ``aiohttp.ClientSession`` made on first use (on the loop
    that uses it) and closed by :meth:`aclose`. Connections are pooled per host, unlimited."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                # The certificates httpx would trust (certifi, or SSL_CERT_FILE/SSL_CERT_DIR),
                # so an https upstream that works with httpx works through the proxy.
                connector=aiohttp.TCPConnector(limit=0, ssl=httpx.create_ssl_context()),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None),
                skip_auto_headers=_AUTO_HEADERS,
            )
        headers: CIMultiDict[str] = CIMultiDict()
        spelling: dict[str, str] = {}
        for raw_name, raw_value in request.headers.raw:
            name = raw_name.decode("latin-1")
            if name.lower() not in _FRAMING:
                # aiohttp keeps a repeated header only if each repeat is spelled as the first.
                headers.add(spelling.setdefault(name.lower(), name), _text(raw_value))
        body = await request.aread()
        try:
            response = await self._session.request(
                request.method,
                URL(str(request.url), encoded=True),  # the path and query exactly as sent
                headers=headers,
                # A large body as a stream: aiohttp warns that bytes over 1 MiB block its loop.
                data=io.BytesIO(body) if len(body) > _LARGE_BODY else (body or None),
                allow_redirects=False,
            )
        except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            raise _translate(exc, request) from exc
        version = response.version or aiohttp.HttpVersion11
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            request=request,
            extensions={
                "reason_phrase": (response.reason or "").encode("latin-1"),
                "http_version": f"HTTP/{version.major}.{version.minor}".encode(),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
