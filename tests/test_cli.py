"""The command line: every command, and every kind of bad input, with CliRunner; serve and
proxy as real subprocesses."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from harness import Cassette, ModelClient, Prompt, RecordingTransport
from harness._server import Chunk, End, ScriptedResponse, ScriptedServer
from harness.cli import main
from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "function_call.sse"
SSE = FIXTURE.read_bytes()
EVENTS = [block + b"\n\n" for block in SSE.split(b"\n\n") if block]
VCRPY = CORPUS / "cassettes" / "pydanticai__responses_stream_function_call_roundtrip.yaml"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def one_line_error(result: Result, code: int, *fragments: str) -> None:
    assert code == result.exit_code, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("harness: "), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


@pytest.fixture
def cassette(server: ScriptedServer, tmp_path: Path) -> Path:
    """A cassette recorded from the scripted server: a 429, then the function-call stream."""
    server.add(
        ScriptedResponse.json(429, {"error": {"message": "slow"}}, headers={"retry-after": "0"}),
        ScriptedResponse(chunks=tuple(Chunk(event, 0.002) for event in EVENTS)),
    )
    path = tmp_path / "session.yaml"
    transport = RecordingTransport(httpx.HTTPTransport(), path)
    with ModelClient(
        "o4-mini",
        base_url=server.base_url,
        api_key="sk-test",
        transport=transport,
        sleep=lambda _: None,
    ) as client:
        list(client.stream(Prompt.text("What is the capital of France?")))
    return path


# -- replay ---------------------------------------------------------------------------------------


def test_replay_prints_one_readable_line_per_event() -> None:
    """`harness replay` streams the bundled fixture through the client, one line per event."""
    result = run("replay", FIXTURE)
    assert 0 == result.exit_code, result.output
    lines = result.output.splitlines()
    assert 11 == len(lines)
    assert lines[0].startswith("Created ")
    assert 'function_call get_capital({"country":"France"})' in lines[-2]
    assert lines[-1].endswith("tokens: 271 total")


def test_replay_json_prints_the_wire_json_of_each_event() -> None:
    """`--json` prints each event's wire JSON, one object per line."""
    result = run("replay", "--json", FIXTURE)
    assert 0 == result.exit_code, result.output
    types = [json.loads(line)["type"] for line in result.output.splitlines()]
    assert ["response.created", "response.completed"] == [types[0], types[-1]]


def test_replay_of_a_cassette_replays_its_retry(cassette: Path) -> None:
    """A cassette with a 429 then the stream replays through the client's own retry."""
    result = run("replay", cassette, "--chunking", "random:3")
    assert 0 == result.exit_code, result.output
    assert result.output.splitlines()[-1].startswith("Completed")


def test_replay_with_recorded_timing(cassette: Path) -> None:
    """--timing recorded plays the recorded gaps (a few ms here) and ends the same."""
    result = run("replay", "--timing", "recorded", cassette)
    assert 0 == result.exit_code, result.output


def test_replay_of_a_session_that_ended_in_an_error_exits_1() -> None:
    """The corpus 400 cassette replays to the server's message and exit code 1."""
    path = CORPUS / "cassettes" / "pydanticai__responses_stream_request_http_400.yaml"
    one_line_error(run("replay", path), 1, "the session ended in an error", "Invalid 'temperature'")


def test_replay_of_a_missing_file() -> None:
    """A missing file: one line naming it, exit 2."""
    one_line_error(run("replay", "no/such.sse"), 2, "no/such.sse", "No such file")


def test_replay_of_a_truncated_cassette(cassette: Path, tmp_path: Path) -> None:
    """A truncated cassette: one line naming it and the problem, exit 2, nothing played."""
    cut = tmp_path / "cut.yaml"
    cut.write_bytes(cassette.read_bytes()[:-100])
    result = run("replay", cut)
    one_line_error(result, 2, str(cut), "truncated or damaged")
    assert 1 == len(result.output.splitlines())


def test_replay_of_a_cassette_of_another_format(cassette: Path, tmp_path: Path) -> None:
    """A future format version: one line saying so, exit 2."""
    import hashlib

    data = cassette.read_bytes().replace(b'"format": 2', b'"format": 9')
    body = data[: data.rfind(b"# sha256: ")]
    other = tmp_path / "future.yaml"
    other.write_bytes(body + f"# sha256: {hashlib.sha256(body).hexdigest()}\n".encode())
    one_line_error(run("replay", other), 2, "format 9 is not supported")


