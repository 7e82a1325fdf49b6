"""The ``openai`` SDK, recording: clients whose HTTP transport is a recording transport.

The SDK (3.x) sends through httpx2 and also accepts an httpx client; we hand it a client of
whichever library it prefers, with our transport inside. Closing the SDK client closes its HTTP
client, which closes the transport, which writes the cassette.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from harness._exceptions import ConfigurationError
from harness._record import AsyncRecordingTransport, RecordingTransport

__all__ = ["recording_async_openai", "recording_openai"]


def _libraries() -> tuple[Any, Any]:
    try:
        openai = importlib.import_module("openai")
    except ImportError:
        raise ConfigurationError(
            "the openai package is not installed: pip install openai"
        ) from None
    try:
        http = importlib.import_module("httpx2")
    except ImportError:  # openai 1.x/2.x: plain httpx
        http = importlib.import_module("httpx")
    return openai, http


def recording_openai(
    path: str | Path, *, recorder: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    """An ``openai.OpenAI`` client that records every call into the cassette at ``path``.

    ``recorder`` holds keyword arguments for :class:`~harness.RecordingTransport` (``mode``,
    ``fixtures``, ``secrets``...); ``kwargs`` go to ``openai.OpenAI``. Close the client (or use
    it in ``with``) to write the cassette.
    """
    openai, http = _libraries()
    transport = RecordingTransport(http.HTTPTransport(), path, **(recorder or {}))
    return openai.OpenAI(http_client=http.Client(transport=transport), **kwargs)


def recording_async_openai(
    path: str | Path, *, recorder: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    """An ``openai.AsyncOpenAI`` client that records every call; ``await client.close()``
    writes the cassette."""
    openai, http = _libraries()
    transport = AsyncRecordingTransport(http.AsyncHTTPTransport(), path, **(recorder or {}))
    return openai.AsyncOpenAI(http_client=http.AsyncClient(transport=transport), **kwargs)
