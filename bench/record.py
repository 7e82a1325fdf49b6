"""Recording overhead: harness's recorder beside vcrpy and cassetter, against no recorder at all.

One run, one loopback server (harness's scripted server), one client for everyone: httpx's
AsyncClient reading the stream with httpx-sse and json.loads on each event. Only the recording
layer differs: none ("bare"), harness's AsyncRecordingTransport, vcrpy's use_cassette (it patches
httpx globally), cassetter's use_cassette (likewise, when it is installed; it is not a
dependency). Each run gets a fresh client, connection and cassette path, built before the clock
starts; cassettes go to a temporary folder on the same disk as the repository. Runs alternate
between the recorders, in reverse order every other round.

- time to first event while recording: streams of 10, 100 and 1,000 Responses events, each event
  one chunk preceded by a gap (5 ms; the first event too, as a model's first token is); from the
  start of the request to the first event parsed;
- time to exit: a 30-event stream with 20 ms gaps; the client stops after event 1, closes the
  stream and the client, and leaves the recorder's context; from the start of the request until
  all of that is done and the cassette is on disk;
- load time of two cassettes written by each library's own writer from the same interactions:
  one 5,000-event stream, and 500 interactions of 10 events each; ours with one chunk per event.
  Harness loads with Cassette.load, vcrpy with vcr.cassette.Cassette.load (what use_cassette
  does), cassetter with its Cassette.load (likewise), in its YAML and its TOML formats; each
  round loads every file once, in turn, so the machine's slow moments fall on all alike;
- bytes on disk per byte of response body, for those cassettes.

Figures are medians, printed as ratios to a baseline measured in the same run: bare for the
recording figures, vcrpy's JSON loader for the load figures.
Targets (issue): time to first event <= 1.1x of bare; time to exit <= 1.2x of bare; loading
faster than vcrpy's JSON loader (the ratio to cassetter is reported, not targeted).

Run: .venv/bin/python bench/record.py [--rounds R] [--gap-ms G] [--budget S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import vcr
import vcr.cassette
from httpx_sse import aconnect_sse
from vcr.persisters.filesystem import FilesystemPersister
from vcr.request import Request as VcrRequest
from vcr.serializers import jsonserializer, yamlserializer

from harness import (
    AsyncRecordingTransport,
    Cassette,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from harness._server import ScriptedResponse, ScriptedServer

try:
    import cassetter
except ImportError as exc:  # not a dependency: the bench reports it as n/a
    cassetter = None
    CASSETTER_MISSING = f"not installed: {exc}"
else:
    CASSETTER_MISSING = ""

REQUEST = {"model": "bench", "input": "Count.", "stream": True}


# -- the stream ----------------------------------------------------------------------------------


def events(n: int, response_id: str = "resp_bench") -> list[dict[str, Any]]:
    """A Responses stream of ``n`` events: created, text deltas, completed."""
    out: list[dict[str, Any]] = [
        {
            "type": "response.created",
            "sequence_number": 0,
            "response": {"id": response_id, "status": "in_progress"},
        }
    ]
    out.extend(
        {
            "type": "response.output_text.delta",
            "sequence_number": i,
            "item_id": "msg_bench",
            "output_index": 0,
            "content_index": 0,
            "delta": f" word{i}",
            "logprobs": [],
        }
        for i in range(1, n - 1)
    )
    out.append(
        {
            "type": "response.completed",
            "sequence_number": n - 1,
            "response": {
                "id": response_id,
                "status": "completed",
                "usage": {"input_tokens": 10, "output_tokens": n, "total_tokens": n + 10},
            },
        }
    )
    return out


def framed(event: dict[str, Any]) -> bytes:
    """One event as the scripted server frames it."""
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


def stream(n: int, gap: float) -> ScriptedResponse:
    return ScriptedResponse.sse(*events(n), delay=gap)


# -- the recorders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorder:
    name: str
    suffix: str
    open: Callable[[contextlib.ExitStack, Path], httpx.AsyncClient]
    """Enter the recorder's context on ``stack`` and build the client (both untimed)."""


def open_bare(stack: contextlib.ExitStack, path: Path) -> httpx.AsyncClient:
    return httpx.AsyncClient()


def open_harness(stack: contextlib.ExitStack, path: Path) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=AsyncRecordingTransport(httpx.AsyncHTTPTransport(), path))


def open_vcrpy(stack: contextlib.ExitStack, path: Path) -> httpx.AsyncClient:
    stack.enter_context(vcr.use_cassette(str(path), record_mode="all"))
    return httpx.AsyncClient()


def open_cassetter(stack: contextlib.ExitStack, path: Path) -> httpx.AsyncClient:
    assert cassetter is not None
    stack.enter_context(cassetter.use_cassette(path, record_mode="all"))
    return httpx.AsyncClient()