def test_replay_of_a_truncated_fixture(tmp_path: Path) -> None:
    """A fixture cut before response.completed ends with the seed's error, exit 1."""
    cut = tmp_path / "cut.sse"
    cut.write_bytes(SSE[:2000])
    one_line_error(run("replay", cut), 1, "stream closed before response.completed")


@pytest.mark.parametrize(("flag", "value"), [("--timing", "fast"), ("--chunking", "lines")])
def test_replay_with_a_bad_option_value(flag: str, value: str) -> None:
    """An unknown timing or chunking: a usage error, exit 2."""
    result = run("replay", flag, value, FIXTURE)
    assert 2 == result.exit_code
    assert value in result.output
    assert "Traceback" not in result.output


# -- record ---------------------------------------------------------------------------------------


def test_record_shows_events_live_and_writes_cassette_and_fixture(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`harness record` streams through the client, prints events, writes both files, redacted."""
    server.add(ScriptedResponse(chunks=tuple(Chunk(e) for e in EVENTS)))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-record-0123456789abcdef")
    result = run(
        "record",
        "What is the capital?",
        "-o",
        tmp_path / "c.yaml",
        "--fixture",
        tmp_path / "fx",
        "--base-url",
        server.base_url,
    )
    assert 0 == result.exit_code, result.output
    assert "Completed" in result.output
    assert SSE == (tmp_path / "fx" / "c.sse").read_bytes()
    assert b"sk-record-0123456789abcdef" not in (tmp_path / "c.yaml").read_bytes()
    assert (
        "What is the capital?"
        == Cassette.load(tmp_path / "c.yaml")
        .interactions[0]
        .request.json()["input"][0]["content"][0]["text"]
    )


def test_record_from_a_prompt_file(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--prompt-file takes {input, instructions}."""
    server.add(ScriptedResponse(chunks=(Chunk(SSE),)))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    prompt = tmp_path / "turn.json"
    prompt.write_text(json.dumps({"input": "hi", "instructions": "Be brief."}))
    result = run(
        "record", "--prompt-file", prompt, "-o", tmp_path / "c.yaml", "--base-url", server.base_url
    )
    assert 0 == result.exit_code, result.output
    assert "Be brief." == server.requests[0].json()["instructions"]


def test_record_with_invalid_prompt_json(tmp_path: Path) -> None:
    """A prompt file that is not JSON: one line naming it, exit 2."""
    prompt = tmp_path / "turn.json"
    prompt.write_text("{not json")
    one_line_error(
        run("record", "--prompt-file", prompt, "-o", tmp_path / "c.yaml"),
        2,
        str(prompt),
        "not JSON",
    )


def test_record_without_a_key(tmp_path: Path) -> None:
    """No OPENAI_API_KEY: one line saying so, exit 2, nothing written."""
    one_line_error(run("record", "hi", "-o", tmp_path / "c.yaml"), 2, "no API key")
    assert not (tmp_path / "c.yaml").exists()


# -- diff -----------------------------------------------------------------------------------------


def test_diff_of_equal_recordings_exits_0(cassette: Path) -> None:
    """A cassette and the fixture of its stream compare equal after normalization."""
    result = run("diff", FIXTURE, FIXTURE)
    assert 0 == result.exit_code, result.output
    assert "match" in result.output


def test_diff_lists_changes_with_event_index_and_path(tmp_path: Path) -> None:
    """A changed delta is listed with its event index and JSON path; exit 1."""
    changed = tmp_path / "changed.sse"
    changed.write_bytes(SSE.replace(b'"delta":"France"', b'"delta":"Spain"'))
    result = run("diff", "--no-color", FIXTURE, changed)
    assert 1 == result.exit_code
    assert 'event 6 $.delta: "France" -> "Spain"' in result.output
    assert result.output.strip().splitlines()[-1].startswith("harness: 1 difference(s)")


def test_diff_of_a_missing_file() -> None:
    """A missing file: one line, exit 2."""
    one_line_error(run("diff", FIXTURE, "missing.sse"), 2, "missing.sse")


# -- inspect --------------------------------------------------------------------------------------


def test_inspect_shows_the_timeline(cassette: Path) -> None:
    """Interactions, status, chunk offsets and sizes, events per chunk, gaps and outcome."""
    result = run("inspect", cassette)
    assert 0 == result.exit_code, result.output
    lines = result.output.splitlines()
    assert f"{cassette}: cassette, 2 interaction(s)" == lines[0]
    assert "#0 POST /v1/responses -> 429 Too Many Requests" in lines[1]
    assert any("#1 POST /v1/responses -> 200 OK [text/event-stream]" in line for line in lines)
    assert any("response.created" in line and " B " in line for line in lines)
    assert "11 events" in lines[-1]
    assert "gaps median" in lines[-1]


def test_inspect_of_a_damaged_cassette(cassette: Path, tmp_path: Path) -> None:
    """A changed byte: one line naming the file and the checksum, exit 2."""
    damaged = tmp_path / "damaged.yaml"
    damaged.write_bytes(cassette.read_bytes().replace(b"France", b"Franca", 1))
    one_line_error(run("inspect", damaged), 2, str(damaged), "checksum mismatch")


# -- scan -----------------------------------------------------------------------------------------


def test_scan_finds_planted_secrets_in_foreign_cassettes(tmp_path: Path) -> None:
    """A vcrpy cassette with a key-shaped token and a known secret: both found, exit 1."""
    leaky = tmp_path / "leaky.yaml"
    leaky.write_text(
        VCRPY.read_text() + "# Authorization: Bearer sk-proj-abcdefghijklmnop1234\n"
        "# org: org-mysecretorg99\n"
    )
    result = run("scan", "--secret", "org-mysecretorg99", tmp_path)
    assert 1 == result.exit_code
    assert f"{leaky}:" in result.output
    assert "key-shaped token" in result.output
    assert "known secret" in result.output
    assert "sk-proj-abcdefghijklmnop1234" not in result.output  # masked


def test_scan_of_clean_files_exits_0() -> None:
    """The bundled fixtures and the corpus cassettes hold no secrets."""
    result = run("scan", ROOT / "fixtures", CORPUS / "cassettes")
    assert 0 == result.exit_code, result.output


def test_scan_of_a_missing_path() -> None:
    """A missing path: one line, exit 2."""
    one_line_error(run("scan", "nowhere"), 2, "nowhere")


# -- import ---------------------------------------------------------------------------------------


def test_import_converts_a_vcrpy_cassette(tmp_path: Path) -> None:
    """pydantic-ai's vcrpy variant converts to ours; the replay gives the same events."""
    target = tmp_path / "ours.yaml"
    result = run("import", VCRPY, "-o", target)
    assert 0 == result.exit_code, result.output
    assert 2 == len(Cassette.load(target).interactions)
    assert run("replay", "--json", VCRPY).output == run("replay", "--json", target).output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("interactions:\n- request: [unclosed\n", "not a cassette"),
        ("just: text\n", "no 'interactions'"),
    ],
)
def test_import_of_bad_input(tmp_path: Path, content: str, message: str) -> None:
    """Broken YAML or a YAML that is not a cassette: one line, exit 2."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    one_line_error(run("import", bad), 2, str(bad), message)


def test_import_refuses_our_own_format(cassette: Path) -> None:
    """Importing one of ours says so, exit 2."""
    one_line_error(run("import", cassette), 2, "already a harness cassette")


def test_import_rewrites_a_format_1_cassette_in_format_2(tmp_path: Path) -> None:
    """An older cassette of ours: validate says how to rewrite it (exit 1), import rewrites it
    in place, timing kept, and then it validates clean."""
    old = tmp_path / "old.yaml"
    old.write_bytes((Path(__file__).parent / "data" / "format-1.yaml").read_bytes())
    before = Cassette.load(old)
    finding = run("validate", old)
    assert 1 == finding.exit_code, finding.output
    assert f"harness import {old} -o {old}" in finding.output
    assert 0 == run("import", old, "-o", old).exit_code
    assert b'harness: {"format": 2' in old.read_bytes()
    assert [i.chunks for i in before.interactions] == [
        i.chunks for i in Cassette.load(old).interactions
    ]
    assert 0 == run("validate", old).exit_code


# -- serve and proxy (real processes) -------------------------------------------------------------


@contextmanager
def harness_process(*args: str) -> Iterator[str]:
    """Run `harness ARGS` as a real process; yield its announced URL; stop it with SIGINT."""
    with subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert " at http://127.0.0.1:" in line, line + (
                process.stderr.read() if process.stderr else ""
            )
            yield line.rsplit(" at ", 1)[1].split(",")[0].strip()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=10)


def test_serve_plays_a_cassette_to_the_openai_sdk_and_to_curl(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """harness serve: the SDK receives exactly the events it received when recording; curl gets
    a fixture's body byte for byte."""
    import openai

    from harness import recording_openai

    server.add(ScriptedResponse(chunks=tuple(Chunk(e, 0.002) for e in EVENTS)))
    path = tmp_path / "sdk.yaml"
    with recording_openai(path, api_key="sk-test", base_url=server.base_url) as client:
        recorded = [
            e.model_dump()
            for e in client.responses.create(model="gpt-4o", input="Paris?", stream=True)
        ]
    with (
        harness_process("serve", "--port", "0", str(path)) as url,
        openai.OpenAI(api_key="k", base_url=url, max_retries=0) as client,
    ):
        served = [
            e.model_dump()
            for e in client.responses.create(model="gpt-4o", input="Paris?", stream=True)
        ]
    assert recorded == served
    assert 11 == len(served)
    with harness_process("serve", "--port", "0", str(FIXTURE)) as url:
        curl = subprocess.run(
            ["curl", "-sS", "-N", "-X", "POST", f"{url}/responses", "-d", "{}"],
            capture_output=True,
            timeout=30,
        )
    assert SSE == curl.stdout


