"""The proxy's upstream hop, ``AiohttpTransport``: against the scripted server on loopback, side
by side with httpx's own transport, which it must be indistinguishable from to the server and to
the recording transport that wraps it."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trustme
from aiohttp import web

from harness._server import Chunk, End, ScriptedResponse, ScriptedServer
from harness._upstream import AiohttpTransport


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=None) as running:
        yield running


async def send_both(server: ScriptedServer, request: httpx.Request) -> tuple[object, object]:
    """The request once through httpx's transport and once through ours, as the server saw it."""
    server.add(ScriptedResponse.json(200, {}), ScriptedResponse.json(200, {}))
    seen = []
    for transport in (httpx.AsyncHTTPTransport(), AiohttpTransport()):
        async with transport:
            response = await transport.handle_async_request(request)
            await response.aread()
            await response.aclose()
        received = server.requests[-1]
        seen.append((received.method, received.path, sorted(received.headers), received.body))
    return seen[0], seen[1]


@pytest.mark.parametrize(
    "request_",
    [
        httpx.Request(
            "POST",
            "http://127.0.0.1/v1/responses",
            headers=[
                ("Authorization", "Bearer k"),
                ("X-Many", "1"),
                ("x-many", "2"),
                ("x-note", "café".encode()),
            ],
            content=b'{"model": "o4-mini", "stream": true}',
        ),
        httpx.Request("POST", "http://127.0.0.1/v1/responses", content=b""),
        httpx.Request("GET", "http://127.0.0.1/v1/models/a%2Fb?after=x%20y&limit=2"),
    ],
    ids=["post-json", "post-empty", "get-encoded-path"],
)
async def test_the_server_receives_what_httpx_would_send(
    server: ScriptedServer, request_: httpx.Request
) -> None:
    """Method, path and query as encoded, every header (repeated ones too) and nothing added, the
    body byte for byte: the same request the server gets from httpx's own transport."""
    url = request_.url.copy_with(port=server.port)
    request = httpx.Request(
        request_.method,
        url,
        headers=[(k, v) for k, v in request_.headers.raw if k.lower() != b"host"],
        content=request_.content,
    )
    direct, ours = await send_both(server, request)
    assert direct == ours


async def test_response_head_and_raw_body_pass_unchanged(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    """Status, reason, repeated headers in order, and a gzip body as compressed bytes."""
    packed = gzip.compress(b"data: {}\n\n")
    server.add(
        ScriptedResponse(
            status=429,
            headers=(
                ("content-type", "text/event-stream"),
                ("content-encoding", "gzip"),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
                ("retry-after", "3"),
            ),
            chunks=(Chunk(packed),),
        )
    )
    async with client.stream("POST", f"{server.base_url}/responses", content=b"{}") as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert (429, "Too Many Requests") == (response.status_code, response.reason_phrase)
    assert ["a=1", "b=2"] == response.headers.get_list("set-cookie")
    assert "3" == response.headers["retry-after"]
    assert packed == raw


async def test_each_chunk_arrives_before_the_next_is_sent(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    """The first chunk is in hand while the server is still holding the rest back (a stall)."""
    server.add(ScriptedResponse(chunks=(Chunk(b"data: 1\n\n"),), end=End.STALL))
    async with client.stream("POST", f"{server.base_url}/responses", content=b"{}") as response:
        chunks = response.aiter_raw()
        assert b"data: 1\n\n" == await anext(chunks)
    assert ["client_closed"] == await asyncio.to_thread(server.wait_for_outcomes, 1)


async def read_into(got: list[bytes], client: httpx.AsyncClient, url: str) -> None:
    async with client.stream("POST", url) as response:
        async for chunk in response.aiter_raw():
            got.append(chunk)


@pytest.mark.parametrize("end", [End.DISCONNECT, End.RESET])
async def test_a_broken_body_raises_what_httpx_raises(server: ScriptedServer, end: End) -> None:
    """A body cut short (FIN) or reset (RST) mid-stream: the same httpx exception type as httpx's
    own transport raises, after the same bytes."""
    outcomes = []
    for transport in (httpx.AsyncHTTPTransport(), AiohttpTransport()):
        server.add(ScriptedResponse(chunks=(Chunk(b"data: 1\n\n"),), end=end))
        got: list[bytes] = []
        async with httpx.AsyncClient(transport=transport) as c:
            with pytest.raises(httpx.TransportError) as caught:
                await read_into(got, c, f"{server.base_url}/responses")
        outcomes.append((type(caught.value), b"".join(got)))
    assert outcomes[0] == outcomes[1]


async def test_a_refused_connection_is_a_connect_error(client: httpx.AsyncClient) -> None:
    """Nothing listening upstream: httpx.ConnectError, as httpx's own transport raises."""
    with ScriptedServer() as gone:
        url = f"{gone.base_url}/responses"
    with pytest.raises(httpx.ConnectError):
        await client.post(url)


async def test_no_cookie_is_kept_and_no_redirect_followed(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    """A proxy serves many clients: one client's cookie is never sent for another, and a redirect
    is the client's to follow."""
    server.add(
        ScriptedResponse.json(200, {}, headers={"set-cookie": "session=secret; Path=/"}),
        ScriptedResponse(status=302, headers=(("location", "/elsewhere"),)),
    )
    client.cookies.clear()
    await (await client.send(client.build_request("GET", f"{server.base_url}/a"))).aclose()
    client.cookies.clear()  # httpx's own jar: what is left is the transport's
    second = await client.send(client.build_request("GET", f"{server.base_url}/b"))
    await second.aclose()
    assert None is server.requests[1].header("cookie")
    assert 302 == second.status_code


async def test_a_body_closed_early_frees_the_pool(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    """Closing a stream half read drops that connection; the next request still gets through."""
    server.add(
        ScriptedResponse(chunks=(Chunk(b"data: 1\n\n"),), end=End.STALL),
        ScriptedResponse.json(200, {"ok": True}),
    )
    async with client.stream("POST", f"{server.base_url}/responses") as response:
        await anext(response.aiter_raw())
    assert {"ok": True} == (await client.post(f"{server.base_url}/responses")).json()
    assert ["client_closed", "complete"] == await asyncio.to_thread(server.wait_for_outcomes, 2)


@pytest.fixture
async def https_upstream(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """A TLS server on loopback whose certificate a test CA signed; its URL and the CA file."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))

    async def answer(request: web.BaseRequest) -> web.Response:
        return web.json_response({"path": request.path})

    runner = web.ServerRunner(web.Server(answer))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}", ca_file
    finally:
        await runner.cleanup()


async def test_an_https_upstream_is_trusted_as_httpx_trusts_it(
    https_upstream: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The certificates httpx trusts (here SSL_CERT_FILE) are the ones the proxy's hop trusts:
    the test CA's server is refused without it and reached with it."""
    url, ca_file = https_upstream
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"{url}/v1/models")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        assert {"path": "/v1/models"} == (await client.get(f"{url}/v1/models")).json()
