"""Load: ``harness serve`` as a real process, 200 concurrent streaming clients on loopback, twice.

The served cassette holds 400 recorded streams of 32 KiB, each in 32 chunks 2 ms apart, all
answering the same request, each body different. Each round, 200 asyncio clients (httpx, a
pool of 200 connections) send that request at once; every client holds its open stream until
all 200 have theirs, so the server really plays 200 streams at the same time, with their
recorded timing. Every client must receive one of the recorded bodies byte for byte, and the
200 bodies of a round must all differ (served once each: nothing duplicated, nothing mixed up).

Memory: the server's resident set is read from ``/proc/PID/status``: ``VmRSS`` and the peak
``VmHWM`` once the cassette is loaded; then the peak is reset and read after each round. The
second round must not raise the peak by more than a few MiB, so memory does not grow with the
number of requests served. Every wait is
bounded and the server is stopped (SIGINT, then SIGKILL) whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness import Cassette, Chunk, Interaction, RecordedRequest, RecordedResponse, Redactor

CLIENTS = 200
ROUNDS = 2
CHUNKS = 32
CHUNK_SIZE = 1024
TIMEOUT = 60.0
REQUEST = json.dumps({"input": "go", "model": "load", "stream": True}).encode()

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads memory figures from /proc"
)


def body(number: int) -> bytes:
    """Recorded stream ``number``: CHUNKS events of CHUNK_SIZE bytes, each naming the stream."""
    events = []
    for index in range(CHUNKS):
        head = f'data: {{"type":"response.output_text.delta","delta":"stream {number} part {index} '
        tail = '"}\n\n'
        events.append((head + "x" * (CHUNK_SIZE - len(head) - len(tail)) + tail).encode())
    assert all(CHUNK_SIZE == len(event) for event in events)
    return b"".join(events)


def cassette(path: Path) -> list[bytes]:
    """Write the served cassette; return its bodies."""
    bodies = [body(n) for n in range(CLIENTS * ROUNDS)]
    interactions = tuple(
        Interaction(
            RecordedRequest("POST", "http://127.0.0.1/v1/responses", (), REQUEST),
            RecordedResponse(200, "OK", (("content-type", "text/event-stream"),), data),
            tuple(Chunk(1.0 + 2.0 * i, CHUNK_SIZE) for i in range(CHUNKS)),
            head_ms=1.0,
            end_ms=1.0 + 2.0 * CHUNKS,
        )
        for data in bodies
    )
    Cassette(interactions).save(path, redactor=Redactor(secrets=set()))
    return bodies


@dataclass
class Memory:
    rss: int  # kB
    peak: int  # kB


def reset_peak(pid: int) -> None:
    """Restart the peak count (Linux: ``5`` to ``clear_refs``) so it covers the load alone."""
    with contextlib.suppress(OSError):  # not writable: the peak then includes the load
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def memory(pid: int) -> Memory:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return Memory(int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0]))


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], list[bytes]]]:
    """``harness serve --timing recorded`` on the cassette; its URL, process and bodies."""
    path = tmp_path / "load.yaml"
    bodies = cassette(path)
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "serve", "--port", "0", "--timing", "recorded", path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
        assert ready, "harness serve announced nothing"
        line = process.stdout.readline()
        assert " at http://127.0.0.1:" in line, line
        yield line.rsplit(" at ", 1)[1].strip(), process, bodies
        process.send_signal(signal.SIGINT)  # stops it; it lists unused interactions, if any
        _, errors = process.communicate(timeout=TIMEOUT)
        assert 0 == process.returncode, errors
        assert "" == errors  # every recorded stream was served, nothing went wrong
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=TIMEOUT)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


async def one_round(url: str) -> list[bytes]:
    """CLIENTS streams at once, each held open until all have started; their bodies."""
    started = asyncio.Barrier(CLIENTS)

    async def stream(client: httpx.AsyncClient) -> bytes:
        pieces = []
        try:
            async with client.stream("POST", f"{url}/responses", content=REQUEST) as response:
                assert 200 == response.status_code, await response.aread()
                assert "text/event-stream" == response.headers["content-type"]
                async for piece in response.aiter_raw():
                    pieces.append(piece)
                    if 1 == len(pieces):
                        await started.wait()
        except BaseException:
            await started.abort()  # the others fail at once instead of at the timeout
            raise
        return b"".join(pieces)

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with (
        asyncio.timeout(TIMEOUT),
        httpx.AsyncClient(limits=limits, timeout=TIMEOUT, trust_env=False) as client,
    ):
        return await asyncio.gather(*(stream(client) for _ in range(CLIENTS)))


def test_two_hundred_concurrent_streams_arrive_byte_for_byte_in_bounded_memory(
    serve: tuple[str, subprocess.Popen[str], list[bytes]],
) -> None:
    """Two rounds of 200 concurrent streaming clients each get a distinct recorded body byte
    for byte, and the server's peak memory does not grow from the first round to the second."""
    url, process, bodies = serve
    loaded = memory(process.pid)
    reset_peak(process.pid)  # from here on, the peak is the serving's, not the cassette load's
    peaks, seconds = [], []
    for number in range(ROUNDS):
        started = time.monotonic()
        received = asyncio.run(one_round(url))
        seconds.append(time.monotonic() - started)
        peaks.append(memory(process.pid).peak)
        expected = bodies[number * CLIENTS : (number + 1) * CLIENTS]
        assert sorted(expected) == sorted(received)  # byte for byte, each exactly once
    served = sum(len(data) for data in bodies)
    print(
        f"\n{ROUNDS} x {CLIENTS} concurrent streams, {served} bytes: "
        f"{', '.join(f'{s:.2f} s' for s in seconds)}; server RSS {loaded.rss} kB loaded "
        f"(peak {loaded.peak} kB), peak {', '.join(f'{p} kB' for p in peaks)} after each round"
    )
    assert peaks[-1] - peaks[0] < 16 * 1024, peaks  # kB: no growth with requests served
    assert peaks[-1] < 512 * 1024, peaks  # kB
