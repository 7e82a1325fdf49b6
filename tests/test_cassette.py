"""The cassette format: exact round trips, vcrpy compatibility, readable diffs, refusal of
damaged files."""

from __future__ import annotations

import dataclasses
import hashlib
import random
from pathlib import Path

import httpx
import pytest
import vcr
import yaml

from harness import (
    Cassette,
    CassetteError,
    Chunk,
    Interaction,
    Outcome,
    RecordedRequest,
    RecordedResponse,
    Redactor,
    TransportFailure,
)
from tests.conftest import CORPUS

SSE = (CORPUS / "sse" / "pydanticai__responses_function_call_args_deltas.sse").read_bytes()
REQUEST = RecordedRequest(
    "POST",
    "http://127.0.0.1:8000/v1/responses",
    (("content-type", "application/json"), ("accept", "text/event-stream")),
    b'{"stream":true,"model":"gpt-4o","input":"hi"}',
)


def streamed(body: bytes = SSE, sizes: tuple[int, ...] = (700, 1300)) -> Interaction:
    sizes = (*sizes, len(body) - sum(sizes))
    chunks = tuple(Chunk(10.0 + 5 * n, size) for n, size in enumerate(sizes))
    response = RecordedResponse(
        200, "OK", (("content-type", "text/event-stream"), ("x-request-id", "req_1")), body
    )
    return Interaction(REQUEST, response, chunks, Outcome.COMPLETE, head_ms=9.5)


def dumps(cassette: Cassette) -> bytes:
    return cassette.dumps(Redactor(secrets=set()))


def test_round_trip_keeps_bodies_chunks_outcomes_and_failures() -> None:
    """Everything recorded comes back from the file unchanged (request body as canonical JSON)."""
    failed = Interaction(
        REQUEST,
        RecordedResponse(200, "OK", (), b"data: {}\n\ndata: {"),
        (Chunk(3.25, 9), Chunk(4.5, 8)),
        Outcome.FAILED,
        1.0,
        TransportFailure("RemoteProtocolError", "peer closed connection"),
    )
    refused = Interaction(
        REQUEST, None, outcome=Outcome.FAILED, error=TransportFailure("ConnectError", "refused")
    )
    closed = Interaction(
        REQUEST, RecordedResponse(200, "OK", (), b"data: 1\n\n"), (Chunk(2.0, 9),), Outcome.CLOSED
    )
    original = Cassette((refused, streamed(), failed, closed))
    loaded = Cassette.loads(dumps(original))
    canonical = b'{\n  "input": "hi",\n  "model": "gpt-4o",\n  "stream": true\n}'
    expected = tuple(
        Interaction(
            RecordedRequest(
                i.request.method, i.request.uri, tuple(sorted(i.request.headers)), canonical
            ),
            None
            if i.response is None
            else RecordedResponse(
                i.response.status,
                i.response.reason,
                tuple(sorted(i.response.headers)),
                i.response.body,
            ),
            i.chunks,
            i.outcome,
            i.head_ms,
            i.error,
        )
        for i in original.interactions
    )
    assert expected == loaded.interactions


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\n",
        b"\n\nleading blank lines\n",
        b"  leading spaces\n\tand a tab\n\n",
        b"no trailing newline",
        b"one trailing newline\n",
        b"three\n\n\n",
        b"trailing spaces   \n   \n",
        b"crlf\r\nline\r\n\r\n",
        b'crlf json\r\ndata: {"a":"q\\"x \\\\ y"}\r\n\r\n',  # quoted style with backslashes
        b"lone cr\rhere\n\n",
        "unicode é € 😀 \u2028 line sep\n\n".encode(),
        b"\xef\xbb\xbfbom first\n\n",
        b"\x00\x01 control\n\n",
        b"\xff\xfe not utf-8\n\n",
        b"# looks like a comment\n---\n...\n- list: item\n\n",
        b'"quoted": [1, 2]\n  harness:\n    chunks: [\n      ]\n',
    ],
    ids=repr,
)
def test_awkward_bodies_survive_byte_for_byte_in_ours_and_in_yaml(body: bytes) -> None:
    """Any body round-trips exactly, and a YAML parser reads the very same bytes from the file."""
    interaction = (
        streamed(body, sizes=())
        if body
        else Interaction(REQUEST, RecordedResponse(200, "OK", (), b""), (), Outcome.COMPLETE)
    )
    data = dumps(Cassette((interaction,)))
    assert body == Cassette.loads(data).interactions[0].response.body  # type: ignore[union-attr]
    parsed = yaml.load(data, Loader=yaml.CSafeLoader)
    string = parsed["interactions"][0]["response"]["body"]["string"]
    assert body == (string if isinstance(string, bytes) else string.encode())


