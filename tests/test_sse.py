"""Specification of ``harness._sse.SSEDecoder``, the WHATWG ``text/event-stream`` decoder.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

Events are compared as ``(event, data, id, retry)`` tuples, expected value first.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from pathlib import Path

import httpx
import httpx_sse
import pytest

from harness._sse import ServerSentEvent, SSEDecoder, iter_sse_bytes

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus" / "sse"
CORPUS_FILES = sorted(CORPUS.glob("*.sse"))

BOM = b"\xef\xbb\xbf"

Event = tuple[str, str, str, int | None]


def tuples(events: Iterable[ServerSentEvent]) -> list[Event]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def decode(*chunks: bytes) -> list[Event]:
    """Feed ``chunks`` one by one into a fresh decoder, then close it."""
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    decoder.close()
    return tuples(events)


def data_of(*chunks: bytes) -> list[str]:
    return [data for _, data, _, _ in decode(*chunks)]


def msg(data: str, *, event: str = "message", id: str = "", retry: int | None = None) -> Event:
    return (event, data, id, retry)


def httpx_sse_decode(body: bytes, content_type: str = "text/event-stream") -> list[Event]:
    """What httpx-sse makes of ``body`` served as a whole response."""
    response = httpx.Response(200, headers={"content-type": content_type}, content=body)
    return tuples(httpx_sse.EventSource(response).iter_sse())


# --- UTF-8, always ----------------------------------------------------------------------------


def test_valid_utf8_is_decoded_as_utf8() -> None:
    """Bytes that are valid UTF-8 decode as UTF-8, whatever the script."""
    assert ["héllo € 😀 日本"] == data_of("data: héllo € 😀 日本\n\n".encode())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"\xff", "\ufffd"),
        (b"a\x80b", "a\ufffdb"),
        (b"\xc3(", "\ufffd("),
        (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),  # an encoded surrogate
        (b"\xc0\xaf", "\ufffd\ufffd"),  # an overlong "/"
        (b"\xf0\x9f\x98", "\ufffd"),  # a 4-byte character cut short by the line end
    ],
    ids=["ff", "lone-continuation", "bad-continuation", "surrogate", "overlong", "truncated"],
)
def test_invalid_utf8_becomes_replacement_character(raw: bytes, expected: str) -> None:
    """Invalid UTF-8 becomes U+FFFD (one per maximal invalid subpart), never an exception."""
    assert [expected] == data_of(b"data: " + raw + b"\n\n")


def test_every_lone_non_ascii_byte_becomes_one_replacement_character() -> None:
    """Each byte 0x80-0xFF alone on a data line decodes to exactly one U+FFFD."""
    body = b"".join(b"data: " + bytes([b]) + b"\n\n" for b in range(0x80, 0x100))
    assert ["\ufffd"] * 0x80 == data_of(body)


def test_invalid_utf8_cut_off_at_close_raises_nothing() -> None:
    """A body ending inside a multi-byte character closes without an exception."""
    assert ["a"] == data_of(b"data: a\n\ndata: \xe2\x82")


# --- Byte order mark --------------------------------------------------------------------------


def test_leading_bom_is_stripped() -> None:
    """One leading BOM is stripped, so the first field name is still recognised."""
    assert [msg("x")] == decode(BOM + b"data: x\n\n")


@pytest.mark.parametrize(
    "chunks",
    [
        (BOM[:1], BOM[1:] + b"data: x\n\n"),
        (BOM[:2], BOM[2:] + b"data: x\n\n"),
        (BOM[:1], BOM[1:2], BOM[2:], b"data: x\n\n"),
        (BOM, b"data: x\n\n"),
    ],
    ids=["1+2", "2+1", "1+1+1", "3+body"],
)
def test_leading_bom_split_across_chunks_is_stripped(chunks: tuple[bytes, ...]) -> None:
    """A leading BOM whose three bytes arrive in separate chunks is stripped all the same."""
    assert [msg("x")] == decode(*chunks)


def test_second_leading_bom_is_kept() -> None:
    """Only one BOM is stripped: a second one stays in the text and spoils the first field name."""
    # The first line reads "\ufeffdata: x", an unknown field, so the first block dispatches nothing.
    assert [msg("y")] == decode(BOM + BOM + b"data: x\n\ndata: y\n\n")


def test_bom_inside_a_value_is_kept() -> None:
    """A BOM that is not at the very start of the body is ordinary data."""
    assert ["\ufeffx"] == data_of(b"data: " + BOM + b"x\n\n")


def test_bom_at_start_of_a_later_line_is_kept() -> None:
    """A BOM at the start of a later line is not stripped, so that line's field is unknown."""
    assert ["a"] == data_of(b"data: a\n\n" + BOM + b"data: b\n\n")


