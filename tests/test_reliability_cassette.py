"""Property tests: the cassette loader on truncated, damaged and hand-edited files.

Our format ends with a checksum of every byte above it, so the property is sharp: a truncated
or changed file raises :class:`~harness.CassetteError` naming the file, or (when the change
left the bytes as they were) loads equal to the intact file. Never a partial load.

vcrpy's format has no checksum, so the property has to be weaker, and it is this: a truncated
vcrpy cassette raises a ``CassetteError`` naming the file, or loads interactions that are a
prefix of the intact file's, each equal to its original except possibly the last one (the one
the cut went through). A damaged one raises ``CassetteError`` or loads; no other exception.
What that leaves open (a cut that loads short) is counted below and in docs/reliability.md.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import (
    Cassette,
    CassetteError,
    Chunk,
    Completed,
    Interaction,
    ModelClient,
    Outcome,
    Prompt,
    RecordedRequest,
    RecordedResponse,
    RecordingTransport,
    Redactor,
    TransportFailure,
)
from tests.conftest import CORPUS

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PATH = Path("cassettes") / "under test.yaml"
MAGIC = b"# harness cassette"  # how the loader tells ours from vcrpy's: see the xfail below
VCRPY_FILES = sorted((CORPUS / "cassettes").glob("*.yaml"))
VCRPY = {path.name: path.read_bytes() for path in VCRPY_FILES}
SSE = (Path(__file__).parents[1] / "fixtures" / "function_call.sse").read_bytes()
EVENTS = [block + b"\n\n" for block in SSE.split(b"\n\n") if block]

# -- cassettes of every shape ---------------------------------------------------------------------

texts = st.text(max_size=16)
header_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
headers = st.lists(st.tuples(header_names, texts), max_size=3).map(tuple)
sse_text = st.lists(
    st.sampled_from(
        (
            'data: {"type":"response.output_text.delta","delta":"h\\u00e9 \\"q\\""}\n\n',
            "event: response.created\n",
            ": keep-alive\n\n",
            "data: [DONE]\n\n",
            "\r\n",
            "\u2028 \x00 \ufeff",
        )
    ),
    max_size=6,
).map(lambda parts: "".join(parts).encode())
bodies = st.one_of(st.binary(max_size=200), sse_text, texts.map(str.encode))
request_bodies = st.one_of(
    bodies, st.dictionaries(texts, texts, max_size=3).map(lambda d: repr(d).encode())
)
times = st.one_of(st.none(), st.floats(0, 10**6, allow_nan=False))
failures = st.builds(TransportFailure, st.sampled_from(("ReadError", "ConnectError")), texts)
requests = st.builds(
    RecordedRequest,
    st.sampled_from(("POST", "GET")),
    st.builds("http://127.0.0.1:8000/v1/{}".format, texts),
    headers,
    request_bodies,
)


@st.composite
def interactions(draw: st.DrawFn) -> Interaction:
    request = draw(requests)
    if draw(st.integers(0, 5)) == 0:  # no response at all: a refused connection
        return Interaction(request, None, outcome=Outcome.FAILED, error=draw(failures))
    body = draw(bodies)
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    chunks = tuple(Chunk(draw(st.floats(0, 10**5)), size) for size in sizes if body)
    response = RecordedResponse(draw(st.integers(100, 599)), draw(texts), draw(headers), body)
    return Interaction(
        request,
        response,
        chunks,
        draw(st.sampled_from(Outcome)),
        draw(times),
        draw(st.one_of(st.none(), failures)),
        draw(times),
    )


cassettes = st.lists(interactions(), max_size=4).map(lambda items: Cassette(tuple(items)))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A cassette the recorder wrote: a refused connection, a 429, then a whole stream."""
    answers: list[Callable[[httpx.Request], httpx.Response]] = [
        lambda request: httpx.Response(429, json={"error": {"message": "slow down"}}),
        lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=iter(EVENTS)
        ),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        if len(answers) == 2 and not handler.refused:  # type: ignore[attr-defined]
            handler.refused = True  # type: ignore[attr-defined]
            raise httpx.ConnectError("connection refused", request=request)
        return answers.pop(0)(request)

    handler.refused = False  # type: ignore[attr-defined]
    path = tmp_path_factory.mktemp("recorded") / "session.yaml"
    transport = RecordingTransport(httpx.MockTransport(handler), path, secrets=())
    with ModelClient(
        "o4-mini",
        base_url="http://127.0.0.1:9/v1",
        api_key="sk-test",
        transport=transport,
        sleep=lambda _: None,
    ) as client:
        assert isinstance(list(client.stream(Prompt.text("hi")))[-1], Completed)
    assert 3 == len(Cassette.load(path).interactions)
    return path.read_bytes()


