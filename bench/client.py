"""Client overhead: AsyncModelClient against bare httpx + httpx-sse + json.loads.

One run, one loopback server (harness's scripted server), the same bytes for both readers:
a 10,000-event Responses stream (text deltas with sequence numbers, then response.completed).
The body is written in 16 KiB chunks so that parsing, not the server, sets the pace.

- throughput: events per second over the whole stream, median of several alternating runs;
- time to first event: from the start of the request to the first event in hand, on a fresh
  client and connection each time (built before the clock starts), median of many alternating runs.

Figures are printed as ratios to the bare baseline measured in the same run.
Targets (issue 2): throughput >= 0.8x of bare; time to first event <= 1.1x of bare.

Run: .venv/bin/python bench/client.py [--events N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable

import httpx
from httpx_sse import aconnect_sse

from harness import AsyncModelClient, Prompt
from harness._server import Chunk, ScriptedResponse, ScriptedServer

PROMPT = Prompt.text("Count to ten thousand.")


def frames(events: int) -> list[bytes]:
    """A Responses stream of ``events`` events, one framed SSE event each (also bench/replay)."""
    parts = [
        {
            "type": "response.created",
            "sequence_number": 0,
            "response": {"id": "resp_bench", "status": "in_progress"},
        }
    ]
    for n in range(1, events - 1):
        parts.append(
            {
                "type": "response.output_text.delta",
                "sequence_number": n,
                "item_id": "msg_bench",
                "output_index": 0,
                "content_index": 0,
                "delta": f" word{n}",
                "logprobs": [],
            }
        )
    parts.append(
        {
            "type": "response.completed",
            "sequence_number": events - 1,
            "response": {
                "id": "resp_bench",
                "status": "completed",
                "usage": {"input_tokens": 10, "output_tokens": events, "total_tokens": events + 10},
            },
        }
    )
    return [
        f"event: {p['type']}\ndata: {json.dumps(p, separators=(',', ':'))}\n\n".encode()
        for p in parts
    ]


def stream_body(events: int) -> bytes:
    return b"".join(frames(events))


def chunked(body: bytes, size: int) -> ScriptedResponse:
    chunks = tuple(Chunk(body[i : i + size]) for i in range(0, len(body), size))
    return ScriptedResponse(chunks=chunks)


class Bare:
    """The baseline: what a hand-written consumer does with httpx and httpx-sse."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/responses"
        self.client = httpx.AsyncClient()

    async def read(self, stop_after: int | None) -> int:
        count = 0
        async with aconnect_sse(self.client, "POST", self.url, json={"stream": True}) as source:
            async for sse in source.aiter_sse():
                json.loads(sse.data)
                count += 1
                if count == stop_after:
                    break
        return count

    async def aclose(self) -> None:
        await self.client.aclose()


class Ours:
    def __init__(self, url: str) -> None:
        self.client = AsyncModelClient("bench", base_url=url, api_key="sk-bench")

    async def read(self, stop_after: int | None) -> int:
        count = 0
        async with self.client.stream(PROMPT) as events:
            async for _ in events:
                count += 1
                if count == stop_after:
                    break
        return count

    async def aclose(self) -> None:
        await self.client.aclose()


Reader = Callable[[str], Bare | Ours]


async def timed(make: Reader, url: str, stop_after: int | None) -> tuple[float, int]:
    """Time one stream on a fresh client (so a fresh connection); the client is built untimed."""
    reader = make(url)
    try:
        start = time.perf_counter()
        count = await reader.read(stop_after)
        return time.perf_counter() - start, count
    finally:
        await reader.aclose()


async def main(events: int, rounds: int, ttfe_rounds: int) -> None:
    body = stream_body(events)
    big = chunked(body, 16 * 1024)
    first = ScriptedResponse.sse(
        {"type": "response.created", "response": {"id": "resp_first"}},
        {"type": "response.completed", "response": {"id": "resp_first"}},
    )
    readers: dict[str, Reader] = {"bare": Bare, "harness": Ours}
    with ScriptedServer() as server:
        throughput: dict[str, list[float]] = {name: [] for name in readers}
        for reader in readers.values():  # warm-up: imports, first connections
            server.add(big)
            await timed(reader, server.base_url, None)
        for _ in range(rounds):
            for name, reader in readers.items():
                server.add(big)
                seconds, count = await timed(reader, server.base_url, None)
                assert count == events, (name, count)
                throughput[name].append(count / seconds)
        ttfe: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(ttfe_rounds):
            for name, reader in readers.items():
                server.add(first)
                seconds, count = await timed(reader, server.base_url, 1)
                assert count == 1
                ttfe[name].append(seconds)

    bare_eps = statistics.median(throughput["bare"])
    ours_eps = statistics.median(throughput["harness"])
    bare_ttfe = statistics.median(ttfe["bare"])
    ours_ttfe = statistics.median(ttfe["harness"])
    print(f"stream: {events:,} events, {len(body):,} bytes, 16 KiB chunks over loopback")
    print(f"{'':28}{'bare httpx-sse':>16}{'harness':>12}{'ratio':>9}  target")
    print(
        f"{'throughput (events/s)':28}{bare_eps:>16,.0f}{ours_eps:>12,.0f}"
        f"{ours_eps / bare_eps:>8.2f}x  >= 0.8x"
    )
    print(
        f"{'time to first event (ms)':28}{bare_ttfe * 1000:>16.2f}{ours_ttfe * 1000:>12.2f}"
        f"{ours_ttfe / bare_ttfe:>8.2f}x  <= 1.1x"
    )
    print(f"(medians of {rounds} throughput and {ttfe_rounds} first-event runs, alternating)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ttfe-rounds", type=int, default=41)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.rounds, args.ttfe_rounds))
