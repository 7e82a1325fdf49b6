"""Replay speed: harness's replayer against bare parsing, against vcrpy, and per-test overhead.

One run, figures as ratios against baselines measured in the same run:

1. events/s replaying a 10,000-event cassette (one SSE event per recorded chunk) through
   ``AsyncReplayTransport`` + ``AsyncModelClient``, against bare httpx + httpx-sse + json.loads
   parsing the same chunks from memory (an in-memory httpx transport). Target >= 0.8x.
2. the same, against vcrpy 9.x replaying an equivalent vcrpy cassette (its YAML serializer)
   through the same ``AsyncModelClient``. Target >= 1x.
3. per-test overhead of a 200-test replay suite under our pytest plugin (``model_client``
   fixture) against pytest-recording (``@pytest.mark.vcr`` and the same client): wall time of
   each suite in a fresh pytest process, minus the wall time of 200 empty tests, divided by 200.
   Informational (the issue sets no target); pytest-recording must be installed
   (``pip install pytest-recording``), else that line says n/a.

Run: .venv/bin/python bench/replay.py [--events N] [--rounds R] [--tests T]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import vcr
from httpx_sse import aconnect_sse

from harness import (
    AsyncModelClient,
    AsyncReplayTransport,
    Cassette,
    Chunk,
    Interaction,
    ModelClient,
    Prompt,
    RecordedRequest,
    RecordedResponse,
    RecordingTransport,
    Redactor,
)
from harness._server import Chunk as Write
from harness._server import ScriptedResponse, ScriptedServer

sys.path.insert(0, str(Path(__file__).parent))
from client import frames as events  # the same stream as bench/client.py

PROMPT = Prompt.text("Count to ten thousand.")
URL = "https://api.openai.com/v1/responses"


def payload() -> dict[str, object]:
    with ModelClient("bench", api_key="k") as client:
        return client.payload(PROMPT)


def cassette(chunks: list[bytes]) -> Cassette:
    body = b"".join(chunks)
    interaction = Interaction(
        RecordedRequest(
            "POST", URL, (("content-type", "application/json"),), json.dumps(payload()).encode()
        ),
        RecordedResponse(200, "OK", (("content-type", "text/event-stream"),), body),
        tuple(Chunk(float(i), len(c)) for i, c in enumerate(chunks)),
    )
    return Cassette((interaction,))


def vcrpy_cassette(path: Path, chunks: list[bytes]) -> None:
    """The same interaction in vcrpy's own format, written by vcrpy's serializer."""
    from vcr.serializers import yamlserializer

    data = {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": URL,
                    "body": json.dumps(payload()),
                    "headers": {"content-type": ["application/json"]},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"content-type": ["text/event-stream"]},
                    "body": {"string": b"".join(chunks).decode()},
                },
            }
        ],
    }
    path.write_text(yamlserializer.serialize(data))


class _Memory(httpx.AsyncBaseTransport):
    """Serves the chunks from memory, one by one, for the bare baseline."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        chunks = self.chunks

        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_Stream(body())
        )


class _Stream(httpx.AsyncByteStream):
    def __init__(self, body: AsyncIterator[bytes]) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.body:
            yield chunk


async def bare(chunks: list[bytes]) -> int:
    count = 0
    async with (
        httpx.AsyncClient(transport=_Memory(chunks)) as client,
        aconnect_sse(client, "POST", URL, json={}) as source,
    ):
        async for sse in source.aiter_sse():
            json.loads(sse.data)
            count += 1
    return count


async def ours(loaded: Cassette) -> int:
    count = 0
    transport = AsyncReplayTransport(loaded)
    async with AsyncModelClient("bench", api_key="k", transport=transport) as client:
        async for _ in client.stream(PROMPT):
            count += 1
    return count


async def with_vcrpy(path: Path) -> int:
    count = 0
    with vcr.use_cassette(str(path), record_mode="none"):
        async with AsyncModelClient("bench", api_key="k") as client:
            async for _ in client.stream(PROMPT):
                count += 1
    return count


async def rate(run: Callable[[], Awaitable[int]], rounds: int) -> float:
    await run()  # warm-up
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        count = await run()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


# -- per-test overhead of a replay suite ---------------------------------------------------------

OURS_TEST = """
import pytest
from harness import Prompt

@pytest.mark.harness("turn.yaml", model="bench")
def test_turn_{n}(model_client):
    assert list(model_client.stream(Prompt.text("hi")))
"""