def dumps(cassette: Cassette) -> bytes:
    return cassette.dumps(Redactor(secrets=set()))


def seal(body: bytes) -> bytes:
    """``body`` with a valid checksum line, as ``Cassette.rehash`` writes it."""
    return body + f"# sha256: {hashlib.sha256(body).hexdigest()}\n".encode()


def load_or_error(data: bytes) -> Cassette | None:
    """The cassette ``data`` loads as, or None for a CassetteError naming the file (in its
    ``path`` and at the start of its message). Any other exception fails the test."""
    error: CassetteError | None = None
    try:
        return Cassette.loads(data, PATH)
    except CassetteError as exc:
        error = exc
    assert str(PATH) == error.path
    assert str(error).startswith(str(PATH))
    return None


def refused_or_equal(data: bytes, intact: Cassette) -> bool:
    """True if ``data`` loads equal to ``intact``; False if it is refused, naming the file.

    Anything else (a different load, another exception) fails the test.
    """
    loaded = load_or_error(data)
    if loaded is None:
        return False
    assert intact.interactions == loaded.interactions
    return True


# -- mutations ------------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` changed the ways files get damaged, after the first line's magic (see below)."""
    start = len(MAGIC)
    at = draw(st.integers(start, len(data)))
    kind = draw(
        st.sampled_from(("flip", "insert", "delete", "duplicate", "crlf", "append", "overwrite"))
    )
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            where = draw(st.integers(start, len(data) - 1))
            out[where] ^= draw(st.integers(1, 255))
        return bytes(out)
    if kind == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    if kind == "delete":
        return data[:at] + data[at + draw(st.integers(1, 64)) :]
    if kind == "duplicate":  # a block written twice (a retried write, a bad merge)
        end = draw(st.integers(at, len(data)))
        return data[:end] + data[at:end] + data[end:]
    if kind == "crlf":  # a checkout that converted line ends
        return data[:start] + data[start:].replace(b"\n", b"\r\n")
    if kind == "append":
        return data + draw(st.binary(min_size=1, max_size=40))
    end = min(at + draw(st.integers(1, 32)), len(data))  # zeroed or garbage sectors
    return data[:at] + draw(st.sampled_from((b"\0", b"\xff", b" "))) * (end - at) + data[end:]


# -- our format -----------------------------------------------------------------------------------


@SETTINGS
@given(cassettes)
def test_every_cassette_round_trips_and_writes_back_byte_for_byte(cassette: Cassette) -> None:
    """Any cassette loads back from its bytes, and writing what was loaded gives those bytes."""
    data = dumps(cassette)
    assert data == dumps(Cassette.loads(data, PATH))


@SETTINGS
@given(cassettes, st.data())
def test_a_truncated_cassette_is_always_refused_naming_the_file(
    cassette: Cassette, data: st.DataObject
) -> None:
    """Cut at any byte short of the end, a cassette is refused with a CassetteError naming it."""
    intact = dumps(cassette)
    cut = data.draw(st.integers(0, len(intact) - 1), label="cut")
    with pytest.raises(CassetteError) as caught:
        Cassette.loads(intact[:cut], PATH)
    assert str(PATH) == caught.value.path


