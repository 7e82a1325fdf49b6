"""Redaction and the secret scanner: nothing secret reaches the disk (sans-I/O).

Redaction runs on every value before it is written: headers by name (``authorization``,
API keys, organisation and project ids, cookies), token-like query parameters, URL userinfo,
and every occurrence of a known secret value in headers, URL, bodies and error messages. The
known secrets are the configured ones (by default ``$OPENAI_API_KEY``) plus every value the
recorder saw in a redacted header (the bearer token the client really sent, the organisation
id), so a key echoed back in an error body is caught too.

The scanner is the second line: it reads back the bytes about to be written and reports any
known secret or key-shaped token (``sk-...``, ``Bearer ...``) still there.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fnmatch
import functools
import os
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_plus, urlsplit, urlunsplit

__all__ = [
    "DEFAULT_DROP_HEADERS",
    "DEFAULT_REDACT_HEADERS",
    "REDACTED",
    "Finding",
    "Redactor",
    "mask",
    "scan",
]

REDACTED = "<redacted>"
_REDACTED_BYTES = REDACTED.encode()

DEFAULT_REDACT_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "openai-organization",
        "openai-project",
        "cookie",
        "set-cookie",
    }
)
"""Headers whose value is replaced by ``<redacted>`` (names compared lower-case)."""

DEFAULT_DROP_HEADERS = (
    "date",
    "set-cookie",
    "user-agent",
    "x-stainless-*",
    "openai-processing-ms",
    "x-envoy-upstream-service-time",
    "cf-ray",
    "cf-cache-status",
    "alt-svc",
    "server-timing",
    "report-to",
    "nel",
    "x-ratelimit-*",
)
"""Volatile headers left out of recordings (shell-style patterns, lower-case)."""

# Response headers that hold a URL, whose query is redacted like the request's.
_URL_HEADERS = frozenset({"location", "content-location", "link", "refresh"})

# A query parameter is a credential when one of the segments of its name (split at "-", "_",
# "." and camelCase humps) is one of these: X-Amz-Security-Token, X-Goog-Signature,
# accessToken, client-secret, session_token. Whole segments, so that author, max_tokens,
# tokenizer or sort_key are not.
_TOKEN_SEGMENTS = frozenset(
    {"token", "secret", "signature", "sig", "password", "passwd", "pwd", "credential", "jwt"}
)
# ... or when its whole name, without separators, is one of these.
_TOKEN_NAMES = frozenset(
    {"key", "apikey", "auth", "accesskey", "secretkey", "privatekey", "subscriptionkey", "code"}
)
_SEGMENT = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def _token_param(name: str) -> bool:
    segments = [segment.lower() for segment in _SEGMENT.findall(name)]
    return "".join(segments) in _TOKEN_NAMES or any(
        segment in _TOKEN_SEGMENTS for segment in segments
    )


# Minimum length of a secret *value* replaced wherever it occurs: shorter values would
# corrupt ordinary text (a test key "k" is redacted in its header, not in every body).
MIN_SECRET_LENGTH = 8

# Key-shaped tokens: an OpenAI-style key (``sk-``, ``sk-proj-``..., the dash possibly written as
# a JSON or URL escape) that is not the tail of a longer word ("task-list-item" is not a key;
# one right after an escape such as \n or %20 is),
# and a bearer credential: a token with a digit in it ("bearer authentication" is prose).
_KEY_SHAPED = re.compile(
    rb"(?:(?<![A-Za-z0-9_\-])|(?<=\\[nrtbf])|(?<=%[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4}))"
    rb"sk(?:-|\\u002[dD]|%2[dD])[A-Za-z0-9_\-]{16,}"
    rb"|(?<![A-Za-z0-9])(?i:bearer)\s+(?!<redacted>)(?=[A-Za-z0-9._~+/=\-]*[0-9])"
    rb"[A-Za-z0-9._~+/=\-]{8,}"
)


def _hex(byte: int) -> bytes:
    """Two hex digits of ``byte``, either case: ``2[dD]``."""
    return b"".join(
        b"[%s%s]" % (c.lower(), c.upper()) if c.isalpha() else c
        for c in (bytes([d]) for d in b"%02x" % byte)
    )


@functools.lru_cache(maxsize=256)
def _encoded(secret: bytes) -> re.Pattern[bytes]:
    """``secret`` with any of its characters written as a JSON escape (``\\u002d``, ``\\/``)
    or percent-encoded (``%2D``): how a key hides in a JSON body or a URL."""
    parts = []
    for byte in secret:
        forms = [re.escape(bytes([byte])), b"%" + _hex(byte)]
        if byte < 0x80:
            forms.append(rb"\\u00" + _hex(byte))
        if byte == 0x2F:
            forms.append(rb"\\/")
        parts.append(b"(?:" + b"|".join(forms) + b")")
    return re.compile(b"".join(parts))


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans that overlap or touch joined into one, left to right."""
    out: list[tuple[int, int]] = []
    for begin, end in sorted(spans):
        if out and begin <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((begin, end))
    return out


