"""The cassette: recorded HTTP attempts, their chunk timing and how each ended. Format 1.

A cassette file is YAML that vcrpy (and so pytest-recording) loads as its own format 1, and
that is written for people reading a diff::

    # harness cassette ... (comments)
    harness: {"format": 1, "version": "0.1.0"}
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
          [211.3, 1024], [230.9, 512],  <- [arrival in ms since the request was sent, size]
          ]
    # sha256: 1f2e...                   <- of every byte above this line

Strings are JSON string literals (valid YAML double-quoted scalars), bodies literal blocks
(``|2-``, ``|2``, ``|2+`` keep them byte for byte) or, when a literal block cannot hold them
exactly, a quoted string or ``!!binary`` base64. Attempts that failed before any response
(a refused connection) cannot be vcrpy interactions; they are kept under ``unanswered`` with
the index of the interaction they came before.

Loading checks the last line first: a truncated file or one changed by accident is refused
with a :class:`~harness.CassetteError` naming the file; it is never half-loaded. Our own loader
reads exactly the layout above (it does not need a YAML parser, which makes it fast); files
from vcrpy are read with vcrpy's loader.
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness._exceptions import CassetteError
from harness._files import write_atomic
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

FORMAT = 1
_CHECKSUM = "# sha256: "
_HEADER_COMMENT = (
    "# harness cassette, format 1: one HTTP attempt per interaction. vcrpy can play it.\n"
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
        """The body parsed as JSON (``ValueError`` if it is not)."""
        return json.loads(self.body)


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
    chunks: tuple[Chunk, ...] = ()
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


@dataclass(frozen=True, slots=True)
class Cassette:
    """Recorded interactions in the order they were attempted."""

    interactions: tuple[Interaction, ...] = ()
    path: Path | None = field(default=None, compare=False)

    # -- writing -----------------------------------------------------------------------------

    def dumps(self, redactor: Redactor | None = None) -> bytes:
        """The file's bytes, redacted (with a default :class:`Redactor` when none is given)."""
        redactor = redactor or Redactor()
        # Learn every secret in every header before writing anything, so a key seen in the
        # third request is also redacted from the first response body.
        for interaction in self.interactions:
            redactor.headers(interaction.request.headers)
            redactor.url(interaction.request.uri)
        out = [_HEADER_COMMENT, f'harness: {{"format": {FORMAT}, "version": {_q(_version())}}}\n']
        body: list[str] = []
        unanswered: list[tuple[int, Interaction]] = []
        answered = 0
        for interaction in self.interactions:
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
        data = target.read_bytes()
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
            data = target.read_bytes()
        except OSError as exc:
            raise CassetteError(f"cannot read: {exc.strerror or exc}", path=target) from exc
        return cls.loads(data, target)

    @classmethod
    def loads(cls, data: bytes, path: str | Path | None = None) -> Cassette:
        target = Path(path) if path is not None else None
        if not data.startswith(b"# harness cassette"):
            return _load_vcrpy(data, target)
        return _Parser(data, target).cassette()


# -- the writer ---------------------------------------------------------------------------------

