"""The streaming client: a Python equal of the Codex CLI's Rust ``ModelClient``.

``AsyncModelClient`` and ``ModelClient`` share everything that does no I/O in
:class:`_BaseClient` and in the per-attempt :class:`_Attempt`: the payload, headers, retry
decisions, SSE decoding, event mapping and the idle clock. Their own methods only send, read
and sleep, line for line alike.

Two levels of retry, as in Codex:

- before the stream starts: 429, 5xx and transport errors, ``OPENAI_REQUEST_MAX_RETRIES``
  times (default 4), waiting as the server asks (``Retry-After``...) or with backoff;
- once it has started: a retryable :class:`~harness.StreamError` (connection lost, idle
  timeout, early close, a non-fatal ``response.failed``) re-sends the whole request,
  ``OPENAI_STREAM_MAX_RETRIES`` times (default 5). The client yields a
  :class:`~harness.Reconnecting` event first, so a consumer knows the partial turn is void.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from harness._events import Reconnecting, ResponseEvent
from harness._exceptions import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    IdleTimeoutError,
    RetryLimitError,
    StreamClosedError,
    StreamError,
    UnexpectedContentTypeError,
)
from harness._fixture import FixtureTransport
from harness._models import Prompt, item_to_dict
from harness._pipeline import EventPipeline
from harness._retry import backoff, is_retryable_status, retry_after
from harness._sse import SSEDecoder

__all__ = ["SHELL_TOOL", "AsyncModelClient", "AsyncResponseStream", "ModelClient", "ResponseStream"]

logger = logging.getLogger("harness")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_REQUEST_MAX_RETRIES = 4
DEFAULT_STREAM_MAX_RETRIES = 5
DEFAULT_IDLE_TIMEOUT = 300.0  # seconds, as Codex's OPENAI_STREAM_IDLE_TIMEOUT_MS default
CONNECT_TIMEOUT = 30.0
# The longest wait a server's Retry-After (or "try again in Ns") is honoured for; a longer one
# is not waited out (a client blocked for hours looks hung): the error is raised at once. The
# openai SDKs honour up to 60 s too.
MAX_RETRY_DELAY = 60.0

ReasoningEffort = Literal["minimal", "low", "medium", "high"]

SHELL_TOOL: Mapping[str, Any] = {
    "name": "shell",
    "type": "function",
    "description": "Runs a shell command, and returns its output.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "command": {"type": "array", "items": {"type": "string"}},
            "timeout": {"type": "number"},
            "workdir": {"type": "string"},
        },
        "required": ["command"],
        "additionalProperties": False,
    },
}
"""The seed's one tool, serialised exactly as serde writes it (properties in BTreeMap order)."""

# Errors from which a retry can recover; anything else (a bad URL scheme, a proxy refusing us,
# a local protocol error) fails at once.
_RETRYABLE_TRANSPORT_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if value < 0:
        raise ConfigurationError(f"{name}={raw!r} must not be negative")
    return value


def _base_url() -> str:
    if url := os.environ.get("OPENAI_BASE_URL"):
        return url
    if base := os.environ.get("OPENAI_API_BASE"):  # the seed's variable, without /v1
        return base.rstrip("/") + "/v1"
    return DEFAULT_BASE_URL


def _header_ids(headers: httpx.Headers) -> dict[str, str | None]:
    return {"request_id": headers.get("x-request-id"), "cf_ray": headers.get("cf-ray")}


def _status_error(
    response: httpx.Response, body: bytes, *, attempts: int, exhausted: bool
) -> APIStatusError:
    """The error for a non-2xx answer, its message showing the server's own words."""
    text = body.decode("utf-8", errors="replace")
    error: dict[str, Any] | None = None
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        error = parsed["error"]
    if error is not None and error.get("message"):
        detail = str(error["message"])
        extras = [f"{key} {error[key]}" for key in ("type", "param", "code") if error.get(key)]
        if extras:
            detail += f" [{', '.join(extras)}]"
    else:
        detail = text.strip()[:500] or "(empty body)"
    head = f"{response.status_code} {response.reason_phrase} from {response.request.url}"
    ids = _header_ids(response.headers)
    if exhausted:
        return RetryLimitError(
            f"{head} after {attempts} attempts, retries exhausted: {detail}",
            status=response.status_code,
            body=text,
            error=error,
            attempts=attempts,
            **ids,
        )
    return APIStatusError(
        f"{head}: {detail}", status=response.status_code, body=text, error=error, **ids
    )


def _content_type_error(response: httpx.Response, body: bytes) -> UnexpectedContentTypeError:
    content_type = response.headers.get("content-type", "")
    snippet = body.decode("utf-8", errors="replace").strip()
    return UnexpectedContentTypeError(
        f"{response.status_code} from {response.request.url} is {content_type or 'untyped'!r}, "
        f"not 'text/event-stream'; not parsed as a stream. Body starts: {snippet[:200]!r}",
        content_type=content_type,
        body=snippet,
        **_header_ids(response.headers),
    )