def _secret_spans(data: bytes, secrets: Iterable[str], tail: bool = False) -> list[tuple[int, int]]:
    """Where known ``secrets`` are in ``data``: as they are, JSON-escaped or percent-encoded;
    with ``tail``, also a secret's first part at the very end (a body cut off inside it)."""
    spans: list[tuple[int, int]] = []
    escaped = b"\\" in data or b"%" in data
    for secret in secrets:
        if len(secret) < MIN_SECRET_LENGTH:
            continue
        needle = secret.encode()
        start = data.find(needle)
        while start != -1:
            spans.append((start, start + len(needle)))
            start = data.find(needle, start + 1)
        if escaped:
            spans.extend(match.span() for match in _encoded(needle).finditer(data))
        if tail:
            for size in range(len(needle) - 1, MIN_SECRET_LENGTH - 1, -1):
                if data.endswith(needle[:size]):
                    spans.append((len(data) - size, len(data)))
                    break
    return _merged(spans)


# A base64 block in a YAML file (a binary body), and gzip's magic number.
_BINARY_BLOCK = re.compile(rb"!!binary \|[-+]?\n((?:[ ]+[A-Za-z0-9+/=]+\n)+)")
_GZIP_MAGIC = b"\x1f\x8b"


def _hidden(data: bytes) -> list[tuple[int, bytes]]:
    """Bytes that a byte scan of ``data`` cannot read, decoded: each base64 block of a YAML
    file (and a gzip stream inside one), with the offset of the block in ``data``."""
    found = []
    for match in _BINARY_BLOCK.finditer(data):
        try:
            raw = base64.b64decode(match[1])
        except (binascii.Error, ValueError):
            continue
        found.append((match.start(1), raw))
        if raw.startswith(_GZIP_MAGIC):
            with contextlib.suppress(zlib.error):
                found.append((match.start(1), zlib.decompressobj(47).decompress(raw, 1 << 26)))
    return found


@dataclass(frozen=True, slots=True)
class Finding:
    """A secret the scanner found: where (1-based line and column) and what kind."""

    line: int
    column: int
    kind: str  # "known secret" or "key-shaped token"
    excerpt: str  # masked: the first 6 characters, then "..."

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.kind} {self.excerpt!r}"


def _mask(token: bytes) -> str:
    return token[:6].decode("utf-8", "replace") + "..."


def scan(data: bytes, secrets: Iterable[str] = ()) -> list[Finding]:
    """Every known secret and key-shaped token in ``data``, in file order; also inside the
    base64 blocks of a YAML file (binary bodies), which a byte scan cannot read."""
    known = {s for s in secrets if s}
    hits: list[tuple[int, int, str, bytes]] = []
    for start, end in _secret_spans(data, known):
        hits.append((start, end, "known secret", data[start:end]))
    hits.extend((m.start(), m.end(), "key-shaped token", m[0]) for m in _KEY_SHAPED.finditer(data))
    for at, raw in _hidden(data):
        where = "known secret in a binary body"
        hits.extend((at, at + 1, where, raw[b:e]) for b, e in _secret_spans(raw, known))
        hits.extend(
            (at, at + 1, "key-shaped token in a binary body", m[0])
            for m in _KEY_SHAPED.finditer(raw)
        )
    findings = []
    for start, _, kind, token in sorted(hits, key=lambda hit: hit[:3]):
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        findings.append(Finding(line, column, kind, _mask(token)))
    return findings


def default_secrets() -> tuple[str, ...]:
    """The secrets redacted when none are configured: ``$OPENAI_API_KEY``, if set."""
    key = os.environ.get("OPENAI_API_KEY", "")
    return (key,) if key else ()


