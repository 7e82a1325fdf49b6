"""Secrets: a canary planted in every place a secret can travel reaches no file harness writes.

The places: the ``Authorization`` header, ``api-key`` and ``x-api-key`` headers, a ``cookie``,
the query (``?api_key=``), the URL's userinfo, the request body, the streamed response body, an
error body (a 400 or 500 that echoes the key), ``set-cookie``, a response header that echoes it,
and a transport error's message. The writers: the recording transport (cassette and SSE
fixtures), ``harness record``, ``harness import`` of a vcrpy cassette, ``harness proxy``, the
pytest plugin in record mode, and the snapshot files its syrupy extension writes. After each
run, every byte of every file under the output folders is read and the canary must be in none.

Two canaries: one shaped like an OpenAI key (``sk-...``, which the scanner would also stop) and
one that is not (so only redaction keeps it out). And ``harness scan`` finds planted secrets,
known and key-shaped, in cassettes harness did not write.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner, Result

from harness import Cassette, RecordingTransport
from harness._serve import RecordingProxy
from harness._server import Chunk, ReceivedRequest, ScriptedResponse, ScriptedServer
from harness.cli import main

pytest_plugins = ["pytester"]

SSE = (Path(__file__).parents[1] / "fixtures" / "function_call.sse").read_bytes()
EVENTS = [block + b"\n\n" for block in SSE.split(b"\n\n") if block]


@pytest.fixture(params=["key-shaped", "plain"])
def canary(request: pytest.FixtureRequest) -> str:
    """A fresh secret: ``sk-canary-<hex>``, or ``canary<hex>``, which no scanner would spot."""
    token = secrets.token_hex(12)
    return f"sk-canary-{token}" if request.param == "key-shaped" else f"canary{token}"


def forms(canary: str) -> list[bytes]:
    """The canary as it may be written: raw, URL-quoted, and base64 in a Basic auth header."""
    basic = base64.b64encode(f"user:{canary}".encode())
    return [canary.encode(), quote(canary).encode(), basic]


def assert_nowhere(canary: str, *folders: Path) -> list[Path]:
    """No byte of any file under ``folders`` holds the canary (in any form); the files."""
    files = sorted(p for folder in folders for p in folder.rglob("*") if p.is_file())
    for path in files:
        data = path.read_bytes()
        for form in forms(canary):
            assert form not in data, f"{path} holds {form!r}"
    return files


def leaky(canary: str, *first: str) -> ScriptedServer:
    """A server that echoes the canary everywhere it can: a 500 (``fail=500`` in the query) or a
    400 (``fail=400``) whose error body holds it, else a stream with it in set-cookie, an echo
    header and the event data. ``first`` forces the answers to the first requests."""
    forced = list(first)
    error = {"error": {"message": f"Incorrect API key provided: {canary}", "type": "auth"}}
    streamed = (
        EVENTS[0]
        + f'data: {{"type":"response.output_text.delta","delta":"key {canary}"}}\n\n'.encode()
        + b"".join(EVENTS[1:])
    )

    def respond(request: ReceivedRequest) -> ScriptedResponse:
        kind = forced.pop(0) if forced else request.path
        if "fail=500" in kind:
            return ScriptedResponse.json(500, error, headers={"retry-after": "0"})
        if "fail=400" in kind:
            return ScriptedResponse.json(400, error)
        return ScriptedResponse(
            headers=(
                ("content-type", "text/event-stream"),
                ("set-cookie", f"session={canary}; Path=/; HttpOnly"),
                ("x-echo-key", canary),
            ),
            # In pieces of 7 bytes, so the canary straddles chunk boundaries.
            chunks=tuple(Chunk(streamed[i : i + 7]) for i in range(0, len(streamed), 7)),
        )

    return ScriptedServer(responder=respond)


@pytest.fixture
def server(canary: str) -> Iterator[ScriptedServer]:
    with leaky(canary) as running:
        yield running


def with_userinfo(base_url: str, canary: str) -> str:
    return base_url.replace("http://", f"http://user:{canary}@", 1)


# -- the recording transport, with fixtures --------------------------------------------------------


def test_a_canary_in_every_place_is_in_no_file_the_recorder_writes(
    canary: str, server: ScriptedServer, tmp_path: Path
) -> None:
    """Headers, query, userinfo, request body, error bodies, set-cookie, an echoed header, the
    stream and a transport error: the cassette and the fixture hold none of it."""
    out = tmp_path / "out"

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url} with key {canary}", request=request)

    transport = RecordingTransport(
        httpx.HTTPTransport(), out / "c.yaml", fixtures=out / "fixtures", secrets=()
    )
    headers = {
        "authorization": f"Bearer {canary}",
        "api-key": canary,
        "x-api-key": canary,
        "cookie": f"session={canary}",
    }
    body = {"input": f"my key is {canary}", "stream": True}
    with httpx.Client(transport=transport, headers=headers) as client:
        base = f"{server.base_url}/responses?api_key={canary}"
        assert 500 == client.post(f"{base}&fail=500", json=body).status_code
        assert 400 == client.post(f"{base}&fail=400", json=body).status_code
        streamed = client.post(with_userinfo(base, canary), json=body)
        assert canary.encode() in streamed.content  # the caller gets the real bytes
    failing = RecordingTransport(httpx.MockTransport(refused), out / "refused.yaml")
    with httpx.Client(transport=failing) as client, pytest.raises(httpx.ConnectError):
        client.post(with_userinfo(base, canary), headers=headers)  # its message names the key
    assert 3 == len(server.requests)
    files = assert_nowhere(canary, out)
    assert [out / "c.yaml", out / "fixtures" / "c.sse", out / "refused.yaml"] == files
    assert 3 == len(Cassette.load(out / "c.yaml").interactions)


# -- the command line ------------------------------------------------------------------------------


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args], env=env)


def test_harness_record_writes_no_canary(canary: str, tmp_path: Path) -> None:
    """harness record with the key in OPENAI_API_KEY and the URL, a 500 echoing it, then a
    stream echoing it: the cassette and the fixtures hold none of it."""
    out = tmp_path / "out"
    with leaky(canary, "fail=500") as server:  # the first request gets the 500, retried at once
        result = run(
            "record",
            f"my key is {canary}",
            "-o",
            out / "c.yaml",
            "--fixture",
            out / "fixtures",
            "--base-url",
            with_userinfo(server.base_url, canary),
            env={"OPENAI_API_KEY": canary},
        )
        assert 0 == result.exit_code, result.output
        assert 2 == len(server.requests)
    files = assert_nowhere(canary, out)
    assert [out / "c.yaml", out / "fixtures" / "c.sse"] == files
    assert 2 == len(Cassette.load(out / "c.yaml").interactions)


VCRPY_LEAKY = """\
interactions:
- request:
    body: '{{"input": "my key is {key}", "model": "gpt-4o", "stream": true}}'
    headers:
      authorization:
      - Bearer {key}
      api-key:
      - {key}
      cookie:
      - session={key}
      content-type:
      - application/json
    method: POST
    uri: https://user:{key}@api.openai.com/v1/responses?api_key={key}
  response:
    body:
      string: '{{"error": {{"message": "Incorrect API key provided: {key}"}}}}'
    headers:
      content-type:
      - application/json
      set-cookie:
      - session={key}; Path=/
      x-echo-key:
      - {key}
    status:
      code: 401
      message: Unauthorized
