"""Secrets where a byte scan does not see them: compressed bodies, JSON and URL escapes, base64
bodies, Basic credentials, odd query parameters, the reason phrase, a key split across text
deltas, a body cut off inside a key. Each is redacted before writing, or refused by the scanner,
and nothing is left half-written.

Every check reads back every byte written, also after undoing each encoding that could hide the
canary (gzip, base64, JSON and percent escapes).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import re
import secrets
import zlib
from pathlib import Path
from urllib.parse import quote, unquote

import brotli
import httpx
import pytest
import zstandard

from harness import (
    Cassette,
    CassetteError,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    RecordingTransport,
    ReplayTransport,
    SecretLeakError,
)
from harness import Chunk as Timing
from harness._normalize import normalize
from harness._redact import Redactor, scan
from harness._serve import RecordingProxy
from harness._server import Chunk, ScriptedResponse, ScriptedServer

SSE_HEAD = b'event: response.created\ndata: {"type":"response.created","response":{"id":"r1"}}\n\n'
SSE_TAIL = (
    b"event: response.completed\n"
    b'data: {"type":"response.completed","response":{"id":"r1","status":"completed"}}\n\n'
)


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh OpenAI-shaped key, set as $OPENAI_API_KEY (the recorder's default secret)."""
    value = f"sk-proj-{secrets.token_hex(16)}"
    monkeypatch.setenv("OPENAI_API_KEY", value)
    return value


def views(data: bytes) -> list[bytes]:
    """``data`` and what it holds under each encoding that could hide a secret."""
    out = [data, unquote(data.decode("latin-1")).encode("latin-1")]
    out.append(re.sub(rb"\\u00([0-9a-fA-F]{2})", lambda m: bytes.fromhex(m[1].decode()), data))
    for block in re.findall(rb"!!binary \|\n((?:[ ]+[A-Za-z0-9+/=]+\n)+)", data):
        out.append(base64.b64decode(block))
    for view in list(out):
        for start in [m.start() for m in re.finditer(rb"\x1f\x8b", view)]:
            with contextlib.suppress(zlib.error):
                out.append(zlib.decompressobj(47).decompress(view[start:]))
    return out


