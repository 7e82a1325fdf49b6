"""Content-Encoding for recordings: bodies are kept decoded (sans-I/O).

A body recorded as the server compressed it would hide from redaction and from the secret
scanner: an API key echoed in a gzip error body would reach the disk. So the recorder keeps
what the client reads after decoding, chunk by chunk (a chunk is the bytes a raw chunk decoded
to, at that chunk's arrival), and drops ``Content-Encoding`` and ``Content-Length`` from the
recorded headers. A replay serves those bytes unencoded, which every HTTP client reads the same.

gzip and deflate are decoded with :mod:`zlib`; br and zstd when ``brotli`` (or ``brotlicffi``)
and ``zstandard`` are installed, the packages httpx itself decodes them with. A body that cannot
be decoded cannot be checked for secrets: :class:`UndecodableBody` says why, and nothing is
written.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

__all__ = ["UndecodableBody", "decoded", "encodings", "without_encoding"]


class UndecodableBody(ValueError):
    """A body whose Content-Encoding harness cannot undo (unknown, missing decoder, corrupt)."""


class _Decoder(Protocol):
    def decode(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class _Zlib:
    """gzip, or deflate: zlib-wrapped as the RFC says, or raw as some servers send it."""

    def __init__(self, wbits: int, fallback: int | None = None) -> None:
        self._object = zlib.decompressobj(wbits)
        self._fallback = fallback
        self._started = False

    def decode(self, data: bytes) -> bytes:
        try:
            out = self._object.decompress(data)
        except zlib.error as exc:
            if self._fallback is None or self._started:
                raise UndecodableBody(str(exc)) from None
            self._object, self._fallback = zlib.decompressobj(self._fallback), None
            return self.decode(data)
        self._started = self._started or bool(data)
        return out

    def flush(self) -> bytes:
        try:
            return self._object.flush()
        except zlib.error as exc:
            raise UndecodableBody(str(exc)) from None


class _Library:
    """br or zstd through the package httpx would use; its errors become UndecodableBody."""

    def __init__(self, decode: Any, flush: Any = None) -> None:
        self._decode, self._flush = decode, flush

    def decode(self, data: bytes) -> bytes:
        try:
            return bytes(self._decode(data))
        except Exception as exc:
            raise UndecodableBody(f"{type(exc).__name__}: {exc}") from None

    def flush(self) -> bytes:
        return bytes(self._flush()) if self._flush is not None else b""


class _Zstd:
    """zstd, frame after frame: a body may hold several (as httpx's own decoder allows)."""

    def __init__(self, zstandard: Any) -> None:
        self._zstandard = zstandard
        self._object = zstandard.ZstdDecompressor().decompressobj()

    def decode(self, data: bytes) -> bytes:
        out = []
        while data:
            if self._object.eof:  # the last frame ended: this is the next one
                self._object = self._zstandard.ZstdDecompressor().decompressobj()
            out.append(self._object.decompress(data))
            data = self._object.unused_data if self._object.eof else b""
        return b"".join(out)


def _module(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _decoder(encoding: str) -> _Decoder:
    if encoding in ("gzip", "x-gzip"):
        return _Zlib(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return _Zlib(zlib.MAX_WBITS, fallback=-zlib.MAX_WBITS)
    if encoding == "br":
        brotli = _module("brotli", "brotlicffi")
        if brotli is None:
            raise UndecodableBody("br-encoded, and neither brotli nor brotlicffi is installed")
        decompressor = brotli.Decompressor()
        step = getattr(decompressor, "process", None) or decompressor.decompress
        return _Library(step)
    if encoding == "zstd":
        zstandard = _module("zstandard")
        if zstandard is None:
            raise UndecodableBody("zstd-encoded, and zstandard is not installed")
        return _Library(_Zstd(zstandard).decode)
    raise UndecodableBody(f"unknown content-encoding {encoding!r}")


def encodings(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The content codings applied to a body, in the order they were applied."""
    found: list[str] = []
    for name, value in headers:
        if name.lower() == "content-encoding":
            found.extend(part.strip().lower() for part in value.split(","))
    return [coding for coding in found if coding and coding != "identity"]


def without_encoding(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """``headers`` for the decoded body: no Content-Encoding, no Content-Length."""
    return tuple(
        (name, value)
        for name, value in headers
        if name.lower() not in ("content-encoding", "content-length")
    )


def decoded(codings: Sequence[str], pieces: Iterable[bytes]) -> list[bytes]:
    """Each piece of a body with ``codings`` undone, as the client reads it piece by piece;
    what the decoders still held at the end is added to the last piece.

    Raises :class:`UndecodableBody` when a coding is unknown, its decoder is not installed,
    or the data is corrupt. A body cut short (a stream that broke) decodes as far as it goes.
    """
    decoders = [_decoder(coding) for coding in reversed(codings)]
    out = []
    for piece in pieces:
        for decoder in decoders:
            piece = decoder.decode(piece)
        out.append(piece)
    tail = b""
    for i, decoder in enumerate(decoders):
        rest = decoder.flush()
        for later in decoders[i + 1 :]:
            rest = later.decode(rest)
        tail += rest
    if tail:
        if out:
            out[-1] += tail
        else:
            out.append(tail)
    return out
