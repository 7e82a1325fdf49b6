"""Bad input a prober found getting past the command line's one-line errors: tracebacks, files
misread, a device node replaced. Each gets one line naming the file and a non-zero exit now.

Cassettes here are our own format with a deliberate edit and their checksum made right again
(``sealed``), so what is refused is the value, not the damage.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from pathlib import Path

import pytest

from harness import Cassette
from tests.conftest import CORPUS
from tests.test_cli import VCRPY, one_line_error, run

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "cassettes" / "demo.yaml"


def sealed(data: bytes, old: bytes, new: bytes) -> bytes:
    """``data`` with one edit and its checksum line made right (as Cassette.rehash does)."""
    assert old in data, old
    body = data[: data.rfind(b"# sha256: ")].replace(old, new, 1)
    return body + f"# sha256: {hashlib.sha256(body).hexdigest()}\n".encode()


def test_input_nested_too_deeply_is_one_line(tmp_path: Path) -> None:
    """100,000 nested arrays in an event: RecursionError inside json, one line naming the file."""
    deep = tmp_path / "deep.sse"
    deep.write_text("data: " + "[" * 100_000 + "\n\n")
    for command in ("validate", "inspect"):
        one_line_error(run(command, deep), 2, "deep.sse", "nested too deeply")
    # Valid JSON 500 levels deep: json reads it, the comparison must not crash on it.
    a, b = tmp_path / "a.sse", tmp_path / "b.sse"
    for path, last in ((a, 1), (b, 2)):
        value = "[" * 500 + str(last) + "]" * 500
        path.write_text(f'data: {{"type": "response.output_text.delta", "v": {value}}}\n\n')
    one_line_error(run("diff", a, b), 2, "a.sse", "nested too deeply")


def test_a_lone_surrogate_in_an_event_prints(tmp_path: Path) -> None:
    """JSON may escape a lone surrogate; printing it must not crash the command."""
    path = tmp_path / "surrogate.sse"
    event = {"type": "response.output_text.delta", "delta": "\ud800"}
    path.write_text(f"data: {json.dumps(event)}\n\n")
    result = run("replay", "--json", path)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b'"head_ms": ', b'"head_ms": "x", "was": ', "head_ms 'x' is not a time"),
        (b'"x-request-id": ["req_demo_429"]', b'"x-request-id": [5]', "not text"),
        (b'"code": 200', b'"code": 1000', "not an HTTP status"),
        (b'uri: "http://127.0.0.1:', b'uri: "http://[::1', "is not a URL"),
        (b'method: "POST"', b'method: "\\ud800"', "is not an HTTP method"),
    ],
    ids=["head_ms", "header-value", "status", "uri", "method"],
)
def test_a_value_a_replay_cannot_send_is_refused_at_load(
    old: bytes, new: bytes, message: str, tmp_path: Path
) -> None:
    """A checksum-valid cassette holding a value that is no time, no header, no status, no URL
    or no method is refused when it is read, by every command, naming the file."""
    path = tmp_path / "edited.yaml"
    path.write_bytes(sealed(DEMO.read_bytes(), old, new))
    for command in ("inspect", "replay"):
        one_line_error(run(command, path), 2, "edited.yaml", message)


@pytest.mark.parametrize("timing", ["inf", "nan", "1e300"])
def test_a_timing_no_replay_can_wait_out_is_refused(timing: str) -> None:
    result = run("replay", "--timing", timing, DEMO)
    assert 2 == result.exit_code
    assert "unknown timing" in result.output.strip().splitlines()[-1]


def test_serve_on_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_line_error(run("serve", "--port", port, DEMO), 2, "could not listen")


def test_proxy_with_an_upstream_that_is_no_url_is_one_line(tmp_path: Path) -> None:
    result = run("proxy", "--upstream", "http://[::1", "--record", tmp_path / "p.yaml")
    one_line_error(result, 2, "upstream is not a URL")


def test_a_snapshot_with_a_5000_digit_format_number_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.events"
    path.write_text("# harness events, format " + "9" * 5000 + "\n")
    one_line_error(run("diff", path, path), 2, "big.events", "is not supported")


def test_a_prompt_file_with_items_that_are_not_objects_is_refused(tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.json"
    prompt.write_text('{"input": [1, 2, 3]}')
    result = run("record", "--prompt-file", prompt, "-o", tmp_path / "c.yaml")
    one_line_error(result, 2, "prompt.json", "must be a JSON object")


def test_our_cassette_without_its_comment_lines_is_still_ours(tmp_path: Path) -> None:
    """Read by our reader, checksum and all: a truncated copy is refused, not half-read by the
    vcrpy loader."""
    data = DEMO.read_bytes()
    bare = sealed(data[data.index(b"harness: {") :], b"version: 1\n", b"version: 1\n")
    path = tmp_path / "bare.yaml"
    path.write_bytes(bare)
    assert Cassette.load(DEMO).interactions == Cassette.load(path).interactions
    path.write_bytes(bare[: len(bare) // 2])
    one_line_error(run("inspect", path), 2, "bare.yaml", "checksum")


def test_validate_searches_folders_for_cassettes_and_fixtures_only(tmp_path: Path) -> None:
    """A package.json in a folder is not a request payload; a .json named on its own is."""
    (tmp_path / "package.json").write_text('{"name": "x", "scripts": {}}')
    (tmp_path / "demo.yaml").write_bytes(DEMO.read_bytes())
    result = run("validate", tmp_path)
    assert 0 == result.exit_code, result.output
    assert "1 file(s)" in result.output
    assert 0 != run("validate", tmp_path / "package.json").exit_code


def test_import_never_replaces_something_that_is_not_a_file(tmp_path: Path) -> None:
    """-o naming a FIFO (or /dev/null, as root) is refused and left as it was: renaming the
    written file over it would replace the node with a regular file."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    one_line_error(run("import", VCRPY, "-o", fifo), 2, str(fifo), "not a regular file")
    assert fifo.is_fifo()


