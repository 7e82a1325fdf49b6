"""The cassette: recorded HTTP attempts, their chunk timing and how each ended. Format 2.

A cassette file is YAML that vcrpy (and so pytest-recording) loads as its own format 1, and
that is written for people reading a diff::

    # harness cassette ... (comments)
    harness: {"format": 2, "version": "0.1.0"}
    version: 1
    interactions:
    - request:
        method: "POST"
        uri: "https://api.openai.com/v1/responses"
        headers:
          "authorization": ["<redacted>"]
        body: |2-
          {
            "input": [...],            <- canonical JSON: sorted keys, one value per line
          }
      response:
        status: {"code": 200, "message": "OK"}
        headers:
          "content-type": ["text/event-stream; charset=utf-8"]
        body:
          string: |2+
            event: response.created     <- the body as sent: one SSE field per line,
            data: {"type": ...}            so every event's JSON is one line of the file

      harness:                          <- timing and outcome, apart from the event lines
        outcome: {"kind": "complete", "bytes": 5120, "head_ms": 210.5, "end_ms": 230.9}
        chunks: [
          [211300, 1024], [230900, 512],  <- [arrival in microseconds since the request
          ]                                  was sent, size in bytes], eight to a line
    # sha256: 1f2e...                   <- of every byte above this line

Strings are JSON string literals (valid YAML double-quoted scalars), bodies literal blocks
(``|2-``, ``|2``, ``|2+`` keep them byte for byte) or, when a literal block cannot hold them
exactly, a quoted string or ``!!binary`` base64. Attempts that failed before any response
(a refused connection) cannot be vcrpy interactions; they are kept under ``unanswered`` with
the index of the interaction they came before.

Chunk arrival times are whole microseconds (the recorder's clock is kept to the microsecond):
a reader turns integers into numbers several times faster than decimals, and a 5,000-event
stream has 5,000 of them. Format 1 wrote them as decimal milliseconds; it is still read (pair
by pair, the slow way), and saving it again writes format 2.

Loading checks the last line first: a truncated file or one changed by accident is refused
with a :class:`~harness.CassetteError` naming the file; it is never half-loaded. Our own loader
reads exactly the layout above (it does not need a YAML parser, which makes it fast); files
from vcrpy are read with vcrpy's loader.
"""

from __future__ import annotations

import base64
import collections
import enum
import hashlib
import io
import itertools
import json
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, overload
from urllib.parse import urlsplit

from harness._content import UndecodableBody, decoded, encodings, without_encoding
from harness._exceptions import CassetteError
from harness._files import read_regular, write_atomic
from harness._redact import Redactor

__all__ = [
    "FORMAT",
    "Cassette",
    "Chunk",
    "Interaction",
    "Outcome",
    "RecordedRequest",
    "RecordedResponse",
    "TransportFailure",
]

FORMAT = 2
_READ_FORMATS = (1, 2)  # format 1 differs only in its arrival times: decimal milliseconds
_CHECKSUM = "# sha256: "
_HEADER_COMMENT = (
    "# harness cassette, format 2: one HTTP attempt per interaction. vcrpy can play it.\n"
    "# The last line is a checksum of everything above it, so a truncated or damaged file is\n"
    "# refused. After a deliberate edit: harness.Cassette.rehash(path).\n"
)
_CHUNKS_PER_LINE = 8


class Outcome(enum.StrEnum):
    """How a response body ended."""

    COMPLETE = "complete"
    """The body arrived whole."""
    CLOSED = "closed"
    """The client closed the response before the end (``bytes`` says how far it read)."""
    FAILED = "failed"
    """The transport failed: before any response, or mid-body (``error`` says how)."""


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """An exception from the transport: its class name (``ReadError``) and message."""

    type: str
    message: str