RECORDERS = [
    Recorder("bare", "", open_bare),
    Recorder("harness", ".yaml", open_harness),
    Recorder("vcrpy", ".yaml", open_vcrpy),
    Recorder("cassetter", ".yaml", open_cassetter),
]


class Bench:
    def __init__(self, server: ScriptedServer, folder: Path) -> None:
        self.server = server
        self.url = f"{server.base_url}/responses"
        self.folder = folder
        self.numbers = count()
        self.served = 0

    async def once(self, recorder: Recorder, response: ScriptedResponse, exit_: bool) -> float:
        """One request; seconds to the first event, or (``exit_``) to everything closed."""
        path = self.folder / f"{recorder.name}-{next(self.numbers)}{recorder.suffix}"
        self.server.add(response)
        gc.collect()  # untimed: no run pays for the garbage of the one before
        with contextlib.ExitStack() as stack:
            client = recorder.open(stack, path)
            start = time.perf_counter()
            async with aconnect_sse(client, "POST", self.url, json=REQUEST) as source:
                async for sse in source.aiter_sse():
                    json.loads(sse.data)
                    break
            first = time.perf_counter() - start
            await client.aclose()  # harness writes its cassette here
            stack.close()  # vcrpy and cassetter write theirs here
            done = time.perf_counter() - start
        if recorder.suffix and not path.is_file():
            raise RuntimeError(f"{recorder.name} wrote no cassette at {path}")
        # Let the server finish with this response (the client left early) before the next.
        self.served += 1
        self.server.wait_for_outcomes(self.served, timeout=30)
        return done if exit_ else first


async def measure(
    bench: Bench,
    response: ScriptedResponse,
    exit_: bool,
    rounds: int,
    slow_rounds: int,
    failed: dict[str, str],
) -> dict[str, float]:
    """Median seconds per recorder, alternating recorders round by round.

    The order is reversed every other round: whoever runs right after whom would otherwise
    carry a few percent of bias. vcrpy and cassetter wait for the whole body, so they get
    ``slow_rounds`` (fewer) runs.
    """
    times: dict[str, list[float]] = {r.name: [] for r in RECORDERS}
    for i in range(rounds):
        for recorder in RECORDERS if i % 2 == 0 else RECORDERS[::-1]:
            if recorder.name in failed:
                continue
            if recorder.name in ("vcrpy", "cassetter") and i >= slow_rounds:
                continue
            try:
                times[recorder.name].append(await bench.once(recorder, response, exit_))
            except Exception as exc:
                if recorder.name != "cassetter":
                    raise
                failed[recorder.name] = f"{type(exc).__name__}: {exc}"[:80]
    return {name: statistics.median(t) for name, t in times.items() if t}


# -- loading ---------------------------------------------------------------------------------------

REQUEST_HEADERS = (
    ("host", "api.openai.com"),
    ("accept", "*/*"),
    ("accept-encoding", "gzip, deflate"),
    ("connection", "keep-alive"),
    ("content-length", "58"),
    ("content-type", "application/json"),
)
RESPONSE_HEADERS = (
    ("content-type", "text/event-stream; charset=utf-8"),
    ("transfer-encoding", "chunked"),
    ("x-request-id", "req_0123456789abcdef0123456789abcdef"),
    ("openai-version", "2020-10-01"),
)
URI = "https://api.openai.com/v1/responses"


@dataclass(frozen=True)
class Recorded:
    """One interaction as every writer gets it: request body, response body, event sizes."""

    request: bytes
    body: bytes
    sizes: tuple[int, ...]


def recorded(turns: int, n: int, gap_ms: float) -> list[Recorded]:
    out = []
    for turn in range(turns):
        request = json.dumps({**REQUEST, "input": f"Count, turn {turn}."}).encode()
        parts = [framed(e) for e in events(n, f"resp_{turn:04d}")]
        out.append(Recorded(request, b"".join(parts), tuple(len(p) for p in parts)))
    return out


def write_harness(path: Path, data: list[Recorded], gap_ms: float) -> None:
    interactions = []
    for item in data:
        chunks = tuple(
            Chunk(round(150 + (i + 1) * gap_ms, 3), size) for i, size in enumerate(item.sizes)
        )
        interactions.append(
            Interaction(
                RecordedRequest("POST", URI, REQUEST_HEADERS, item.request),
                RecordedResponse(200, "OK", RESPONSE_HEADERS, item.body),
                chunks,
                head_ms=150.0,
            )
        )
    Cassette(tuple(interactions)).save(path)


def _multi(headers: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name, []).append(value)
    return out


