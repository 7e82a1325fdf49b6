"""Many recordings at once: each transport writes its own cassette, whole and unmixed.

One scripted server answers every task. It serves its script in arrival order, so which
response a task gets is only known afterwards: ``server.requests[j]`` was answered with
``script[j]``. Each task's request names the task ("task 7"), which ties a cassette to the
request it must hold, and through the server's pairing to the exact bytes it must hold.
Barriers make the recordings overlap for real: every task holds an open, half-read response
while the others start theirs, and all of them close (and so save) together.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import (
    AsyncModelClient,
    AsyncRecordingTransport,
    Cassette,
    Completed,
    ModelClient,
    OutputTextDelta,
    Prompt,
    RecordingTransport,
)
from harness._server import ScriptedResponse, ScriptedServer

# Seconds between two chunks of a scripted body: small, but enough for the tasks to interleave.
CHUNK_DELAY = 0.002
# Bound on every barrier wait: the tests finish in well under a second when all is well.
TIMEOUT = 10.0


def reply(slot: int) -> ScriptedResponse:
    """The response the server sends to the request that arrives in position ``slot``."""
    rid = f"resp_{slot}"
    deltas = [f"reply {slot}", " part 1", " part 2", " part 3"]
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"id": rid, "status": "in_progress"}}
    ]
    events += [
        {
            "type": "response.output_text.delta",
            "item_id": f"msg_{slot}",
            "output_index": 0,
            "content_index": 0,
            "delta": delta,
        }
        for delta in deltas
    ]
    events.append({"type": "response.completed", "response": {"id": rid, "status": "completed"}})
    return ScriptedResponse.sse(*events, delay=CHUNK_DELAY)


def sent(response: ScriptedResponse) -> bytes:
    return b"".join(chunk.data for chunk in response.chunks)


def task_text(request_json: Any) -> str:
    """The prompt text of a Responses request body: which task sent it."""
    return str(request_json["input"][0]["content"][0]["text"])


def check_cassettes(
    folder: Path,
    server: ScriptedServer,
    script: list[ScriptedResponse],
    runs: dict[int, list[Any]],
) -> None:
    """Every task's cassette holds its own request and exactly what the server sent to it."""
    tasks = len(script)
    assert ["complete"] * tasks == server.wait_for_outcomes(tasks, timeout=TIMEOUT)
    received = server.requests
    slot_of = {task_text(request.json()): slot for slot, request in enumerate(received)}
    # Every task sent exactly one request (no retry, no request lost).
    assert sorted(f"task {i}" for i in range(tasks)) == sorted(slot_of)
    assert tasks == len(received)
    # Only the cassettes are left: no temp file, nothing else.
    assert sorted(f"c{i}.yaml" for i in range(tasks)) == sorted(p.name for p in folder.iterdir())
    for i in range(tasks):
        slot = slot_of[f"task {i}"]
        cassette = Cassette.load(folder / f"c{i}.yaml")  # a damaged file raises CassetteError
        assert 1 == len(cassette.interactions)
        interaction = cassette.interactions[0]
        assert f"{server.base_url}/responses" == interaction.request.uri
        assert received[slot].json() == interaction.request.json()
        assert interaction.response is not None
        assert 200 == interaction.response.status
        assert sent(script[slot]) == interaction.response.body
        assert len(interaction.response.body) == sum(chunk.size for chunk in interaction.chunks)
        # What the client saw is what the cassette holds.
        events = runs[i]
        assert f"resp_{slot}" == events[-1].response_id
        texts = "".join(event.delta for event in events if isinstance(event, OutputTextDelta))
        assert f"reply {slot} part 1 part 2 part 3" == texts


@pytest.mark.parametrize("tasks", [20, 50])
async def test_concurrent_asyncio_tasks_record_their_own_cassettes(
    tmp_path: Path, tasks: int
) -> None:
    """N asyncio tasks recording at once through their own transports give N whole cassettes,
    each with its own request and exactly the response the server sent to it."""
    script = [reply(slot) for slot in range(tasks)]
    streaming = asyncio.Barrier(tasks)  # passed only when all hold an open response
    closing = asyncio.Barrier(tasks)  # all close, and so save, together
    runs: dict[int, list[Any]] = {}

    async def record(i: int, base_url: str) -> None:
        transport = AsyncRecordingTransport(httpx.AsyncHTTPTransport(), tmp_path / f"c{i}.yaml")
        client = AsyncModelClient(
            "o4-mini", base_url=base_url, api_key="sk-test", transport=transport
        )
        events: list[Any] = []
        try:
            async for event in client.stream(Prompt.text(f"task {i}")):
                events.append(event)
                if 1 == len(events):
                    async with asyncio.timeout(TIMEOUT):
                        await streaming.wait()
            async with asyncio.timeout(TIMEOUT):
                await closing.wait()
        except BaseException:
            await streaming.abort()  # the other tasks fail at once instead of at the timeout
            await closing.abort()
            raise
        finally:
            await client.aclose()
        runs[i] = events

    with ScriptedServer(script) as server:
        await asyncio.gather(*(record(i, server.base_url) for i in range(tasks)))
        assert all(isinstance(events[-1], Completed) for events in runs.values())
        check_cassettes(tmp_path, server, script, runs)


def test_eight_threads_record_eight_correct_cassettes(tmp_path: Path) -> None:
    """8 threads recording at once through their own sync transports give 8 whole cassettes,
    each with its own request and exactly the response the server sent to it."""
    tasks = 8
    script = [reply(slot) for slot in range(tasks)]
    streaming = threading.Barrier(tasks, timeout=TIMEOUT)
    closing = threading.Barrier(tasks, timeout=TIMEOUT)
    runs: dict[int, list[Any]] = {}

    def record(i: int, base_url: str) -> None:
        transport = RecordingTransport(httpx.HTTPTransport(), tmp_path / f"c{i}.yaml")
        events: list[Any] = []
        client = ModelClient("o4-mini", base_url=base_url, api_key="sk-test", transport=transport)
        try:
            for event in client.stream(Prompt.text(f"task {i}")):
                events.append(event)
                if 1 == len(events):
                    streaming.wait()
            closing.wait()
        except BaseException:
            streaming.abort()  # the other threads fail at once instead of at the timeout
            closing.abort()
            raise
        finally:
            client.close()
        runs[i] = events

    with (
        ScriptedServer(script) as server,
        concurrent.futures.ThreadPoolExecutor(tasks) as pool,
    ):
        futures = [pool.submit(record, i, server.base_url) for i in range(tasks)]
        for future in futures:
            future.result(timeout=2 * TIMEOUT)
        assert all(isinstance(events[-1], Completed) for events in runs.values())
        check_cassettes(tmp_path, server, script, runs)


def test_reply_bodies_are_distinct() -> None:
    """Every scripted reply differs from every other, so a misrouted body cannot pass."""
    assert 20 == len({sent(reply(slot)) for slot in range(20)})
