"""The ``harness`` command line: thin over the library.

Every failure is one line on stderr naming the file and the problem: exit code 2 for bad usage
(click's own convention, also used for unreadable or malformed input files), 1 for findings
(a diff, a secret, a validation problem) or a replayed session that ended in an error; never a
traceback.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import signal
import statistics
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click
import httpx

from harness._cassette import FORMAT, Cassette, Interaction
from harness._client import ModelClient
from harness._diff import diff as semantic_diff
from harness._events import (
    Completed,
    Created,
    OtherEvent,
    OutputItemAdded,
    OutputItemDone,
    Reconnecting,
    ResponseEvent,
)
from harness._exceptions import CassetteError, ConfigurationError, FixtureError, HarnessError
from harness._files import read_regular
from harness._models import FunctionCall, Message, Prompt, ResponseItem, UnknownItem
from harness._record import RecordingTransport, RecordMode
from harness._redact import Redactor, scan
from harness._replay import ReplayTransport, parse_timing
from harness._serve import CassetteServer, RecordingProxy, load_source
from harness._sse import SSEDecoder

DEFAULT_FIXTURE = "fixtures/function_call.sse"


class Failure(Exception):
    """A one-line error for the user, with its exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = 1) -> NoReturn:
    raise Failure(message, code)


@contextmanager
def errors(*subjects: object) -> Iterator[None]:
    """Turn our exceptions into one line and an exit code; nothing else escapes as a traceback.

    ``subjects`` (the files the command reads) are named in the line for an error that does
    not name its file itself: input nested too deeply to read, or a bug of ours."""
    try:
        yield
    except Failure as exc:
        click.echo(f"harness: {exc}", err=True)
        sys.exit(exc.code)
    except (CassetteError, FixtureError) as exc:  # bad input files: usage-class errors
        click.echo(f"harness: {exc}", err=True)
        sys.exit(2)
    except ConfigurationError as exc:
        click.echo(f"harness: {exc}", err=True)
        sys.exit(2)
    except HarnessError as exc:
        click.echo(f"harness: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else _where(subjects)
        click.echo(f"harness: {where}{exc.strerror or exc}", err=True)
        sys.exit(2)
    except RecursionError:
        click.echo(f"harness: {_where(subjects)}nested too deeply to read", err=True)
        sys.exit(2)
    except Exception as exc:  # a bug of ours: still one line, and exit 70 (EX_SOFTWARE) says so
        click.echo(
            f"harness: {_where(subjects)}internal error, please report it with this input: "
            f"{type(exc).__name__}: {exc}",
            err=True,
        )
        sys.exit(70)


def _where(subjects: Sequence[object]) -> str:
    if not subjects:
        return ""
    named = ", ".join(str(subject) for subject in subjects[:2])
    return f"{named}{f' (and {len(subjects) - 2} more)' if len(subjects) > 2 else ''}: "


def _item(item: ResponseItem) -> str:
    if isinstance(item, Message):
        return f"message[{item.role}] {item.text!r}"
    if isinstance(item, FunctionCall):
        return f"function_call {item.name}({item.arguments}) call_id={item.call_id}"
    if isinstance(item, UnknownItem):
        return f"{item.type} (kept raw{': ' + item.error if item.error else ''})"
    return item.type


def describe(event: ResponseEvent) -> str:
    """One readable line for an event."""
    name = type(event).__name__
    if isinstance(event, Created):
        return f"{name:<27} {event.response_id}"
    if isinstance(event, OutputItemAdded | OutputItemDone):
        return f"{name:<27} {_item(event.item)}"
    if isinstance(event, Completed):
        usage = event.token_usage
        tokens = f"  tokens: {usage.total_tokens} total" if usage else ""
        return f"{name:<27} {event.response_id}{tokens}"
    if isinstance(event, OtherEvent):
        return f"{name:<27} {event.type}"
    if isinstance(event, Reconnecting):
        return f"{name:<27} retry {event.attempt}/{event.max_retries} in {event.delay:.3f}s"
    return f"{name:<27} {getattr(event, 'delta', '')!r}"


def _printer(as_json: bool) -> Callable[[ResponseEvent], None]:
    def show(event: ResponseEvent) -> None:
        if as_json:
            data = getattr(event, "data", None) or {"type": f"harness.{type(event).__name__}"}
            click.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        else:
            click.echo(describe(event))

    return show


def _timing(_: click.Context, __: click.Parameter, value: str) -> str:
    try:
        parse_timing(value)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@click.group()
@click.version_option(package_name="harness")
@click.option("-v", "--verbose", is_flag=True, help="Also show the client's retries and warnings.")
def main(verbose: bool) -> None:
    """Record and replay streaming OpenAI Responses API sessions, offline and faithfully."""
    for stream in (sys.stdout, sys.stderr):  # a lone surrogate in an event prints as \ud800
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    logger = logging.getLogger("harness")
    if not any(getattr(handler, "harness_cli", False) for handler in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("harness: %(message)s"))
        handler.harness_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.ERROR)