def write_vcrpy(path: Path, data: list[Recorded], serializer: Any) -> None:
    """Through vcrpy's own persister, in the shape its httpx stub records."""
    requests = [VcrRequest("POST", URI, item.request, _multi(REQUEST_HEADERS)) for item in data]
    responses = [
        {
            "status": {"code": 200, "message": "OK"},
            "headers": _multi(RESPONSE_HEADERS),
            "body": {"string": item.body},
        }
        for item in data
    ]
    FilesystemPersister.save_cassette(
        path, {"requests": requests, "responses": responses}, serializer=serializer
    )


def write_cassetter(path: Path, data: list[Recorded]) -> None:
    """Through cassetter's own record and save, as its httpx interceptor does."""
    assert cassetter is not None
    cassette = cassetter.Cassette(path, record_mode=cassetter.RecordMode.ALL)
    cassette.load()
    for item in data:
        cassette.record(
            method="POST",
            uri=URI,
            request_headers=_multi(REQUEST_HEADERS),
            request_body=item.request,
            status=200,
            response_headers=_multi(RESPONSE_HEADERS),
            response_body=item.body,
        )
    cassette.save()


def load_harness(path: Path) -> int:
    return len(Cassette.load(path).interactions)


def load_vcrpy(serializer: Any) -> Callable[[Path], int]:
    def load(path: Path) -> int:
        return len(vcr.cassette.Cassette.load(path=str(path), serializer=serializer))

    return load


def load_cassetter(path: Path) -> int:
    assert cassetter is not None
    cassette = cassetter.Cassette(path, record_mode=cassetter.RecordMode.NONE)
    cassette.load()
    return len(cassette.interactions)


def timed_loads(
    files: dict[str, tuple[Path, Callable[[Path], int]]], expected: int, runs: int
) -> dict[str, float]:
    """Median seconds per loader; each round loads every file once, in turn, so a slow moment
    of the machine falls on all loaders alike."""
    times: dict[str, list[float]] = {name: [] for name in files}
    for _ in range(runs):
        for name, (path, load) in files.items():
            gc.collect()
            start = time.perf_counter()
            got = load(path)
            times[name].append(time.perf_counter() - start)
            if got != expected:
                raise RuntimeError(f"{path.name}: loaded {got} interactions, expected {expected}")
    return {name: statistics.median(values) for name, values in times.items()}


LOADERS = ["harness", "vcrpy YAML", "vcrpy JSON", "cassetter YAML", "cassetter TOML"]


def loading(folder: Path, runs: int, gap_ms: float) -> dict[str, dict[str, tuple[float, float]]]:
    """Per cassette shape, per loader: (median seconds, bytes on disk per body byte)."""
    shapes = {
        "5,000-event stream": recorded(1, 5000, gap_ms),
        "500 x 10-event streams": recorded(500, 10, gap_ms),
    }
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for shape, data in shapes.items():
        stem = folder / f"load-{len(data)}"
        body_bytes = sum(len(item.body) for item in data)
        files: dict[str, tuple[Path, Callable[[Path], int]]] = {}
        write_harness(stem.with_suffix(".harness.yaml"), data, gap_ms)
        files["harness"] = (stem.with_suffix(".harness.yaml"), load_harness)
        write_vcrpy(stem.with_suffix(".vcr.yaml"), data, yamlserializer)
        files["vcrpy YAML"] = (stem.with_suffix(".vcr.yaml"), load_vcrpy(yamlserializer))
        write_vcrpy(stem.with_suffix(".vcr.json"), data, jsonserializer)
        files["vcrpy JSON"] = (stem.with_suffix(".vcr.json"), load_vcrpy(jsonserializer))
        if cassetter is not None:
            for fmt in ("yaml", "toml"):
                path = stem.with_suffix(f".cassetter.{fmt}")
                write_cassetter(path, data)
                files[f"cassetter {fmt.upper()}"] = (path, load_cassetter)
        medians = timed_loads(files, len(data), runs)
        results[shape] = {
            name: (medians[name], path.stat().st_size / body_bytes)
            for name, (path, _) in files.items()
        }
    return results


# -- the report ------------------------------------------------------------------------------------


def verdict(ratio: float, limit: float) -> str:
    """Judged at the precision printed (two decimals)."""
    return "met" if round(ratio, 2) <= limit else "MISSED"


def ratio(times: dict[str, float], name: str, base: float) -> str:
    return f"{times[name] / base:.2f}x" if name in times else "n/a"


def versions() -> str:
    from importlib.metadata import version

    import yaml

    libyaml = "with libyaml" if yaml.__with_libyaml__ else "pure-Python YAML"
    theirs = f"vcrpy {version('vcrpy')} ({libyaml})"
    theirs += f", cassetter {version('cassetter')}" if cassetter is not None else ""
    return f"harness {version('harness')}, {theirs}, httpx {httpx.__version__}"


