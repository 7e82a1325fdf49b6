"""The pytest plugin: cassettes per test, replay by default, recording on request.

Registered through the ``pytest11`` entry point, so installing harness is enough::

    @pytest.mark.harness                      # cassette: <test dir>/cassettes/<module>/<test>.yaml
    def test_turn(model_client):
        events = list(model_client.stream(Prompt.text("hi")))

    @pytest.mark.harness("shared.yaml", match_ignore=["$.metadata"], chunking="random:7")
    async def test_async_turn(async_model_client): ...

``--record-mode`` takes vcrpy's names and defaults to ``none``: every request is served from the
cassette, and one the cassette cannot answer fails the test at the transport (nothing reaches
the network). ``once`` records a missing cassette, ``new_episodes`` records what the cassette
cannot answer, ``all`` records everything again. Under ``CI=true`` recording is refused unless
``--harness-force-record`` is given. Interactions no test used are listed at the end of the
session (also under pytest-xdist).

Fixtures: ``model_client`` / ``async_model_client`` (clients wired to the transport, with a
virtual clock in replay so retries and idle timeouts play out at once), ``harness_transport`` /
``harness_async_transport`` (to hand to your own httpx or openai client), ``harness_cassette``
(the path), ``harness_model`` (override it to change the model name, default ``o4-mini``),
``harness_snapshot`` (syrupy's ``snapshot`` with the events extension).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

try:
    import pytest_asyncio

    _ASYNCIO = True
except ImportError:  # pragma: no cover - the asyncio fixtures are simply not there
    _ASYNCIO = False

from harness._client import AsyncModelClient, ModelClient
from harness._exceptions import CassetteError, ConfigurationError
from harness._record import AsyncRecordingTransport, RecordingTransport, RecordMode
from harness._replay import (
    AsyncReplayTransport,
    Chunking,
    NoMatchError,
    ReplayTransport,
    VirtualClock,
    parse_timing,
)

__all__ = ["pytest_addoption", "pytest_configure", "pytest_load_initial_conftests"]

_UNUSED = pytest.StashKey[list[str]]()
_REPLAY_KEY = "sk-harness-replay-0000"
# Cassettes this process recorded in this session: a second recorder of one of them (another
# test sharing it, or the other client of the same test) appends instead of replacing it.
_RECORDED = pytest.StashKey[set[Path]]()
_MARKER_OPTIONS = frozenset({"cassette", "match_ignore", "chunking", "timing", "model"})
# The longest cassette file name made from a test id (bytes); longer ones are cut and hashed.
_LONGEST_NAME = 150


def _mode(config: pytest.Config) -> RecordMode:
    """--record-mode; pytest-recording's "rewrite" (delete and record again) is our "all"."""
    value = config.getoption("record_mode", "none") or "none"
    return RecordMode.ALL if value == "rewrite" else RecordMode.parse(value)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "record and replay of streaming Responses API sessions")
    group.addoption(
        "--harness-force-record",
        action="store_true",
        default=False,
        help="allow recording although CI=true",
    )
    group.addoption(
        "--harness-validate",
        choices=["off", "warn", "fail"],
        default="off",
        help="validate every cassette (payloads, tool schemas, stream events) as it is "
        "replayed or recorded: off (default), warn, fail",
    )
    group.addoption(
        "--harness-timing",
        default="instant",
        help="replay timing: instant (default), recorded, or a factor",
    )
    group.addoption(
        "--harness-chunking",
        default=None,
        help="replay chunking for every test: recorded, event, bytes:N, random:SEED",
    )