RECORDING_TEST = """
import pytest
from harness import ModelClient, Prompt

@pytest.fixture(scope="module")
def vcr_cassette_dir():
    return {cassettes!r}

@pytest.mark.vcr("turn.yaml")
def test_turn_{n}():
    with ModelClient("bench", api_key="k") as client:
        assert list(client.stream(Prompt.text("hi")))
"""

EMPTY_TEST = """
def test_turn_{n}():
    assert True
"""


def suite_seconds(folder: Path, template: str, tests: int, plugins: list[str], **fmt: str) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(tests):
        (folder / f"test_t{n}.py").write_text(textwrap.dedent(template.format(n=n, **fmt)))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *plugins,
        str(folder),
    ]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("OPENAI_API_KEY", None)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(
                f"suite in {folder} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
            )
        best = min(best, elapsed)
    return best


def per_test_overhead(tests: int) -> tuple[float, float | None]:
    root = Path(tempfile.mkdtemp(prefix="harness-bench-"))
    with ScriptedServer([ScriptedResponse(chunks=tuple(Write(c) for c in events(30)))]) as server:
        transport = RecordingTransport(httpx.HTTPTransport(), root / "recorded.yaml")
        with ModelClient("bench", base_url=server.base_url, api_key="k", transport=transport) as c:
            list(c.stream(Prompt.text("hi")))
    recorded = Cassette.load(root / "recorded.yaml")
    others = ["-p", "no:recording", "-p", "no:cassetter"]
    ours_dir = root / "ours"
    recorded.save(ours_dir / "cassettes" / "turn.yaml", redactor=Redactor(secrets=set()))
    empty = suite_seconds(root / "empty", EMPTY_TEST, tests, [*others, "-p", "no:harness"])
    harness_seconds = suite_seconds(ours_dir, OURS_TEST, tests, others)
    ours_per_test = (harness_seconds - empty) / tests
    if importlib.util.find_spec("pytest_recording") is None:
        return ours_per_test, None
    vcr_dir = root / "recording"
    vcrpy_cassette_from(recorded, vcr_dir / "cassettes" / "turn.yaml")
    recording_seconds = suite_seconds(
        vcr_dir,
        RECORDING_TEST,
        tests,
        ["-p", "no:harness", "-p", "no:cassetter"],
        cassettes=str(vcr_dir / "cassettes"),
    )
    return ours_per_test, (recording_seconds - empty) / tests


def vcrpy_cassette_from(recorded: Cassette, path: Path) -> None:
    [interaction] = recorded.interactions
    assert interaction.response is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    vcrpy_cassette(path, [interaction.response.body])


async def main(count: int, rounds: int, tests: int) -> None:
    chunks = events(count)
    loaded = cassette(chunks)
    with tempfile.TemporaryDirectory() as tmp:
        vcr_path = Path(tmp) / "vcrpy.yaml"
        vcrpy_cassette(vcr_path, chunks)
        bare_eps = await rate(lambda: bare(chunks), rounds)
        ours_eps = await rate(lambda: ours(loaded), rounds)
        vcrpy_eps = await rate(lambda: with_vcrpy(vcr_path), rounds)
    print(f"replaying {count:,} events ({sum(map(len, chunks)):,} bytes, one event per chunk)")
    print(f"{'':36}{'events/s':>12}{'harness is':>13}  target")
    print(
        f"{'bare httpx-sse + json.loads (memory)':36}{bare_eps:>12,.0f}"
        f"{ours_eps / bare_eps:>12.2f}x  >= 0.8x"
    )
    print(
        f"{'vcrpy 9 + AsyncModelClient':36}{vcrpy_eps:>12,.0f}{ours_eps / vcrpy_eps:>12.2f}x  >= 1x"
    )
    print(f"{'harness AsyncReplayTransport':36}{ours_eps:>12,.0f}")
    print(f"(medians of {rounds} runs each)")
    ours_ms, recording_ms = per_test_overhead(tests)
    print(f"\nper-test overhead, {tests}-test replay suite (wall time minus {tests} empty tests):")
    print(f"  harness plugin:   {ours_ms * 1000:7.2f} ms/test")
    if recording_ms is None:
        print("  pytest-recording: n/a (not installed: pip install pytest-recording)")
    else:
        print(
            f"  pytest-recording: {recording_ms * 1000:7.2f} ms/test"
            f"   (harness: {ours_ms / recording_ms:.2f}x of pytest-recording's overhead)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.rounds, args.tests))