def test_random_bodies_round_trip_through_ours_and_yaml() -> None:
    """Random bytes biased towards line breaks, spaces and multi-byte text round-trip exactly."""
    rng = random.Random(1234)
    alphabet = [b"\n", b" ", b"\r", b"\t", b"a", b"data: ", b"{}", "é".encode(), b":", b"#", b"-"]
    for _ in range(300):
        body = b"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        data = dumps(Cassette((streamed(body, sizes=()),)))
        assert body == Cassette.loads(data).interactions[0].response.body  # type: ignore[union-attr]
        string = yaml.load(data, Loader=yaml.CSafeLoader)["interactions"][0]["response"]["body"][
            "string"
        ]
        assert body == (string if isinstance(string, bytes) else string.encode()), body


def test_every_event_json_is_one_line_of_the_file() -> None:
    """Each SSE data line of the body is one line of the file, so a diff shows whole events."""
    text = dumps(Cassette((streamed(),))).decode()
    data_lines = [line for line in SSE.decode().splitlines() if line.startswith("data: ")]
    assert 11 == len(data_lines)
    for line in data_lines:
        assert f"\n        {line}\n" in text


def test_timing_lives_apart_from_the_event_lines() -> None:
    """Re-recording the same bytes with other timing changes only the harness: lines."""
    first = dumps(Cassette((streamed(),))).decode().splitlines()
    other = streamed()
    other = Interaction(
        other.request,
        other.response,
        tuple(Chunk(c.offset_ms + 3.5, c.size) for c in other.chunks),
        other.outcome,
        42.0,
    )
    second = dumps(Cassette((other,))).decode().splitlines()
    changed = [n for n, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
    harness_line = first.index("  harness:")
    assert all(n > harness_line for n in changed)
    assert 3 == len(changed)  # outcome, chunk line, checksum


def test_the_request_body_is_canonical_json_with_sorted_keys() -> None:
    """The request body is written with sorted keys, one value per line."""
    text = dumps(Cassette((streamed(),))).decode()
    assert '    body: |2-\n      {\n        "input": "hi",\n        "model": "gpt-4o",\n' in text


def test_the_format_and_harness_version_are_at_the_top() -> None:
    """The file names its format and the harness version in its first lines."""
    import harness

    text = dumps(Cassette((streamed(),))).decode()
    assert f'harness: {{"format": 2, "version": "{harness.__version__}"}}' in text.splitlines()[:6]


def test_output_is_deterministic() -> None:
    """The same cassette gives the same bytes twice."""
    assert dumps(Cassette((streamed(),))) == dumps(Cassette((streamed(),)))


def test_volatile_headers_are_dropped_by_default_and_configurable() -> None:
    """date, set-cookie, x-stainless-*, user-agent, openai-processing-ms, cf-ray are left out."""
    volatile = (
        ("date", "Mon"),
        ("set-cookie", "a=b"),
        ("x-stainless-os", "Linux"),
        ("user-agent", "x"),
        ("openai-processing-ms", "12"),
        ("cf-ray", "r"),
    )
    interaction = Interaction(
        RecordedRequest("POST", "http://h/v1/responses", volatile, b""),
        RecordedResponse(200, "OK", (*volatile, ("content-type", "text/plain")), b"x"),
        (Chunk(1.0, 1),),
    )
    loaded = Cassette.loads(dumps(Cassette((interaction,)))).interactions[0]
    assert () == loaded.request.headers
    assert (("content-type", "text/plain"),) == loaded.response.headers  # type: ignore[union-attr]
    kept = Cassette((interaction,)).dumps(Redactor(secrets=set(), drop_headers=("date",)))
    assert b'"cf-ray": ["r"]' in kept


def test_a_truncated_cassette_is_refused_at_every_cut(tmp_path: Path) -> None:
    """Cut anywhere, the file is refused with a CassetteError naming it; never half-loaded."""
    data = dumps(Cassette((streamed(), streamed())))
    path = tmp_path / "cut.yaml"
    for cut in sorted({*range(0, len(data), 97), len(data) - 1, len(data) - 30}):
        path.write_bytes(data[:cut])
        with pytest.raises(CassetteError) as caught:
            Cassette.load(path)
        assert str(path) in str(caught.value)


def test_an_edited_cassette_is_refused_and_rehash_accepts_a_deliberate_edit(
    tmp_path: Path,
) -> None:
    """A changed byte fails the checksum; rehash() re-seals a file that still parses."""
    path = tmp_path / "edited.yaml"
    path.write_bytes(dumps(Cassette((streamed(),))).replace(b"get_capital", b"get_kapital"))
    with pytest.raises(CassetteError, match="checksum mismatch"):
        Cassette.load(path)
    Cassette.rehash(path)
    body = Cassette.load(path).interactions[0].response.body  # type: ignore[union-attr]
    assert b"get_kapital" in body


def test_a_missing_cassette_is_a_clear_error(tmp_path: Path) -> None:
    """A missing file gives a CassetteError naming it."""
    with pytest.raises(CassetteError, match=r"missing\.yaml: cannot read: No such file"):
        Cassette.load(tmp_path / "missing.yaml")


def test_a_future_format_is_refused(tmp_path: Path) -> None:
    """A cassette of another format version is refused with what to do."""
    path = tmp_path / "future.yaml"
    path.write_bytes(sealed(dumps(Cassette((streamed(),))), b'"format": 2', b'"format": 3'))
    with pytest.raises(CassetteError, match="format 3 is not supported"):
        Cassette.load(path)


def test_a_format_1_cassette_is_still_read() -> None:
    """Format 1 (arrival times in decimal ms) loads to the same chunks format 2 gives, and
    saving it again writes format 2."""
    data = dumps(Cassette((SMALL,)))
    old = sealed(data, b'"format": 2', b'"format": 1')
    old = sealed(old, b"[10000, 9], [15000, 9]", b"[10.0, 9], [15, 9]")
    assert Cassette.loads(data) == Cassette.loads(old)
    assert b'"format": 2' in dumps(Cassette.loads(old))


def test_a_format_1_file_written_by_harness_0_1_loads() -> None:
    """tests/data/format-1.yaml, the demo cassette as the previous writer wrote it, loads whole,
    its arrival times as written."""
    path = Path(__file__).parent / "data" / "format-1.yaml"
    cassette = Cassette.load(path)
    assert [429, 200, 200] == [i.response.status for i in cassette.interactions]  # type: ignore[union-attr]
    assert Chunk(3.068, 135) == cassette.interactions[0].chunks[0]
    assert b'"format": 1' in path.read_bytes()


def test_plain_vcrpy_replays_our_cassette_for_an_httpx_client(tmp_path: Path) -> None:
    """vcrpy (record_mode none) loads our cassette and gives a plain httpx client the same body."""
    path = tmp_path / "ours.yaml"
    Cassette((streamed(),)).save(path, redactor=Redactor(secrets=set()))
    with (
        vcr.use_cassette(str(path), record_mode="none"),
        httpx.Client() as client,
    ):
        response = client.post("http://127.0.0.1:8000/v1/responses", content=b"{}")
    assert 200 == response.status_code
    assert SSE == response.content
    assert "req_1" == response.headers["x-request-id"]


def test_vcrpy_cassettes_load_with_each_body_as_one_chunk() -> None:
    """Every corpus vcrpy cassette loads: bodies whole, one chunk each, outcomes complete."""
    for path in sorted((CORPUS / "cassettes").glob("*.yaml")):
        cassette = Cassette.load(path)
        assert cassette.interactions, path
        for interaction in cassette.interactions:
            assert interaction.response is not None
            assert Outcome.COMPLETE == interaction.outcome
            body = interaction.response.body
            assert ([len(body)] if body else []) == [chunk.size for chunk in interaction.chunks]


def test_a_corrupt_vcrpy_cassette_is_a_clear_error(tmp_path: Path) -> None:
    """YAML that is not a cassette gives a CassetteError naming the file."""
    path = tmp_path / "broken.yaml"
    path.write_text("interactions:\n- request: [unclosed\n")
    with pytest.raises(CassetteError, match=r"broken\.yaml: not a cassette"):
        Cassette.load(path)


def sealed(data: bytes, old: bytes, new: bytes) -> bytes:
    """``data`` with one edit, and the checksum line made right again (a deliberate edit)."""
    assert 1 == data.count(old), old
    body = data[: data.rfind(b"# sha256: ")].replace(old, new)
    return body + f"# sha256: {hashlib.sha256(body).hexdigest()}\n".encode()


SMALL = streamed(b"data: 1\n\ndata: 2\n\n", sizes=(9,))


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        # A body line indented less ends the block there, as YAML reads it.
        (b"        data: 2\n", b"      data: 2\n", 28, "expected 'harness:', found '  "),
        (b'["req_1"]', b'["req_1"', 23, "malformed value"),
        (b"version: 1\n", b"version: 10\n", 5, "expected 'version: 1'"),
        (b'method: "POST"', b'method: "POST", "GET"', 8, "malformed value"),
        (b"[15000, 9],\n", b"[15000, 9,\n", 33, "malformed value"),
        (b"[15000, 9]", b"[15000, 9.0]", 32, "a size is not a whole number"),
        (b"[15000, 9]", b"[15000.5, 9]", 32, "not a whole number of microseconds"),
        (b"[15000, 9]", b"[-15000, 9]", 32, "not a whole number of microseconds"),
        (b"[15000, 9]", b"[15000, 9, 1]", 32, r"not \[microseconds, size\] pairs"),
        (b"[15000, 9]", b"[015000, 9]", 33, "malformed value"),
        (b"[15000, 9]", b"[, 9]", 33, "malformed value"),
        (b"[15000, 9]", b"[15000, 8]", 32, "chunk sizes add up to 17 bytes, the body has 18"),
        (b"[15000, 9]", b"[10000000000000000000, 9]", 32, "microseconds"),
        (b"chunks: [\n      [10000, 9], [15000, 9],\n      ]", b"chunks: []", 32, "add up to 0"),
        (b'"kind": "complete"', b'"kind": "done"', 7, "malformed interaction"),
        (b"    body:\n      string:", b"    body:\n       string:", 25, "expected 'string:'"),
    ],
)
def test_a_malformed_cassette_is_refused_at_the_line_to_blame(
    old: bytes, new: bytes, line: int, message: str
) -> None:
    """A file whose checksum is right but whose layout is not is refused, naming the line."""
    data = sealed(dumps(Cassette((SMALL,))), old, new)
    with pytest.raises(CassetteError, match=message) as caught:
        Cassette.loads(data, "edited.yaml")
    assert line == caught.value.line
    assert "edited.yaml" in str(caught.value)


