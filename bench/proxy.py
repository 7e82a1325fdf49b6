"""Time to first byte through ``harness proxy`` against the same server directly.

One run, one loopback scripted server streaming a 30-event response; a ``RecordingProxy`` in
front of it records every exchange. For each request, the time from sending it to holding the
first body byte, on a fresh connection each time, alternating direct and proxied; medians, and
the ratio. Target (issue 6): proxied within 1.1x of direct.

A proxy adds a second HTTP hop, so what it costs is a fixed number of milliseconds; the ratio
depends on how long the upstream takes to send its first byte. The real API takes hundreds of
milliseconds; the scripted upstream here waits ``--first-byte-ms`` (default 50, well below
that) and then 5 ms between events. The run also prints the bare overhead in milliseconds with
an upstream that answers at once, so nothing hides behind the ratio.

Run: .venv/bin/python bench/proxy.py [--rounds N] [--first-byte-ms MS]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from harness._serve import RecordingProxy
from harness._server import Chunk, ScriptedResponse, ScriptedServer


def body(events: int) -> list[bytes]:
    frames = []
    for n in range(events):
        event = {"type": "response.output_text.delta", "delta": f" w{n}", "sequence_number": n}
        frames.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
    return frames


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


def measure(first_byte_s: float, rounds: int, folder: Path) -> tuple[float, float]:
    chunks = body(30)
    response = ScriptedResponse(
        chunks=tuple(Chunk(c, first_byte_s if n == 0 else 0.005) for n, c in enumerate(chunks))
    )
    with ScriptedServer(responder=lambda _: response) as upstream:
        proxy = RecordingProxy(upstream.base_url.removesuffix("/v1"), folder / "p.yaml")
        with proxy:
            direct, proxied = [], []
            for _ in range(3):  # warm-up: imports, the proxy's upstream connection
                first_byte(upstream.base_url), first_byte(proxy.base_url)
            for _ in range(rounds):
                direct.append(first_byte(upstream.base_url))
                proxied.append(first_byte(proxy.base_url))
    return statistics.median(direct), statistics.median(proxied)


def main(rounds: int, first_byte_ms: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d0, p0 = measure(0.0, rounds, Path(tmp))
        d, p = measure(first_byte_ms / 1000, rounds, Path(tmp))
        recorded = (Path(tmp) / "p.yaml").stat().st_size
    print(f"time to first byte, medians of {rounds} alternating requests, fresh connections")
    print(f"{'upstream first byte after':28}{'0 ms':>10}{f'{first_byte_ms:g} ms':>10}")
    print(f"{'direct to the server':28}{d0 * 1000:>7.2f} ms{d * 1000:>7.2f} ms")
    print(f"{'through harness proxy':28}{p0 * 1000:>7.2f} ms{p * 1000:>7.2f} ms")
    print(f"{'proxy costs':28}{(p0 - d0) * 1000:>7.2f} ms{(p - d) * 1000:>7.2f} ms")
    print(f"{'ratio (target <= 1.1x)':28}{p0 / d0:>9.2f}x{p / d:>9.2f}x")
    print(f"(the proxy recorded every exchange: {recorded:,} bytes of cassette in the last run)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=101)
    parser.add_argument("--first-byte-ms", type=float, default=50.0)
    arguments = parser.parse_args()
    main(arguments.rounds, arguments.first_byte_ms)