@SETTINGS
@given(cassettes, st.data())
def test_a_damaged_cassette_is_refused_or_loads_whole(
    cassette: Cassette, data: st.DataObject
) -> None:
    """Flipped, inserted, deleted, duplicated or zeroed bytes, converted line ends or trailing
    junk: the file is refused naming it, or (the bytes unchanged) loads equal to the intact one."""
    intact = dumps(cassette)
    damaged = data.draw(mutated(intact), label="damaged")
    assert (damaged == intact) == refused_or_equal(damaged, Cassette.loads(intact, PATH))


@SETTINGS
@given(cassettes, st.data())
def test_a_hand_edited_and_resealed_cassette_is_refused_cleanly_or_loads(
    cassette: Cassette, data: st.DataObject
) -> None:
    """After a deliberate edit and a new checksum (what rehash writes), the loader still raises
    nothing but a CassetteError naming the file."""
    intact = dumps(cassette)
    body = intact[: intact.rfind(b"# sha256: ")]
    edited = data.draw(mutated(body), label="edited")
    load_or_error(seal(edited if edited.endswith(b"\n") else edited + b"\n"))


def test_every_cut_of_a_recorded_cassette_is_refused(recorded: bytes) -> None:
    """Every cut of a real recording (a refused connection, a 429, a stream), one by one: each
    one refused naming the file."""
    assert 0 == sum(refused_or_equal(recorded[:cut], Cassette()) for cut in range(len(recorded)))


# -- vcrpy's format (no checksum) -----------------------------------------------------------------


def is_prefix_cut_in_the_last(loaded: Cassette, intact: Cassette) -> bool:
    """Every loaded interaction is the intact file's at its index, the last possibly cut."""
    got, want = loaded.interactions, intact.interactions
    return len(got) <= len(want) and got[:-1] == want[: len(got) - 1]


@SETTINGS
@given(st.sampled_from(sorted(VCRPY)), st.data())
def test_a_truncated_vcrpy_cassette_never_loads_other_interactions(
    name: str, data: st.DataObject
) -> None:
    """A vcrpy cassette cut anywhere is refused naming the file, or loads a prefix of its
    interactions in which only the last (the one the cut went through) may differ."""
    intact = VCRPY[name]
    cut = data.draw(st.integers(0, len(intact)), label="cut")
    loaded = load_or_error(intact[:cut])
    assert loaded is None or is_prefix_cut_in_the_last(loaded, Cassette.loads(intact))


@SETTINGS
@given(st.sampled_from(sorted(VCRPY)), st.data())
def test_a_damaged_vcrpy_cassette_is_refused_cleanly_or_loads(
    name: str, data: st.DataObject
) -> None:
    """Any damage to a vcrpy cassette gives a CassetteError naming the file, or a load; no other
    exception escapes (it has no checksum, so a load may hold the damage)."""
    damaged = data.draw(mutated(VCRPY[name]), label="damaged")
    load_or_error(damaged)


@pytest.fixture(scope="module")
def vcrpy_cuts() -> dict[str, list[str]]:
    """Per corpus cassette, what each cut (every byte offset short of the end) loads as:
    ``refused``, ``whole``, or ``short`` (a prefix, the last interaction possibly cut)."""
    outcomes: dict[str, list[str]] = {}
    for name, intact in VCRPY.items():
        whole = Cassette.loads(intact)
        outcomes[name] = []
        for cut in range(len(intact)):
            loaded = load_or_error(intact[:cut])
            if loaded is None:
                outcomes[name].append("refused")
            elif loaded.interactions == whole.interactions:
                outcomes[name].append("whole")
            else:
                assert is_prefix_cut_in_the_last(loaded, whole), cut
                outcomes[name].append("short")
    return outcomes