def test_serve_of_a_bad_file_is_one_line() -> None:
    """A missing file: one line, exit 2, before any port is opened."""
    one_line_error(run("serve", "missing.yaml"), 2, "missing.yaml")


def test_proxy_records_what_passes_through(server: ScriptedServer, tmp_path: Path) -> None:
    """harness proxy forwards chunk by chunk and writes the cassette on Ctrl-C, redacted; harness
    serve replays it to the same bytes."""
    server.add(ScriptedResponse(chunks=tuple(Chunk(e, 0.002) for e in EVENTS)))
    upstream = server.base_url.removesuffix("/v1")
    path = tmp_path / "proxied.yaml"
    with harness_process(
        "proxy", "--upstream", upstream, "--record", str(path), "--port", "0"
    ) as url:
        with ModelClient("o4-mini", base_url=url, api_key="sk-proxy-0123456789abcdef") as c:
            events = list(c.stream(Prompt.text("hi")))
        assert "Completed" == type(events[-1]).__name__
    [interaction] = Cassette.load(path).interactions
    assert SSE == interaction.response.body  # type: ignore[union-attr]
    assert b"sk-proxy-0123456789abcdef" not in path.read_bytes()
    # Chunk by chunk: every recorded chunk ends where the server ended a write (two writes
    # 2 ms apart may reach the proxy as one read on a busy machine: TCP may join them).
    written = set(itertools.accumulate(len(e) for e in EVENTS))
    recorded = list(itertools.accumulate(chunk.size for chunk in interaction.chunks))
    assert set(recorded) <= written
    # ... and `harness serve` plays it back to the same bytes, chunk by chunk.
    with harness_process("serve", "--port", "0", str(path)) as url:
        received = []
        with (
            httpx.Client() as client,
            client.stream("POST", f"{url}/responses", content=interaction.request.body) as answer,
        ):
            received.extend(answer.iter_raw())
    assert SSE == b"".join(received), b"".join(received)[:400]
    assert set(itertools.accumulate(len(piece) for piece in received)) <= set(recorded)