# The reader builds chunks in bulk without calling __init__ (see _chunks): keep Chunk a plain
# value, with no __post_init__.
@dataclass(frozen=True, slots=True)
class Chunk:
    """One body chunk as it arrived: ms since the request was sent, and its size in bytes."""

    offset_ms: float
    size: int


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    uri: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` if it is not; NaN and Infinity, which
        Python's json accepts, are not JSON and no API reads them)."""
        return json.loads(self.body, parse_constant=reject_constant)


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    status: int
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)


@dataclass(frozen=True, slots=True)
class Interaction:
    """One HTTP attempt: the request, and the response head, body, chunk timing and outcome.

    ``response`` is ``None`` when the attempt failed before a response (``error`` says why).
    """

    request: RecordedRequest
    response: RecordedResponse | None
    chunks: Sequence[Chunk] = ()
    """In arrival order. A tuple, or for a loaded cassette an equal sequence that makes its
    Chunk objects on first use."""
    outcome: Outcome = Outcome.COMPLETE
    head_ms: float | None = None
    error: TransportFailure | None = None
    end_ms: float | None = None
    """When the outcome happened (ms since the request was sent): the last byte, the client's
    close, or the failure. A long silence before it is how a stall shows."""

    def chunk_bodies(self) -> list[bytes]:
        """The body cut at the recorded chunk boundaries."""
        body = self.response.body if self.response else b""
        pieces, start = [], 0
        for chunk in self.chunks:
            pieces.append(body[start : start + chunk.size])
            start += chunk.size
        return pieces


# An HTTP method or header name: a token (RFC 9110).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _time(value: Any) -> bool:
    return value is None or (
        type(value) in (int, float) and 0 <= value < float("inf")  # also refuses nan
    )


def _token(value: Any) -> bool:
    """An HTTP method or header name."""
    return type(value) is str and _TOKEN.fullmatch(value) is not None


def _url(value: Any) -> bool:
    if type(value) is not str:
        return False
    try:
        urlsplit(value).port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    return True


def _status(value: Any) -> bool:
    return type(value) is int and 100 <= value <= 599


def _checked(interaction: Interaction) -> Interaction:
    """A loaded ``interaction`` whose values can be sent as HTTP and timed, its bodies decoded
    (``decoded_interaction``); ``ValueError`` saying which value cannot, otherwise. A file can
    hold any JSON value anywhere: this is where a loader refuses what a replay could not send."""
    request, response = interaction.request, interaction.response
    if not _token(request.method):
        raise ValueError(f"method {request.method!r} is not an HTTP method")
    if not _url(request.uri):
        raise ValueError(f"uri {str(request.uri)[:80]!r} is not a URL")
    headers = request.headers + (response.headers if response is not None else ())
    for name, value in headers:
        if not _token(name):
            raise ValueError(f"header name {name!r} is not an HTTP token")
        if type(value) is not str:
            raise ValueError(f"header {name!r} has the value {value!r}, not text")
    if response is not None:
        if not _status(response.status):
            raise ValueError(f"status {response.status!r} is not an HTTP status (100 to 599)")
        if type(response.reason) is not str:
            raise ValueError(f"status message {response.reason!r} is not text")
    for name in ("head_ms", "end_ms"):
        if not _time(getattr(interaction, name)):
            raise ValueError(f"{name} {getattr(interaction, name)!r} is not a time in ms >= 0")
    try:
        return decoded_interaction(interaction)
    except UndecodableBody as exc:
        raise ValueError(f"a body's content-encoding cannot be undone: {exc}") from None


def _plausible(values: list[list[Any]]) -> bool:
    """Whether every answered interaction's values (method, URI, request headers, status,
    response headers, outcome: as read from the file) pass :func:`_checked`'s tests, applied
    for the whole file at once: each distinct method, URI and header name once. ``False``
    means some may not (or the values are not even shaped right): then each interaction is
    checked on its own, to name the line."""
    try:
        headers = [entry[2] for entry in values] + [entry[4] for entry in values]
        return (
            all(map(_token, {entry[0] for entry in values}))
            and all(map(_url, {entry[1] for entry in values}))
            and all(map(_token, set().union(*headers)))
            and all(type(v) is str for group in headers for vs in group.values() for v in vs)
            and all(
                _status(entry[3]["code"])
                and type(entry[3]["message"]) is str
                and _time(entry[5].get("head_ms"))
                and _time(entry[5].get("end_ms"))
                for entry in values
            )
        )
    except (TypeError, AttributeError, KeyError):  # not even shaped right (a list as a key)
        return False


def decoded_interaction(interaction: Interaction) -> Interaction:
    """``interaction`` with its bodies' Content-Encoding undone, chunk by chunk, and the
    encoding headers dropped (see ``harness._content``): what is written must be readable by
    redaction and the scanner. Raises :class:`~harness._content.UndecodableBody`."""
    request, response, chunks = interaction.request, interaction.response, interaction.chunks
    codings = encodings(request.headers)
    if codings:
        body = b"".join(decoded(codings, [request.body]))
        request = RecordedRequest(
            request.method, request.uri, without_encoding(request.headers), body
        )
    if response is not None and encodings(response.headers):
        ends = list(itertools.accumulate(chunk.size for chunk in chunks))
        starts = [0, *ends[:-1]]
        raw = [response.body[a:b] for a, b in zip(starts, ends, strict=True)] or [response.body]
        pieces = decoded(encodings(response.headers), raw)
        if chunks:
            # A raw chunk that decoded to nothing reached the client as nothing.
            chunks = tuple(
                Chunk(chunk.offset_ms, len(piece))
                for chunk, piece in zip(chunks, pieces, strict=True)
                if piece
            )
        response = RecordedResponse(
            response.status,
            response.reason,
            without_encoding(response.headers),
            b"".join(pieces),
        )
    if request is interaction.request and response is interaction.response:
        return interaction
    return replace(interaction, request=request, response=response, chunks=chunks)


@dataclass(frozen=True, slots=True)
class Cassette:
    """Recorded interactions in the order they were attempted."""

    interactions: tuple[Interaction, ...] = ()
    path: Path | None = field(default=None, compare=False)

    # -- writing -----------------------------------------------------------------------------

    def dumps(self, redactor: Redactor | None = None) -> bytes:
        """The file's bytes, redacted (with a default :class:`Redactor` when none is given)."""
        redactor = redactor or Redactor()
        interactions = []
        for number, interaction in enumerate(self.interactions, start=1):
            try:
                interactions.append(decoded_interaction(interaction))
            except UndecodableBody as exc:
                raise CassetteError(
                    f"not written: interaction {number} has a body harness cannot decode "
                    f"({exc}), so it cannot be checked for secrets; record it uncompressed "
                    "(accept-encoding: identity)",
                    path=self.path,
                ) from None
        # Learn every secret in every header before writing anything, so a key seen in the
        # third request is also redacted from the first response body.
        for interaction in interactions:
            redactor.headers(interaction.request.headers)
            redactor.url(interaction.request.uri)
            if interaction.response is not None:
                redactor.headers(interaction.response.headers)
        out = [_HEADER_COMMENT, f'harness: {{"format": {FORMAT}, "version": {_q(_version())}}}\n']
        body: list[str] = []
        unanswered: list[tuple[int, Interaction]] = []
        answered = 0
        for interaction in interactions:
            if interaction.response is None:
                unanswered.append((answered, interaction))
                continue
            answered += 1
            body.append("- ")
            _emit_request(body, interaction.request, redactor)
            _emit_response(body, interaction, redactor)
        out.append("version: 1\ninteractions:\n" if answered else "version: 1\ninteractions: []\n")
        out.extend(body)
        if unanswered:
            out.append("unanswered:\n")
            for before, interaction in unanswered:
                out.append("- ")
                _emit_request(out, interaction.request, redactor)
                error = interaction.error or TransportFailure("Error", "unknown")
                details = {
                    "before": before,
                    "type": error.type,
                    "message": redactor.text(error.message),
                }
                out.append(f"  error: {_flow(details)}\n")
        text = "".join(out).encode()
        return text + f"{_CHECKSUM}{hashlib.sha256(text).hexdigest()}\n".encode()

    def save(self, path: str | Path | None = None, *, redactor: Redactor | None = None) -> Path:
        """Write atomically (temp file, fsync, rename) after redaction and a secret scan.

        If the scan finds a known secret or a key-shaped token, nothing is written (an existing
        file stays as it was) and :class:`~harness.SecretLeakError` says where.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("Cassette.save: no path given and the cassette has none")
        redactor = redactor or Redactor()
        write_atomic(target, self.dumps(redactor), secrets=redactor.secrets)
        return target

    @staticmethod
    def rehash(path: str | Path) -> None:
        """Recompute the checksum of a cassette edited on purpose (after checking it parses)."""
        target = Path(path)
        data = read_regular(target)
        body = data[: data.rfind(_CHECKSUM.encode())] if _CHECKSUM.encode() in data else data
        if not body.endswith(b"\n"):
            body += b"\n"
        fixed = body + f"{_CHECKSUM}{hashlib.sha256(body).hexdigest()}\n".encode()
        Cassette.loads(fixed, target)
        write_atomic(target, fixed, secrets=Redactor().secrets)

    # -- reading -----------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Cassette:
        """Read a cassette: ours (checked whole) or vcrpy's (bodies as one chunk each)."""
        target = Path(path)
        try:
            data = read_regular(target)
        except OSError as exc:
            raise CassetteError(f"cannot read: {exc.strerror or exc}", path=target) from exc
        return cls.loads(data, target)

    @classmethod
    def loads(cls, data: bytes, path: str | Path | None = None) -> Cassette:
        target = Path(path) if path is not None else None
        try:
            if not _ours(data):
                return _load_vcrpy(data, target)
            return _Parser(data, target).cassette()
        except (RecursionError, OverflowError) as exc:  # nesting too deep, a number too big
            raise CassetteError(
                f"malformed value: {type(exc).__name__}: {exc}", path=target
            ) from exc


def _ours(data: bytes) -> bool:
    """Whether ``data`` is (or was) one of our cassettes: the first line, or, if that line was
    damaged or an editor added a byte order mark, our header line among the first few. Either
    way our reader, with its checksum, takes it; vcrpy's has no checksum to refuse damage."""
    head = data[:1024].removeprefix(b"\xef\xbb\xbf")
    return head.startswith((b"# harness cassette", b'harness: {"format": ')) or (
        b'\nharness: {"format": ' in head
    )


# -- the writer ---------------------------------------------------------------------------------

# A raw string: the regex engine reads the escapes, so the backslash is a member of the class
# (in a plain string "\x5c" becomes a bare backslash, which escapes the next character instead).
_UNSAFE = re.compile(r'[\x00-\x1f"\\\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _q(value: str) -> str:
    """A string as a JSON string literal that YAML reads as the same string."""
    return '"' + _UNSAFE.sub(lambda m: _ESCAPES.get(m[0], f"\\u{ord(m[0]):04x}"), value) + '"'


def _flow(obj: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{_q(k)}: {_scalar(v)}" for k, v in obj.items()) + "}"


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _q(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 3))
    return str(value)


# Characters a literal block cannot hold as they are: line breaks other than LF, and what YAML
# does not allow unescaped in a stream.
_NOT_LITERAL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]"
)


def _emit_body(out: list[str], key: str, data: bytes, indent: int) -> None:
    """``key: <body>`` at ``indent``: a literal block when it can hold ``data`` exactly."""
    pad = " " * indent
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        encoded = base64.b64encode(data).decode()
        out.append(f"{pad}{key}: !!binary |\n")
        for i in range(0, len(encoded), 76):
            out.append(f"{pad}  {encoded[i : i + 76]}\n")
        return
    if not text.strip("\n") or _NOT_LITERAL.search(text):
        out.append(f"{pad}{key}: {_q(text)}\n")
        return
    stripped = text.rstrip("\n")
    trailing = len(text) - len(stripped)
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    out.append(f"{pad}{key}: |2{chomp}\n")
    content = pad + "  "
    lines = stripped.split("\n")
    out.append("".join(f"{content}{line}\n" if line else "\n" for line in lines))
    out.append("\n" * (trailing - 1) if trailing > 1 else "")


def _canonical_json(body: bytes) -> bytes:
    """A JSON body with sorted keys, one value per line; other bodies unchanged."""
    try:
        value = json.loads(body, parse_constant=reject_constant)
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, or nested too deep
        return body


def reject_constant(name: str) -> Any:
    """For ``parse_constant``: NaN and Infinity, which Python's json reads, are not JSON."""
    raise ValueError(f"not JSON: {name}")


def _emit_headers(out: list[str], headers: Iterable[tuple[str, str]], indent: int) -> None:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name, []).append(value)
    pad = " " * indent
    if not grouped:
        out.append(f"{pad}headers: {{}}\n")
        return
    out.append(f"{pad}headers:\n")
    for name in sorted(grouped):
        values = ", ".join(_q(value) for value in grouped[name])
        out.append(f"{pad}  {_q(name)}: [{values}]\n")


def _emit_request(out: list[str], request: RecordedRequest, redactor: Redactor) -> None:
    out.append("request:\n")
    out.append(f"    method: {_q(request.method)}\n")
    out.append(f"    uri: {_q(redactor.url(request.uri))}\n")
    _emit_headers(out, redactor.headers(request.headers), 4)
    # Canonical first, then redacted: re-serialising would undo the escapes of a key written
    # as "sk\u002d..." after redaction had looked for them.
    body, _ = redactor.body(_canonical_json(request.body))
    _emit_body(out, "body", body, 4)


def _emit_response(out: list[str], interaction: Interaction, redactor: Redactor) -> None:
    response = interaction.response
    assert response is not None
    out.append("  response:\n")
    status = {"code": response.status, "message": redactor.text(response.reason)}
    out.append(f"    status: {_flow(status)}\n")
    _emit_headers(out, redactor.headers(response.headers), 4)
    boundaries, total = [], 0
    for chunk in interaction.chunks:
        total += chunk.size
        boundaries.append(total)
    cut_short = interaction.outcome is not Outcome.COMPLETE
    body, moved = redactor.body(response.body, boundaries, cut_short=cut_short)
    out.append("    body:\n")
    _emit_body(out, "string", body, 6)
    outcome: dict[str, Any] = {"kind": interaction.outcome.value, "bytes": len(body)}
    if interaction.head_ms is not None:
        outcome["head_ms"] = interaction.head_ms
    if interaction.end_ms is not None:
        outcome["end_ms"] = interaction.end_ms
    if interaction.error is not None:
        outcome["error"] = interaction.error.type
        outcome["message"] = redactor.text(interaction.error.message)
    out.append(f"  harness:\n    outcome: {_flow(outcome)}\n")
    pairs, previous = [], 0
    for chunk, end in zip(interaction.chunks, moved, strict=True):
        microseconds = round(chunk.offset_ms * 1000)
        if microseconds < 0:
            raise ValueError(f"chunk offsets must be >= 0 ms, got {chunk.offset_ms}")
        pairs.append(f"[{microseconds}, {end - previous}]")
        previous = end
    if not pairs:
        out.append("    chunks: []\n")
        return
    out.append("    chunks: [\n")
    for i in range(0, len(pairs), _CHUNKS_PER_LINE):
        out.append("      " + ", ".join(pairs[i : i + _CHUNKS_PER_LINE]) + ",\n")
    out.append("      ]\n")


def _version() -> str:
    from harness import __version__

    return __version__


# -- our reader ---------------------------------------------------------------------------------
#
# The reader works on the file's bytes and never decodes the whole file: the layout is fixed
# (see ``Cassette.dumps``), so one compiled pattern matches each run of fixed lines and one
# search finds where each body block ends. Bodies are cut out of the file and de-indented as
# bytes; they never become text. The small values (method, URI, headers, status, outcome,
# chunks) of every interaction are gathered as JSON text and read with one ``json.loads`` for
# the whole file, and every chunk is built in one go. Only when something does not fit does the
# reader go line by line, to say which line is wrong.


class _Lines:
    """Consecutive lines of a fixed layout: one compiled pattern for all of them (the fast
    path), and one per line, to name the first wrong line when the whole does not match."""

    def __init__(self, *lines: tuple[bytes, str]) -> None:
        self.pattern = re.compile(b"".join(pattern for pattern, _ in lines))
        self.lines = tuple((re.compile(pattern), what) for pattern, what in lines)


# A headers block: ``headers: {}``, or ``headers:`` and one ``"name": [values]`` line per name.
_HEADERS = rb'    headers:(?: \{\}\n|\n((?:      "[^\n]*\n)*))'
_PREAMBLE = _Lines((rb"(?:#[^\n]*\n)*", "comment lines"), (rb"harness: ([^\n]*)\n", "'harness:'"))
_LISTED = _Lines(
    (rb"version: 1\n", "'version: 1'"),
    (rb"interactions:( \[\])?\n", "'interactions:'"),
)
_REQUEST = _Lines(
    (rb"- request:\n", "'- request:'"),
    (rb'    method: ("[^\n]*)\n', "'method: \"...\"'"),
    (rb'    uri: ("[^\n]*)\n', "'uri: \"...\"'"),
    (_HEADERS, "'headers:'"),
    (rb"    body: ([^\n]*)\n", "'body:'"),
)
_RESPONSE = _Lines(
    (rb"  response:\n", "'response:'"),
    (rb"    status: (\{[^\n]*)\n", "'status: {...}'"),
    (_HEADERS, "'headers:'"),
    (rb"    body:\n", "'body:'"),
    (rb"      string: ([^\n]*)\n", "'string:'"),
)
_HARNESS = _Lines(
    (rb"  harness:\n", "'harness:'"),
    (rb"    outcome: (\{[^\n]*)\n", "'outcome: {...}'"),
    (rb"    chunks: (\[\]?)\n", "'chunks: [' or 'chunks: []'"),
)
_ERROR = _Lines(
    (rb"  error: (\{[^\n]*)\n", "'error: {...}'"),
)
_CHUNKS_END = b"\n      ]\n"
# Where a value starts in the file, its text, and its kind ("value", "headers" or "chunks").
_Source = tuple[int, bytes | None, str]
# A scanned entry: its values as one JSON array (not read yet), the byte offset it starts at,
# its request body, its response body, and its chunk list's text (None for none).
_Scanned = tuple[bytes, int, bytes, bytes, bytes | None]
_OUTCOMES = {outcome.value: outcome for outcome in Outcome}


# Where a block of lines indented by 6 (a request body) or 8 (a response body) ends: at the line
# break before the first non-empty line indented less, as YAML ends a literal block.
_BLOCK_END = {indent: re.compile(rb"\n(?! {%d}|\n)" % indent) for indent in (6, 8)}


def _object(block: bytes | None) -> bytes:
    """A headers block's lines as one JSON object (a name given twice keeps its last values,
    as a YAML parser reads it)."""
    return b"{" + block[:-1].replace(b"\n", b",") + b"}" if block else b"{}"


def _header_pairs(headers: dict[str, list[str]]) -> tuple[tuple[str, str], ...]:
    return tuple([(name, value) for name, values in headers.items() for value in values])


_PIECE = 1 << 14


def _deindent(data: bytes, start: int, end: int, indent: int) -> bytes:
    """``data[start:end]`` without the ``indent`` spaces after each line break.

    A large body is done in pieces of about 16 KB, cut before a line break (so no indentation
    is split), for two reasons. CPython's ``bytes.replace`` searches a buffer of more than
    30,000 bytes with an algorithm it sets up again for every match: on a body of a thousand
    lines that costs more than the copying. And only the result is allocated at full size, not
    also a slice of the file (``BytesIO.getvalue`` hands over its buffer without a copy).
    """
    indentation, line_break = b"\n" + b" " * indent, b"\n"
    if end - start <= _PIECE:
        return data[start:end].replace(indentation, line_break)
    out = io.BytesIO()
    while start < end:
        cut = data.find(line_break, start + _PIECE, end) if start + _PIECE < end else -1
        cut = end if cut == -1 else cut
        out.write(data[start:cut].replace(indentation, line_break))
        start = cut
    return out.getvalue()


# Chunk's slots themselves: setting them directly skips the frozen dataclass's __init__ and
# __setattr__, which is what makes thousands of chunks cheap. Only _ChunkTable does this.
_set_offset = vars(Chunk)["offset_ms"].__set__
_set_size = vars(Chunk)["size"].__set__


class _ChunkTable(Sequence[Chunk]):
    """A loaded interaction's chunks: arrival times (whole microseconds) and sizes as two lists,
    checked when the file was read; the Chunk objects are made the first time they are used.

    A cassette of thousands of chunks loads without making thousands of objects, and a test
    that replays one interaction of many pays only for that one. Equal to (and hashes as) the
    tuple of its chunks.
    """

    __slots__ = ("_built", "_microseconds", "_sizes")

    def __init__(self, microseconds: list[int], sizes: list[int]) -> None:
        self._microseconds = microseconds
        self._sizes = sizes
        self._built: tuple[Chunk, ...] | None = None

    def _chunks(self) -> tuple[Chunk, ...]:
        if self._built is None:
            # No Python-level call per chunk: calling the dataclass's own __init__ 5,000 times
            # takes twice as long.
            chunks = list(map(object.__new__, itertools.repeat(Chunk, len(self._sizes))))
            offsets = map(operator.truediv, self._microseconds, itertools.repeat(1000))
            collections.deque(map(_set_offset, chunks, offsets), maxlen=0)
            collections.deque(map(_set_size, chunks, self._sizes), maxlen=0)
            self._built = tuple(chunks)
        return self._built

    def __len__(self) -> int:
        return len(self._sizes)

    @overload
    def __getitem__(self, index: int) -> Chunk: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Chunk, ...]: ...
    def __getitem__(self, index: int | slice) -> Chunk | tuple[Chunk, ...]:
        return self._chunks()[index]

    def __iter__(self) -> Iterator[Chunk]:
        return iter(self._chunks())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _ChunkTable):
            return self._chunks() == other._chunks()
        if isinstance(other, tuple):
            return self._chunks() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._chunks())

    def __repr__(self) -> str:
        return repr(self._chunks())


def _skeleton(pairs: int) -> bytes:
    """What the writer's chunk lines for ``pairs`` chunks are without their digits (as
    ``chunk_lines`` returns them): eight ``[, ]`` to a line, the last line's comma cut off."""
    full, rest = divmod(pairs, _CHUNKS_PER_LINE)
    lines = [_SKELETON_LINE] * full + ([b", ".join([b"[, ]"] * rest)] if rest else [])
    return b"\n      " + b",\n      ".join(lines)


_SKELETON_LINE = b", ".join([b"[, ]"] * _CHUNKS_PER_LINE)
_LARGEST = 2**53  # exact as a float: no arrival time or size in a real file comes near it
_DIGITS = b"0123456789"


def _check_pairs(pairs: Any) -> tuple[list[int], list[int]]:
    """The arrival times and sizes of ``[microseconds, size]`` pairs (``ValueError`` if they
    are not whole numbers >= 0 in pairs). Only a file our writer did not lay out comes here."""
    if type(pairs) is not list:
        raise ValueError("not a list")
    if not all(type(pair) is list and len(pair) == 2 for pair in pairs):
        raise ValueError("not [microseconds, size] pairs")
    microseconds = [pair[0] for pair in pairs]
    sizes = [pair[1] for pair in pairs]
    if not all(type(value) is int and 0 <= value <= _LARGEST for value in microseconds):
        raise ValueError("an arrival time is not a whole number of microseconds >= 0")
    if not all(type(value) is int and 0 <= value <= _LARGEST for value in sizes):
        raise ValueError("a size is not a whole number of bytes")
    return microseconds, sizes


def _microseconds(pairs: Any) -> Any:
    """Format 1's ``[milliseconds, size]`` pairs as format 2's ``[microseconds, size]``."""
    if type(pairs) is not list or not all(type(pair) is list and pair for pair in pairs):
        return pairs  # _check_pairs says what is wrong
    out = []
    for pair in pairs:
        ms = pair[0]
        if type(ms) not in (int, float) or not 0 <= ms <= _LARGEST / 1000:
            raise ValueError("an arrival time is not a number of milliseconds >= 0")
        out.append([round(ms * 1000), *pair[1:]])
    return out


class _Parser:
    """Reads exactly the layout ``Cassette.dumps`` writes, after checking the checksum.

    Anything else is refused with a :class:`CassetteError` naming the line; nothing is returned
    before the whole file has been read.
    """

    def __init__(self, data: bytes, path: Path | None) -> None:
        self.path = path
        cut = data.rfind(_CHECKSUM.encode())
        if cut == -1 or not data.endswith(b"\n") or data.count(b"\n", cut) != 1:
            raise self.error(
                "truncated or damaged: the checksum line that ends every harness cassette is "
                "missing; the file is refused, not half-loaded. Re-record it"
            )
        digest = data[cut + len(_CHECKSUM) : -1].decode("ascii", "replace")
        if hashlib.sha256(memoryview(data)[:cut]).hexdigest() != digest:
            line = data.count(b"\n", 0, cut) + 1
            raise self.error(
                f"checksum mismatch (line {line}): the file was changed after it was written. "
                "Re-record it, or after a deliberate edit run harness.Cassette.rehash(path)"
            )
        # Checked once for the whole file, so that every slice of it decodes later.
        if not data.isascii():
            try:
                data[:cut].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self.error(f"not UTF-8 at byte {exc.start}") from exc
        self.data = data
        self.end = cut  # the checksum line is not part of the content
        self.pos = 0
        self.milliseconds = False  # format 1: arrival times in decimal milliseconds

    # -- reporting ---------------------------------------------------------------------------

    def error(self, message: str, at: int | None = None, lines: int = 0) -> CassetteError:
        """A CassetteError naming the file and, given a byte offset ``at``, its line (plus
        ``lines``)."""
        line = None if at is None else self.data.count(b"\n", 0, at) + 1 + lines
        return CassetteError(message, path=self.path, line=line)

    def found(self, at: int) -> str:
        """The line that starts at byte offset ``at``, shortened, for an error message."""
        end = self.data.find(b"\n", at, self.end)
        line = self.data[at : self.end if end == -1 else end]
        return repr(line[:60].decode("utf-8", "replace"))

    def json_error(self, *sources: tuple[int, bytes | None, str]) -> CassetteError:
        """Why the JSON values read together did not parse, at the line to blame.

        Each source is where a value starts in the file, its text, and its kind: ``value``,
        ``headers`` (one ``"name": [...]`` member per line) or ``chunks`` (the lines inside the
        brackets)."""
        for at, text, kind in sources:
            if not text:
                continue
            if kind == "headers":
                pieces = [b"{" + line + b"}" for line in text.split(b"\n")[:-1]]
            else:
                pieces = [b"[" + text + b"]" if kind == "chunks" else text]
            for index, piece in enumerate(pieces):
                try:
                    json.loads(piece)
                except ValueError as exc:
                    within = exc.lineno - 1 if isinstance(exc, json.JSONDecodeError) else 0
                    line = text.split(b"\n")[index + within][:60].decode("utf-8", "replace")
                    reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                    return self.error(
                        f"malformed value {line.strip()!r}: {reason}", at, index + within
                    )
        return self.error("malformed values", sources[0][0])

    # -- reading -----------------------------------------------------------------------------

    def expect(self, lines: _Lines) -> re.Match[bytes]:
        """Match ``lines`` here and move past them, or raise naming the first wrong line."""
        match = lines.pattern.match(self.data, self.pos, self.end)
        if match is None:
            at = self.pos
            for pattern, what in lines.lines:
                line = pattern.match(self.data, at, self.end)
                if line is None:
                    raise self.error(f"expected {what}, found {self.found(at)}", at)
                at = line.end()
            raise self.error("malformed", self.pos)  # not reached: the lines are the whole
        self.pos = match.end()
        return match

    def value(self, match: re.Match[bytes], group: int) -> Any:
        """One JSON value: group ``group`` of ``match``."""
        text = match[group]
        try:
            return json.loads(text)
        except ValueError as exc:
            raise self.json_error((match.start(group), text, "value")) from exc

    def cassette(self) -> Cassette:
        header = self.value(self.expect(_PREAMBLE), 1)
        if not isinstance(header, dict) or header.get("format") not in _READ_FORMATS:
            raise self.error(
                f"cassette format {header.get('format') if isinstance(header, dict) else '?'} "
                f"is not supported by this harness (format {FORMAT}); re-record it",
                self.pos - 1,
            )
        self.milliseconds = header["format"] == 1
        listed = self.expect(_LISTED)
        # The layout and the bodies first; then the small values of every interaction at once.
        answered: list[_Scanned] = []
        if listed[1] is None:  # "interactions:", not "interactions: []"
            while self.data.startswith(b"- request:", self.pos, self.end):
                answered.append(self.answered())
        unanswered: list[_Scanned] = []
        if self.data.startswith(b"unanswered:\n", self.pos, self.end):
            self.pos += len(b"unanswered:\n")
            while self.data.startswith(b"- request:", self.pos, self.end):
                unanswered.append(self.unanswered())
        if self.pos != self.end:
            raise self.error(f"unexpected content {self.found(self.pos)}", self.pos)
        interactions = self.interactions(answered)
        failed = self.failures(unanswered)
        ordered: list[Interaction] = []
        for index, interaction in enumerate(interactions):
            ordered.extend(i for before, i in failed if before == index)
            ordered.append(interaction)
        ordered.extend(i for before, i in failed if before >= len(interactions))
        return Cassette(tuple(ordered), self.path)

    def answered(self) -> _Scanned:
        """An interaction's layout and bodies, and its values as one JSON array, not read yet."""
        at = self.pos
        request = self.expect(_REQUEST)
        request_body = self.body(request, 4, 6)
        response = self.expect(_RESPONSE)
        body = self.body(response, 3, 8)
        harness = self.expect(_HARNESS)
        _, chunks = self.chunk_lines(harness)
        values = b"[%b,%b,%b,%b,%b,%b]" % (
            request[1],
            request[2],
            _object(request[3]),
            response[1],
            _object(response[2]),
            harness[1],
        )
        return values, at, request_body, body, chunks

    def unanswered(self) -> _Scanned:
        """An attempt that failed before any response: its layout and request body, and its
        values as one JSON array, not read yet."""
        at = self.pos
        request = self.expect(_REQUEST)
        request_body = self.body(request, 4, 6)
        error = self.expect(_ERROR)
        values = b"[%b,%b,%b,%b]" % (request[1], request[2], _object(request[3]), error[1])
        return values, at, request_body, b"", None

    def sources(self, at: int) -> list[_Source]:
        """Where each value of the entry at byte offset ``at`` comes from, in the order of its
        JSON array: read again, which only reporting an error needs."""
        self.pos = at
        request = self.expect(_REQUEST)
        self.body(request, 4, 6)
        found = [
            (request.start(1), request[1], "value"),
            (request.start(2), request[2], "value"),
            (request.start(3), request[3], "headers"),
        ]
        if self.data.startswith(b"  error:", self.pos, self.end):
            error = self.expect(_ERROR)
            return [*found, (error.start(1), error[1], "value")]
        response = self.expect(_RESPONSE)
        self.body(response, 3, 8)
        harness = self.expect(_HARNESS)
        return [
            *found,
            (response.start(1), response[1], "value"),
            (response.start(2), response[2], "headers"),
            (harness.start(1), harness[1], "value"),
            (*self.chunk_lines(harness), "chunks"),
        ]

    def values(self, scanned: list[_Scanned], count: int) -> list[list[Any]]:
        """The values of every scanned entry, ``count`` each, read with one ``json.loads``.

        When that fails, entry by entry and then value by value, to name the line to blame.
        That also refuses a line holding more than one value (``"POST", "GET"``), which the
        values read together would not show but as a wrong count.
        """
        values: Any
        try:
            values = json.loads(b"[%b]" % b",".join([entry[0] for entry in scanned]))
        except ValueError:
            values = None
        if (
            values is None
            or len(values) != len(scanned)
            or not all(type(value) is list and len(value) == count for value in values)
        ):
            for entry in scanned:
                try:
                    value = json.loads(entry[0])
                except ValueError:
                    value = None
                if type(value) is not list or len(value) != count:
                    raise self.json_error(*self.sources(entry[1]))
            raise self.error("malformed values", scanned[0][1])  # not reached
        return values  # type: ignore[no-any-return]

    def interactions(self, answered: list[_Scanned]) -> list[Interaction]:
        if not answered:
            return []
        values = self.values(answered, 6)
        chunks = self.chunks(answered)
        # Each interaction is checked (_checked) only if the whole file's values, taken
        # together, are not plainly fine: checking 500 interactions one by one costs more
        # than reading them.
        fine = _plausible(values)
        interactions = []
        for (_, at, request_body, body, _), entry, interaction_chunks in zip(
            answered, values, chunks, strict=True
        ):
            method, uri, request_headers, status, response_headers, outcome = entry
            try:
                request = RecordedRequest(method, uri, _header_pairs(request_headers), request_body)
                response = RecordedResponse(
                    status["code"] if fine else int(status["code"]),
                    str(status["message"]),
                    _header_pairs(response_headers),
                    body,
                )
                error = (
                    TransportFailure(str(outcome["error"]), str(outcome.get("message", "")))
                    if "error" in outcome
                    else None
                )
                interaction = Interaction(
                    request,
                    response,
                    interaction_chunks,
                    _OUTCOMES[outcome["kind"]],
                    outcome.get("head_ms"),
                    error,
                    outcome.get("end_ms"),
                )
                if not fine:
                    interaction = _checked(interaction)
                elif "content-encoding" in request_headers or "content-encoding" in (
                    response_headers
                ):
                    interaction = _checked(interaction)  # decodes the body
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise self.error(f"malformed interaction: {exc!r}", at) from exc
            interactions.append(interaction)
        return interactions

    def failures(self, unanswered: list[_Scanned]) -> list[tuple[int, Interaction]]:
        """The attempts that failed before any response, each with the index of the answered
        interaction it came before."""
        if not unanswered:
            return []
        failures = []
        for (_, at, request_body, _, _), values in zip(
            unanswered, self.values(unanswered, 4), strict=True
        ):
            method, uri, headers, error = values
            try:
                before = int(error["before"])
                failure = TransportFailure(str(error["type"]), str(error["message"]))
                request = RecordedRequest(method, uri, _header_pairs(headers), request_body)
                end_ms = error.get("end_ms")
                interaction = _checked(
                    Interaction(request, None, outcome=Outcome.FAILED, error=failure, end_ms=end_ms)
                )
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise self.error(f"malformed error: {exc!r}", at) from exc
            failures.append((before, interaction))
        return failures

    def body(self, head: re.Match[bytes], group: int, indent: int) -> bytes:
        """The body whose style (``|2-``, ``|2``, ``|2+``, ``!!binary |`` or a quoted string)
        is group ``group`` of ``head``; block lines are indented by ``indent``."""
        style = head[group]
        if style.startswith(b'"'):
            text = self.value(head, group)
            try:
                return text.encode()  # type: ignore[no-any-return]
            except (AttributeError, UnicodeError) as exc:
                raise self.error(f"malformed body: {exc!r}", head.start(group)) from exc
        if style not in (b"|2-", b"|2", b"|2+", b"!!binary |"):
            raise self.error(
                f"unknown body style {style[:60].decode('utf-8', 'replace')!r}", head.start(group)
            )
        start = self.pos
        found = _BLOCK_END[indent].search(self.data, start - 1, self.end)
        end = found.start() + 1 if found else self.end
        self.pos = end
        if style == b"!!binary |":
            # Without an indentation indicator, YAML takes the block's indentation from its
            # first line: more than ``indent`` spaces there would end the block at the next.
            first = self.data[start : start + indent + 1]
            if first.startswith(b" " * indent) and first.endswith(b" "):
                raise self.error(f"expected base64, found {self.found(start)}", start)
            try:  # a base64 decoder skips the indentation and line breaks
                return base64.b64decode(self.data[start:end])
            except ValueError as exc:
                raise self.error(f"malformed base64 body: {exc}", start) from exc
        if self.data.startswith(b" " * indent, start, end):  # the first line's indentation
            start += indent
        # YAML's chomping: "|2-" strips the final line breaks, "|2" keeps one, "|2+" all of
        # them. Cutting them off before de-indenting saves copying a large body again.
        if style == b"|2+":
            return _deindent(self.data, start, end, indent)
        content_end = end
        while content_end > start and self.data[content_end - 1] == 0x0A:  # "\n"
            content_end -= 1
        if style == b"|2":
            content_end = min(content_end + 1, end)
        return _deindent(self.data, start, content_end, indent)

    def chunk_lines(self, harness: re.Match[bytes]) -> tuple[int, bytes | None]:
        """The chunk list's text between its brackets, without the last comma (``None`` for
        ``chunks: []``), and the byte offset it starts at, on the ``chunks:`` line."""
        start = harness.start(2) + 1
        if harness[2] == b"[]":
            return start, None
        end = self.data.find(_CHUNKS_END, self.pos - 1, self.end)
        if end == -1:
            raise self.error("unterminated chunks list", start)
        self.pos = end + len(_CHUNKS_END)
        lines = self.data[start:end].rstrip()
        return start, lines[:-1] if lines.endswith(b",") else lines

    def chunks(self, answered: list[_Scanned]) -> list[Sequence[Chunk]]:
        """Each interaction's chunks from its ``[microseconds, size]`` pairs, whose sizes must
        add up to its body.

        Chunk lines as the writer lays them out are checked by their shape without the digits,
        and read for the whole file with one ``json.loads`` of a flat list of integers (no list
        per pair, no decimals); their Chunk objects are made on first use (``_ChunkTable``).
        Any other layout is read pair by pair, which also names the line to blame."""
        texts = [entry[4] for entry in answered]
        counts = [text.count(b"[") if text else 0 for text in texts]
        flat: Any = None
        if not self.milliseconds and all(
            text is None or text.translate(None, _DIGITS) == _skeleton(count)
            for text, count in zip(texts, counts, strict=True)
        ):
            joined = b",".join([text.translate(None, b"[]") for text in texts if text])
            try:
                flat = json.loads(b"[" + joined + b"]")
            except ValueError:  # an empty or zero-led number: read pair by pair below
                flat = None
            if flat and max(flat) > _LARGEST:
                flat = None
        tables: list[Sequence[Chunk]] = []
        start = 0
        for entry, text, count in zip(answered, texts, counts, strict=True):
            if flat is not None:
                microseconds = flat[start : start + 2 * count : 2]
                sizes = flat[start + 1 : start + 2 * count : 2]
                start += 2 * count
            else:
                microseconds, sizes = self.pairs(entry, text)
            total, body = sum(sizes), entry[3]
            if total != len(body):
                raise self.error(
                    f"chunk sizes add up to {total} bytes, the body has {len(body)}",
                    self.sources(entry[1])[-1][0],
                )
            tables.append(_ChunkTable(microseconds, sizes) if sizes else ())
        return tables

    def pairs(self, entry: _Scanned, text: bytes | None) -> tuple[list[int], list[int]]:
        """One interaction's chunk pairs read on their own, or an error naming the line."""
        if text is None:
            return [], []
        at = self.sources(entry[1])[-1][0]
        try:
            pairs = json.loads(b"[" + text + b"]")
        except ValueError as exc:
            raise self.json_error((at, text, "chunks")) from exc
        try:
            return _check_pairs(_microseconds(pairs) if self.milliseconds else pairs)
        except ValueError as exc:
            raise self.error(f"malformed chunks: {exc}", at) from None


# -- vcrpy's own cassettes -------------------------------------------------------------------


def _load_vcrpy(data: bytes, path: Path | None) -> Cassette:
    """A vcrpy cassette (YAML or JSON, and pydantic-ai's ``parsed_body`` variant), each body as
    one chunk, every outcome complete."""
    from vcr.serializers import jsonserializer, yamlserializer

    text = data.decode("utf-8", "replace")
    try:
        raw = (
            jsonserializer.deserialize(text)
            if text.lstrip().startswith("{")
            else yamlserializer.deserialize(text)
        )
    except Exception as exc:  # yaml and json raise many kinds; all mean "not a cassette"
        detail = " ".join(str(exc).split())  # YAML errors span lines; ours is one line
        raise CassetteError(f"not a cassette (harness or vcrpy): {detail}", path=path) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("interactions"), list):
        raise CassetteError("not a cassette: no 'interactions' list", path=path)
    if raw.get("version") != 1:
        # vcrpy writes 'version: 1' after the interactions in YAML; without it the file was
        # cut short (vcrpy itself would load the prefix, silently) or is not vcrpy's.
        raise CassetteError(
            "no 'version: 1' after the interactions: the file is truncated, or not a vcrpy "
            "format 1 cassette; refused rather than loaded in part",
            path=path,
        )
    interactions = []
    for index, entry in enumerate(raw["interactions"]):
        try:
            interactions.append(_checked(_vcrpy_interaction(entry)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CassetteError(
                f"interaction {index}: not a vcrpy interaction ({exc!r})",
                path=path,
                interaction_index=index,
            ) from exc
    return Cassette(tuple(interactions), path)


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, dict) and "string" in value:  # vcrpy's {"string": ...} body
        return _as_bytes(value["string"])
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"a body is text, bytes or {{'string': ...}}, not {type(value).__name__}")


def _vcrpy_headers(headers: Any) -> tuple[tuple[str, str], ...]:
    pairs = []
    for name, values in (headers or {}).items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((str(name).lower(), str(value)))
    return tuple(pairs)


def _vcrpy_body(message: dict[str, Any]) -> bytes:
    # pydantic-ai's variant keeps JSON bodies parsed, under "parsed_body".
    if "parsed_body" in message:
        return json.dumps(message["parsed_body"], ensure_ascii=False).encode()
    return _as_bytes(message.get("body"))


def _vcrpy_interaction(entry: dict[str, Any]) -> Interaction:
    request, response = entry["request"], entry["response"]
    body = _vcrpy_body(response)
    status = response["status"]
    code, reason = (
        (status["code"], status.get("message") or "")
        if isinstance(status, dict)
        else (
            status,
            "",
        )
    )
    if type(code) is not int and not (isinstance(code, str) and code.isdigit()):
        raise ValueError(f"status {code!r} is not a whole number")
    return Interaction(
        RecordedRequest(
            str(request["method"]),
            str(request["uri"]),
            _vcrpy_headers(request.get("headers")),
            _vcrpy_body(request),
        ),
        RecordedResponse(int(code), str(reason), _vcrpy_headers(response.get("headers")), body),
        chunks=(Chunk(0.0, len(body)),) if body else (),
    )