def _option_taken(parser: pytest.Parser, name: str) -> bool:
    # pytest only checks for duplicates within one option group; argparse fails later on.
    groups = [*getattr(parser, "_groups", []), getattr(parser, "_anonymous", None)]
    return any(
        name in option.names() for group in groups if group is not None for option in group.options
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """Add --record-mode now, when every installed plugin has added its options.

    pytest-recording and cassetter define the same option with vcrpy's names, in
    pytest_addoption, which pytest calls as each plugin registers: whichever came second would
    crash on the duplicate. Adding ours here, later, we share theirs when it is there.
    """
    if _option_taken(parser, "--record-mode"):
        return
    with contextlib.suppress(ValueError):
        parser.getgroup("harness").addoption(
            "--record-mode",
            action="store",
            dest="record_mode",
            default="none",
            choices=[*(mode.value for mode in RecordMode), "rewrite"],
            help="cassette mode (vcrpy's names): none (default, replay only), once, "
            "new_episodes, all (rewrite, pytest-recording's name for it, works too)",
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "harness(cassette=None, *, match_ignore=(), chunking=None, timing=None, model=None): "
        "record/replay this test's model traffic with a harness cassette",
    )
    config.stash[_UNUSED] = []
    # The snapshot extension's report hook lists every change when pytest cuts the explanation.
    if importlib.util.find_spec("syrupy") is not None and not config.pluginmanager.has_plugin(
        "harness._snapshot"
    ):
        config.pluginmanager.import_plugin("harness._snapshot")
    if hasattr(config.hook, "pytest_testnodedown"):  # pytest-xdist is loaded
        config.pluginmanager.register(_XdistController(), "harness-xdist")
    config.stash[_RECORDED] = set()
    try:
        mode = _mode(config)
        parse_timing(config.getoption("harness_timing"))
        Chunking.parse(config.getoption("harness_chunking") or "recorded")
    except ConfigurationError as exc:
        raise pytest.UsageError(f"harness: {exc}") from None
    ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
    if mode is not RecordMode.NONE and ci and not config.getoption("harness_force_record"):
        raise pytest.UsageError(
            f"harness: refusing to record (--record-mode={mode.value}) under CI=true: CI should "
            "replay what was recorded and committed. Record locally, or pass "
            "--harness-force-record if you mean it."
        )


@dataclass(frozen=True, slots=True)
class _Settings:
    path: Path
    mode: RecordMode
    match_ignore: tuple[str, ...]
    chunking: str
    timing: str
    model: str | None
    validate: str
    recorded: set[Path]  # the cassettes this session recorded (see _RECORDED)


def _settings(request: pytest.FixtureRequest) -> _Settings:
    marker = request.node.get_closest_marker("harness")
    args: tuple[Any, ...] = marker.args if marker else ()
    kwargs: dict[str, Any] = dict(marker.kwargs) if marker else {}
    unknown = sorted(set(kwargs) - _MARKER_OPTIONS)
    if unknown or len(args) > 1:
        raise ConfigurationError(
            f"@pytest.mark.harness takes one cassette and {', '.join(sorted(_MARKER_OPTIONS))}"
            f"; got {len(args)} positional argument(s)"
            + (f" and {', '.join(unknown)}" if unknown else "")
        )
    module = Path(str(request.node.path))
    name = args[0] if args else kwargs.get("cassette")
    if name is None:
        path = module.parent / "cassettes" / module.stem / f"{_file_name(request)}.yaml"
    else:
        path = Path(name) if Path(name).is_absolute() else module.parent / "cassettes" / name
    config = request.config
    return _Settings(
        path=path,
        mode=_mode(config),
        match_ignore=tuple(kwargs.get("match_ignore", ())),
        chunking=kwargs.get("chunking") or config.getoption("harness_chunking") or "recorded",
        timing=str(kwargs.get("timing") or config.getoption("harness_timing")),
        model=kwargs.get("model"),
        validate=str(config.getoption("harness_validate")),
        recorded=config.stash[_RECORDED],
    )


def _file_name(request: pytest.FixtureRequest) -> str:
    """The cassette file name for this test: its name (``Class.test`` in a class, as
    pytest-recording names them), ``[id]`` as ``-id``. A name that had to change to be a file
    name ("/" in an id) or to fit (a long id) gets a hash of the whole, so that two tests never
    share a file by accident."""
    whole: str = request.node.name
    if request.cls is not None:
        whole = f"{request.cls.__name__}.{whole}"
    name = whole.replace("[", "-").replace("]", "")
    tag = hashlib.sha1(whole.encode()).hexdigest()[:10]
    if "/" in name or "\\" in name or "\0" in name:
        name = name.replace("/", "_").replace("\\", "_").replace("\0", "_") + f"-{tag}"
    if len(name.encode()) > _LONGEST_NAME:
        cut = name.encode()[: _LONGEST_NAME - 11].decode("utf-8", "ignore")
        name = f"{cut}-{tag}"
    return name


def _missing(path: Path) -> CassetteError:
    return CassetteError(
        "no cassette to replay (record mode 'none'). Record it: pytest --record-mode=once",
        path=path,
    )


class _EpisodesTransport(httpx.BaseTransport):
    """new_episodes: serve what the cassette answers, record (and append) the rest."""

    def __init__(self, replay: ReplayTransport, record: RecordingTransport) -> None:
        self.replay, self.record = replay, record

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self.replay.handle_request(request)
        except NoMatchError:
            return self.record.handle_request(request)

    def unused(self) -> list[int]:
        return self.replay.unused()

    def close(self) -> None:
        self.record.close()


class _AsyncEpisodesTransport(httpx.AsyncBaseTransport):
    def __init__(self, replay: AsyncReplayTransport, record: AsyncRecordingTransport) -> None:
        self.replay, self.record = replay, record

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self.replay.handle_async_request(request)
        except NoMatchError:
            return await self.record.handle_async_request(request)

    def unused(self) -> list[int]:
        return self.replay.unused()

    async def aclose(self) -> None:
        await self.record.aclose()


def _replaying(settings: _Settings) -> bool:
    exists = settings.path.exists()
    if settings.mode is RecordMode.NONE:
        if not exists:
            raise _missing(settings.path)
        return True
    return settings.mode is RecordMode.ONCE and exists


@pytest.fixture
def harness_cassette(request: pytest.FixtureRequest) -> Path:
    """The path of this test's cassette."""
    return _settings(request).path


@pytest.fixture
def harness_model() -> str:
    """The model named in requests; override this fixture to change it."""
    return "o4-mini"


@pytest.fixture
def harness_snapshot(snapshot: Any) -> Any:
    """syrupy's ``snapshot`` with the harness extension: normalized events, one per line."""
    from harness._snapshot import HarnessSnapshotExtension

    return snapshot.use_extension(HarnessSnapshotExtension)


@pytest.fixture
def harness_clock() -> VirtualClock:
    """The virtual clock replays advance instead of sleeping."""
    return VirtualClock()


def _report_unused(request: pytest.FixtureRequest, path: Path, unused: list[int]) -> None:
    if unused:
        request.config.stash[_UNUSED].append(f"{path}: {', '.join(f'#{i}' for i in unused)}")


def _transports(
    settings: _Settings,
    clock: VirtualClock,
    replay_class: Any,
    record_class: Any,
    http_class: Any,
    episodes_class: Any,
) -> tuple[Any, Any]:
    """The transport for this test's cassette and mode, and its replaying part (or None).

    One decision for both twins, which pass their own (sync or async) classes.
    """
    if _replaying(settings):
        replay = replay_class(
            settings.path,
            timing=settings.timing,
            chunking=settings.chunking,
            match_ignore=settings.match_ignore,
            clock=clock,
            validate=settings.validate,
        )
        return replay, replay
    if settings.mode is RecordMode.NEW_EPISODES and settings.path.exists():
        replay = replay_class(settings.path, match_ignore=settings.match_ignore, clock=clock)
        record = record_class(
            http_class(), settings.path, mode=settings.mode, validate=settings.validate
        )
        return episodes_class(replay, record), replay
    recorded = settings.recorded
    mode = RecordMode.NEW_EPISODES if settings.path in recorded else RecordMode.ALL
    recorded.add(settings.path)
    record = record_class(http_class(), settings.path, mode=mode, validate=settings.validate)
    return record, None


@pytest.fixture
def harness_transport(
    request: pytest.FixtureRequest, harness_clock: VirtualClock
) -> Iterator[httpx.BaseTransport]:
    """A transport serving (or recording) this test's cassette, for blocking clients."""
    settings = _settings(request)
    transport, replay = _transports(
        settings,
        harness_clock,
        ReplayTransport,
        RecordingTransport,
        httpx.HTTPTransport,
        _EpisodesTransport,
    )
    yield transport
    transport.close()
    if replay is not None:
        _report_unused(request, settings.path, replay.unused())


def _client_options(replaying: bool, clock: VirtualClock) -> dict[str, Any]:
    if not replaying:
        return {}
    options: dict[str, Any] = {"clock": clock.now}
    if not os.environ.get("OPENAI_API_KEY"):
        options["api_key"] = _REPLAY_KEY  # replays send nothing anywhere
    return options


@pytest.fixture
def model_client(
    request: pytest.FixtureRequest,
    harness_transport: httpx.BaseTransport,
    harness_model: str,
    harness_clock: VirtualClock,
) -> Iterator[ModelClient]:
    """A ``ModelClient`` wired to this test's cassette."""
    settings = _settings(request)
    replaying = isinstance(harness_transport, ReplayTransport)  # new_episodes goes live
    options = _client_options(replaying, harness_clock)
    if replaying:
        options["sleep"] = harness_clock.sleep
    # Closing the client closes the transport, which writes a recording; closing twice is safe.
    with ModelClient(
        settings.model or harness_model, transport=harness_transport, **options
    ) as client:
        yield client


if _ASYNCIO:  # the asyncio fixtures need pytest-asyncio

    @pytest_asyncio.fixture
    async def harness_async_transport(
        request: pytest.FixtureRequest, harness_clock: VirtualClock
    ) -> AsyncIterator[httpx.AsyncBaseTransport]:
        """A transport serving (or recording) this test's cassette, for asyncio clients."""
        settings = _settings(request)
        transport, replay = _transports(
            settings,
            harness_clock,
            AsyncReplayTransport,
            AsyncRecordingTransport,
            httpx.AsyncHTTPTransport,
            _AsyncEpisodesTransport,
        )
        yield transport
        await transport.aclose()
        if replay is not None:
            _report_unused(request, settings.path, replay.unused())

    @pytest_asyncio.fixture
    async def async_model_client(
        request: pytest.FixtureRequest,
        harness_async_transport: httpx.AsyncBaseTransport,
        harness_model: str,
        harness_clock: VirtualClock,
    ) -> AsyncIterator[AsyncModelClient]:
        """An ``AsyncModelClient`` wired to this test's cassette."""
        settings = _settings(request)
        replaying = isinstance(harness_async_transport, AsyncReplayTransport)
        options = _client_options(replaying, harness_clock)
        if replaying:
            options["sleep"] = harness_clock.asleep
        async with AsyncModelClient(
            settings.model or harness_model, transport=harness_async_transport, **options
        ) as client:
            yield client


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the list to the controller
        unused: list[str] = session.config.stash[_UNUSED]
        workeroutput["harness_unused"] = list(unused)


class _XdistController:
    """Registered only when pytest-xdist is there (its hook is unknown to pytest otherwise)."""

    @pytest.hookimpl
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        unused = getattr(node, "workeroutput", {}).get("harness_unused", [])
        node.config.stash[_UNUSED].extend(unused)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    unused: list[str] = config.stash.get(_UNUSED, [])
    if unused:
        terminalreporter.section("harness: unused recorded interactions")
        for line in sorted(unused):
            terminalreporter.write_line(line)
