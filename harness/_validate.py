"""The validator: request payloads, tool definitions, stream events and cassettes, checked before
the API does.

:func:`validate` takes a path (a cassette, an ``.sse`` fixture, a JSON payload or event list, or
a folder of cassettes and fixtures), a :class:`~harness.Cassette`, a payload dict, a tool
definition, or a list of events, and returns a :class:`Report` of every problem, not only the
first. Each :class:`Finding` names the file, interaction and event, the JSON path, the rule, and
what was expected and found; secrets in found values are masked.

What is checked:

- payloads (every request body of a cassette sent with ``POST /responses``; the bodies sent to
  its sub-resources, such as ``/responses/input_tokens``, are not checked) against
  ``schemas/request.json``; an unknown top-level key is reported with the closest known key as
  the probable typo; a function tool's ``parameters`` must be a valid JSON Schema the API
  takes, and with ``strict`` true follow the strict-mode rules (:mod:`harness._validate_strict`);
- each stream event against the schema of its ``type`` (:mod:`harness._validate_schema`), then
  the sequence rules no schema can say (:mod:`harness._validate_stream`);
- our own cassette files against ``schemas/cassette.json``.

Chat Completions traffic is not the Responses API: such an interaction or stream (one whose
events are all chunks of Chat Completions) is skipped, and the report says so in ``notes``; a
chunk among Responses events is a finding. Real traffic departs from the spec in a few known
ways; the :data:`DEFAULT_ALLOWLIST` waives those findings (each :class:`Waiver` with its
reason), and the report counts what it waived. Reading files happens in :func:`_read` only;
everything else works on values.
"""

from __future__ import annotations

import base64
import enum
import functools
import json
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator

from harness._cassette import Cassette, Interaction, Outcome, reject_constant
from harness._events import Reconnecting
from harness._exceptions import CassetteError, FixtureError, HarnessError
from harness._files import read_regular
from harness._fixture import load_fixture
from harness._jsonpath import format_path
from harness._redact import _KEY_SHAPED, REDACTED, Redactor, default_secrets
from harness._sse import ServerSentEvent, iter_sse_bytes
from harness._validate_schema import (
    MISSING,
    Problem,
    event_validator,
    problems,
    render,
    validator,
)
from harness._validate_stream import StreamChecks
from harness._validate_strict import parameters_problems, strict_problems

