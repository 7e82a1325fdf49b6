"""Time to first byte through ``harness proxy`` against the same server directly.

One run, one loopback scripted server streaming a 30-event response; a ``RecordingProxy`` in
front of it records every exchange. For each request, the time from sending it to holding the
first body byte, on a fresh connection each time, alternating direct, proxied and through the
floor below; medians, and the ratios. Target (issue 6): proxied within 1.1x of direct.

A proxy adds a second hop, so what it costs is a fixed amount of time, and the ratio depends on
how long the upstream takes to send its first byte: the real API takes hundreds of milliseconds.
The run measures upstreams that answer at once, after 10 ms and after 50 ms. Beside the proxy,
the floor of any second hop: a TCP relay that only copies bytes both ways (asyncio streams, no
HTTP parsing, no recording), so the fixed cost can be read against the least a hop costs here.

Run: .venv/bin/python bench/proxy.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from harness._serve import RecordingProxy
from harness._server import Chunk, ScriptedResponse, ScriptedServer

FIRST_BYTE_MS = (0.0, 10.0, 50.0)


def body(events: int) -> list[bytes]:
    frames = []
    for n in range(events):
        event = {"type": "response.output_text.delta", "delta": f" w{n}", "sequence_number": n}
        frames.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
    return frames


class Relay:
    """A TCP relay on loopback in its own thread: bytes both ways, nothing else."""

    def __init__(self, port: int) -> None:
        self._target = port
        self._ready = threading.Event()
        self._port = 0
        threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True).start()
        self._ready.wait()
        self.base_url = f"http://127.0.0.1:{self._port}/v1"

    async def _serve(self) -> None:
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await asyncio.Event().wait()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        for w in (writer, up_writer):
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
        finally:
            writer.close()


def first_byte(url: str) -> float:
    """Seconds from request to the first body byte, on a fresh client and connection."""
    with httpx.Client(timeout=30) as client:
        start = time.perf_counter()
        with client.stream("POST", f"{url}/responses", content=b"{}") as response:
            chunks = response.iter_raw()
            next(chunks)
            elapsed = time.perf_counter() - start
            for _ in chunks:  # read the rest, so every recording is complete
                pass
    return elapsed


def measure(first_byte_s: float, rounds: int, cassette: Path) -> dict[str, float]:
    chunks = body(30)
    response = ScriptedResponse(
        chunks=tuple(Chunk(c, first_byte_s if n == 0 else 0.001) for n, c in enumerate(chunks))
    )
    with ScriptedServer(responder=lambda _: response) as upstream:
        relay = Relay(upstream.port)
        with RecordingProxy(upstream.base_url.removesuffix("/v1"), cassette) as proxy:
            urls = {"direct": upstream.base_url, "relay": relay.base_url, "proxy": proxy.base_url}
            times: dict[str, list[float]] = {name: [] for name in urls}
            for _ in range(3):  # warm-up: imports, the proxy's upstream connection
                for url in urls.values():
                    first_byte(url)
            for _ in range(rounds):
                for name, url in urls.items():
                    times[name].append(first_byte(url))
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cassette = Path(tmp) / "p.yaml"
        runs = [measure(ms / 1000, rounds, cassette) for ms in FIRST_BYTE_MS]
        recorded = cassette.stat().st_size

    def row(label: str, cell: str) -> None:
        print(f"{label:38}{cell}")

    print(f"time to first byte, medians of {rounds} alternating requests, fresh connections")
    row("upstream's first byte after", "".join(f"{f'{ms:g} ms':>11}" for ms in FIRST_BYTE_MS))
    row("direct to the server", "".join(f"{r['direct']:>8.2f} ms" for r in runs))
    row("through harness proxy", "".join(f"{r['proxy']:>8.2f} ms" for r in runs))
    row("through a bare TCP relay (floor)", "".join(f"{r['relay']:>8.2f} ms" for r in runs))
    row("proxy costs", "".join(f"{r['proxy'] - r['direct']:>8.2f} ms" for r in runs))
    row("relay costs", "".join(f"{r['relay'] - r['direct']:>8.2f} ms" for r in runs))
    row(
        "proxy / direct (target <= 1.1x)",
        "".join(f"{r['proxy'] / r['direct']:>10.2f}x" for r in runs),
    )
    row("relay / direct", "".join(f"{r['relay'] / r['direct']:>10.2f}x" for r in runs))
    row("proxy / relay", "".join(f"{r['proxy'] / r['relay']:>10.2f}x" for r in runs))
    print(f"(the proxy recorded every exchange: {recorded:,} bytes of cassette in the last run)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=101)
    main(parser.parse_args().rounds)