- request:
    body: '{{"input": "again {key}"}}'
    headers:
      authorization:
      - Bearer {key}
    method: POST
    uri: https://api.openai.com/v1/responses
  response:
    body:
      string: "data: {{\\"type\\":\\"response.output_text.delta\\",\\"delta\\":\\"{key}\\"}}\\n\\n"
    headers:
      content-type:
      - text/event-stream
    status:
      code: 200
      message: OK
version: 1
"""


def test_harness_import_writes_no_canary(canary: str, tmp_path: Path) -> None:
    """Importing a vcrpy cassette that holds the key in headers, URL, bodies and set-cookie
    writes a harness cassette without it (OPENAI_API_KEY unset: learned from the headers)."""
    foreign = tmp_path / "foreign.yaml"
    foreign.write_text(VCRPY_LEAKY.format(key=canary))
    out = tmp_path / "out"
    result = run("import", foreign, "-o", out / "c.yaml", env={"OPENAI_API_KEY": ""})
    assert 0 == result.exit_code, result.output
    assert [out / "c.yaml"] == assert_nowhere(canary, out)
    assert 2 == len(Cassette.load(out / "c.yaml").interactions)


def test_harness_proxy_writes_no_canary(
    canary: str, server: ScriptedServer, tmp_path: Path
) -> None:
    """Recording through the proxy: the cassette and fixture it writes on stop hold no canary."""
    out = tmp_path / "out"
    upstream = server.base_url.removesuffix("/v1")
    proxy = RecordingProxy(upstream, out / "c.yaml", fixtures=out / "fixtures", secrets=())
    with proxy, httpx.Client(headers={"authorization": f"Bearer {canary}"}) as client:
        base = f"{proxy.base_url}/responses?api_key={canary}"
        assert 400 == client.post(f"{base}&fail=400", json={"input": canary}).status_code
        assert canary.encode() in client.post(base, json={"input": canary}).content
    assert [out / "c.yaml", out / "fixtures" / "c.sse"] == assert_nowhere(canary, out)


# -- the pytest plugin and its snapshots -----------------------------------------------------------

SNAPSHOT_TEST = """
import pytest
from harness import Completed, Prompt