# -- record ---------------------------------------------------------------------------------------


def _interrupted(*_: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in here (in the main thread; elsewhere, nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _prompt(text: str | None, prompt_file: Path | None) -> Prompt:
    if (text is None) == (prompt_file is None):
        fail("give the prompt as an argument or with --prompt-file, not both or neither", 2)
    if text is not None:
        return Prompt.text(text)
    assert prompt_file is not None
    try:
        data = json.loads(prompt_file.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"{prompt_file}: {exc.strerror}", 2)
    except (ValueError, UnicodeDecodeError) as exc:
        fail(f"{prompt_file}: not JSON: {exc}", 2)
    if isinstance(data, str):
        return Prompt.text(data)
    if not isinstance(data, dict) or not isinstance(data.get("input", []), list | str):
        fail(f'{prompt_file}: expected a string or {{"input": [...], "instructions": ...}}', 2)
    raw_input = data.get("input", [])
    items = (
        [{"type": "message", "role": "user", "content": raw_input}]
        if isinstance(raw_input, str)
        else raw_input
    )
    if not all(isinstance(item, dict) for item in items):
        fail(f"{prompt_file}: every input item must be a JSON object", 2)
    for key in ("instructions", "previous_response_id"):
        if not isinstance(data.get(key, ""), str):
            fail(f"{prompt_file}: {key} must be a string", 2)
    return Prompt(
        input=tuple(items),
        instructions=data.get("instructions"),
        previous_response_id=data.get("previous_response_id"),
    )


@main.command()
@click.argument("prompt", required=False)
@click.option(
    "--prompt-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file: a string, or {input, instructions, previous_response_id}.",
)
@click.option(
    "--cassette",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the cassette.",
)
@click.option(
    "--fixture",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write the raw SSE body to this folder (NAME.sse).",
)
@click.option("--model", default="o4-mini", show_default=True)
@click.option("--base-url", default=None, help="API base URL with /v1 (default: OPENAI_BASE_URL).")
@click.option(
    "--mode",
    type=click.Choice([m.value for m in RecordMode if m is not RecordMode.NONE]),
    default="all",
    show_default=True,
    help="Record mode (vcrpy's names).",
)
@click.option("--json", "as_json", is_flag=True, help="Show each event's wire JSON.")
def record(
    prompt: str | None,
    prompt_file: Path | None,
    cassette: Path,
    fixture: Path | None,
    model: str,
    base_url: str | None,
    mode: str,
    as_json: bool,
) -> None:
    """Run a live session through the client and record it, secrets redacted.

    Events show as they stream. The key comes from OPENAI_API_KEY (never from the command
    line, so it stays out of shell history).

    \b
    Examples:
      harness record "List the files" -o cassettes/list.yaml
      harness record --prompt-file turn.json -o cassettes/turn.yaml --fixture fixtures/
    """
    # SIGTERM (timeout, a cancelled CI job) ends the session as Ctrl-C does: what was
    # recorded so far is written, not lost.
    with _sigterm_interrupts(), errors():
        the_prompt = _prompt(prompt, prompt_file)
        transport = RecordingTransport(httpx.HTTPTransport(), cassette, mode=mode, fixtures=fixture)
        show = _printer(as_json)
        failure: HarnessError | None = None
        with ModelClient(model, base_url=base_url, transport=transport) as client:
            events = client.stream(the_prompt)  # a missing key fails here, before any I/O
            try:
                for event in events:
                    show(event)
            except HarnessError as exc:
                failure = exc
        click.echo(
            f"recorded {len(transport.cassette.interactions)} interaction(s) to {cassette}",
            err=True,
        )
        if fixture is not None:
            click.echo(f"fixtures in {fixture}", err=True)
        if failure is not None:
            fail(f"the session ended in an error (recorded): {failure}")


# -- replay ---------------------------------------------------------------------------------------


@main.command()
@click.argument("path", default=DEFAULT_FIXTURE, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One event's wire JSON per line.")
@click.option(
    "--timing",
    default="instant",
    show_default=True,
    callback=_timing,
    help="instant, recorded, or a factor such as 0.5 (twice as fast).",
)
@click.option(
    "--chunking",
    default="recorded",
    show_default=True,
    help="recorded, event, bytes:N or random:SEED.",
)
@click.option("--model", default="replay", show_default=True, help="Model named in the payload.")
def replay(path: Path, as_json: bool, timing: str, chunking: str, model: str) -> None:
    """Drive a cassette or an SSE fixture through the client, offline.

    The recorded bytes go through the same retries, SSE decoder and event pipeline as a live
    response. Each recorded turn is streamed in order; exit 1 if the session ended in an error.

    \b
    Examples:
      harness replay fixtures/function_call.sse
      harness replay --json cassettes/demo.yaml
      harness replay --timing recorded --chunking random:7 cassettes/demo.yaml
    """
    with errors(path):
        cassette, fixture = load_source(path)
        transport = ReplayTransport(cassette, timing=timing, chunking=chunking, match_body=False)
        show = _printer(as_json)
        sleep: Callable[[float], None] = (lambda _: None) if timing == "instant" else _sleep
        # A fixture is one attempt: re-sending cannot get another (the client's own fixture
        # mode does the same); a cassette holds every attempt the client made.
        retries = {"stream_max_retries": 0} if fixture else {}
        with ModelClient(
            model, api_key="sk-harness-replay", transport=transport, sleep=sleep, **retries
        ) as client:
            if not cassette.interactions:
                fail(f"{path}: no interactions to replay", 2)
            while sendable := [i for i in transport.unused() if _sent_by_client(cassette, i)]:
                try:
                    for event in client.stream(Prompt()):
                        show(event)
                except CassetteError as exc:  # names the file itself
                    fail(f"the session asked for more than was recorded: {exc}")
                except HarnessError as exc:
                    fail(f"{path}: the session ended in an error: {exc}")
                if transport.unused() == sendable:  # nothing was taken: would loop for ever
                    break
            if left := transport.unused():
                requests = ", ".join(
                    f"#{i} {cassette.interactions[i].request.method} "
                    f"{urlsplit(cassette.interactions[i].request.uri).path}"
                    for i in left
                )
                click.echo(
                    f"note: not replayed, as the client never sends them: {requests}", err=True
                )


def _sent_by_client(cassette: Cassette, index: int) -> bool:
    """Whether the client asks for interaction ``index``: a POST to .../responses (a resume
    with GET .../responses/ID?starting_after=N is another client's request)."""
    request = cassette.interactions[index].request
    return request.method.upper() == "POST" and urlsplit(request.uri).path.rstrip("/").endswith(
        "/responses"
    )


def _sleep(seconds: float) -> None:
    threading.Event().wait(seconds)


# -- diff -----------------------------------------------------------------------------------------


@main.command()
@click.argument("a", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("b", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--collapse-deltas", is_flag=True, help="Compare text deltas as whole texts.")
@click.option("--json", "as_json", is_flag=True, help="One change per line as JSON.")
@click.option("--color/--no-color", default=None, help="Colour (default: on a terminal).")
def diff(a: Path, b: Path, collapse_deltas: bool, as_json: bool, color: bool | None) -> None:
    """Compare two recordings (cassettes, SSE fixtures or snapshots) event by event.

    Ids and timestamps are normalized first, so two recordings of the same session compare
    equal. Exit 0 when they match, 1 when they differ.

    \b
    Examples:
      harness diff cassettes/before.yaml cassettes/after.yaml
      harness diff --collapse-deltas fixtures/a.sse tests/__snapshots__/t/t.events
    """
    with errors(a, b):
        changes = semantic_diff(a, b, collapse_deltas=collapse_deltas)
        for change in changes:
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "index": change.index,
                            "new_index": change.new_index,
                            "path": change.path,
                            "kind": change.kind,
                            "old": change.old,
                            "new": change.new,
                        },
                        ensure_ascii=False,
                        default=str,
                    )
                )
            else:
                colour = {"added": "green", "removed": "red"}.get(change.kind, "yellow")
                click.echo(click.style(str(change), fg=colour), color=color)
        if changes:
            fail(f"{len(changes)} difference(s) between {a} and {b}")
        click.echo(f"{a} and {b} match")


# -- inspect --------------------------------------------------------------------------------------


def _timeline(index: int, interaction: Interaction) -> Iterator[str]:
    request, response = interaction.request, interaction.response
    target = httpx.URL(request.uri)
    head = f"#{index} {request.method} {target.raw_path.decode()}"
    if response is None:
        error = interaction.error
        yield f"{head} -> no response ({error.type}: {error.message})" if error else head
        return
    kind = response.header("content-type") or "-"
    at = f", head at {interaction.head_ms:.1f} ms" if interaction.head_ms is not None else ""
    yield f"{head} -> {response.status} {response.reason} [{kind}]{at}"
    offsets = [chunk.offset_ms for chunk in interaction.chunks]
    streamed = kind.startswith("text/event-stream")
    decoder = SSEDecoder()
    events = 0
    for chunk, body in zip(interaction.chunks, interaction.chunk_bodies(), strict=True):
        names = [_event_type(sse.data) for sse in decoder.feed(body)] if streamed else []
        events += len(names)
        listed = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
        yield f"    +{chunk.offset_ms:9.1f} ms {chunk.size:7d} B  {listed}".rstrip()
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    gap = f"; gaps median {statistics.median(gaps):.1f} ms, max {max(gaps):.1f} ms" if gaps else ""
    ended = f" at {interaction.end_ms:.1f} ms" if interaction.end_ms is not None else ""
    failure = interaction.error
    why = f" ({failure.type}: {failure.message})" if failure else ""
    yield (
        f"    outcome: {interaction.outcome.value}{why} after {len(response.body)} B{ended}; "
        f"{len(interaction.chunks)} chunks, {events} events{gap}"
    )


def _event_type(data: str) -> str:
    try:
        parsed = json.loads(data)
    except ValueError:
        return repr(data[:20])
    return str(parsed.get("type", "?")) if isinstance(parsed, dict) else "?"


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def inspect(path: Path) -> None:
    """Show the timeline of a cassette: interactions, status, chunks, gaps, events, outcome.

    \b
    Example:
      harness inspect cassettes/demo.yaml
    """
    with errors(path):
        cassette, fixture = load_source(path)
        kind = "SSE fixture" if fixture else "cassette"
        click.echo(f"{path}: {kind}, {len(cassette.interactions)} interaction(s)")
        for index, interaction in enumerate(cassette.interactions):
            for line in _timeline(index, interaction):
                click.echo(line)


# -- scan -----------------------------------------------------------------------------------------


def _files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and ".git" not in p.parts)
        elif path.exists():
            yield path
        else:
            fail(f"{path}: no such file or folder", 2)


@main.command(name="scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    envvar="HARNESS_SECRETS",
    help="A secret value to look for (besides $OPENAI_API_KEY); repeatable.",
)
def scan_command(paths: tuple[Path, ...], secrets: tuple[str, ...]) -> None:
    """Find secrets in files: known keys and key-shaped tokens (sk-..., Bearer ...).

    For pre-commit hooks and CI: exit 1 on any finding. Folders are searched recursively.

    \b
    Examples:
      harness scan cassettes/ fixtures/
      harness scan --secret "$ORG_ID" tests/cassettes
    """
    with errors(*paths):
        known = set(Redactor().secrets) | set(secrets)
        found = 0
        files = list(_files(paths))
        for file in files:
            for finding in scan(read_regular(file), known):
                click.echo(
                    f"{file}:{finding.line}:{finding.column}: {finding.kind} {finding.excerpt!r}"
                )
                found += 1
        if found:
            fail(f"{found} secret(s) found")
        click.echo(f"no secrets in {len(files)} file(s)")


# -- import ---------------------------------------------------------------------------------------


@main.command(name="import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write ours (default: NAME.harness.yaml beside the input).",
)
def import_command(path: Path, output: Path | None) -> None:
    """Convert a vcrpy cassette (standard or pydantic-ai's variant) to ours, redacting.

    Bodies become one chunk each (vcrpy keeps no timing); secrets are redacted on the way.
    One of ours in an older format is written again in the current one, timing kept.

    \b
    Examples:
      harness import tests/cassettes/old.yaml -o cassettes/old.yaml
      harness import cassettes/format-1.yaml -o cassettes/format-1.yaml
    """
    with errors(path):
        data = read_regular(path)
        current = b'harness: {"format": %d,' % FORMAT
        if data.startswith(b"# harness cassette") and current in data[:1000]:
            fail(f"{path}: already a harness cassette (format {FORMAT})", 2)
        cassette = Cassette.loads(data, path)
        target = output or path.with_name(f"{path.stem}.harness.yaml")
        cassette.save(target)
        click.echo(f"{path}: {len(cassette.interactions)} interaction(s) -> {target}")


# -- serve and proxy ------------------------------------------------------------------------------


def _serve_until_stopped(server: Any, announce: str, on_stop: Callable[[], None]) -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        server.start()
    except RuntimeError as exc:  # the port is taken, or the address cannot be used
        fail(str(exc), 2)
    click.echo(announce.format(url=server.base_url), err=False)
    sys.stdout.flush()
    stop.wait()
    server.stop()
    on_stop()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--timing",
    default="recorded",
    show_default=True,
    callback=_timing,
    help="recorded, instant, or a factor.",
)
def serve(paths: tuple[Path, ...], host: str, port: int, timing: str) -> None:
    """Serve cassettes and fixtures over HTTP at /v1/responses, as recorded.

    Status, headers, chunks and timing play back to any client: the openai SDK, curl, the
    Codex CLI (OPENAI_BASE_URL=http://127.0.0.1:8765/v1). Stop with Ctrl-C.

    \b
    Examples:
      harness serve cassettes/demo.yaml
      harness serve --port 0 --timing instant cassettes/ fixtures/function_call.sse
    """
    with errors(*paths):
        # From a folder its cassettes and fixtures only (not a README or a MANIFEST.json).
        files = [f for f in _files(paths) if f.suffix.lower() in _SEARCHED or f in paths]
        try:
            server = CassetteServer(files, host=host, port=port, timing=timing)
        except ValueError as exc:
            fail(str(exc), 2)

        def report() -> None:
            for path, indices in server.unused().items():
                click.echo(f"{path}: unused interactions {indices}", err=True)

        _serve_until_stopped(server, "serving " + ", ".join(map(str, files)) + " at {url}", report)