def test_broken_bom_is_invalid_utf8() -> None:
    """Two bytes of a BOM followed by something else are invalid UTF-8, not a BOM."""
    # The first line reads "\ufffddata: x", an unknown field.
    assert ["y"] == data_of(b"\xef\xbbdata: x\n\ndata: y\n\n")


# --- Line ends --------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", ["\n", "\r", "\r\n"], ids=["LF", "CR", "CRLF"])
def test_each_line_end_is_recognised(eol: str) -> None:
    """LF, CR and CRLF each end a line, and two of them in a row dispatch."""
    body = f"data: a{eol}data: b{eol}{eol}event: e{eol}data: c{eol}{eol}".encode()
    assert [msg("a\nb"), msg("c", event="e")] == decode(body)


def test_mixed_line_ends() -> None:
    """LF, CR and CRLF may be mixed freely in one body."""
    body = b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\rdata: e\n\r"
    assert ["a\nb\nc", "d", "e"] == data_of(body)


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    """A CR ending one chunk and an LF starting the next make one line end, not a blank line."""
    assert ["a\nb"] == data_of(b"data: a\r", b"\ndata: b\r\n\r\n")


def test_crlf_split_with_lf_alone_in_next_chunk() -> None:
    """An LF alone in the chunk after a trailing CR completes that CRLF and adds no line."""
    assert ["a\nb"] == data_of(b"data: a\r", b"\n", b"data: b\n\n")


def test_crlf_split_by_an_empty_chunk() -> None:
    """An empty chunk between the CR and the LF of a CRLF changes nothing."""
    assert ["a\nb"] == data_of(b"data: a\r", b"", b"\ndata: b\n\n")


def test_lone_cr_at_end_of_chunk_then_a_field() -> None:
    """A CR ending a chunk is a line end on its own when the next chunk does not start with LF."""
    assert ["a\nb"] == data_of(b"data: a\r", b"data: b\r\r")


def test_lone_cr_at_end_of_chunk_then_cr() -> None:
    """A CR ending a chunk followed by a chunk starting with CR is a blank line: it dispatches."""
    assert ["a", "b"] == data_of(b"data: a\r", b"\rdata: b\n\n")


def test_lone_cr_completes_the_event_in_its_own_chunk() -> None:
    """An event ended by CR CR is returned by the feed of that chunk, without waiting for more."""
    decoder = SSEDecoder()
    assert [msg("a")] == tuples(decoder.feed(b"data: a\r\r"))


# --- Comments ---------------------------------------------------------------------------------


def test_comments_are_ignored() -> None:
    """Lines starting with a colon are comments and do not touch the event being built."""
    assert ["x\ny"] == data_of(b": first\ndata: x\n:\n: data: not data\ndata: y\n\n")


def test_keep_alive_only_body_gives_no_events() -> None:
    """A body of nothing but keep-alive comments and blank lines gives no events."""
    assert [] == decode(b": keep-alive\n\n" * 5 + b":\n\n\n")


# --- Field parsing ----------------------------------------------------------------------------


def test_field_without_colon_has_empty_value() -> None:
    """A line ``data`` without a colon appends an empty data line, which dispatches as ""."""
    assert [""] == data_of(b"data\n\n")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"data:x", "x"),
        (b"data: x", "x"),
        (b"data:  x", " x"),
        (b"data: ", ""),
        (b"data:", ""),
        (b"data:\tx", "\tx"),
        (b"data: x ", "x "),
    ],
)
def test_exactly_one_leading_space_is_stripped(line: bytes, expected: str) -> None:
    """Exactly one space after the colon is stripped; anything else in the value is kept."""
    assert [expected] == data_of(line + b"\n\n")