def test_truncations_of_the_vcrpy_corpus_are_counted(vcrpy_cuts: dict[str, list[str]]) -> None:
    """Every cut of every corpus cassette is refused or loads whole (a cut inside the trailing
    'version: 1' that leaves it readable); the counts are those in docs/reliability.md."""
    counts = Counter(outcome for outcomes in vcrpy_cuts.values() for outcome in outcomes)
    assert sum(len(data) for data in VCRPY.values()) == sum(counts.values())
    assert {"refused": 35_940, "whole": 8} == dict(counts)


# -- found by these tests: reproductions, to drop the mark when fixed -----------------------------


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[:2] + b"H" + data[3:], id="flipped-magic"),
        pytest.param(lambda data: b"\xef\xbb\xbf" + data, id="bom"),
        pytest.param(
            lambda data: (data[:2] + b"H" + data[3:])[: data.rfind(b"- request:")],
            id="flipped-magic-and-truncated",
        ),
    ],
)
def test_a_damaged_first_line_is_refused_not_read_as_vcrpy(
    recorded: bytes, damage: Callable[[bytes], bytes]
) -> None:
    """A harness cassette damaged in its first line is refused like any other damage."""
    assert load_or_error(damage(recorded)) is None


def test_no_truncation_of_a_vcrpy_cassette_loads_short(vcrpy_cuts: dict[str, list[str]]) -> None:
    """Every cut of a corpus cassette that vcrpy wrote is refused, or loads it whole."""
    assert {} == {
        name: outcomes.count("short")
        for name, outcomes in vcrpy_cuts.items()
        if "short" in outcomes
    }


# -- found by these tests and fixed since: regression tests ----------------------------------------


def test_an_infinite_status_code_is_a_cassette_error() -> None:
    """A vcrpy cassette whose status code is .inf is refused with a CassetteError."""
    data = VCRPY["pydanticai__responses_stream_request_http_400.yaml"].replace(
        b"code: 400", b"code: .inf"
    )
    with pytest.raises(CassetteError):
        Cassette.loads(data, PATH)


@pytest.mark.parametrize("text", ["C:\\temp\\new", "\\u0041", "ends with \\"])
def test_a_backslash_survives_the_round_trip(text: str) -> None:
    """Backslashes in a URI, a header value and an error message come back unchanged."""
    interaction = Interaction(
        RecordedRequest("POST", f"http://127.0.0.1/v1/{text}", (("x-path", text),)),
        None,
        outcome=Outcome.FAILED,
        error=TransportFailure("ConnectError", text),
    )
    cassette = Cassette((interaction,))
    assert cassette.interactions == Cassette.loads(dumps(cassette), PATH).interactions


def test_a_stream_with_a_line_separator_and_an_escape_records_a_loadable_cassette(
    tmp_path: Path,
) -> None:
    """A recorded delta holding U+2028 and an escaped quote loads back byte for byte."""
    body = 'data: {"type":"response.output_text.delta","delta":"say \\"hi\\"\u2028"}\n\n'.encode()
    handler = lambda request: httpx.Response(  # noqa: E731
        200, headers={"content-type": "text/event-stream"}, content=iter([body])
    )
    path = tmp_path / "c.yaml"
    with httpx.Client(transport=RecordingTransport(httpx.MockTransport(handler), path)) as client:
        assert body == client.post("http://127.0.0.1/v1/responses", json={}).content
    interaction = Cassette.load(path).interactions[0]
    assert interaction.response is not None
    assert body == interaction.response.body


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"code": 200', b'"code": 1e400'),
        (b'harness: {"format": 2', b'harness: {"format": 2, "x": ' + b"[" * 10**5 + b"]" * 10**5),
    ],
    ids=["status-1e400", "nested-100000"],
)
def test_a_resealed_edit_is_a_cassette_error(recorded: bytes, old: bytes, new: bytes) -> None:
    """An edit with a valid checksum that the loader cannot use is a CassetteError."""
    body = recorded[: recorded.rfind(b"# sha256: ")]
    assert old in body
    with pytest.raises(CassetteError):
        Cassette.loads(seal(body.replace(old, new, 1)), PATH)