@main.command()
@click.option(
    "--upstream", required=True, help="Base URL to forward to, e.g. https://api.openai.com"
)
@click.option(
    "--record",
    "path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cassette to write when the proxy stops.",
)
@click.option(
    "--fixture",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write each streamed body to this folder.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address.")
@click.option("--port", default=8766, show_default=True, type=click.IntRange(0, 65535))
def proxy(upstream: str, path: Path, fixture: Path | None, host: str, port: int) -> None:
    """Record any client through a loopback reverse proxy.

    Each chunk is passed on the moment it arrives; the exchange is recorded as the recording
    transport does, secrets redacted. The cassette is written on Ctrl-C.

    \b
    Example:
      harness proxy --upstream https://api.openai.com --record cassettes/codex.yaml
      OPENAI_BASE_URL=http://127.0.0.1:8766/v1 codex "list the files"
    """
    with errors(upstream):
        try:
            server = RecordingProxy(upstream, path, host=host, port=port, fixtures=fixture)
        except ValueError as exc:
            fail(str(exc), 2)

        def report() -> None:
            error = server.save_error
            if isinstance(error, HarnessError):
                raise error  # errors() makes it one line and a non-zero exit
            if error is not None:
                fail(f"{path}: not written: {type(error).__name__}: {error}")
            if server.transport.cassette.interactions:
                click.echo(f"wrote {path}", err=True)
            else:
                click.echo(f"nothing was recorded; {path} not written", err=True)

        _serve_until_stopped(server, f"proxying {upstream} at {{url}}, recording to {path}", report)


# -- validate -------------------------------------------------------------------------------------

_SEARCHED = (".yaml", ".yml", ".sse")  # in folders; a .json payload is checked when named
_UNUSABLE = ("unreadable", "cassette")  # rules that mean "could not read the file at all"


@main.command(name="validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The whole report as JSON, for CI.")
def validate_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Check cassettes, fixtures and payload files against the schemas.

    Request payloads and tool definitions (with the strict-mode rules), every stream event by
    its type, the stream rules (sequence numbers, deltas adding up to .done, one terminal
    event), and our cassette format. Folders are searched for .yaml, .yml and .sse files.
    Exit 1 on findings, 2 when a file cannot be read at all.

    \b
    Examples:
      harness validate cassettes/ fixtures/
      harness validate --json tests/cassettes > validation.json
    """
    from harness._validate import Report, validate

    with errors(*paths):
        files = [f for f in _files(paths) if f.suffix.lower() in _SEARCHED or f in paths]
        reports: list[Report] = []
        show_bar = len(files) > 20 and sys.stderr.isatty() and not as_json
        with (
            click.progressbar(files, label="validating", file=sys.stderr, show_pos=True)
            if show_bar
            else _plain(files) as chosen
        ):
            for file in chosen:
                reports.append(validate(file))
        findings = [finding for report in reports for finding in report.findings]
        waived = sum(report.waived for report in reports)
        notes = [note for report in reports for note in report.notes]
        unusable = [f for f in findings if f.rule in _UNUSABLE]
        if as_json:
            used: dict[Any, int] = {}
            for report in reports:
                for waiver, count in report.waivers:
                    used[waiver] = used.get(waiver, 0) + count
            whole = Report(tuple(findings), waived, tuple(notes), tuple(used.items()))
            click.echo(whole.to_json(), nl=False)
        else:
            for finding in findings:
                if finding.rule not in _UNUSABLE:
                    click.echo(str(finding))
            for note in notes:
                click.echo(f"note: {note}", err=True)
        for finding in unusable:
            click.echo(f"harness: {finding.file}: {finding.message}", err=True)
        if unusable:
            sys.exit(2)
        summary = (
            f"{len(files)} file(s): "
            + (f"{len(findings)} finding(s)" if findings else "no findings")
            + (f", {waived} waived by the allowlist" if waived else "")
        )
        if findings:
            fail(summary)
        if not as_json:
            click.echo(summary)


@contextmanager
def _plain(items: Sequence[Path]) -> Iterator[Sequence[Path]]:
    yield items


# -- demo -----------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the files it writes (default: a new temporary folder).",
)
def demo(out: Path | None) -> None:
    """The whole loop, offline: record, validate, replay, compare with a snapshot.

    Starts the scripted Responses server on loopback, records a two-turn session through the
    client (a 429 and its retry, a shell tool call, the answer), validates the cassette,
    replays it through the same client offline, and compares it with the bundled snapshot.

    \b
    Example:
      harness demo --out /tmp/harness-demo
    """
    from harness._demo import run_demo

    with errors():
        result = run_demo(out, click.echo)
        click.echo(
            f"files: {result.folder}/demo.yaml (cassette), demo.sse and demo-2.sse "
            "(fixtures); try: harness inspect " + str(result.folder / "demo.yaml")
        )
        if not result.ok:
            fail("the demo did not come out as expected (see above)")


if __name__ == "__main__":
    main()