@pytest.mark.harness
def test_turn(model_client, harness_snapshot):
    events = list(model_client.stream(Prompt.text("what is my key?")))
    assert isinstance(events[-1], Completed)
    assert harness_snapshot == events
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Inner sessions with our plugin and syrupy only (see tests/test_pytest_plugin.py)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("CI", raising=False)
    pytester.makeini("[pytest]\naddopts = -p syrupy -p harness.pytest_plugin -p no:cacheprovider\n")
    pytester.makepyfile(test_turn=SNAPSHOT_TEST)
    return pytester


def record_with_snapshot(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, canary: str, server: ScriptedServer
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    result = inner.runpytest_subprocess("--record-mode=all", "--snapshot-update", timeout=60)
    result.assert_outcomes(passed=1)


def test_the_pytest_plugin_records_no_canary(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, canary: str, server: ScriptedServer
) -> None:
    """--record-mode=all with the key in OPENAI_API_KEY and echoed in the stream: the cassette
    the plugin writes holds none of it."""
    record_with_snapshot(inner, monkeypatch, canary, server)
    assert [inner.path / "cassettes" / "test_turn" / "test_turn.yaml"] == assert_nowhere(
        canary, inner.path / "cassettes"
    )


def test_snapshots_written_while_recording_hold_no_canary(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, canary: str, server: ScriptedServer
) -> None:
    """The snapshot written with --snapshot-update during a recording holds no canary."""
    record_with_snapshot(inner, monkeypatch, canary, server)
    assert [inner.path / "__snapshots__" / "test_turn" / "test_turn.events"] == assert_nowhere(
        canary, inner.path / "__snapshots__"
    )


# -- harness scan on cassettes harness did not write ----------------------------------------------


def test_harness_scan_finds_planted_secrets_in_foreign_cassettes(tmp_path: Path) -> None:
    """Known secrets (--secret, HARNESS_SECRETS, OPENAI_API_KEY) and key-shaped tokens planted
    in a vcrpy YAML, a vcrpy JSON and an SSE fixture, in nested folders, are each reported with
    file, line and column, masked; exit 1."""
    known, from_env, api_key = "org-plainsecret42", "tenant-hiddenvalue7", "proj-apikey-9876543"
    key_shaped = "sk-proj-" + "a1B2" * 8
    yaml_file = tmp_path / "vcr" / "nested" / "leaky.yaml"
    yaml_file.parent.mkdir(parents=True)
    yaml_file.write_text(
        VCRPY_LEAKY.format(key=key_shaped).replace("api-key:", f"x-org: {known}\n      api-key:")
    )
    json_file = tmp_path / "vcr" / "leaky.json"
    json_file.write_text(
        json.dumps(
            {
                "interactions": [
                    {
                        "request": {"headers": {"x-tenant": [from_env]}, "uri": "u"},
                        "response": {"body": {"string": f"token {api_key}"}},
                    }
                ],
                "version": 1,
            },
            indent=2,
        )
    )
    sse_file = tmp_path / "fixtures" / "leaky.sse"
    sse_file.parent.mkdir()
    sse_file.write_text(f'data: {{"type":"x","auth":"Bearer {key_shaped[3:]}"}}\n\n')
    clean = tmp_path / "fixtures" / "clean.sse"
    clean.write_bytes(SSE)
    result = run(
        "scan",
        "--secret",
        known,
        tmp_path,
        env={"HARNESS_SECRETS": from_env, "OPENAI_API_KEY": api_key},
    )
    assert 1 == result.exit_code, result.output
    findings = [line for line in result.output.splitlines() if not line.startswith("harness:")]
    assert {str(yaml_file), str(json_file), str(sse_file)} == {
        line.split(":", 1)[0] for line in findings
    }
    assert any(f"{json_file}:" in line and "known secret" in line for line in findings)
    assert any(f"{sse_file}:1:" in line and "key-shaped token" in line for line in findings)
    assert sum(str(yaml_file) in line and "known secret" in line for line in findings) >= 1
    # key-shaped: in the body, both headers, userinfo, query, error body, set-cookie, echo...
    assert sum(str(yaml_file) in line and "key-shaped" in line for line in findings) >= 8
    for secret in (known, from_env, api_key, key_shaped):
        assert secret not in result.output  # masked
    assert f"harness: {len(findings)} secret(s) found" == result.output.splitlines()[-1]