def _is_event_stream(response: httpx.Response) -> bool:
    media: str = response.headers.get("content-type", "").partition(";")[0]
    return media.strip().lower() == "text/event-stream"


class _Attempt:
    """The non-I/O part of reading one streamed response: decoder, pipeline and idle clock.

    The idle timeout runs from the last *event* (keep-alive comments do not reset it), or from
    when the consumer came back for more: time the consumer spends on an event is not the
    server's silence (the seed times only its wait for the next event). It is
    enforced twice: httpx's read timeout (set to the idle timeout) fires on silence, and the
    clock check fires when a chunk arrives after the deadline, so comments alone cannot keep a
    stream alive. httpx reads its read timeout once per body, so after comments then silence
    the error can come up to one idle timeout late; it always comes.
    """

    __slots__ = ("_clock", "_deadline", "_decoder", "_idle", "pipeline")

    def __init__(self, response: httpx.Response, idle_timeout: float, clock: Callable[[], float]):
        self._clock = clock
        self._idle = idle_timeout
        self._deadline = clock() + idle_timeout
        self._decoder = SSEDecoder()
        self.pipeline = EventPipeline(**_header_ids(response.headers))

    def feed(self, chunk: bytes) -> Iterator[ResponseEvent]:
        """Events completed by ``chunk``, one at a time; stops at :class:`~harness.Completed`.

        One at a time, not as a list: a server flushes the last events of a turn together, and
        an item finished in the same chunk as the ``response.failed`` after it must reach the
        consumer before that failure's error."""
        sse_events = self._decoder.feed(chunk)
        now = self._clock()
        if sse_events:
            self._deadline = now + self._idle
        elif now >= self._deadline:
            raise self.idle_timeout()
        yielded = False
        for sse in sse_events:
            event = self.pipeline.process(sse)
            if event is not None:
                yield event
                if self.pipeline.completed:
                    return
                yielded = True
        if yielded:  # the consumer is back for more: its time with the events was not silence
            self._deadline = self._clock() + self._idle

    @property
    def completed(self) -> bool:
        return self.pipeline.completed

    def end_of_body(self) -> StreamClosedError:
        self._decoder.close()
        return StreamClosedError(
            "stream closed before response.completed",
            request_id=self.pipeline.request_id,
            cf_ray=self.pipeline.cf_ray,
        )

    def idle_timeout(self) -> IdleTimeoutError:
        return IdleTimeoutError(
            "idle timeout waiting for SSE",
            request_id=self.pipeline.request_id,
            cf_ray=self.pipeline.cf_ray,
        )

    def broken(self, exc: httpx.TransportError) -> StreamError:
        """The stream error for a transport failure in the middle of the body."""
        if isinstance(exc, httpx.ReadTimeout):
            return self.idle_timeout()
        return StreamClosedError(
            f"stream closed before response.completed: {type(exc).__name__}: {exc}",
            request_id=self.pipeline.request_id,
            cf_ray=self.pipeline.cf_ray,
        )


