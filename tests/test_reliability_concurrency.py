"""Concurrency at scale: a pytest-xdist suite of 40 tests on 4 workers that records, then
replays; zero misrouted interactions, zero corrupt files. (50 concurrent asyncio recordings are
tests/test_record_concurrency.py's test, parametrized.)

The xdist suite is a generated
project run as whole pytest sessions with ``pytester``: each test sends a prompt naming itself
and the scripted server echoes the prompt in the streamed text, so a cassette that holds another
test's traffic, or a replay served from another test's cassette, fails visibly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness import (
    Cassette,
    events_from_cassette,
)
from harness._server import ReceivedRequest, ScriptedResponse, ScriptedServer

pytest_plugins = ["pytester"]

MODULES = 4
TESTS_PER_MODULE = 10


# -- a pytest-xdist suite that records, then replays ----------------------------------------------

SYNC_MODULE = """
import pytest
from harness import Completed, OutputTextDelta, Prompt

@pytest.mark.harness
@pytest.mark.parametrize("n", range({tests}))
def test_turn(model_client, n):
    name = f"{{__name__}} test {{n}}"
    events = list(model_client.stream(Prompt.text(name)))
    assert isinstance(events[-1], Completed)
    assert f"echo: {{name}}" == "".join(e.delta for e in events if isinstance(e, OutputTextDelta))
"""
ASYNC_MODULE = """
import pytest
from harness import Completed, OutputTextDelta, Prompt

@pytest.mark.harness
@pytest.mark.parametrize("n", range({tests}))
async def test_turn(async_model_client, n):
    name = f"{{__name__}} test {{n}}"
    events = [e async for e in async_model_client.stream(Prompt.text(name))]
    assert isinstance(events[-1], Completed)
    assert f"echo: {{name}}" == "".join(e.delta for e in events if isinstance(e, OutputTextDelta))
"""


def prompt_of(body: Any) -> str:
    """The prompt text of a Responses request body."""
    return str(body["input"][0]["content"][0]["text"])


def echo(request: ReceivedRequest) -> ScriptedResponse:
    """A stream whose text is ``echo: <the prompt>``, in small delayed pieces so that the
    workers' recordings overlap."""
    text = f"echo: {prompt_of(request.json())}"
    rid = f"resp_{abs(hash(text))}"
    pieces = [text[i : i + 5] for i in range(0, len(text), 5)]
    return ScriptedResponse.sse(
        {"type": "response.created", "response": {"id": rid}},
        *({"type": "response.output_text.delta", "delta": piece} for piece in pieces),
        {"type": "response.completed", "response": {"id": rid}},
        delay=0.002,
    )


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> dict[Path, str]:
    """A generated project of 40 tests in 4 modules (two sync, two asyncio); maps each test's
    cassette path to the prompt the test sends."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("CI", raising=False)
    pytester.makeini(
        "[pytest]\n"
        "addopts = -p pytest_asyncio.plugin -p xdist.plugin -p harness.pytest_plugin "
        "-p no:cacheprovider\n"
        "asyncio_mode = auto\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    expected: dict[Path, str] = {}
    for m in range(MODULES):
        module = f"test_mod{m}"
        source = ASYNC_MODULE if m % 2 else SYNC_MODULE
        pytester.makepyfile(**{module: source.format(tests=TESTS_PER_MODULE)})
        for n in range(TESTS_PER_MODULE):
            path = pytester.path / "cassettes" / module / f"test_turn-{n}.yaml"
            expected[path] = f"{module} test {n}"
    return expected


def test_an_xdist_suite_records_and_replays_with_nothing_misrouted(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, project: dict[Path, str]
) -> None:
    """40 tests on 4 xdist workers record 40 cassettes, each holding only its own test's
    request and answer; a second run replays all 40 offline, each from its own cassette."""
    with ScriptedServer(responder=echo) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-reliability-0123456789")
        recorded = pytester.runpytest_subprocess("-n", "4", "--record-mode=all", timeout=120)
        recorded.assert_outcomes(passed=len(project))
        recorded.stdout.fnmatch_lines(["*4 workers*"])
        received = sorted(prompt_of(request.json()) for request in server.requests)
    assert sorted(project.values()) == received  # one request per test, none lost or repeated
    # Every file under cassettes/ is one of the 40 cassettes: no temp file, nothing else.
    written = {p for p in (pytester.path / "cassettes").rglob("*") if p.is_file()}
    assert set(project) == written
    for path, prompt in project.items():
        cassette = Cassette.load(path)  # whole, or a CassetteError naming it
        assert 1 == len(cassette.interactions)
        request = cassette.interactions[0].request
        assert prompt == prompt_of(request.json())
        assert b"sk-reliability-0123456789" not in path.read_bytes()
        deltas = [e["delta"] for e in events_from_cassette(cassette) if "delta" in e]
        assert f"echo: {prompt}" == "".join(deltas)
    # The server is gone and so is the key: the replay is offline, from the cassettes alone.
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    replayed = pytester.runpytest_subprocess("-n", "4", timeout=120)
    replayed.assert_outcomes(passed=len(project))
    assert "unused recorded interactions" not in replayed.stdout.str()


def test_the_echo_names_the_test_that_asked() -> None:
    """The server's answer to each test's prompt is distinct, so misrouting cannot pass."""
    bodies = {
        b"".join(chunk.data for chunk in echo(request).chunks)
        for request in (
            ReceivedRequest(
                "POST",
                "/v1/responses",
                (),
                json.dumps({"input": [{"content": [{"text": f"test_mod{m} test {n}"}]}]}).encode(),
            )
            for m in range(MODULES)
            for n in range(TESTS_PER_MODULE)
        )
    }
    assert MODULES * TESTS_PER_MODULE == len(bodies)