def test_replay_plays_what_the_client_sends_and_names_what_it_leaves(tmp_path: Path) -> None:
    """A cassette that resumed a stream with GET ...?starting_after=N (another client's
    request) replays its POST turn, then says which interaction was not replayed, exit 0."""
    resumed = CORPUS / "cassettes" / "pydanticai__responses_background_resume_starting_after.yaml"
    result = run("replay", resumed)
    assert 0 == result.exit_code, result.output
    assert "note: not replayed, as the client never sends them: #1 GET /v1/responses/" in (
        result.output
    )
    empty = tmp_path / "empty.yaml"
    Cassette(()).save(empty)
    one_line_error(run("replay", empty), 2, "empty.yaml", "no interactions to replay")


def test_validate_keeps_the_line_and_lists_the_waivers_it_counts(tmp_path: Path) -> None:
    """A refused cassette's finding names its line; --json lists every waiver it counted."""
    path = tmp_path / "edited.yaml"
    path.write_bytes(sealed(DEMO.read_bytes(), b'"code": 200', b'"code": 1000'))
    assert re.search(r"edited\.yaml: line \d+: ", run("validate", path).output)
    old = CORPUS / "sse" / "codex__CODEX_RS_SSE_FIXTURE_format_cli_responses_fixture.sse"
    report, _ = json.JSONDecoder().raw_decode(run("validate", "--json", old).output)
    assert report["waived"] == sum(waiver["count"] for waiver in report["waivers"]) > 0


@pytest.mark.parametrize("command", ["inspect", "validate", "scan", "replay", "diff"])
def test_a_fifo_is_refused_not_waited_on(command: str, tmp_path: Path) -> None:
    """Reading a FIFO would wait for a writer for ever: every command refuses it at once."""
    fifo = tmp_path / "pipe.sse"
    os.mkfifo(fifo)
    args = [fifo, fifo] if command == "diff" else [fifo]
    one_line_error(run(command, *args), 2, "pipe.sse", "not a regular file")


def test_a_file_with_nan_is_equal_to_itself(tmp_path: Path) -> None:
    """NaN is not equal to itself in Python; diffing a file against itself finds nothing."""
    path = tmp_path / "nan.sse"
    path.write_text('data: {"type": "response.created", "sequence_number": NaN}\n\n')
    result = run("diff", path, path)
    assert 0 == result.exit_code, result.output


def test_a_vcrpy_status_that_is_not_a_whole_number_is_refused(tmp_path: Path) -> None:
    """vcrpy writes status codes as integers; 200.9 is damage, not 200."""
    path = tmp_path / "v.yaml"
    path.write_text(VCRPY.read_text().replace("code: 200", "code: 200.9", 1), encoding="utf-8")
    one_line_error(run("import", path, "-o", tmp_path / "out.yaml"), 2, "v.yaml", "200.9")
    assert not (tmp_path / "out.yaml").exists()