@pytest.mark.parametrize("ending", [b"", b"\n", b"\n\n\n"], ids=["strip", "clip", "keep"])
def test_large_bodies_round_trip_through_ours_and_yaml(ending: bytes) -> None:
    """Bodies longer than the pieces the reader de-indents in, with a line longer than a piece
    and runs of empty lines, come back byte for byte, as YAML reads them."""
    rng = random.Random(5)
    lines = [b"x" * rng.choice([0, 0, 1, 80, 700]) for _ in range(600)]
    lines[300] = b"y" * 40_000
    body = b"\n".join([b"data: start", *lines, b"data: end"]) + ending
    data = dumps(Cassette((streamed(body, sizes=(1000,)),)))
    loaded = Cassette.loads(data).interactions[0]
    assert body == loaded.response.body  # type: ignore[union-attr]
    assert (1000, len(body) - 1000) == tuple(chunk.size for chunk in loaded.chunks)
    parsed = yaml.load(data, Loader=yaml.CSafeLoader)
    assert body == parsed["interactions"][0]["response"]["body"]["string"].encode()


def test_loaded_chunks_are_ordinary_chunks() -> None:
    """Chunks the reader builds in bulk are equal, hash, print and refuse changes like any."""
    import dataclasses

    chunk = Cassette.loads(dumps(Cassette((SMALL,)))).interactions[0].chunks[1]
    assert Chunk(15.0, 9) == chunk
    assert hash(Chunk(15.0, 9)) == hash(chunk)
    assert "Chunk(offset_ms=15.0, size=9)" == repr(chunk)
    assert {"offset_ms": 15.0, "size": 9} == dataclasses.asdict(chunk)
    with pytest.raises(dataclasses.FrozenInstanceError):
        chunk.size = 10  # type: ignore[misc]