_UNSAFE = re.compile("[\x00-\x1f\x22\x5c\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
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
        value = json.loads(body, parse_constant=_reject)
    except (ValueError, UnicodeDecodeError):
        return body
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode()


def _reject(name: str) -> Any:
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
    body, _ = redactor.body(request.body)
    _emit_body(out, "body", _canonical_json(body), 4)


def _emit_response(out: list[str], interaction: Interaction, redactor: Redactor) -> None:
    response = interaction.response
    assert response is not None
    out.append("  response:\n")
    out.append(f"    status: {_flow({'code': response.status, 'message': response.reason})}\n")
    _emit_headers(out, redactor.headers(response.headers), 4)
    boundaries, total = [], 0
    for chunk in interaction.chunks:
        total += chunk.size
        boundaries.append(total)
    body, moved = redactor.body(response.body, boundaries)
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
        pairs.append(f"[{_scalar(float(chunk.offset_ms))}, {end - previous}]")
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


@functools.cache
def _block_end(indent: int) -> re.Pattern[str]:
    """Where a literal block indented by ``indent`` ends: a line break before a non-empty line
    with less indentation."""
    return re.compile(rf"\n(?! {{{indent}}}|\n)")


# -- our reader ---------------------------------------------------------------------------------


class _Parser:
    """Reads exactly the layout ``Cassette.dumps`` writes, after checking the checksum."""

    def __init__(self, data: bytes, path: Path | None) -> None:
        self.path = path
        cut = data.rfind(_CHECKSUM.encode(), 0, len(data))
        if cut == -1 or not data.endswith(b"\n") or data.count(b"\n", cut) != 1:
            raise self.error(
                "truncated or damaged: the checksum line that ends every harness cassette is "
                "missing; the file is refused, not half-loaded. Re-record it"
            )
        digest = data[cut + len(_CHECKSUM) : -1].decode("ascii", "replace")
        if hashlib.sha256(data[:cut]).hexdigest() != digest:
            line = data.count(b"\n", 0, cut) + 1
            raise self.error(
                f"checksum mismatch (line {line}): the file was changed after it was written. "
                "Re-record it, or after a deliberate edit run harness.Cassette.rehash(path)"
            )
        try:
            self.text = data[:cut].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error(f"not UTF-8 at byte {exc.start}") from exc
        self.pos = 0

    def error(self, message: str, line: int | None = None) -> CassetteError:
        return CassetteError(message, path=self.path, line=line)

    def _line_no(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def line(self) -> str:
        end = self.text.find("\n", self.pos)
        if end == -1:
            raise self.error("unexpected end of file", self._line_no())
        line = self.text[self.pos : end]
        self.pos = end + 1
        return line

    def peek(self) -> str:
        end = self.text.find("\n", self.pos)
        return self.text[self.pos : end if end != -1 else len(self.text)]

    def field(self, prefix: str) -> str:
        """The rest of the next line, which must start with ``prefix``."""
        line = self.line()
        if not line.startswith(prefix):
            raise self.error(
                f"expected {prefix.strip()!r}, found {line[:60]!r}", self._line_no() - 1
            )
        return line[len(prefix) :]

    def json(self, text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError as exc:
            raise self.error(f"malformed value {text[:60]!r}: {exc}", self._line_no() - 1) from exc

    def cassette(self) -> Cassette:
        while self.peek().startswith("#"):
            self.line()
        header = self.json(self.field("harness: "))
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise self.error(
                f"cassette format {header.get('format') if isinstance(header, dict) else '?'} "
                f"is not supported by this harness (format {FORMAT}); re-record it",
                self._line_no() - 1,
            )
        self.field("version: 1")
        answered: list[Interaction] = []
        listed = self.line()
        if listed == "interactions:":
            while self.peek().startswith("- request:"):
                answered.append(self.interaction())
        elif listed != "interactions: []":
            raise self.error(
                f"expected 'interactions:', found {listed[:60]!r}", self._line_no() - 1
            )
        unanswered: list[tuple[int, Interaction]] = []
        if self.peek() == "unanswered:":
            self.line()
            while self.peek().startswith("- request:"):
                request = self.request()
                error = self.json(self.field("  error: "))
                try:
                    before = int(error["before"])
                    failure = TransportFailure(str(error["type"]), str(error["message"]))
                    end_ms = error.get("end_ms")
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.error(f"malformed error: {exc!r}", self._line_no() - 1) from exc
                interaction = Interaction(
                    request, None, outcome=Outcome.FAILED, error=failure, end_ms=end_ms
                )
                unanswered.append((before, interaction))
        if self.pos != len(self.text):
            raise self.error(f"unexpected content {self.peek()[:60]!r}", self._line_no())
        interactions: list[Interaction] = []
        for index, interaction in enumerate(answered):
            interactions.extend(i for before, i in unanswered if before == index)
            interactions.append(interaction)
        interactions.extend(i for before, i in unanswered if before >= len(answered))
        return Cassette(tuple(interactions), self.path)

    def request(self) -> RecordedRequest:
        self.field("- request:")
        method = self.json(self.field("    method: "))
        uri = self.json(self.field("    uri: "))
        headers = self.headers(4)
        body = self.body("body", 4)
        return RecordedRequest(method, uri, headers, body)

    def interaction(self) -> Interaction:
        request = self.request()
        self.field("  response:")
        status = self.json(self.field("    status: "))
        headers = self.headers(4)
        self.field("    body:")
        body = self.body("string", 6)
        self.field("  harness:")
        outcome = self.json(self.field("    outcome: "))
        chunks = self.chunks()
        try:
            kind = Outcome(outcome["kind"])
            response = RecordedResponse(int(status["code"]), str(status["message"]), headers, body)
            error = (
                TransportFailure(outcome["error"], outcome.get("message", ""))
                if "error" in outcome
                else None
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise self.error(f"malformed interaction: {exc!r}", self._line_no()) from exc
        if sum(chunk.size for chunk in chunks) != len(body):
            raise self.error(
                f"chunk sizes add up to {sum(c.size for c in chunks)} bytes, the body has "
                f"{len(body)}",
                self._line_no() - 1,
            )
        return Interaction(
            request, response, chunks, kind, outcome.get("head_ms"), error, outcome.get("end_ms")
        )

    def headers(self, indent: int) -> tuple[tuple[str, str], ...]:
        pad = " " * indent
        rest = self.field(f"{pad}headers:")
        if rest == " {}":
            return ()
        pairs: list[tuple[str, str]] = []
        inner = pad + "  "
        while self.peek().startswith(inner + '"'):
            entry = self.json("{" + self.line()[len(inner) :] + "}")
            for name, values in entry.items():
                pairs.extend((name, value) for value in values)
        return tuple(pairs)

    def body(self, key: str, indent: int) -> bytes:
        pad = " " * indent
        rest = self.field(f"{pad}{key}: ")
        if rest.startswith('"'):
            return str(self.json(rest)).encode()
        if rest == "!!binary |":
            encoded = []
            while self.peek().startswith(pad + "  "):
                encoded.append(self.line().strip())
            return base64.b64decode("".join(encoded))
        if rest not in ("|2-", "|2", "|2+"):
            raise self.error(f"unknown body style {rest!r}", self._line_no() - 1)
        content = pad + "  "
        # The block ends at the first non-empty line indented less than its content.
        end_match = _block_end(len(content)).search(self.text, self.pos - 1)
        end = end_match.start() + 1 if end_match else len(self.text)
        block = self.text[self.pos : end]
        self.pos = end
        text = ("\n" + block).replace("\n" + content, "\n")[1:]
        if rest == "|2-":
            text = text.rstrip("\n")
        elif rest == "|2":
            text = text.rstrip("\n") + "\n"
        return text.encode()

    def chunks(self) -> tuple[Chunk, ...]:
        rest = self.field("    chunks: ")
        if rest == "[]":
            return ()
        if rest != "[":
            raise self.error(f"malformed chunks {rest[:60]!r}", self._line_no() - 1)
        end = self.text.find("\n      ]\n", self.pos)
        if end == -1:
            raise self.error("unterminated chunks list", self._line_no())
        raw = self.text[self.pos : end].rstrip().rstrip(",")
        self.pos = end + len("\n      ]\n")
        pairs = self.json("[" + raw + "]")
        return tuple(Chunk(float(offset), int(size)) for offset, size in pairs)


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
    interactions = []
    for index, entry in enumerate(raw["interactions"]):
        try:
            interactions.append(_vcrpy_interaction(entry))
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
    return str(value).encode()


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
        else (int(status), "")
    )
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