__all__ = [
    "DEFAULT_ALLOWLIST",
    "Finding",
    "Report",
    "ValidationError",
    "ValidationMode",
    "ValidationWarning",
    "Waiver",
    "enforce",
    "validate",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One problem: where (file, interaction, event, JSON path), which rule, expected and found.

    ``subject`` says what was checked: ``request``, ``tool``, ``cassette``, ``stream`` (a rule
    about the whole stream), or the type of the event. Indices count from 0; ``None`` where
    they do not apply.
    """

    file: str | None = None
    interaction: int | None = None
    event: int | None = None
    subject: str = ""
    path: str
    rule: str
    expected: str
    found: str
    message: str

    def __str__(self) -> str:
        where = [] if self.interaction is None else [f"interaction #{self.interaction}"]
        if self.event is not None:
            where.append(f"event #{self.event}")
        if self.subject:
            where.append(f"({self.subject})")
        where.append(f"{self.path}: expected {self.expected}, found {self.found} [{self.rule}]")
        return (f"{self.file}:" if self.file else "") + " ".join(where)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "expected": self.expected,
            "file": self.file,
            "found": self.found,
            "interaction": self.interaction,
            "message": self.message,
            "path": self.path,
            "rule": self.rule,
            "subject": self.subject,
        }


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` matches anything (brackets in JSON paths are literal, unlike fnmatch)."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")) + r"\Z")


@dataclass(frozen=True, slots=True)
class Waiver:
    """An allowlist entry: findings of ``rule`` at ``path`` are waived, for ``reason``.

    ``path``, ``subject`` (the event type, ``request``, ...) and ``file`` (matched against the
    file name and its full path) are patterns where ``*`` matches anything.
    """

    rule: str
    path: str
    reason: str
    subject: str = "*"
    file: str = "*"

    def matches(self, finding: Finding) -> bool:
        if self.rule != "*" and self.rule != finding.rule:
            return False
        if not _glob(self.path).match(finding.path):
            return False
        if not _glob(self.subject).match(finding.subject):
            return False
        if self.file == "*":
            return True
        name = finding.file or ""
        return bool(_glob(self.file).match(name) or _glob(self.file).match(Path(name).name))

    def to_dict(self) -> dict[str, str]:
        return {
            "file": self.file,
            "path": self.path,
            "reason": self.reason,
            "rule": self.rule,
            "subject": self.subject,
        }


DEFAULT_ALLOWLIST: tuple[Waiver, ...] = (
    Waiver(
        "required",
        "$.sequence_number",
        "The API added sequence_number to stream events in 2025; streams recorded before "
        "(and Codex's fixtures) have none. Its order is still checked where it is present, and "
        "in a stream that has them an event without one is found (rule sequence-number).",
    ),
    Waiver(
        "required",
        "$.name",
        "The spec requires name on response.function_call_arguments.done, but the API does not "
        "send it: every recorded stream, from 2025 to 2026, lacks it (the name is on the item).",
        subject="response.function_call_arguments.done",
    ),
    Waiver(
        "required",
        "$.response.usage.input_tokens_details.cache_write_tokens",
        "The spec requires cache_write_tokens, but no recorded response (OpenAI 2025-2026, "
        "OpenRouter) sends it.",
    ),
    Waiver(
        "required",
        "$.item.action",
        "A web_search_call announced by output_item.added has not searched yet: the API sends "
        "it without the action the spec requires (the .done item has it).",
        subject="response.output_item.added",
    ),
    Waiver(
        "sse-done",
        "$",
        "OpenRouter (and other gateways) end a Responses stream with Chat Completions' "
        "'data: [DONE]'; clients skip it, as the pipeline does.",
    ),
)
"""Where real traffic departs from the spec, and why that is waived."""


@dataclass(frozen=True, slots=True)
class Report:
    """Every finding of one validation; ``waived`` counts findings the allowlist waived."""

    findings: tuple[Finding, ...] = ()
    waived: int = 0
    notes: tuple[str, ...] = ()
    waivers: tuple[tuple[Waiver, int], ...] = field(default=(), repr=False)
    """Each waiver that applied, with how many findings it waived."""

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> str:
        """The report as JSON for CI: sorted keys, one finding per object, a trailing newline."""
        document = {
            "findings": [finding.to_dict() for finding in self.findings],
            "notes": list(self.notes),
            "ok": self.ok,
            "waived": self.waived,
            "waivers": [{**waiver.to_dict(), "count": count} for waiver, count in self.waivers],
        }
        return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    def __str__(self) -> str:
        lines = [str(finding) for finding in self.findings]
        lines.extend(f"note: {note}" for note in self.notes)
        waived = f", {self.waived} waived by the allowlist" if self.waived else ""
        count = len(self.findings)
        lines.append(
            f"ok: no findings{waived}"
            if self.ok
            else f"{count} finding{'s' if count != 1 else ''}{waived}"
        )
        return "\n".join(lines)


# -- acting on a report ---------------------------------------------------------------------------


class ValidationMode(enum.StrEnum):
    """What a recorder or replayer does with findings."""

    OFF = "off"
    """Do not validate."""
    WARN = "warn"
    """Emit a :class:`ValidationWarning` listing the findings."""
    FAIL = "fail"
    """Raise :class:`ValidationError`."""


class ValidationWarning(UserWarning):
    """A recording or replay has validation findings (mode ``warn``)."""


class ValidationError(HarnessError):
    """A recording or replay has validation findings (mode ``fail``); ``report`` has them all."""

    def __init__(self, report: Report, *, what: str = "the recording") -> None:
        self.report = report
        shown = "\n  ".join(str(finding) for finding in report.findings[:10])
        more = len(report.findings) - 10
        count = len(report.findings)
        super().__init__(
            f"{what} does not validate ({count} finding{'s' if count != 1 else ''}):\n  {shown}"
            + (f"\n  ... and {more} more" if more > 0 else "")
            + "\nFix the client or the recording, or waive a known deviation with "
            "harness.Waiver(rule, path, reason) in the allowlist"
        )


def enforce(report: Report, mode: ValidationMode | str, *, what: str = "the recording") -> None:
    """Warn or raise (by ``mode``) when ``report`` has findings; nothing when it is ok."""
    mode = ValidationMode(mode)
    if report.ok or mode is ValidationMode.OFF:
        return
    if mode is ValidationMode.WARN:
        warnings.warn(f"{what} does not validate:\n{report}", ValidationWarning, stacklevel=2)
        return
    raise ValidationError(report, what=what)


# -- the entry point ------------------------------------------------------------------------------

Target = (
    str
    | os.PathLike[str]
    | Cassette
    | bytes
    | Mapping[str, Any]
    | Sequence[Mapping[str, Any] | ServerSentEvent | Any]
)


def validate(
    target: Target,
    *,
    allowlist: Iterable[Waiver] = DEFAULT_ALLOWLIST,
    secrets: Iterable[str] = (),
) -> Report:
    """Check ``target`` and report every problem.

    ``target`` is one of: a path (a cassette; an ``.sse`` fixture, raw or in the Codex form; a
    ``.json`` payload, tool, event list or vcrpy cassette; a folder, whose ``.yaml``, ``.yml``
    and ``.sse`` files are checked in name order); a :class:`~harness.Cassette`; the bytes of
    an SSE body; a dict (a request payload, a function tool definition if its ``type`` is
    ``function``, or one stream event if it has another ``type``); or a list of stream events
    (wire JSON dicts, :class:`~harness.ServerSentEvent` values or the typed events a stream
    yields). ``secrets`` are masked in the report besides ``$OPENAI_API_KEY`` and key-shaped
    tokens.
    """
    run = _Run(tuple(allowlist), secrets)
    if isinstance(target, str | os.PathLike):
        for path, kind, data in _read(Path(target)):
            run.file(path, kind, data)
    elif isinstance(target, Cassette):
        run.cassette(target, None if target.path is None else str(target.path))
    elif isinstance(target, bytes):
        run.body(target, None, None, failure_recorded=False)
    elif isinstance(target, Mapping):
        run.value(target, None)
    else:
        run.events(list(target), None, None, failure_recorded=False)
    return run.report()


# -- reading files: the only I/O ------------------------------------------------------------------


def _read(path: Path) -> Iterator[tuple[Path, str, bytes | Exception]]:
    """(path, kind, bytes or the error that prevented reading) for a file or a folder's files.

    ``kind`` is ``sse`` for a fixture (read with :func:`~harness.load_fixture`, which knows the
    Codex form), ``json`` or ``cassette``.
    """
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".sse")
        )
    else:
        files = [path]
    for file in files:
        kind = {".sse": "sse", ".json": "json"}.get(file.suffix, "cassette")
        try:
            data = load_fixture(file) if kind == "sse" else read_regular(file)
        except (OSError, FixtureError) as exc:
            yield file, kind, exc
            continue
        yield file, kind, data


# -- the checks -----------------------------------------------------------------------------------


@functools.cache
def _metaschema() -> Draft202012Validator:
    return Draft202012Validator(Draft202012Validator.META_SCHEMA)


@functools.lru_cache(maxsize=512)
def _schema_problems(canonical: str, strict: bool) -> tuple[Problem, ...]:
    """A tool's parameters (or a response format's schema): valid JSON Schema, and with
    ``strict`` the strict-mode rules. Cached by content: clients send the same tools each turn."""
    schema = json.loads(canonical)
    out = [
        p._replace(rule="json-schema", message="not a valid JSON Schema: " + p.message)
        for p in problems(_metaschema(), schema)
    ]
    if strict:
        out.extend(strict_problems(schema))
    return tuple(out)


def _tool_problems(tool: Mapping[str, Any], prefix: tuple[str | int, ...]) -> list[Problem]:
    parameters = tool.get("parameters")
    if tool.get("type") != "function" or not isinstance(parameters, dict):
        return []
    canonical = json.dumps(parameters, sort_keys=True)
    found = [
        *parameters_problems(parameters, str(tool.get("name", ""))),
        *_schema_problems(canonical, tool.get("strict") is True),
    ]
    return [p._replace(path=(*prefix, "parameters", *p.path)) for p in found]


def _payload_problems(payload: Mapping[str, Any]) -> list[Problem]:
    out = problems(validator("request.json"), payload)
    tools = payload.get("tools")
    if isinstance(tools, list):
        for i, tool in enumerate(tools):
            if isinstance(tool, Mapping):
                out.extend(_tool_problems(tool, ("tools", i)))
    text = payload.get("text")
    form = text.get("format") if isinstance(text, Mapping) else None
    if isinstance(form, Mapping) and form.get("type") == "json_schema":
        schema = form.get("schema")
        if isinstance(schema, dict):
            found = _schema_problems(json.dumps(schema, sort_keys=True), form.get("strict") is True)
            out.extend(p._replace(path=("text", "format", "schema", *p.path)) for p in found)
    return out


_RESPONSES_PATH = re.compile(r"/responses(/.*)?\Z")
_CREATE_PATH = re.compile(r"/responses/?\Z")


def _is_responses_call(interaction: Interaction) -> bool:
    """``.../responses`` or a sub-resource of it (``/responses/{id}``, ``/responses/compact``)."""
    return _RESPONSES_PATH.search(urlsplit(interaction.request.uri).path) is not None


def _is_create_call(interaction: Interaction) -> bool:
    """``POST .../responses``: the only call whose body is a create-response payload (the
    sub-resources, ``/responses/input_tokens``, ``/responses/compact``,
    ``/responses/{id}/cancel``..., take other bodies)."""
    request = interaction.request
    return request.method.upper() == "POST" and bool(
        _CREATE_PATH.search(urlsplit(request.uri).path)
    )


def _is_event_stream(interaction: Interaction) -> bool:
    response = interaction.response
    content_type = (response.header("content-type") or "") if response else ""
    return content_type.split(";")[0].strip().lower() == "text/event-stream"


def _yaml_safe(value: Any) -> Any:
    """The structure ``yaml.safe_load`` gave, with bytes (``!!binary``) as their base64 text."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: _yaml_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_yaml_safe(item) for item in value]
    return value


