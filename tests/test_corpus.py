"""Every real transcript in ../shared/corpus/sse/, served over loopback, gives its listed outcome.

Each runs whole (one chunk) and split into small chunks, through both clients. The outcomes
come from MANIFEST.json's ``expected`` field; the Chat Completions transcripts, which are not
Responses streams, must end with "stream closed before response.completed".
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from harness import (
    Completed,
    ContextWindowExceededError,
    InvalidRequestError,
    QuotaExceededError,
    ResponseFailedError,
    StreamClosedError,
    load_fixture,
)
from harness._server import Chunk, ScriptedResponse, ScriptedServer
from tests.conftest import CORPUS, Run

MANIFEST: list[dict[str, Any]] = json.loads((CORPUS / "sse" / "MANIFEST.json").read_text())
COMPLETED = re.compile(r"Completed\(response_id=(\S+), total_tokens=(\d+|None)\)")
FATAL = {
    "ContextWindowExceeded": ContextWindowExceededError,
    "QuotaExceeded": QuotaExceededError,
    "InvalidRequest": InvalidRequestError,
}


def check(entry: dict[str, Any], run: Run) -> None:
    expected: str = entry["expected"]
    if match := COMPLETED.fullmatch(expected):
        assert None is run.error, f"{entry['file']}: {run.error}"
        last = run.events[-1]
        assert isinstance(last, Completed)
        assert match.group(1) == last.response_id
        total = None if match.group(2) == "None" else int(match.group(2))
        assert total == (last.token_usage and last.token_usage.total_tokens)
    elif expected.startswith("Error: response.failed"):
        fatal = re.search(r"-> fatal (\w+)", expected)
        if fatal:
            assert type(run.error) is FATAL[fatal.group(1)]
            assert not run.error.retryable
        else:
            assert type(run.error) is ResponseFailedError
            assert run.error.retryable
            assert 11.054 == run.error.retry_after
        assert re.search(r"code=(\w+)", expected).group(1) == run.error.code  # type: ignore[union-attr]
    elif expected.startswith("Chat Completions"):
        assert isinstance(run.error, StreamClosedError)
        assert "stream closed before response.completed" == run.error.message
    else:  # pragma: no cover - a new kind of outcome needs a new rule here
        pytest.fail(f"no rule for expected outcome {expected!r}")


def responses(entry: dict[str, Any], chunk_size: int | None) -> ScriptedResponse:
    body = load_fixture(CORPUS / "sse" / entry["file"])
    if chunk_size is None:
        chunks = (Chunk(body),)
    else:
        chunks = tuple(Chunk(body[i : i + chunk_size]) for i in range(0, len(body), chunk_size))
    return ScriptedResponse(chunks=chunks)


@pytest.mark.parametrize("chunk_size", [None, 7, 61], ids=["whole", "7B", "61B"])
@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["file"][:-4] for entry in MANIFEST])
def test_corpus_transcript_gives_its_expected_outcome(
    stream: Any, server: ScriptedServer, entry: dict[str, Any], chunk_size: int | None
) -> None:
    """The transcript streamed over loopback ends exactly as MANIFEST.json says."""
    if chunk_size == 7 and entry["bytes"] > 50_000:
        chunk_size = 1021  # the 194 KB transcript in 7-byte writes is slow; still split mid-event
    server.add(responses(entry, chunk_size))
    run = stream(server.base_url, stream_max_retries=0)
    check(entry, run)


def test_the_corpus_is_all_there() -> None:
    """The manifest lists every transcript, so a missing corpus cannot pass silently."""
    assert 19 <= len(MANIFEST)
    assert {entry["file"] for entry in MANIFEST} == {p.name for p in (CORPUS / "sse").glob("*.sse")}