def test_proxy_with_a_bad_upstream_is_one_line(tmp_path: Path) -> None:
    """An upstream that is not an http(s) URL: one line, exit 2."""
    one_line_error(
        run("proxy", "--upstream", "ftp://x", "--record", tmp_path / "c.yaml"),
        2,
        "upstream must be an http(s) URL",
    )


# -- validate -------------------------------------------------------------------------------------


def test_validate_of_the_bundled_examples_is_clean() -> None:
    """The bundled cassette and fixtures validate without findings (exit 0)."""
    result = run("validate", ROOT / "cassettes", ROOT / "fixtures")
    assert 0 == result.exit_code, result.output
    assert "no findings" in result.output.splitlines()[-1]


def test_validate_reports_every_finding_and_exits_1(tmp_path: Path) -> None:
    """A fixture with a wrong-typed delta and a bad sequence: each finding with its place."""
    bad = tmp_path / "bad.sse"
    bad.write_bytes(
        (ROOT / "fixtures" / "demo-2.sse")
        .read_bytes()
        .replace(b'"delta":" folder"', b'"delta":7', 1)
        .replace(b'"sequence_number":5', b'"sequence_number":1', 1)
    )
    result = run("validate", bad)
    assert 1 == result.exit_code
    assert f"{bad}:event #4 (response.output_text.delta) $.delta: expected string" in result.output
    assert "sequence" in result.output
    assert result.output.strip().splitlines()[-1].startswith("harness: 1 file(s): ")


