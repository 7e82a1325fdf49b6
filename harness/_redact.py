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

import fnmatch
import os
import re
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

_TOKEN_PARAMS = frozenset(
    {
        "api_key",
        "api-key",
        "apikey",
        "key",
        "token",
        "access_token",
        "auth",
        "password",
        "secret",
        "sig",
        "signature",
        "client_secret",
        "refresh_token",
        "id_token",
    }
)

# Minimum length of a secret *value* replaced wherever it occurs: shorter values would
# corrupt ordinary text (a test key "k" is redacted in its header, not in every body).
MIN_SECRET_LENGTH = 8

_KEY_SHAPED = re.compile(
    rb"sk-[A-Za-z0-9_\-]{16,}|(?i:bearer)\s+(?!<redacted>)[A-Za-z0-9._~+/=\-]{8,}"
)


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
    """Every known secret and key-shaped token in ``data``, in file order."""
    hits: list[tuple[int, int, str]] = []
    for secret in {s for s in secrets if s}:
        needle = secret.encode()
        start = data.find(needle)
        while start != -1:
            hits.append((start, start + len(needle), "known secret"))
            start = data.find(needle, start + 1)
    hits.extend((m.start(), m.end(), "key-shaped token") for m in _KEY_SHAPED.finditer(data))
    findings = []
    for start, end, kind in sorted(hits):
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        findings.append(Finding(line, column, kind, _mask(data[start:end])))
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
        token = value.split(None, 1)[1] if value.lower().startswith("bearer ") else value
        for candidate in (value, token.strip()):
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
                out.append((name, self.text(value)))
        return out

    def url(self, url: str) -> str:
        """The URL with userinfo, token-like query values and known secrets redacted."""
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            for piece in userinfo.split(":"):
                self.learn(piece)
            netloc = f"{REDACTED}@{host}"
        pieces = []
        for piece in parts.query.split("&") if parts.query else []:
            key, sep, value = piece.partition("=")
            if sep and unquote_plus(key).lower() in _TOKEN_PARAMS:
                self.learn(unquote_plus(value))
                self.learn(value)
                piece = f"{key}={REDACTED}"
            pieces.append(piece)
        query = "&".join(pieces)
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    def text(self, value: str) -> str:
        """``value`` with every known secret replaced."""
        for secret in self._ordered():
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def body(self, data: bytes, boundaries: Sequence[int] = ()) -> tuple[bytes, list[int]]:
        """``data`` with every known secret replaced, and chunk ``boundaries`` (byte offsets into
        ``data``) moved to where they fall in the result. A boundary inside a secret moves to
        the end of its replacement, so no chunk ever holds part of a secret."""
        spans = self._spans(data)
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

    def _ordered(self) -> list[str]:
        # Longest first, so a secret that contains another is replaced whole.
        return sorted(
            (s for s in self.secrets if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True
        )

    def _spans(self, data: bytes) -> list[tuple[int, int]]:
        """Non-overlapping (start, end) spans of known secrets in ``data``, left to right."""
        found: list[tuple[int, int]] = []
        for secret in self._ordered():
            needle = secret.encode()
            start = data.find(needle)
            while start != -1:
                end = start + len(needle)
                if not any(b < end and start < e for b, e in found):
                    found.append((start, end))
                start = data.find(needle, end)
        return sorted(found)


KEY_SHAPED_TEXT = re.compile(_KEY_SHAPED.pattern.decode())
"""Key-shaped tokens (``sk-...``, ``Bearer ...``) in text."""


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secrets (besides ``$OPENAI_API_KEY``) and key-shaped tokens replaced.

    For what is written from live data without a recorder in front: snapshots, reports.
    """
    redactor = Redactor()
    redactor.secrets.update(secrets)
    return KEY_SHAPED_TEXT.sub(REDACTED, redactor.text(text))
