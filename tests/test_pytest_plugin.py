"""The pytest plugin, run as whole pytest sessions with pytester."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from harness import Cassette, ModelClient, Prompt, RecordingTransport
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


NAMED_TESTS = """
import pytest
from harness import Completed, Prompt

class TestA:
    def test_same(self, model_client):
        assert isinstance(list(model_client.stream(Prompt.text("class A")))[-1], Completed)

def test_same(model_client):
    assert isinstance(list(model_client.stream(Prompt.text("module")))[-1], Completed)

@pytest.mark.parametrize("case", ["a/b", "a_b", "x" * 300])
def test_param(model_client, case):
    assert isinstance(list(model_client.stream(Prompt.text(case)))[-1], Completed)
"""


def test_every_test_records_its_own_cassette_and_replays_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test in a class, a test of the same name outside it, ids that differ only by "/" and
    "_", and a 300-character id each get their own file (the class in its name, a hash where
    the id had to change), so each replays its own turn."""
    pytester.makepyfile(test_named=NAMED_TESTS)
    with ScriptedServer([sse_response() for _ in range(5)]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        pytester.runpytest("--record-mode=once").assert_outcomes(passed=5)
    names = sorted(p.name for p in (pytester.path / "cassettes" / "test_named").iterdir())
    assert 5 == len(names)
    assert "TestA.test_same.yaml" in names
    assert "test_same.yaml" in names
    assert all(len(name.encode()) <= 160 for name in names)
    monkeypatch.delenv("OPENAI_API_KEY")
    pytester.runpytest().assert_outcomes(passed=5)


SHARED_TESTS = """
import pytest
from harness import Completed, Prompt

@pytest.mark.harness("shared.yaml")
def test_one(model_client):
    assert isinstance(list(model_client.stream(Prompt.text("one")))[-1], Completed)

@pytest.mark.harness("shared.yaml")
def test_two(model_client, async_model_client):
    assert isinstance(list(model_client.stream(Prompt.text("two")))[-1], Completed)

@pytest.mark.harness("shared.yaml")
async def test_three(model_client, async_model_client):
    assert isinstance(list(model_client.stream(Prompt.text("sync side")))[-1], Completed)
    events = [event async for event in async_model_client.stream(Prompt.text("async side"))]
    assert isinstance(events[-1], Completed)
"""


@pytest.mark.parametrize("mode", ["all", "rewrite"])
def test_a_cassette_shared_by_tests_and_clients_keeps_every_turn(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Tests sharing one cassette, and a test using both clients, record every turn (the
    second recorder of a file in a session appends), and all replay. pytest-recording's
    "rewrite" is our "all"."""
    pytester.makepyfile(test_shared=SHARED_TESTS)
    with ScriptedServer([sse_response() for _ in range(4)]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        pytester.runpytest("-p", "no:randomly", f"--record-mode={mode}").assert_outcomes(passed=3)
    assert 4 == len(Cassette.load(pytester.path / "cassettes" / "shared.yaml").interactions)
    monkeypatch.delenv("OPENAI_API_KEY")
    pytester.runpytest().assert_outcomes(passed=3)


def test_new_episodes_goes_live_with_the_live_clock_and_key(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request new_episodes sends to the server waits out its Retry-After for real, with
    the real key: it is not a replay."""
    pytester.makepyfile(test_turn=REPLAY_TEST.format(prompt="new prompt"))
    record_cassette(pytester.path / "cassettes" / "test_turn" / "test_turn.yaml", "hi")
    busy = ScriptedResponse.json(429, {"error": {"message": "slow"}}, headers={"retry-after": "1"})
    with ScriptedServer([busy, sse_response()]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-live-0123456789")
        started = time.monotonic()
        pytester.runpytest("--record-mode=new_episodes").assert_outcomes(passed=1)
        assert 1.0 <= time.monotonic() - started
        assert ["Bearer sk-live-0123456789"] * 2 == [
            {name.lower(): value for name, value in request.headers}["authorization"]
            for request in server.requests
        ]


def test_bad_options_and_marker_arguments_are_usage_errors(pytester: pytest.Pytester) -> None:
    """A bad --harness-timing or --harness-chunking stops the session at once; a misspelled
    marker argument fails its test, naming the arguments the marker takes."""
    pytester.makepyfile(
        test_typo="""
import pytest

@pytest.mark.harness(cassete="typo.yaml")
def test_typo(model_client):
    pass
"""
    )
    for option in ("--harness-timing=bogus", "--harness-chunking=lines"):
        assert pytest.ExitCode.USAGE_ERROR == pytester.runpytest(option).ret
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.harness takes one cassette and*cassete*"])
