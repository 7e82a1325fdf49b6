"""``harness demo``: the whole loop, offline, on a scripted two-turn session.

The session is a Codex-style turn: the model calls the ``shell`` tool (its arguments streamed
as deltas), the caller sends the tool's output back, and the model answers in text deltas. The
first request is answered 429 with ``Retry-After``, so the recording holds a retry too.

The same script produces the bundled examples (``cassettes/demo.yaml``, ``fixtures/demo.sse``,
``fixtures/demo-2.sse`` and the snapshot ``harness/demo.events``): ``python -m harness._demo
REPO`` records them from the scripted server, so they are never written by hand.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness._cassette import Cassette
from harness._client import SHELL_TOOL, ModelClient
from harness._diff import EventChange, diff
from harness._events import Completed, OutputItemDone, ResponseEvent
from harness._models import FunctionCall, FunctionCallOutput, Prompt
from harness._normalize import dumps_snapshot, events_from_cassette, normalize
from harness._record import RecordingTransport
from harness._replay import ReplayTransport, VirtualClock
from harness._server import Chunk, ScriptedResponse, ScriptedServer

__all__ = ["DemoResult", "run_demo", "script"]

MODEL = "o4-mini"
SNAPSHOT = Path(__file__).with_name("demo.events")
FIRST = Prompt.text("Which files are in this folder?", instructions="You are a careful assistant.")
LISTING = "README.md\nharness\npyproject.toml\ntests"
GAP = 0.004  # seconds between chunks: enough for the recording to show real timing


def _frame(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


def _response(rid: str, status: str, output: list[Any], usage: Any = None) -> dict[str, Any]:
    """A response object with every field the API sends (the validator checks them all)."""
    return {
        "id": rid,
        "object": "response",
        "created_at": 1767225600,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": FIRST.instructions,
        "max_output_tokens": None,
        "model": "o4-mini-2025-04-16",
        "output": output,
        "parallel_tool_calls": False,
        "previous_response_id": None,
        "reasoning": {"effort": "high", "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [dict(SHELL_TOOL)],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def _stream(events: list[dict[str, Any]]) -> ScriptedResponse:
    numbered = [{**event, "sequence_number": n} for n, event in enumerate(events)]
    return ScriptedResponse(
        headers=(
            ("content-type", "text/event-stream; charset=utf-8"),
            ("x-request-id", "req_demo_" + str(len(events))),
        ),
        chunks=tuple(Chunk(_frame(event), GAP) for event in numbered),
    )


def script() -> list[ScriptedResponse]:
    """The scripted server's answers: 429, the tool call, then the text answer."""
    call_args = '{"command":["ls"],"workdir":"."}'
    call = {
        "type": "function_call",
        "id": "fc_demo1",
        "call_id": "call_demo1",
        "name": "shell",
        "arguments": call_args,
        "status": "completed",
    }
    usage1 = {
        "input_tokens": 412,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 38,
        "output_tokens_details": {"reasoning_tokens": 16},
        "total_tokens": 450,
    }
    turn1: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("resp_demo1", "in_progress", [])},
        {"type": "response.in_progress", "response": _response("resp_demo1", "in_progress", [])},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**call, "arguments": "", "status": "in_progress"},
        },
        *(
            {
                "type": "response.function_call_arguments.delta",
                "item_id": "fc_demo1",
                "output_index": 0,
                "delta": piece,
            }
            for piece in ['{"command":', '["ls"]', ',"workdir":', '"."}']
        ),
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_demo1",
            "output_index": 0,
            "arguments": call_args,
        },
        {"type": "response.output_item.done", "output_index": 0, "item": call},
        {
            "type": "response.completed",
            "response": _response("resp_demo1", "completed", [call], usage1),
        },
    ]
    words = [
        "The",
        " folder",
        " holds",
        " README.md,",
        " the",
        " harness",
        " package,",
        " pyproject.toml",
        " and",
        " the",
        " tests.",
    ]
    text = "".join(words)
    message = {
        "type": "message",
        "id": "msg_demo2",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    usage2 = {
        "input_tokens": 470,
        "input_tokens_details": {"cached_tokens": 384},
        "output_tokens": 14,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 484,
    }
    turn2: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("resp_demo2", "in_progress", [])},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**message, "status": "in_progress", "content": []},
        },
        {
            "type": "response.content_part.added",
            "item_id": "msg_demo2",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
        *(
            {
                "type": "response.output_text.delta",
                "item_id": "msg_demo2",
                "output_index": 0,
                "content_index": 0,
                "delta": word,
            }
            for word in words
        ),
        {
            "type": "response.output_text.done",
            "item_id": "msg_demo2",
            "output_index": 0,
            "content_index": 0,
            "text": text,
        },
        {"type": "response.output_item.done", "output_index": 0, "item": message},
        {
            "type": "response.completed",
            "response": _response("resp_demo2", "completed", [message], usage2),
        },
    ]
    busy = ScriptedResponse.json(
        429,
        {
            "error": {
                "message": "Rate limit reached. Please try again in 1s.",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        },
        headers={"retry-after": "1", "x-request-id": "req_demo_429"},
    )
    return [busy, _stream(turn1), _stream(turn2)]


def session(client: ModelClient) -> list[ResponseEvent]:
    """The two turns, as a caller runs them: stream, run the tool, send its output back."""
    first = list(client.stream(FIRST))
    calls = [
        e.item for e in first if isinstance(e, OutputItemDone) and isinstance(e.item, FunctionCall)
    ]
    done = first[-1]
    assert isinstance(done, Completed), done
    second = Prompt(
        input=(*calls, FunctionCallOutput(call_id=calls[0].call_id, output=LISTING)),
        previous_response_id=done.response_id,
    )
    return first + list(client.stream(second))


def record(
    folder: Path,
    *,
    sleep: Callable[[float], None] = time.sleep,
    announce: Callable[[str], None] = lambda _: None,
) -> list[ResponseEvent]:
    """Record the session from the scripted server into ``folder``/demo.yaml and demo.sse."""
    with ScriptedServer(script()) as server:
        announce(server.base_url)
        transport = RecordingTransport(
            httpx.HTTPTransport(), folder / "demo.yaml", fixtures=folder, fixture_name="demo"
        )
        with ModelClient(
            MODEL,
            base_url=server.base_url,
            api_key="sk-demo-not-a-real-key",
            transport=transport,
            sleep=sleep,
        ) as client:
            return session(client)


def replay(path: Path) -> list[ResponseEvent]:
    """Replay the recorded cassette through the same client, offline, on a virtual clock."""
    clock = VirtualClock()
    transport = ReplayTransport(path, clock=clock)
    with ModelClient(
        MODEL,
        api_key="sk-demo-not-a-real-key",
        transport=transport,
        clock=clock.now,
        sleep=clock.sleep,
    ) as client:
        events = session(client)
    if transport.unused():
        raise AssertionError(f"the replay left interactions unused: {transport.unused()}")
    return events


@dataclass(frozen=True, slots=True)
class DemoResult:
    folder: Path
    live: list[ResponseEvent]
    replayed: list[ResponseEvent]
    findings: list[str]
    changes: list[EventChange]

    @property
    def ok(self) -> bool:
        return self.live == self.replayed and not self.findings and not self.changes


def run_demo(folder: Path | None, say: Callable[[str], None]) -> DemoResult:
    """Record, validate, replay and compare; ``say`` reports each step."""
    from harness._validate import validate

    target = folder or Path(tempfile.mkdtemp(prefix="harness-demo-"))
    target.mkdir(parents=True, exist_ok=True)
    live = record(
        target,
        announce=lambda url: say(f"1. scripted Responses server on {url} (real HTTP, loopback)"),
    )
    cassette = Cassette.load(target / "demo.yaml")
    say(
        f"2. recorded {len(live)} events from {len(cassette.interactions)} HTTP attempts "
        f"(a 429 retried after Retry-After, a shell tool call, the answer) into "
        f"{target / 'demo.yaml'} and {target / 'demo.sse'}; secrets redacted"
    )
    report = validate(target / "demo.yaml")
    findings = [str(finding) for finding in report.findings]
    say(
        f"3. validated payloads, tool schema and stream events: "
        f"{'no findings' if report.ok else f'{len(findings)} finding(s)'}"
    )
    for line in findings:
        say(f"     {line}")
    replayed = replay(target / "demo.yaml")
    same = "the same" if replayed == live else "DIFFERENT"
    say(
        f"4. replayed it offline through the same client: {same} {len(replayed)} events, "
        "retry included, no real waiting"
    )
    changes = diff(target / "demo.yaml", SNAPSHOT)
    say(
        f"5. compared with the bundled snapshot {SNAPSHOT.name}: "
        f"{'no differences' if not changes else f'{len(changes)} difference(s)'}"
    )
    for change in changes:
        say(f"     {change}")
    return DemoResult(target, live, replayed, findings, changes)


def write_examples(repo: Path) -> None:
    """Regenerate the bundled examples from the scripted server (never by hand)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        record(folder, sleep=lambda _: None)
        (repo / "cassettes").mkdir(exist_ok=True)
        (repo / "fixtures").mkdir(exist_ok=True)
        (repo / "cassettes" / "demo.yaml").write_bytes((folder / "demo.yaml").read_bytes())
        for name in ("demo.sse", "demo-2.sse"):  # the tool-call turn, the answer turn
            (repo / "fixtures" / name).write_bytes((folder / name).read_bytes())
        events = normalize(events_from_cassette(Cassette.load(folder / "demo.yaml")))
        SNAPSHOT.write_text(dumps_snapshot(events))


if __name__ == "__main__":  # python -m harness._demo REPO_ROOT
    write_examples(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