def report(
    args: argparse.Namespace,
    rows: list[tuple[str, dict[str, float], float]],
    loads: dict[str, dict[str, tuple[float, float]]],
    failed: dict[str, str],
) -> None:
    print(versions())
    print(
        f"recording: httpx AsyncClient + httpx-sse over loopback, each event one chunk after a "
        f"{args.gap_ms:g} ms gap; ratios to bare"
    )
    print(f"{'':40}{'bare':>8}{'harness':>9}{'vcrpy':>9}{'cassetter':>11}  target")
    for label, times, limit in rows:
        base = times["bare"]
        print(
            f"{label:40}{base * 1000:>5.1f} ms{ratio(times, 'harness', base):>9}"
            f"{ratio(times, 'vcrpy', base):>9}{ratio(times, 'cassetter', base):>11}"
            f"  <= {limit}x {verdict(times['harness'] / base, limit)}"
        )
    print()
    width = 16
    print(f"{'loading, median ms':24}" + "".join(f"{name:>{width}}" for name in LOADERS))
    versus = []
    for shape, result in loads.items():
        base = result["vcrpy JSON"][0]
        ours = result["harness"][0]
        print(
            f"{shape:24}"
            + "".join(
                f"{result[name][0] * 1000:>{width}.1f}" if name in result else f"{'n/a':>{width}}"
                for name in LOADERS
            )
        )
        print(
            f"{'  ratio to vcrpy JSON':24}"
            + "".join(
                f"{result[name][0] / base:>{width - 1}.2f}x"
                if name in result
                else f"{'n/a':>{width}}"
                for name in LOADERS
            )
            + f"  harness < 1x {verdict(ours / base, 0.99)}"
        )
        for fmt in ("YAML", "TOML"):
            other = result.get(f"cassetter {fmt}")
            text = f"{ours / other[0]:.2f}x" if other is not None else "n/a"
            versus.append(f"{text} of cassetter {fmt} ({shape})")
    print("harness load time: " + "; ".join(versus[:2]))
    print(" " * 19 + "; ".join(versus[2:]))
    print()
    print(f"{'bytes on disk / body':24}" + "".join(f"{name:>{width}}" for name in LOADERS))
    for shape, result in loads.items():
        print(
            f"{shape:24}"
            + "".join(
                f"{result[name][1]:>{width}.2f}" if name in result else f"{'n/a':>{width}}"
                for name in LOADERS
            )
        )
    print()
    print(
        f"(medians of {args.rounds} alternating runs of bare and harness, and of fewer runs of "
        f"vcrpy and cassetter, which wait for the whole body; {args.load_runs} loads each, in turn)"
    )
    for name, reason in failed.items():
        print(f"{name}: n/a ({reason})")


async def main(args: argparse.Namespace) -> None:
    gap = args.gap_ms / 1000
    exit_gap = args.exit_gap_ms / 1000
    failed: dict[str, str] = {}
    if cassetter is None:
        failed["cassetter"] = CASSETTER_MISSING
    rows: list[tuple[str, dict[str, float], float]] = []
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp, ScriptedServer() as server:
        folder = Path(tmp)
        bench = Bench(server, folder)
        for recorder in RECORDERS:  # warm-up: imports, first connections, patchers
            if recorder.name not in failed:
                try:
                    await bench.once(recorder, stream(3, 0.0), True)
                except Exception as exc:
                    if recorder.name != "cassetter":
                        raise
                    failed["cassetter"] = f"{type(exc).__name__}: {exc}"[:80]
        for n in (10, 100, 1000):
            slow = max(3, min(args.rounds, int(args.budget / (n * gap))))
            times = await measure(bench, stream(n, gap), False, args.rounds, slow, failed)
            rows.append((f"time to first event, {n:,} events", times, 1.1))
        slow = max(3, min(args.rounds, int(args.budget / (30 * exit_gap))))
        times = await measure(bench, stream(30, exit_gap), True, args.rounds, slow, failed)
        rows.append((f"time to exit at event 1 of 30 ({args.exit_gap_ms:g} ms)", times, 1.2))
        loads = loading(folder, args.load_runs, args.gap_ms)
    report(args, rows, loads, failed)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41, help="runs of bare and harness")
    parser.add_argument("--gap-ms", type=float, default=5.0, help="gap before each event")
    parser.add_argument("--exit-gap-ms", type=float, default=20.0)
    parser.add_argument(
        "--budget", type=float, default=3.0, help="seconds of stream per vcrpy/cassetter sample"
    )
    parser.add_argument("--load-runs", type=int, default=21)
    asyncio.run(main(parser.parse_args()))