class _BaseClient:
    """Configuration, payload and retry decisions shared by both clients; no I/O."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        reasoning_effort: ReasoningEffort | None = "high",
        max_retries: int | None = None,
        stream_max_retries: int | None = None,
        idle_timeout: float | None = None,
        fixture: str | Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        max_retry_delay: float = MAX_RETRY_DELAY,
    ) -> None:
        if not model:
            raise ConfigurationError("model must be a non-empty string")
        self.model = model
        self.base_url = (base_url or _base_url()).rstrip("/")
        self._api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.reasoning_effort = reasoning_effort
        self.max_retries = (
            max_retries
            if max_retries is not None
            else _env_int("OPENAI_REQUEST_MAX_RETRIES", DEFAULT_REQUEST_MAX_RETRIES)
        )
        self.stream_max_retries = (
            stream_max_retries
            if stream_max_retries is not None
            else _env_int("OPENAI_STREAM_MAX_RETRIES", DEFAULT_STREAM_MAX_RETRIES)
        )
        self.idle_timeout = (
            idle_timeout
            if idle_timeout is not None
            else _env_int("OPENAI_STREAM_IDLE_TIMEOUT_MS", int(DEFAULT_IDLE_TIMEOUT * 1000)) / 1000
        )
        if self.idle_timeout <= 0:
            raise ConfigurationError(f"idle timeout must be positive, got {self.idle_timeout}")
        self._codex_fixture = False
        if fixture is None:
            if env_fixture := os.environ.get("HARNESS_SSE_FIXTURE"):
                fixture = env_fixture
            elif env_fixture := os.environ.get("CODEX_RS_SSE_FIXTURE"):
                fixture, self._codex_fixture = env_fixture, True
        self.fixture = None if fixture is None else str(fixture)
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()
        self.max_retry_delay = max_retry_delay
        self.url = f"{self.base_url}/responses"

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.idle_timeout, connect=min(CONNECT_TIMEOUT, self.idle_timeout))

    def _fixture_transport(self) -> FixtureTransport | None:
        if self.fixture is None:
            return None
        logger.info("streaming from fixture %s", self.fixture)
        return FixtureTransport(self.fixture, codex_form=True if self._codex_fixture else None)

    def payload(self, prompt: Prompt) -> dict[str, Any]:
        """The request body as the seed builds it, keys in the seed's order."""
        body: dict[str, Any] = {"model": self.model}
        if prompt.instructions is not None:
            body["instructions"] = prompt.instructions
        body["input"] = [item_to_dict(item) for item in prompt.input]
        body["tools"] = [SHELL_TOOL]
        body["tool_choice"] = "auto"
        body["parallel_tool_calls"] = False
        body["reasoning"] = (
            None if self.reasoning_effort is None else {"effort": self.reasoning_effort}
        )
        if prompt.previous_response_id is not None:
            body["previous_response_id"] = prompt.previous_response_id
        body["stream"] = True
        return body

    def _request_parts(self, prompt: Prompt) -> tuple[dict[str, str], bytes]:
        """Headers and body; raises before any I/O when there is no API key."""
        if self.fixture is None and not self._api_key:
            raise ConfigurationError(
                "no API key: pass api_key=... or set OPENAI_API_KEY "
                "(or HARNESS_SSE_FIXTURE to stream from a file)"
            )
        headers = {
            "Authorization": f"Bearer {self._api_key or 'fixture'}",
            "OpenAI-Beta": "responses=experimental",
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
        }
        body = json.dumps(self.payload(prompt), ensure_ascii=False, separators=(",", ":"))
        return headers, body.encode()

    def _status_delay(self, response: httpx.Response, body: bytes, attempt: int) -> float:
        """Seconds to wait before re-sending after a non-2xx answer, or the error to raise."""
        headers = response.headers
        if not is_retryable_status(response.status_code, headers):
            raise _status_error(response, body, attempts=attempt, exhausted=False)
        if attempt > self.max_retries:
            raise _status_error(response, body, attempts=attempt, exhausted=True)
        delay = retry_after(headers, self._wall_clock())
        if delay is not None and delay > self.max_retry_delay:
            error = _status_error(response, body, attempts=attempt, exhausted=False)
            error.message += (
                f" (not retried: the server asked to wait {delay:.0f} s, more than "
                f"max_retry_delay={self.max_retry_delay:g} s)"
            )
            raise error
        if delay is None:
            delay = backoff(attempt, self._rng)
        logger.warning(
            "%s %s, retry %d/%d in %.3f s",
            response.status_code,
            response.reason_phrase,
            attempt,
            self.max_retries,
            delay,
        )
        return delay

    def _transport_delay(self, exc: httpx.TransportError, attempt: int) -> float:
        """Seconds to wait before re-sending after a transport error, or the error to raise."""
        if not isinstance(exc, _RETRYABLE_TRANSPORT_ERRORS) or attempt > self.max_retries:
            tried = f"after {attempt} attempts" if attempt > 1 else "on the first attempt"
            raise APIConnectionError(
                f"POST {self.url} failed {tried}: {type(exc).__name__}: {exc}", attempts=attempt
            ) from exc
        delay = backoff(attempt, self._rng)
        logger.warning(
            "POST %s: %s, retry %d/%d in %.3f s",
            self.url,
            type(exc).__name__,
            attempt,
            self.max_retries,
            delay,
        )
        return delay

    def _stream_delay(self, exc: StreamError, retries: int) -> Reconnecting:
        """The :class:`Reconnecting` event for stream retry ``retries``, or ``exc`` re-raised."""
        if not exc.retryable or retries > self._stream_retry_limit():
            raise exc
        if exc.retry_after is not None and exc.retry_after > self.max_retry_delay:
            exc.message += (
                f" (not retried: the server asked to wait {exc.retry_after:.0f} s, more "
                f"than max_retry_delay={self.max_retry_delay:g} s)"
            )
            raise exc
        delay = exc.retry_after if exc.retry_after is not None else backoff(retries, self._rng)
        logger.warning(
            "stream error (%s), reconnecting %d/%d in %.3f s",
            exc,
            retries,
            self.stream_max_retries,
            delay,
        )
        return Reconnecting(
            attempt=retries, max_retries=self.stream_max_retries, delay=delay, error=str(exc)
        )

    def _stream_retry_limit(self) -> int:
        # A fixture gives the same bytes every time: re-reading it cannot help.
        return 0 if self.fixture is not None else self.stream_max_retries


