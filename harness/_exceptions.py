"""The one exception tree of harness.

::

    HarnessError
    ├── ConfigurationError            missing API key, bad environment value, bad argument
    ├── FixtureError                  the SSE fixture file cannot be read
    ├── CassetteError                 a cassette is missing, truncated, damaged or refused
    ├── SecretLeakError               a file about to be written still holds a secret
    ├── ValidationError               a recording or replay breaks the schemas (in _validate.py)
    └── APIError                      what the server (or the way to it) did; carries request ids
        ├── APIConnectionError        transport failures, after the request retries ran out
        ├── APIStatusError            a non-2xx answer; status, raw body, parsed {"error": {...}}
        │   └── RetryLimitError       429/5xx until the request retries ran out
        ├── UnexpectedContentTypeError  a 2xx answer that is not text/event-stream
        └── StreamError               the stream broke after it started; `retryable`, `retry_after`
            ├── IdleTimeoutError      "idle timeout waiting for SSE"
            ├── StreamClosedError     "stream closed before response.completed"
            ├── ResponseIncompleteError  response.incomplete, with its reason
            └── ResponseFailedError   response.failed or a top-level error event; `code`
                ├── ContextWindowExceededError   context_length_exceeded (fatal)
                ├── QuotaExceededError           insufficient_quota (fatal)
                ├── InvalidRequestError          invalid_prompt (fatal)
                └── ServerOverloadedError        server_is_overloaded (fatal)

Foreign exceptions (httpx, OSError) are translated in one place each and chained with
``raise ... from exc``. Every :class:`APIError` carries ``request_id`` and ``cf_ray`` when the
server sent them, and shows them in its message.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "CassetteError",
    "ConfigurationError",
    "ContextWindowExceededError",
    "FixtureError",
    "HarnessError",
    "IdleTimeoutError",
    "InvalidRequestError",
    "QuotaExceededError",
    "ResponseFailedError",
    "ResponseIncompleteError",
    "RetryLimitError",
    "SecretLeakError",
    "ServerOverloadedError",
    "StreamClosedError",
    "StreamError",
    "UnexpectedContentTypeError",
]


class HarnessError(Exception):
    """Root of every error harness raises on purpose."""


class ConfigurationError(HarnessError):
    """A setting is missing or malformed (argument or environment variable)."""


class FixtureError(HarnessError):
    """The SSE fixture file (``HARNESS_SSE_FIXTURE``, ``CODEX_RS_SSE_FIXTURE``) is unusable."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class CassetteError(HarnessError):
    """A cassette cannot be used: missing, truncated, damaged, of another format, or refused.

    ``path`` names the file, ``line`` (1-based) and ``interaction_index`` the place when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
        interaction_index: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.interaction_index = interaction_index

    def __str__(self) -> str:
        place = self.path or "<cassette>"
        if self.line is not None:
            place += f":{self.line}"
        if self.interaction_index is not None:
            place += f" (interaction {self.interaction_index})"
        return f"{place}: {self.message}"


class SecretLeakError(HarnessError):
    """A secret survived redaction; the file was not written (an older one is left as it was).

    ``findings`` lists each place (line, column, kind, a masked excerpt).
    """

    def __init__(self, path: str | os.PathLike[str], findings: Sequence[Any]) -> None:
        self.path = os.fspath(path)
        self.findings = list(findings)
        listed = "; ".join(str(finding) for finding in self.findings[:5])
        more = f" (and {len(self.findings) - 5} more)" if len(self.findings) > 5 else ""
        super().__init__(
            f"{self.path}: not written, it would contain a secret: {listed}{more}. "
            "Add the value to the recorder's secrets to redact it"
        )


class APIError(HarnessError):
    """Something the API (or the connection to it) did; carries the ids support will ask for."""

    def __init__(
        self, message: str, *, request_id: str | None = None, cf_ray: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id
        self.cf_ray = cf_ray

    def __str__(self) -> str:
        ids = [f"request id {self.request_id}"] if self.request_id else []
        if self.cf_ray:
            ids.append(f"cf-ray {self.cf_ray}")
        return f"{self.message} ({', '.join(ids)})" if ids else self.message


class APIConnectionError(APIError):
    """The request could not be sent or its answer not read, and the retries ran out."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class APIStatusError(APIError):
    """The server answered with a non-2xx status.

    ``error`` is the parsed ``{"error": {message, type, param, code}}`` object when the body has
    one, ``body`` the raw text either way; the message shows the server's own words, which is why
    the seed client reads the body of an error response at all.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: str,
        error: dict[str, Any] | None = None,
        request_id: str | None = None,
        cf_ray: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id, cf_ray=cf_ray)
        self.status = status
        self.body = body
        self.error = error


class RetryLimitError(APIStatusError):
    """429 or 5xx on every attempt; ``attempts`` requests were made."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: str,
        attempts: int,
        error: dict[str, Any] | None = None,
        request_id: str | None = None,
        cf_ray: str | None = None,
    ) -> None:
        super().__init__(
            message, status=status, body=body, error=error, request_id=request_id, cf_ray=cf_ray
        )
        self.attempts = attempts


class UnexpectedContentTypeError(APIError):
    """A 2xx answer to a streaming request that is not ``text/event-stream``; never parsed."""

    def __init__(
        self,
        message: str,
        *,
        content_type: str,
        body: str,
        request_id: str | None = None,
        cf_ray: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id, cf_ray=cf_ray)
        self.content_type = content_type
        self.body = body


class StreamError(APIError):
    """The event stream broke after it started.

    ``retryable`` says whether the client may send the whole request again; ``retry_after`` is
    the delay the server asked for (seconds), when it asked.
    """

    retryable: bool = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        request_id: str | None = None,
        cf_ray: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id, cf_ray=cf_ray)
        self.retry_after = retry_after


class IdleTimeoutError(StreamError):
    """No SSE event arrived within the idle timeout (keep-alive comments do not count)."""


class StreamClosedError(StreamError):
    """The body ended, or the connection broke, before ``response.completed`` arrived."""


class ResponseIncompleteError(StreamError):
    """The server sent ``response.incomplete``; ``reason`` is its ``incomplete_details.reason``."""

    def __init__(
        self,
        message: str,
        *,
        reason: str | None,
        request_id: str | None = None,
        cf_ray: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id, cf_ray=cf_ray)
        self.reason = reason


class ResponseFailedError(StreamError):
    """The server sent ``response.failed`` or a top-level ``error`` event.

    Retryable unless a fatal subclass; ``retry_after`` comes from "try again in ..." in the message.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None,
        retry_after: float | None = None,
        request_id: str | None = None,
        cf_ray: str | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after, request_id=request_id, cf_ray=cf_ray)
        self.code = code


class ContextWindowExceededError(ResponseFailedError):
    """``context_length_exceeded``: the input does not fit; retrying cannot help."""

    retryable = False


class QuotaExceededError(ResponseFailedError):
    """``insufficient_quota``: the account is out of credit; retrying cannot help."""

    retryable = False


class InvalidRequestError(ResponseFailedError):
    """``invalid_prompt``: the server refused the prompt; retrying cannot help."""

    retryable = False


class ServerOverloadedError(ResponseFailedError):
    """``server_is_overloaded``: fatal for this turn, as in Codex."""

    retryable = False
