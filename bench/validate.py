"""Validator speed: harness.validate against jsonschema.validate per item, on the same schemas.

One run, two workloads:

- 10,000 recorded events: the Responses transcripts of ../shared/corpus/sse/ (Chat Completions
  ones aside), cycled until there are 10,000, each transcript validated as one stream
  (schemas by event type, then the stream rules);
- 10,000 request payloads: what ModelClient sends for conversations of 1 to 23 items (messages,
  function calls and their outputs, assistant replies, reasoning), with the shell tool.

The baseline is ``jsonschema.validate(instance, schema, registry=...)`` per item, with the very
schema our validator uses for it (the event type's schema; request.json), as a user without our
cache would write it: it checks the schema and builds a validator on every call. For payloads
that costs tens of milliseconds an item, so the baseline is timed on every ``--sample``-th
payload (``--sample 1`` times them all) and its rate is the items per second of that sample.
Figures are printed as ratios to the baseline measured in the same run. Target: >= 20x.

Run: .venv/bin/python bench/validate.py [--items N] [--sample K]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from harness import FunctionCall, FunctionCallOutput, Message, ModelClient, Prompt, load_fixture
from harness._normalize import events_from_body
from harness._validate import validate
from harness._validate_schema import event_schema, registry, schema

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "sse"


def transcripts(total: int) -> list[list[dict[str, Any]]]:
    """Recorded streams, cycled, cut so that they hold ``total`` events in all."""
    streams = []
    for path in sorted(CORPUS.glob("*.sse")):
        events = events_from_body(load_fixture(path))
        if any(event.get("object") == "chat.completion.chunk" for event in events):
            continue
        streams.append(events)
    out: list[list[dict[str, Any]]] = []
    count = 0
    while count < total:
        for events in streams:
            take = events[: total - count]
            out.append(take)
            count += len(take)
            if count == total:
                break
    return out


def payloads(total: int) -> list[dict[str, Any]]:
    client = ModelClient("o4-mini", api_key="sk-bench", reasoning_effort="medium")
    out = []
    for n in range(total):
        items: list[Any] = [Message.user(f"Task {n}: list the files.")]
        for turn in range(n % 6):
            call = f"call_{n}_{turn}"
            items += [
                {"type": "reasoning", "id": f"rs_{n}_{turn}", "summary": []},
                FunctionCall(name="shell", arguments='{"command": ["ls", "-la"]}', call_id=call),
                FunctionCallOutput(call_id=call, output=f"file{turn}.txt\n" * 5),
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": f"Step {turn} done."}],
                },
            ]
        prompt = Prompt(input=items, instructions="You are a coding agent.")
        out.append(client.payload(prompt))
    return out


def rate(run: Callable[[], int]) -> float:
    """Items per second of one call of ``run`` (which returns how many items it checked)."""
    start = time.perf_counter()
    count = run()
    return count / (time.perf_counter() - start)


def main(items: int, sample: int) -> None:
    streams = transcripts(items)
    events = [event for stream in streams for event in stream]
    bodies = payloads(items)
    request_schema = schema("request.json")
    shared = registry()
    validate(streams[0])  # warm-up: import, compile and cache the validators
    validate(bodies[0])

    def ours_events() -> int:
        for stream in streams:
            validate(stream)
        return len(events)

    def ours_payloads() -> int:
        for body in bodies:
            validate(body)
        return len(bodies)

    def baseline_events() -> int:
        for event in events:
            kind = event.get("type")
            event_type_schema = event_schema(kind) if isinstance(kind, str) else None
            if event_type_schema is not None:
                # The deviations the allowlist waives raise here; ours reports and waives them.
                with contextlib.suppress(jsonschema.ValidationError):
                    jsonschema.validate(event, event_type_schema, registry=shared)
        return len(events)

    def baseline_payloads() -> int:
        timed = bodies[::sample]
        for body in timed:
            jsonschema.validate(body, request_schema, registry=shared)
        return len(timed)

    ours_e, base_e = rate(ours_events), rate(baseline_events)
    ours_p, base_p = rate(ours_payloads), rate(baseline_payloads)
    size = sum(len(json.dumps(body)) for body in bodies) // len(bodies)
    print(
        f"{len(events):,} recorded events ({len(streams)} streams), "
        f"{len(bodies):,} request payloads (mean {size:,} bytes of JSON)"
    )
    print(f"{'items per second':24}{'jsonschema.validate':>21}{'harness':>10}{'ratio':>9}  target")
    for name, base, ours in (("events", base_e, ours_e), ("payloads", base_p, ours_p)):
        print(f"{name:24}{base:>21,.0f}{ours:>10,.0f}{ours / base:>8.0f}x  >= 20x")
    timed = len(bodies[::sample])
    print(
        f"(baseline payloads timed on {timed:,} of {len(bodies):,}, every {sample}th; "
        "events all timed)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=20)
    args = parser.parse_args()
    main(args.items, args.sample)