def assert_nowhere(secret: str, folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        for view in views(path.read_bytes()):
            assert secret.encode() not in view, f"{path} holds the secret"
    return files


def sse_with(secret: str) -> bytes:
    delta = {"type": "response.output_text.delta", "delta": f"your key is {secret}"}
    return SSE_HEAD + f"data: {json.dumps(delta)}\n\n".encode() + SSE_TAIL


def record(server: ScriptedServer, folder: Path, **request: object) -> RecordingTransport:
    transport = RecordingTransport(
        httpx.HTTPTransport(), folder / "c.yaml", fixtures=folder / "fixtures"
    )
    with httpx.Client(transport=transport) as client:
        client.post(f"{server.base_url}/responses", **request)  # type: ignore[arg-type]
    return transport


def packed(coding: str, data: bytes) -> bytes:
    if coding == "gzip":
        return gzip.compress(data)
    if coding == "deflate":
        return zlib.compress(data)
    if coding == "br":
        return bytes(brotli.compress(data))
    half = len(data) // 2  # zstd in two frames, as a server may send it
    compressor = zstandard.ZstdCompressor()
    return bytes(compressor.compress(data[:half]) + compressor.compress(data[half:]))


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_compressed_bodies_are_recorded_decoded_then_redacted(
    coding: str, key: str, server: ScriptedServer, tmp_path: Path
) -> None:
    """A gzip or deflate stream (and a gzip request body) is kept as the client read it: the
    key inside is redacted, the fixture is plain SSE, and the replay gives the same events."""
    plain = sse_with(key)
    body = packed(coding, plain)
    half = len(body) // 2
    server.add(
        ScriptedResponse(
            headers=(("content-type", "text/event-stream"), ("content-encoding", coding)),
            chunks=(Chunk(body[:half]), Chunk(body[half:])),
        )
    )
    request = gzip.compress(json.dumps({"input": f"my key is {key}", "stream": True}).encode())
    record(server, tmp_path, content=request, headers={"content-encoding": "gzip"})

    assert 2 == len(assert_nowhere(key, tmp_path))  # the cassette and the fixture, no leftover
    interaction = Cassette.load(tmp_path / "c.yaml").interactions[0]
    assert interaction.response is not None
    assert plain.replace(key.encode(), b"<redacted>") == interaction.response.body
    assert None is interaction.response.header("content-encoding")
    assert "content-encoding" not in dict(interaction.request.headers)
    assert b'"input": "my key is <redacted>"' in interaction.request.body
    assert interaction.response.body == (tmp_path / "fixtures" / "c.sse").read_bytes()
    assert sum(chunk.size for chunk in interaction.chunks) == len(interaction.response.body)
    replay = ReplayTransport(Cassette.load(tmp_path / "c.yaml"), match_body=False)
    with httpx.Client(transport=replay) as client:
        assert interaction.response.body == client.post("http://x/v1/responses").content


@pytest.mark.parametrize(
    ("coding", "body"),
    [("gzip", b"\x1f\x8b not really gzip"), ("br", b"\xffnot brotli"), ("compress", b"LZW")],
)
def test_a_body_harness_cannot_decode_is_not_recorded(
    coding: str, body: bytes, key: str, server: ScriptedServer, tmp_path: Path
) -> None:
    """A corrupt body, or one in a coding harness has no decoder for, cannot be checked for
    secrets: nothing is written."""
    server.add(
        ScriptedResponse(
            headers=(("content-type", "text/event-stream"), ("content-encoding", coding)),
            chunks=(Chunk(body),),
        )
    )
    with pytest.raises(CassetteError, match="cannot be checked for secrets") as caught:
        record(server, tmp_path)
    assert "c.yaml" in str(caught.value)
    assert [] == sorted(tmp_path.rglob("*.*"))


def test_escaped_and_encoded_keys_are_redacted(
    key: str, server: ScriptedServer, tmp_path: Path
) -> None:
    """A key written with JSON escapes in a body, or percent-encoded in the URL's path and
    query, is redacted like the plain one."""
    escaped = key.replace("-", "\\u002d").replace("p", "\\u0070")
    body = SSE_HEAD + f'data: {{"type":"x","delta":"{escaped}"}}\n\n'.encode() + SSE_TAIL
    server.add(ScriptedResponse(chunks=(Chunk(body),)))
    everything = "".join(f"%{byte:02X}" for byte in key.encode())
    transport = RecordingTransport(httpx.HTTPTransport(), tmp_path / "c.yaml")
    with httpx.Client(transport=transport) as client:
        client.post(
            f"{server.base_url}/files/{everything}?q={quote(key)}",
            content=json.dumps({"note": key}, ensure_ascii=False).replace("-", "\\u002d"),
        )
    assert_nowhere(key, tmp_path)
    text = (tmp_path / "c.yaml").read_text()
    assert 4 == text.count("<redacted>")


def test_a_key_in_a_binary_body_is_refused_not_hidden_in_base64(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """A body that is not UTF-8 is written as base64, which a byte scan cannot read: the
    scanner decodes it, so an unknown key there is refused as it is in a text body."""
    other = f"sk-live-{secrets.token_hex(20)}"
    server.add(ScriptedResponse(chunks=(Chunk(b"\xff" + sse_with(other)),)))
    with pytest.raises(SecretLeakError, match="key-shaped token in a binary body"):
        record(server, tmp_path)
    assert [] == sorted(tmp_path.rglob("*.*"))  # neither the cassette nor the fixture


def test_basic_credentials_are_redacted_in_every_form(
    key: str, server: ScriptedServer, tmp_path: Path
) -> None:
    """``https://user:KEY@host``: the server echoing the Basic token, or the decoded pair."""
    token = base64.b64encode(f"user:{key}".encode()).decode()
    echo = f"data: token {token} pair user:{key}\n\n".encode()
    server.add(ScriptedResponse(headers=(("x-echo", token),), chunks=(Chunk(echo),)))
    url = httpx.URL(server.base_url).copy_with(username="user", password=key)
    transport = RecordingTransport(httpx.HTTPTransport(), tmp_path / "c.yaml", secrets=())
    with httpx.Client(transport=transport) as client:
        client.post(f"{url}/responses")
    assert_nowhere(key, tmp_path)
    assert token not in (tmp_path / "c.yaml").read_text()


@pytest.mark.parametrize(
    "param",
    [
        "X-Amz-Security-Token",
        "X-Goog-Signature",
        "accessToken",
        "client-secret",
        "session_token",
        "auth_token",
        "private_token",
    ],
)
def test_credential_query_parameters_are_redacted_by_their_name(param: str) -> None:
    """A parameter named like a credential is redacted, in the query (``&`` or ``;``), in the
    fragment, and in a Location header; ordinary parameters are kept."""
    redactor = Redactor(secrets=set())
    value = f"v{secrets.token_hex(10)}"
    url = redactor.url(f"https://h/cb?model=gpt-5&limit=10;{param}={value}#{param}={value}")
    assert "model=gpt-5&limit=10;" in url
    assert value not in url
    headers = redactor.headers([("Location", f"https://h/next?{param}={value}")])
    assert value not in str(headers)


def test_the_reason_phrase_is_redacted(key: str) -> None:
    """A status line that echoes the key (``401 Invalid key sk-...``) does not stop the
    recording: the reason phrase is redacted like any other text."""
    request = RecordedRequest("POST", "http://h/v1/responses", (), b"{}")
    response = RecordedResponse(401, f"Invalid key {key}", (), b"no")
    data = Cassette((Interaction(request, response, (Timing(1.0, 2),)),)).dumps()
    assert key.encode() not in data
    loaded = Cassette.loads(data).interactions[0].response
    assert loaded is not None
    assert "Invalid key <redacted>" == loaded.reason


def test_ordinary_words_are_not_key_shaped() -> None:
    """The scanner refuses keys, not prose: no finding in words that contain "sk-" or
    "bearer", while real-looking keys and bearer tokens are found."""
    prose = b'<li class="task-list-item-checkbox"> risk-assessment-framework uses bearer auth'
    assert [] == scan(prose)
    assert ["key-shaped token"] * 3 == [
        finding.kind
        for finding in scan(
            b"sk-proj-abcdefghijklmnop0123 Bearer eyJhbGciOi.J9x Authorization: bearer abc123def"
        )
    ]


def test_overlapping_secrets_and_a_body_cut_inside_a_secret() -> None:
    """Two known secrets that overlap are replaced as one span; a body that ends inside a
    secret (the stream broke there) has the part it holds replaced."""
    first, second = "orgCANARYaaaa1111bbbb2222", "bbbb2222cccc3333"
    redactor = Redactor(secrets={first, second})
    out, _ = redactor.body(f"x{first}cccc3333y".encode())
    assert b"x<redacted>y" == out
    cut, _ = redactor.body(f"data: {first[:-5]}".encode(), cut_short=True)
    assert b"data: <redacted>" == cut


def test_only_a_body_cut_short_loses_a_secret_s_first_part() -> None:
    """A complete body, a header or a message that happens to end like the start of a secret
    ("Project keys start with sk-proj-") is left as it is."""
    redactor = Redactor(secrets={f"sk-proj-{secrets.token_hex(16)}"})
    text = b"Project keys start with sk-proj-"
    assert text == redactor.body(text)[0]
    assert "100% sk-proj-" == redactor.text("100% sk-proj-")
    assert b"Project keys start with <redacted>" == redactor.body(text, cut_short=True)[0]


@pytest.mark.parametrize("before", [b"\\n", b"\\t", b"%20", b"%3D", b"\\u00e9", b" "])
def test_a_key_right_after_an_escape_is_key_shaped(before: bytes) -> None:
    """A model repeating a key after a line break writes "\\nsk-...": still a key."""
    key = f"sk-proj-{secrets.token_hex(12)}".encode()
    assert ["key-shaped token"] == [finding.kind for finding in scan(b'"a' + before + key)]


@pytest.mark.parametrize(
    "name",
    [
        "author",
        "authority",
        "max_tokens",
        "max_output_tokens",
        "tokenizer",
        "sessions",
        "monkey",
        "sort_key",
        "primary_key",
    ],
)
def test_ordinary_parameters_are_kept(name: str) -> None:
    """Only whole name segments make a credential: these are data, and stay."""
    redactor = Redactor(secrets=set())
    assert f"https://h/v?{name}=Shakespeare1234" == redactor.url(
        f"https://h/v?{name}=Shakespeare1234"
    )
    assert set() == redactor.secrets


def test_link_and_refresh_headers_keep_their_syntax() -> None:
    """Only the URLs inside Link and Refresh are redacted; their brackets and parameters stay."""
    redactor = Redactor(secrets=set())
    headers = redactor.headers(
        [
            ("Link", '<https://h/items?page_token=abcdef123456>; rel="next"'),
            ("Refresh", "5; url=https://h/next?access_token=abcdef123456"),
        ]
    )
    assert [
        ("link", '<https://h/items?page_token=<redacted>>; rel="next"'),
        ("refresh", "5; url=https://h/next?access_token=<redacted>"),
    ] == headers
    assert {"abcdef123456"} == redactor.secrets


def test_a_key_split_across_deltas_is_masked_in_collapsed_snapshots(key: str) -> None:
    """Snapshots collapse text deltas: the key is masked in the joined text, not only in the
    halves (which hold no key on their own)."""
    half = len(key) // 2
    events = [
        {"type": "response.output_text.delta", "item_id": "m", "delta": f"key {key[:half]}"},
        {"type": "response.output_text.delta", "item_id": "m", "delta": f"{key[half:]}."},
    ]
    collapsed = json.dumps(normalize(events, collapse_deltas=True))
    assert key not in collapsed
    assert "<redacted>" in collapsed


def test_a_refused_cassette_leaves_no_fixture_beside_it(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """The cassette is checked before any fixture is written."""
    server.add(ScriptedResponse(chunks=(Chunk(sse_with(f"sk-live-{secrets.token_hex(20)}")),)))
    with pytest.raises(SecretLeakError):
        record(server, tmp_path)
    assert [] == sorted(tmp_path.rglob("*.*"))


def test_harness_proxy_reports_a_refused_cassette(server: ScriptedServer, tmp_path: Path) -> None:
    """When the proxy cannot write its cassette, it says so and the CLI exits non-zero; it
    never reports "wrote" for a file that is not there."""
    server.add(ScriptedResponse(chunks=(Chunk(sse_with(f"sk-live-{secrets.token_hex(20)}")),)))
    proxy = RecordingProxy(server.base_url.rsplit("/v1", 1)[0], tmp_path / "c.yaml")
    with proxy:
        httpx.post(f"{proxy.base_url}/responses", content=b"{}")
    assert isinstance(proxy.save_error, SecretLeakError)
    assert not (tmp_path / "c.yaml").exists()