def test_validate_json_output_for_ci(tmp_path: Path) -> None:
    """--json prints the whole report as JSON."""
    bad = tmp_path / "payload.json"
    bad.write_text(json.dumps({"model": "o4-mini", "input": "hi", "instructons": "typo"}))
    result = run("validate", "--json", bad)
    assert 1 == result.exit_code
    report = json.loads(result.output.split("\nharness:")[0])
    assert [("$.instructons", "request")] == [(f["path"], f["subject"]) for f in report["findings"]]
    assert "probable typo of 'instructions'" in report["findings"][0]["expected"]


def test_validate_of_a_truncated_cassette_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A cassette that cannot be read: one line naming it and the problem, exit 2."""
    cut = tmp_path / "cut.yaml"
    cut.write_bytes((ROOT / "cassettes" / "demo.yaml").read_bytes()[:500])
    one_line_error(run("validate", cut), 2, str(cut), "truncated or damaged")


def test_validate_of_a_missing_path_is_exit_2() -> None:
    """A missing path: one line, exit 2."""
    one_line_error(run("validate", "nowhere.yaml"), 2, "nowhere.yaml")


# -- demo -----------------------------------------------------------------------------------------


def test_demo_records_validates_replays_and_compares(tmp_path: Path) -> None:
    """`harness demo` runs the loop and says where its files are."""
    result = run("demo", "--out", tmp_path)
    assert 0 == result.exit_code, result.output
    assert "no differences" in result.output
    assert "the same 27 events" in result.output
    assert {"demo.yaml", "demo.sse", "demo-2.sse"} == {p.name for p in tmp_path.iterdir()}
    assert b"sk-demo-not-a-real-key" not in (tmp_path / "demo.yaml").read_bytes()


def test_demo_in_a_clean_virtualenv(tmp_path: Path) -> None:
    """A fresh venv with `pip install .` runs `harness demo` from another folder (a subprocess)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert 0 == pip.returncode, pip.stderr[-2000:]
    demo = subprocess.run(
        [str(venv / "bin" / "harness"), "demo", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert 0 == demo.returncode, demo.stdout + demo.stderr
    assert "5. compared with the bundled snapshot demo.events: no differences" in demo.stdout


def test_record_stopped_by_sigterm_writes_what_it_recorded(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """SIGTERM (a timeout, a cancelled CI job) stops `harness record` as Ctrl-C does: the
    session so far is written, not lost."""
    server.add(ScriptedResponse(chunks=(Chunk(EVENTS[0]), Chunk(EVENTS[1])), end=End.STALL))
    path = tmp_path / "stopped.yaml"
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "record",
            "hi",
            "-o",
            str(path),
            "--base-url",
            server.base_url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "OPENAI_API_KEY": "sk-test-0123456789"},
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline()  # the first event has reached the client
        assert line.strip(), process.stderr.read() if process.stderr else ""
        process.send_signal(signal.SIGTERM)
        assert 0 != process.wait(timeout=10)
    [interaction] = Cassette.load(path).interactions
    assert interaction.response is not None
    assert interaction.response.body.startswith(EVENTS[0])


def test_serve_takes_the_cassettes_and_fixtures_of_a_folder_only(tmp_path: Path) -> None:
    """Given a folder, serve plays its recordings: its README is not a fixture answering every
    POST, its MANIFEST.json does not stop the server."""
    (tmp_path / "README.md").write_text("# not a recording\n")
    (tmp_path / "MANIFEST.json").write_text('{"files": []}')
    (tmp_path / "turn.sse").write_bytes(SSE)
    with harness_process("serve", "--port", "0", "--timing", "instant", str(tmp_path)) as url:
        answer = httpx.post(f"{url}/responses", content=b"{}")
    assert (200, SSE) == (answer.status_code, answer.content)
