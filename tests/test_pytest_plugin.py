"""The pytest plugin, run as whole pytest sessions with pytester."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from harness import ModelClient, Prompt, RecordingTransport
from harness._server import Chunk, ScriptedResponse, ScriptedServer
from tests.conftest import CORPUS

pytest_plugins = ["pytester"]

SSE = (CORPUS / "sse" / "pydanticai__responses_text_deltas_after_tool.sse").read_bytes()

REPLAY_TEST = """
import pytest
from harness import Completed, Prompt

@pytest.mark.harness
def test_turn(model_client):
    events = list(model_client.stream(Prompt.text({prompt!r})))
    assert isinstance(events[-1], Completed)
    assert "resp_67e554a21aa88191b65876ac5e5bbe0406c52f0e511c76ed" == events[-1].response_id
"""


@pytest.fixture(autouse=True)
def _inner_session(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner sessions load our plugin and the ones it works with, and nothing else that happens
    to be installed (cassetter and pytest-recording, say, cannot even load side by side)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeini(
        "[pytest]\n"
        "addopts = -p pytest_asyncio.plugin -p xdist.plugin -p harness.pytest_plugin\n"
        "asyncio_mode = auto\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )


def sse_response() -> ScriptedResponse:
    return ScriptedResponse(chunks=(Chunk(SSE),))


def record_cassette(path: Path, *prompts: str) -> None:
    """Record one turn per prompt from the scripted server, as the plugin's client would send it."""
    with ScriptedServer([sse_response() for _ in prompts]) as server:
        transport = RecordingTransport(httpx.HTTPTransport(), path)
        with ModelClient(
            "o4-mini", base_url=server.base_url, api_key="sk-test", transport=transport
        ) as client:
            for prompt in prompts:
                list(client.stream(Prompt.text(prompt)))


def test_replay_is_the_default_and_needs_no_network(pytester: pytest.Pytester) -> None:
    """With a cassette at the default path, the test replays it (no key, no server)."""
    pytester.makepyfile(test_turn=REPLAY_TEST.format(prompt="hi"))
    record_cassette(pytester.path / "cassettes" / "test_turn" / "test_turn.yaml", "hi")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_request_the_cassette_cannot_answer_fails_at_the_transport(
    pytester: pytest.Pytester,
) -> None:
    """In none mode another prompt fails the test with the closest interaction and the path."""
    pytester.makepyfile(test_turn=REPLAY_TEST.format(prompt="hello there"))
    record_cassette(pytester.path / "cassettes" / "test_turn" / "test_turn.yaml", "hi")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*NoMatchError*Closest: #0, body differs at*"])


def test_a_missing_cassette_in_none_mode_says_how_to_record(pytester: pytest.Pytester) -> None:
    """No cassette and mode none: an error naming the path and --record-mode=once."""
    pytester.makepyfile(test_turn=REPLAY_TEST.format(prompt="hi"))
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_turn.yaml: no cassette to replay*--record-mode=once*"])


def test_record_once_then_replay(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--record-mode=once records from the live server; the next run replays without it."""
    pytester.makepyfile(test_turn=REPLAY_TEST.format(prompt="hi"))
    with ScriptedServer([sse_response()]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-live-key-0123456789")
        pytester.runpytest("--record-mode=once").assert_outcomes(passed=1)
        assert 1 == len(server.requests)
    cassette = pytester.path / "cassettes" / "test_turn" / "test_turn.yaml"
    assert b"sk-live-key-0123456789" not in cassette.read_bytes()
    monkeypatch.delenv("OPENAI_API_KEY")
    pytester.runpytest().assert_outcomes(passed=1)


def test_recording_is_refused_under_ci_unless_forced(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI=true with a recording mode is a usage error; --harness-force-record allows it."""
    pytester.makepyfile(test_turn=REPLAY_TEST.format(prompt="hi"))
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest("--record-mode=all")
    assert pytest.ExitCode.USAGE_ERROR == result.ret
    result.stderr.fnmatch_lines(["*refusing to record (--record-mode=all) under CI=true*"])
    with ScriptedServer([sse_response()]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        pytester.runpytest("--record-mode=all", "--harness-force-record").assert_outcomes(passed=1)


def test_unused_interactions_are_reported_at_the_end(pytester: pytest.Pytester) -> None:
    """A cassette interaction no test used is listed in the session summary."""
    pytester.makepyfile(test_turn=REPLAY_TEST.format(prompt="hi"))
    record_cassette(pytester.path / "cassettes" / "test_turn" / "test_turn.yaml", "hi", "again")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*harness: unused recorded interactions*", "*test_turn.yaml: #1"])


def test_async_client_fixture(pytester: pytest.Pytester) -> None:
    """async_model_client replays the same cassette in an asyncio test."""
    pytester.makepyfile(
        test_turn="""
import pytest
from harness import Completed, Prompt

@pytest.mark.harness("shared.yaml")
async def test_async_turn(async_model_client):
    events = [e async for e in async_model_client.stream(Prompt.text("hi"))]
    assert isinstance(events[-1], Completed)
"""
    )
    record_cassette(pytester.path / "cassettes" / "shared.yaml", "hi")
    pytester.runpytest().assert_outcomes(passed=1)


def test_replay_under_xdist(pytester: pytest.Pytester) -> None:
    """Under pytest-xdist -n 2 every test replays its own cassette; unused ones are reported."""
    for n in range(4):
        pytester.makepyfile(**{f"test_turn{n}": REPLAY_TEST.format(prompt=f"turn {n}")})
        record_cassette(
            pytester.path / "cassettes" / f"test_turn{n}" / "test_turn.yaml",
            f"turn {n}",
            *(["extra"] if n == 3 else []),
        )
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        ["*2 workers*", "*harness: unused recorded interactions*", "*test_turn3*test_turn.yaml: #1"]
    )