class _Run:
    """One validation: the findings so far, the waivers, and how secrets are masked."""

    def __init__(self, allowlist: tuple[Waiver, ...], secrets: Iterable[str]) -> None:
        self.allowlist = allowlist
        self.redactor = Redactor(secrets={*default_secrets(), *(s for s in secrets if s)})
        self.findings: list[Finding] = []
        self.waived: dict[int, int] = {}
        self.notes: list[str] = []

    def report(self) -> Report:
        waivers = tuple(
            (waiver, self.waived[i]) for i, waiver in enumerate(self.allowlist) if i in self.waived
        )
        return Report(tuple(self.findings), sum(self.waived.values()), tuple(self.notes), waivers)

    def _mask(self, text: str) -> str:
        text = self.redactor.text(text)
        raw = text.encode("utf-8", "surrogatepass")  # JSON may hold a lone surrogate
        return _KEY_SHAPED.sub(REDACTED.encode(), raw).decode("utf-8", "surrogatepass")

    def add(
        self,
        problem: Problem,
        subject: str,
        file: str | None,
        interaction: int | None = None,
        event: int | None = None,
    ) -> None:
        finding = Finding(
            path=format_path(problem.path),
            rule=problem.rule,
            expected=self._mask(problem.expected),
            found=self._mask(problem.found),
            message=self._mask(_truncate(problem.message, 300)),
            subject=subject,
            file=file,
            interaction=interaction,
            event=event,
        )
        for i, waiver in enumerate(self.allowlist):
            if waiver.matches(finding):
                self.waived[i] = self.waived.get(i, 0) + 1
                return
        self.findings.append(finding)

    def note(self, text: str, file: str | None, interaction: int | None = None) -> None:
        where = f"{file}: " if file else ""
        if interaction is not None:
            where = (
                f"{file}:interaction #{interaction}: " if file else f"interaction #{interaction}: "
            )
        self.notes.append(self._mask(where + text))

    # -- files ------------------------------------------------------------------------------

    def file(self, path: Path, kind: str, data: bytes | Exception) -> None:
        name = str(path)
        if isinstance(data, Exception):
            message = str(data)
            self.add(Problem((), "unreadable", "a readable file", "an error", message), "", name)
            return
        if kind == "sse":
            self.body(data, name, None, failure_recorded=False)
        elif kind == "json":
            try:
                value = json.loads(data, parse_constant=reject_constant)
            except ValueError as exc:
                self.add(Problem((), "json", "JSON", "not JSON", str(exc)), "", name)
                return
            if isinstance(value, Mapping) and "interactions" in value:
                self.cassette_bytes(data, name)
            elif isinstance(value, list):
                self.events(value, name, None, failure_recorded=False)
            else:
                self.value(value, name)
        else:
            self.cassette_bytes(data, name)

    def cassette_bytes(self, data: bytes, name: str) -> None:
        try:
            cassette = Cassette.loads(data, name)
        except CassetteError as exc:
            self.add(
                Problem(
                    (),
                    "cassette",
                    "a loadable cassette",
                    "an error",
                    exc.message if exc.line is None else f"line {exc.line}: {exc.message}",
                ),
                "cassette",
                name,
                exc.interaction_index,
            )
            return
        if data.startswith(b"# harness cassette"):
            import yaml  # only our own files need it; vcrpy's loader has read the others

            try:
                structure = yaml.safe_load(data)
            except yaml.YAMLError as exc:
                message = f"not YAML: {exc}"
                self.add(Problem((), "cassette", "YAML", "not YAML", message), "cassette", name)
                return
            header = structure.get("harness") if isinstance(structure, dict) else None
            if isinstance(header, dict) and header.get("format") == 1:
                # It loads, but the schema is format 2's: one finding, not one per chunk.
                upgrade = f"format 2 (to rewrite it: harness import {name} -o {name})"
                message = f"format 1 (arrival times in decimal ms) still loads; {upgrade}"
                problem = Problem(("harness", "format"), "format", upgrade, "1", message)
                self.add(problem, "cassette", name)
            else:
                for problem in problems(validator("cassette.json"), _yaml_safe(structure)):
                    self.add(problem, "cassette", name)
        self.cassette(cassette, name)

    # -- values -----------------------------------------------------------------------------

    def value(self, value: Any, file: str | None) -> None:
        if not isinstance(value, Mapping):
            message = "a payload, tool definition or event is a JSON object"
            self.add(Problem((), "type", "object", render(value), message), "", file)
            return
        kind = value.get("type")
        if kind == "function":
            for problem in problems(validator("function_tool.json"), value):
                self.add(problem, "tool", file)
            for problem in _tool_problems(value, ()):
                self.add(problem, "tool", file)
        elif isinstance(kind, str):
            self.event_schema(0, value, file, None)
        else:
            self.payload(value, file, None)

    def payload(self, payload: Any, file: str | None, interaction: int | None) -> None:
        if not isinstance(payload, Mapping):
            problem = Problem((), "type", "object", render(payload), "a payload is a JSON object")
            self.add(problem, "request", file, interaction)
            return
        for problem in _payload_problems(payload):
            self.add(problem, "request", file, interaction)

    def cassette(self, cassette: Cassette, file: str | None) -> None:
        for index, interaction in enumerate(cassette.interactions):
            request = interaction.request
            if not _is_responses_call(interaction):
                self.note(
                    f"{request.method} {request.uri} is not a Responses API call: not checked",
                    file,
                    index,
                )
                continue
            if request.body and not _is_create_call(interaction):
                self.note(
                    f"{request.method} {request.uri} is not a create-response request: "
                    "its body is not checked",
                    file,
                    index,
                )
            elif request.body and request.method.upper() == "POST":
                try:
                    payload = request.json()
                except ValueError as exc:
                    problem = Problem((), "json", "a JSON body", "not JSON", str(exc))
                    self.add(problem, "request", file, index)
                else:
                    self.payload(payload, file, index)
            response = interaction.response
            if response is not None and _is_event_stream(interaction):
                failed = interaction.outcome is not Outcome.COMPLETE
                self.body(response.body, file, index, failure_recorded=failed)

    # -- streams ----------------------------------------------------------------------------

    def body(
        self, body: bytes, file: str | None, interaction: int | None, *, failure_recorded: bool
    ) -> None:
        events = list(iter_sse_bytes([body]))
        self.events(events, file, interaction, failure_recorded=failure_recorded)

    def events(
        self,
        events: Sequence[Any],
        file: str | None,
        interaction: int | None,
        *,
        failure_recorded: bool,
    ) -> None:
        decoded: list[tuple[str | None, Any]] = []
        for event in events:
            if isinstance(event, ServerSentEvent):
                try:
                    decoded.append((event.event, json.loads(event.data)))
                except ValueError:
                    decoded.append((event.event, _NotJSON(event.data)))
            elif isinstance(event, Mapping):
                decoded.append((None, event))
            elif isinstance(event, Reconnecting):
                decoded.append((None, _RECONNECT))
            else:
                decoded.append((None, getattr(event, "data", event)))
        typed = [
            data
            for _, data in decoded
            if isinstance(data, Mapping) and ("type" in data or "object" in data)
        ]
        if typed and all(_is_chat_chunk(data) for data in typed):
            self.note(
                "a Chat Completions stream, not a Responses stream: not checked", file, interaction
            )
            return
        numbered = _numbered(decoded)
        checks = StreamChecks()
        for index, (name, data) in enumerate(decoded):
            if data is _RECONNECT:  # the client re-sent: a new attempt starts
                for at, problem in checks.end(failure_recorded=True):
                    self.add(problem, "stream", file, interaction, at)
                checks = StreamChecks()
                continue
            if isinstance(data, _NotJSON):
                done = data.text.strip() == "[DONE]"
                problem = Problem(
                    (),
                    "sse-done" if done else "json",
                    "a JSON event",
                    render(data.text),
                    "'[DONE]' is Chat Completions' end marker" if done else "data is not JSON",
                )
                self.add(problem, "", file, interaction, index)
                continue
            if not isinstance(data, Mapping):
                problem = Problem((), "type", "an object", render(data), "an event is an object")
                self.add(problem, "", file, interaction, index)
                continue
            if _is_chat_chunk(data):
                problem = Problem(
                    ("object",),
                    "chat-chunk",
                    "a Responses event",
                    render(data["object"]),
                    "a Chat Completions chunk in a Responses stream",
                )
                self.add(problem, "", file, interaction, index)
                continue
            self.event_schema(index, data, file, interaction, numbered=index in numbered)
            subject = str(data.get("type", ""))
            for problem in checks.event(index, name, data):
                self.add(problem, subject, file, interaction, index)
        for at, problem in checks.end(failure_recorded=failure_recorded):
            subject = "stream" if at is None else str(decoded[at][1].get("type", ""))
            self.add(problem, subject, file, interaction, at)

    def event_schema(
        self,
        index: int,
        data: Mapping[str, Any],
        file: str | None,
        interaction: int | None,
        *,
        numbered: bool = False,
    ) -> None:
        """The schema of the event's type. In a ``numbered`` stream (see :func:`_numbered`) a
        missing sequence number is the sequence-number rule's finding, not ``required``'s: the
        allowlist waives the latter for the streams that have none."""
        kind = data.get("type")
        if not isinstance(kind, str):
            found = MISSING if kind is None and "type" not in data else render(kind)
            problem = Problem(("type",), "type", "an event type (string)", found, "no event type")
            self.add(problem, "", file, interaction, index)
            return
        compiled = event_validator(kind)
        if compiled is None:
            return
        for problem in problems(compiled, data):
            if numbered and problem.rule == "required" and problem.path == ("sequence_number",):
                continue
            self.add(problem, kind, file, interaction, index)


def _is_chat_chunk(data: Any) -> bool:
    """A Chat Completions stream chunk (which has an ``object``, not a ``type``)."""
    return (
        isinstance(data, Mapping)
        and "type" not in data
        and data.get("object") == "chat.completion.chunk"
    )


def _numbered(decoded: Sequence[tuple[str | None, Any]]) -> set[int]:
    """The indices of the events in an attempt (the events between reconnects) in which some
    event has a sequence number."""
    out: set[int] = set()
    attempt: list[int] = []
    has_number = False
    for index, (_, data) in enumerate([*decoded, (None, _RECONNECT)]):
        if data is _RECONNECT:
            if has_number:
                out.update(attempt)
            attempt, has_number = [], False
        elif isinstance(data, Mapping):
            attempt.append(index)
            has_number = has_number or "sequence_number" in data
    return out


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class _NotJSON:
    text: str


_RECONNECT: Any = object()