def test_loaded_chunk_lists_equal_hash_and_print_as_tuples() -> None:
    """A loaded interaction's chunks (made on first use) are equal to, hash as and print as the
    tuple of the same chunks, and so is the interaction holding them."""
    loaded = Cassette.loads(dumps(Cassette((SMALL,)))).interactions[0]
    assert SMALL.chunks == loaded.chunks
    assert loaded.chunks == SMALL.chunks
    assert hash(SMALL.chunks) == hash(loaded.chunks)
    assert repr(SMALL.chunks) == repr(loaded.chunks)
    assert (2, SMALL.chunks[1:]) == (len(loaded.chunks), loaded.chunks[1:])
    as_tuple = dataclasses.replace(loaded, chunks=tuple(loaded.chunks))
    assert as_tuple == loaded
    assert hash(as_tuple) == hash(loaded)


def test_microseconds_are_kept_whole() -> None:
    """Arrival times are written as whole microseconds and read back as the same ms value."""
    chunks = (Chunk(0.0, 1), Chunk(211.3, 1), Chunk(0.0004, 1), Chunk(86_400_000.001, 1))
    loaded = Cassette.loads(dumps(Cassette((streamed(b"abcd", sizes=(1, 1, 1)),)))).interactions[0]
    assert 4 == len(loaded.chunks)
    interaction = dataclasses.replace(loaded, chunks=chunks)
    again = Cassette.loads(dumps(Cassette((interaction,)))).interactions[0]
    assert [0.0, 211.3, 0.0, 86_400_000.001] == [chunk.offset_ms for chunk in again.chunks]
    assert b"[211300, 1], [0, 1], [86400000001, 1]" in dumps(Cassette((interaction,)))