def test_value_may_contain_colons() -> None:
    """Only the first colon separates name and value; later colons belong to the value."""
    assert ['a: b:c {"k": 1}'] == data_of(b'data: a: b:c {"k": 1}\n\n')


def test_space_before_colon_makes_another_field_name() -> None:
    """``data :`` names the field "data ", which is unknown, so nothing is dispatched."""
    assert [] == decode(b"data : x\n\n")


def test_unknown_fields_are_ignored() -> None:
    """Unknown field names, including differently-cased known ones, are ignored."""
    assert ["x"] == data_of(b"foo: bar\nData: y\nDATA: z\ndata: x\nEvent: e\n\n")


def test_unknown_field_alone_dispatches_nothing() -> None:
    """A block with only unknown fields dispatches nothing."""
    assert [] == decode(b"foo: bar\n\n")


# --- data -------------------------------------------------------------------------------------


def test_data_lines_are_joined_with_lf() -> None:
    """Several data lines in one block are joined with a single LF."""
    assert ["a\nb\nc"] == data_of(b"data: a\ndata: b\ndata: c\n\n")


def test_trailing_empty_data_line_keeps_its_lf() -> None:
    """A trailing empty data line contributes a final LF: ``data: a`` then ``data`` is "a\\n"."""
    assert ["a\n"] == data_of(b"data: a\ndata\n\n")


def test_leading_empty_data_line_keeps_its_lf() -> None:
    """A leading empty data line contributes a leading LF."""
    assert ["\na"] == data_of(b"data\ndata: a\n\n")


def test_two_empty_data_lines_give_one_lf() -> None:
    """Two empty data lines give the data "\\n"."""
    assert ["\n"] == data_of(b"data\ndata:\n\n")


# --- event ------------------------------------------------------------------------------------


def test_default_event_type_is_message() -> None:
    """Without an ``event`` field the type is "message"."""
    assert [msg("x", event="message")] == decode(b"data: x\n\n")


def test_event_field_sets_the_type() -> None:
    """The ``event`` field sets the type of the event being built."""
    assert [msg("x", event="response.created")] == decode(b"event: response.created\ndata: x\n\n")


def test_last_event_field_wins() -> None:
    """When a block has several ``event`` fields, the last one counts."""
    assert [msg("x", event="b")] == decode(b"event: a\nevent: b\ndata: x\n\n")


def test_empty_event_field_means_message() -> None:
    """An empty ``event`` value gives the default type "message"."""
    assert [msg("x")] == decode(b"event\ndata: x\n\n")


def test_event_type_is_reset_after_dispatch() -> None:
    """The type applies to one event only; the next event is "message" again."""
    assert [msg("x", event="foo"), msg("y")] == decode(b"event: foo\ndata: x\n\ndata: y\n\n")


# --- id ---------------------------------------------------------------------------------------


def test_last_event_id_starts_empty() -> None:
    """A fresh decoder's last event id is ""."""
    assert "" == SSEDecoder().last_event_id