@dataclass(slots=True)
class Redactor:
    """Redacts headers, URLs, bodies and text; learns secrets from the headers it redacts.

    One per recording: it is not frozen, because the values of redacted request headers
    (the real bearer token, the organisation id) become known secrets as they are seen.
    """

    secrets: set[str] = field(default_factory=lambda: set(default_secrets()))
    redact_headers: frozenset[str] = DEFAULT_REDACT_HEADERS
    drop_headers: Sequence[str] = DEFAULT_DROP_HEADERS

    def learn(self, value: str) -> None:
        """Treat ``value`` (and a bearer token inside it) as a secret from now on."""
        value = value.strip()
        if REDACTED in value:  # already redacted (a cassette recorded earlier)
            return
        scheme, _, token = value.partition(" ")
        candidates = [value]
        if token and scheme.lower() in ("bearer", "basic", "token", "bot"):
            candidates.append(token.strip())
        if scheme.lower() == "basic" and token:
            try:  # user:password, as the server may echo it decoded
                credentials = base64.b64decode(token.strip(), validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                credentials = ""
            candidates.append(credentials)
            candidates.extend(credentials.split(":", 1))
        for candidate in candidates:
            if len(candidate) >= MIN_SECRET_LENGTH:
                self.secrets.add(candidate)

    def _dropped(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.drop_headers)

    def headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Headers with volatile ones dropped and secret ones redacted; names lower-cased."""
        out = []
        for raw_name, value in headers:
            name = raw_name.lower()
            if name in self.redact_headers:
                self.learn(value)
                if not self._dropped(name):
                    out.append((name, REDACTED))
            elif not self._dropped(name):
                if name in _URL_HEADERS:
                    value = self._header_url(name, value)
                out.append((self.text(raw_name).lower(), self.text(value)))
        return out

    def _header_url(self, name: str, value: str) -> str:
        """A URL-bearing header with its URLs redacted, its own syntax kept: ``Link`` holds
        ``<URL>; rel=...`` items, ``Refresh`` ``5; url=URL``."""
        if name == "link":
            return re.sub(r"<([^>]*)>", lambda m: f"<{self.url(m[1])}>", value)
        if name == "refresh":
            head, sep, url = value.partition("url=")
            return head + sep + self.url(url) if sep else value
        return self.url(value)

    def url(self, url: str) -> str:
        """The URL with userinfo, token-like query values and known secrets redacted."""
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            for piece in userinfo.split(":"):
                self.learn(piece)
            netloc = f"{REDACTED}@{host}"
        query, fragment = self._params(parts.query), self._params(parts.fragment)
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, fragment)))

    def _params(self, text: str) -> str:
        """``name=value`` pairs (split at ``&`` and ``;``) with credential values redacted."""
        if "=" not in text:
            return text
        out = []
        for piece in re.split("([&;])", text):
            key, sep, value = piece.partition("=")
            if sep and _token_param(unquote_plus(key)):
                self.learn(unquote_plus(value))
                self.learn(value)
                piece = f"{key}={REDACTED}"
            out.append(piece)
        return "".join(out)

    def text(self, value: str) -> str:
        """``value`` with every known secret replaced (also JSON-escaped or percent-encoded)."""
        if not any(secret in value for secret in self.secrets) and not (
            "\\" in value or "%" in value
        ):
            return value
        return self.body(value.encode())[0].decode("utf-8", "surrogateescape")

    def body(
        self, data: bytes, boundaries: Sequence[int] = (), *, cut_short: bool = False
    ) -> tuple[bytes, list[int]]:
        """``data`` with every known secret replaced, and chunk ``boundaries`` (byte offsets into
        ``data``) moved to where they fall in the result. A boundary inside a secret moves to
        the end of its replacement, so no chunk ever holds part of a secret. With ``cut_short``
        (a body that ended before it was complete), a secret's first part at the very end is
        replaced too: the stream broke inside it."""
        spans = _secret_spans(data, self.secrets, tail=cut_short)
        if not spans:
            return data, list(boundaries)
        pieces, start = [], 0
        for begin, end in spans:
            pieces.append(data[start:begin])
            pieces.append(_REDACTED_BYTES)
            start = end
        pieces.append(data[start:])
        moved = []
        for boundary in boundaries:
            shift = 0
            for begin, end in spans:
                if boundary <= begin:
                    break
                if boundary < end:  # inside the secret: after its replacement
                    shift += begin + len(_REDACTED_BYTES) - boundary
                    break
                shift += len(_REDACTED_BYTES) - (end - begin)
            moved.append(boundary + shift)
        return b"".join(pieces), moved


KEY_SHAPED_TEXT = re.compile(_KEY_SHAPED.pattern.decode())
"""Key-shaped tokens (``sk-...``, ``Bearer ...``) in text."""


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secrets (besides ``$OPENAI_API_KEY``) and key-shaped tokens replaced.

    For what is written from live data without a recorder in front: snapshots, reports.
    """
    redactor = Redactor()
    redactor.secrets.update(secrets)
    return KEY_SHAPED_TEXT.sub(REDACTED, redactor.text(text))