def test_chunk_lines_laid_out_by_hand_load_the_same() -> None:
    """A chunk list in another layout (one pair per line, other spacing) is read pair by pair,
    to the same chunks."""
    data = dumps(Cassette((SMALL,)))
    edited = sealed(data, b"[10000, 9], [15000, 9],\n", b"[10000,9],\n        [ 15000 , 9 ]\n")
    assert Cassette.loads(data) == Cassette.loads(edited)


def test_a_binary_body_indented_more_than_yaml_allows_is_refused() -> None:
    """YAML takes a ``!!binary`` block's indentation from its first line: one indented more
    than the layout would end the block at the next line, so the file is refused."""
    data = dumps(Cassette((streamed(random.Random(3).randbytes(200) + b"\xff", sizes=()),)))
    first = data.split(b"string: !!binary |\n")[1].split(b"\n")[0]
    edited = sealed(data, first + b"\n", b" " + first + b"\n")
    with pytest.raises(CassetteError, match="expected base64"):
        Cassette.loads(edited)
    with pytest.raises(yaml.YAMLError):
        yaml.load(edited, Loader=yaml.CSafeLoader)


def test_many_interactions_keep_their_order_bodies_and_chunks() -> None:
    """Interactions read together (values in one pass, chunks in one go) stay apart."""
    interactions = []
    for n in range(1, 40):
        body = b"".join(b"data: %d\n\n" % i for i in range(n))
        sizes = tuple(len(b"data: %d\n\n" % i) for i in range(n))
        chunks = tuple(Chunk(float(i), size) for i, size in enumerate(sizes))
        response = RecordedResponse(200, "OK", (("x-request-id", f"req_{n}"),), body)
        interactions.append(Interaction(REQUEST, response, chunks, head_ms=float(n)))
    loaded = Cassette.loads(dumps(Cassette(tuple(interactions)))).interactions
    assert [i.response for i in interactions] == [i.response for i in loaded]
    assert [i.chunks for i in interactions] == [i.chunks for i in loaded]
    assert [i.head_ms for i in interactions] == [i.head_ms for i in loaded]


def test_backslashes_and_quotes_in_headers_and_uri_round_trip() -> None:
    """Header values and URIs with backslashes and quotes come back exactly, in ours and YAML."""
    request = RecordedRequest(
        "POST", 'http://h/v1/responses?q=a\\b"c', (("x-odd", 'C:\\path "quoted"'),), b""
    )
    interaction = Interaction(request, RecordedResponse(200, "OK", (), b"x"), (Chunk(1.0, 1),))
    data = dumps(Cassette((interaction,)))
    loaded = Cassette.loads(data).interactions[0].request
    assert (request.uri, request.headers) == (loaded.uri, loaded.headers)
    parsed = yaml.load(data, Loader=yaml.CSafeLoader)["interactions"][0]["request"]
    assert request.uri == parsed["uri"]
    assert ['C:\\path "quoted"'] == parsed["headers"]["x-odd"]