def test_id_sets_last_event_id_and_persists() -> None:
    """The ``id`` field sets the last event id, which later events keep until it changes."""
    decoder = SSEDecoder()
    events = tuples(decoder.feed(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\ndata: d\n\n"))
    assert [msg("a", id="1"), msg("b", id="1"), msg("c", id="2"), msg("d", id="2")] == events
    assert "2" == decoder.last_event_id


def test_id_without_data_still_sets_last_event_id() -> None:
    """An ``id`` in a block that dispatches nothing still sets the last event id."""
    decoder = SSEDecoder()
    assert [] == decoder.feed(b"id: 7\n\n")
    assert "7" == decoder.last_event_id
    assert [msg("x", id="7")] == tuples(decoder.feed(b"data: x\n\n"))


def test_id_containing_nul_is_ignored() -> None:
    """An ``id`` value containing NUL is ignored; the previous last event id stays."""
    decoder = SSEDecoder()
    events = tuples(decoder.feed(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"))
    assert [msg("a", id="1"), msg("b", id="1")] == events
    assert "1" == decoder.last_event_id


@pytest.mark.parametrize("line", [b"id", b"id:", b"id: "])
def test_empty_id_resets_last_event_id(line: bytes) -> None:
    """An ``id`` field with an empty value resets the last event id to ""."""
    decoder = SSEDecoder()
    events = tuples(decoder.feed(b"id: 1\ndata: a\n\n" + line + b"\ndata: b\n\n"))
    assert [msg("a", id="1"), msg("b", id="")] == events
    assert "" == decoder.last_event_id


# --- retry ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("5000", 5000), ("0", 0), ("007", 7)])
def test_retry_accepts_ascii_digits(value: str, expected: int) -> None:
    """A ``retry`` value of ASCII digits only is taken as an integer."""
    assert [msg("x", retry=expected)] == decode(f"retry: {value}\ndata: x\n\n".encode())


RETRY_NOT_DIGITS = {
    "plus": "+5",
    "minus": "-1",
    "underscore": "1_000",
    "space": " 5",  # "retry:  5": only one space is stripped
    "decimal": "5.0",
    "arabic-indic": "\u0661\u0662",
    "empty": "",
    "unit": "5ms",
    "hex": "0x10",
    "trailing-space": "5 ",
}


@pytest.mark.parametrize("value", RETRY_NOT_DIGITS.values(), ids=RETRY_NOT_DIGITS.keys())
def test_retry_rejects_anything_but_ascii_digits(value: str) -> None:
    """A ``retry`` value that is not ASCII digits only is ignored."""
    assert [msg("x")] == decode(f"retry: {value}\ndata: x\n\n".encode())


def test_retry_is_reported_on_its_own_event_only() -> None:
    """``retry`` is reported on the event of the block that carried it, not on later ones."""
    assert [msg("a", retry=10), msg("b")] == decode(b"retry: 10\ndata: a\n\ndata: b\n\n")


# --- Dispatch ---------------------------------------------------------------------------------


def test_empty_data_buffer_dispatches_nothing() -> None:
    """A block without any data line (``event: ping`` then a blank line) dispatches nothing."""
    assert [] == decode(b"event: ping\n\n")


def test_undispatched_event_type_does_not_leak() -> None:
    """The type of a block that dispatched nothing does not carry over to the next event."""
    assert [msg("x")] == decode(b"event: ping\n\ndata: x\n\n")


def test_undispatched_retry_does_not_leak() -> None:
    """The ``retry`` of a block that dispatched nothing does not carry over to the next event."""
    assert [msg("x")] == decode(b"retry: 5\n\ndata: x\n\n")


def test_extra_blank_lines_dispatch_nothing() -> None:
    """Blank lines beyond the one that ends an event dispatch nothing, even after an ``id``."""
    body = b"\n\nid: 1\ndata: a\n\n\n\ndata: b\n\n\n"
    assert [msg("a", id="1"), msg("b", id="1")] == decode(body)


def test_feed_returns_only_the_events_its_chunk_completed() -> None:
    """Each feed returns the events completed by its chunk, and no others."""
    decoder = SSEDecoder()
    assert [] == decoder.feed(b"data: a\n")
    assert [msg("a"), msg("b")] == tuples(decoder.feed(b"\ndata: b\n\ndata: c"))
    assert [msg("c\nd")] == tuples(decoder.feed(b"\ndata: d\n\n"))


# --- End of body ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    [b"data: b", b"data: b\n", b"data: b\r", b"data: b\r\n", b"event: e\ndata: b\n"],
    ids=["no-eol", "LF", "CR", "CRLF", "two-lines"],
)
def test_unterminated_trailing_event_is_dropped_at_close(tail: bytes) -> None:
    """An event not ended by a blank line when the body ends is dropped."""
    assert [msg("a")] == decode(b"data: a\n\n" + tail)


def test_iter_sse_bytes_drops_unterminated_trailing_event() -> None:
    """``iter_sse_bytes`` yields every completed event and drops an unterminated last one."""
    chunks = [b"data: a\n", b"\nevent: e\ndata: b\n\n", b"data: c\n"]
    assert [msg("a"), msg("b", event="e")] == tuples(iter_sse_bytes(chunks))


def test_close_discards_the_unterminated_event() -> None:
    """After close the dropped event's lines do not leak into input fed afterwards."""
    decoder = SSEDecoder()
    assert [] == decoder.feed(b"event: e\ndata: a\ndata: par")
    decoder.close()
    assert [msg("b")] == tuples(decoder.feed(b"data: b\n\n"))


# --- Chunking ---------------------------------------------------------------------------------


def _cut(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    """Split ``body`` at the sorted positions ``cuts`` (repeats give empty chunks)."""
    bounds = [0, *sorted(cuts), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize("char", ["é", "€", "😀"], ids=["2-byte", "3-byte", "4-byte"])
def test_multibyte_character_split_at_every_offset(char: str) -> None:
    """A 2, 3 or 4-byte character split at any set of its inner byte offsets decodes whole."""
    prefix = b"data: a"
    body = prefix + char.encode() + b"b\n\n"
    inner = range(len(prefix) + 1, len(prefix) + len(char.encode()))
    splits = [cuts for n in range(1, len(inner) + 1) for cuts in itertools.combinations(inner, n)]
    assert len(splits) == 2 ** len(inner) - 1
    for cuts in splits:
        assert [f"a{char}b"] == data_of(*_cut(body, cuts)), cuts


@pytest.mark.parametrize("char", ["é", "€", "😀"], ids=["2-byte", "3-byte", "4-byte"])
def test_multibyte_character_in_field_name_position_split(char: str) -> None:
    """A multi-byte character split at the start of a line (before ``data``) decodes whole."""
    body = b"data: a\n" + char.encode() + b": unknown\ndata: b\n\n"
    for cut in range(len(body) + 1):
        assert ["a\nb"] == data_of(body[:cut], body[cut:]), cut


def test_five_megabyte_line_in_one_kilobyte_chunks() -> None:
    """There is no line-length limit: a 5 MB data line fed in 1 KB chunks decodes whole."""
    # "€" makes many 1 KB boundaries fall inside a character. The decoder keeps the unterminated
    # line as a list of pieces joined once, so this takes about 0.05 s. Beware: a decoder that
    # re-joins the line on every chunk (quadratic) still takes only about 0.7 s at this size.
    payload = ("abc€" * (5 * 1024 * 1024 // 6)).encode()
    body = b"data: " + payload + b"\n\n"
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for start in range(0, len(body), 1024):
        events.extend(decoder.feed(body[start : start + 1024]))
    decoder.close()
    assert 1 == len(events)
    assert payload.decode() == events[0].data


# --- The key property: chunking never changes the result -------------------------------------

SYNTHETIC_BODIES: dict[str, bytes] = {
    "bom-crlf": BOM + b"event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n",
    "cr-only": b"id: 1\rdata: x\rdata: y\r\r: c\r\rretry: 30\rdata: z\r\r",
    "mixed-eol": b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\rdata: e\n\n",
    "multibyte": "event: é\ndata: € 😀 日本 é\n\ndata: 😀😀😀\n\n".encode(),
    "invalid-utf8": b"data: \xff\xe2\x82\n\ndata: \xf0\x9f\x98\r\n\r\ndata: \xed\xa0\x80\n\n",
    "broken-bom": b"\xef\xbbdata: x\n\ndata: y\n\n",
    "two-boms": BOM + BOM + b"data: x\n\ndata: y\n\n",
    "comments-keepalive": b": ka\n\n: ka\r\n\r\ndata: x\n: mid\ndata: y\n\n:\n\n",
    "fields": b"data\ndata:  a: b\nfoo: bar\nid: 9\nretry: 15\nevent: e\n\nid\ndata:\n\n",
    "empty-data": b"event: ping\n\nretry: 5\n\nid: 3\n\ndata: x\n\n",
    "nul-id": b"id: a\ndata: 1\n\nid: b\x00c\ndata: 2\n\n",
    "unterminated": b"data: a\n\ndata: b\r\n",
}

BODIES: dict[str, bytes] = {
    **SYNTHETIC_BODIES,
    **{f"corpus:{path.stem}": path.read_bytes() for path in CORPUS_FILES},
}

SEEDS = range(5)


def test_corpus_is_present() -> None:
    """The shared SSE corpus is found, so the chunking property really runs over it."""
    assert CORPUS_FILES, f"no .sse files in {CORPUS}"
    assert all(decode(path.read_bytes()) for path in CORPUS_FILES)


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_byte_by_byte_equals_whole(body: bytes) -> None:
    """Feeding a body one byte at a time gives exactly the events of feeding it whole."""
    assert decode(body) == decode(*(body[i : i + 1] for i in range(len(body))))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_random_splits_equal_whole(body: bytes, seed: int) -> None:
    """Feeding a body split at random points (empty chunks included) gives the same events."""
    rng = random.Random(seed)
    cuts = rng.choices(range(len(body) + 1), k=rng.randint(1, min(len(body), 500)))
    assert decode(body) == decode(*_cut(body, cuts))


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_last_event_id_independent_of_chunking(body: bytes) -> None:
    """The last event id after a body is the same whether it was fed whole or byte by byte."""
    whole, split = SSEDecoder(), SSEDecoder()
    whole.feed(body)
    for i in range(len(body)):
        split.feed(body[i : i + 1])
    assert whole.last_event_id == split.last_event_id


# --- Where httpx-sse departs from the rules, side by side ------------------------------------


def test_httpx_sse_loses_the_first_event_after_a_bom() -> None:
    """httpx-sse keeps a leading BOM and loses the first event; ours strips it."""
    body = BOM + b"data: x\n\ndata: y\n\n"
    assert [msg("y")] == httpx_sse_decode(body)
    assert [msg("x"), msg("y")] == decode(body)


def test_httpx_sse_dispatches_empty_data() -> None:
    """httpx-sse dispatches ``event: ping`` with no data; ours dispatches nothing."""
    body = b"event: ping\n\n"
    assert [msg("", event="ping")] == httpx_sse_decode(body)
    assert [] == decode(body)


def test_httpx_sse_dispatches_extra_blank_lines_after_an_id() -> None:
    """Once an id is set, httpx-sse dispatches an empty event for every extra blank line."""
    body = b"id: 1\ndata: a\n\n\n"
    assert [msg("a", id="1"), msg("", id="1")] == httpx_sse_decode(body)
    assert [msg("a", id="1")] == decode(body)


@pytest.mark.parametrize(
    ("value", "httpx_sse_retry"),
    [("+5", 5), ("-1", -1), ("1_000", 1000), (" 5", 5), ("\u0661\u0662", 12)],
    ids=["plus", "minus", "underscore", "space", "arabic-indic"],
)
def test_httpx_sse_accepts_non_digit_retry(value: str, httpx_sse_retry: int) -> None:
    """httpx-sse takes any ``int()``-able retry value; ours takes ASCII digits only."""
    body = f"retry: {value}\ndata: x\n\n".encode()
    assert [msg("x", retry=httpx_sse_retry)] == httpx_sse_decode(body)
    assert [msg("x")] == decode(body)


def test_httpx_sse_and_ours_both_reject_decimal_retry() -> None:
    """``retry: 5.0`` is ignored by both, as ``int("5.0")`` fails too."""
    body = b"retry: 5.0\ndata: x\n\n"
    assert [msg("x")] == httpx_sse_decode(body)
    assert [msg("x")] == decode(body)


def test_httpx_sse_decodes_with_declared_charset() -> None:
    """httpx-sse decodes with the header's charset (mojibake); ours decodes UTF-8 always."""
    body = "data: é\n\n".encode()
    assert [msg("Ã©")] == httpx_sse_decode(body, "text/event-stream; charset=latin-1")
    assert ["é"] == data_of(body)