class ResponseStream:
    """The events of one turn; iterate it, and ``close()`` it (or use ``with``) to stop early."""

    def __init__(self, events: Generator[ResponseEvent, None, None]) -> None:
        self._events = events

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> ResponseEvent:
        return next(self._events)

    def close(self) -> None:
        """Stop the stream and close its HTTP response; safe to call twice."""
        self._events.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncResponseStream:
    """The events of one turn; ``async for`` them, and ``aclose()`` (or ``async with``) to stop."""

    def __init__(self, events: AsyncGenerator[ResponseEvent, None]) -> None:
        self._events = events

    def __aiter__(self) -> Self:
        return self

    def __anext__(self) -> Awaitable[ResponseEvent]:
        # The generator's own awaitable, not a coroutine wrapping it: one frame less per event.
        return self._events.__anext__()

    async def aclose(self) -> None:
        """Stop the stream and close its HTTP response; safe to call twice."""
        await self._events.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class ModelClient(_BaseClient):
    """Streams Responses API turns, blocking. The twin of :class:`AsyncModelClient`.

    ``transport`` is any ``httpx.BaseTransport``: the recorder and the replayer plug in there.
    """

    def __init__(
        self,
        model: str,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        self._sleep = sleep
        self._http = httpx.Client(
            transport=self._fixture_transport() or transport, timeout=self._timeout()
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stream(self, prompt: Prompt) -> ResponseStream:
        """Send ``prompt`` and stream the turn's events."""
        headers, body = self._request_parts(prompt)
        return ResponseStream(self._events(headers, body))

    def _events(self, headers: dict[str, str], body: bytes) -> Generator[ResponseEvent, None, None]:
        retries = 0
        while True:
            response = self._send(headers, body)
            attempt = _Attempt(response, self.idle_timeout, self._clock)
            try:
                try:
                    for chunk in response.iter_bytes():
                        yield from attempt.feed(chunk)
                        if attempt.completed:
                            return
                except httpx.TransportError as exc:
                    raise attempt.broken(exc) from exc
                raise attempt.end_of_body()
            except StreamError as exc:
                retries += 1
                reconnecting = self._stream_delay(exc, retries)
            finally:
                response.close()
            yield reconnecting
            self._sleep(reconnecting.delay)

    def _send(self, headers: dict[str, str], body: bytes) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            request = self._http.build_request("POST", self.url, headers=headers, content=body)
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                self._sleep(self._transport_delay(exc, attempt))
                continue
            if response.is_success and _is_event_stream(response):
                return response
            try:
                error_body = response.read()
            except httpx.TransportError:
                error_body = b""
            finally:
                response.close()
            if response.is_success:
                raise _content_type_error(response, error_body)
            self._sleep(self._status_delay(response, error_body, attempt))


class AsyncModelClient(_BaseClient):
    """Streams Responses API turns with asyncio. The twin of :class:`ModelClient`.

    ``transport`` is any ``httpx.AsyncBaseTransport``: the recorder and the replayer plug in
    there.
    """

    def __init__(
        self,
        model: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        self._sleep = sleep or asyncio.sleep
        self._http = httpx.AsyncClient(
            transport=self._fixture_transport() or transport, timeout=self._timeout()
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def stream(self, prompt: Prompt) -> AsyncResponseStream:
        """Send ``prompt`` and stream the turn's events."""
        headers, body = self._request_parts(prompt)
        return AsyncResponseStream(self._events(headers, body))

    async def _events(
        self, headers: dict[str, str], body: bytes
    ) -> AsyncGenerator[ResponseEvent, None]:
        retries = 0
        while True:
            response = await self._send(headers, body)
            attempt = _Attempt(response, self.idle_timeout, self._clock)
            try:
                try:
                    async for chunk in response.aiter_bytes():
                        for event in attempt.feed(chunk):
                            yield event
                        if attempt.completed:
                            return
                except httpx.TransportError as exc:
                    raise attempt.broken(exc) from exc
                raise attempt.end_of_body()
            except StreamError as exc:
                retries += 1
                reconnecting = self._stream_delay(exc, retries)
            finally:
                await response.aclose()
            yield reconnecting
            await self._sleep(reconnecting.delay)

    async def _send(self, headers: dict[str, str], body: bytes) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            request = self._http.build_request("POST", self.url, headers=headers, content=body)
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                await self._sleep(self._transport_delay(exc, attempt))
                continue
            if response.is_success and _is_event_stream(response):
                return response
            try:
                error_body = await response.aread()
            except httpx.TransportError:
                error_body = b""
            finally:
                await response.aclose()
            if response.is_success:
                raise _content_type_error(response, error_body)
            await self._sleep(self._status_delay(response, error_body, attempt))
