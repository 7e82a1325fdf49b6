"""Shared test helpers: a clean environment, the scripted server, and a twin runner that drives
the async and the sync client through the same scenario."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness import (
    AsyncModelClient,
    HarnessError,
    ModelClient,
    Prompt,
    ResponseEvent,
)
from harness._server import ScriptedServer

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PROMPT = Prompt.text("List the files.", instructions="You are a test.")

_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "OPENAI_REQUEST_MAX_RETRIES",
    "OPENAI_STREAM_MAX_RETRIES",
    "OPENAI_STREAM_IDLE_TIMEOUT_MS",
    "HARNESS_SSE_FIXTURE",
    "CODEX_RS_SSE_FIXTURE",
    "CI",  # the plugin refuses to record under CI=true; the tests that check it set it
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's OpenAI settings, or CI's CI=true."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


@dataclass
class Run:
    """What one stream gave: its events, the error that ended it, and the sleeps it asked for."""

    events: list[ResponseEvent] = field(default_factory=list)
    error: HarnessError | None = None
    sleeps: list[float] = field(default_factory=list)

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]


def run_sync(base_url: str, prompt: Prompt = PROMPT, **options: Any) -> Run:
    run = Run()
    options.setdefault("api_key", "sk-test")
    with ModelClient("o4-mini", base_url=base_url, sleep=run.sleeps.append, **options) as client:
        try:
            for event in client.stream(prompt):
                run.events.append(event)
        except HarnessError as exc:
            run.error = exc
    return run


def run_async(base_url: str, prompt: Prompt = PROMPT, **options: Any) -> Run:
    run = Run()
    options.setdefault("api_key", "sk-test")

    async def sleep(delay: float) -> None:
        run.sleeps.append(delay)

    async def main() -> None:
        async with AsyncModelClient("o4-mini", base_url=base_url, sleep=sleep, **options) as client:
            try:
                async for event in client.stream(prompt):
                    run.events.append(event)
            except HarnessError as exc:
                run.error = exc

    asyncio.run(main())
    return run


@pytest.fixture(params=["async", "sync"])
def stream(request: pytest.FixtureRequest) -> Any:
    """Runs one stream to its end with the async or the sync client (the test runs twice)."""
    return run_async if request.param == "async" else run_sync
