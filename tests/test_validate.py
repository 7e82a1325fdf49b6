"""The validator's entry point: payloads, events, cassettes, the corpus, reports and modes."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from harness import (
    SHELL_TOOL,
    Cassette,
    Chunk,
    EventPipeline,
    FunctionCall,
    FunctionCallOutput,
    Interaction,
    Message,
    ModelClient,
    Outcome,
    Prompt,
    RecordedRequest,
    RecordedResponse,
    Redactor,
    TransportFailure,
    events_from_body,
    load_fixture,
)
from harness._sse import iter_sse_bytes
from harness._validate import (
    DEFAULT_ALLOWLIST,
    Finding,
    Report,
    ValidationError,
    ValidationMode,
    ValidationWarning,
    Waiver,
    enforce,
    validate,
)
from harness._validate_schema import schema
from tests.conftest import CORPUS, PROMPT

CORPUS_FILES = sorted(
    [*(CORPUS / "sse").glob("*.sse"), *(CORPUS / "cassettes").glob("*.yaml")],
    key=lambda p: p.name,
)
CODEX_FIXTURE = "codex__CODEX_RS_SSE_FIXTURE_format_cli_responses_fixture.sse"
HTTP_400 = "pydanticai__responses_stream_request_http_400.yaml"

CORPUS_WAIVERS = (
    Waiver(
        "required",
        "$.response.*",
        "Codex's test fixtures keep only the fields of the response object Codex reads (the id, "
        "the error); the real server sends the whole object.",
        file="codex__*",
    ),
    Waiver(
        "required",
        "$.output_index",
        "Codex's CLI fixture is written by hand, with only what Codex reads.",
        file=CODEX_FIXTURE,
    ),
    Waiver(
        "required",
        "$.item.*",
        "Codex's CLI fixture is written by hand, with only what Codex reads.",
        file=CODEX_FIXTURE,
    ),
    Waiver(
        "minimum",
        "$.temperature",
        "This recording is of the API refusing this very request (400 decimal_below_min_value, "
        "param temperature): the request is wrong on purpose.",
        file=HTTP_400,
    ),
)
"""The corpus's own deviations: hand-made fixtures and a deliberately invalid request."""

ALLOWLIST = (*DEFAULT_ALLOWLIST, *CORPUS_WAIVERS)


def paths(report: Report) -> list[tuple[str, str]]:
    return [(finding.path, finding.rule) for finding in report.findings]


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(
        f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events
    )


def corpus_events(name: str) -> list[dict[str, Any]]:
    return events_from_body(load_fixture(CORPUS / "sse" / name))


# -- the corpus -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_corpus_file_has_no_findings_with_the_allowlist(path: Path) -> None:
    """Every real transcript and cassette validates clean once the allowlist waives deviations."""
    report = validate(path, allowlist=ALLOWLIST)
    assert [] == [str(finding) for finding in report.findings]


def test_every_allowlist_entry_is_needed_by_the_corpus() -> None:
    """Each waiver of the default allowlist and of the corpus waives something, and is counted."""
    report = validate(CORPUS, allowlist=ALLOWLIST)
    assert report.ok
    applied = {waiver for waiver, _ in report.waivers}
    assert set(ALLOWLIST) == applied
    assert sum(count for _, count in report.waivers) == report.waived
    assert 0 < report.waived


def test_chat_completions_traffic_is_noted_not_checked() -> None:
    """Chat Completions streams and calls are skipped with a note, not reported as findings."""
    report = validate(CORPUS, allowlist=ALLOWLIST)
    skipped = [note for note in report.notes if "Chat Completions" in note or "chat/" in note]
    assert 3 == len(skipped)
    assert any("pydanticai__chat_completions_tool_call_deltas.sse" in note for note in skipped)


def test_the_refused_request_is_found_at_the_parameter_the_api_named() -> None:
    """Without its waiver, the request the API refused is found at the path of the 400's param."""
    cassette = Cassette.load(CORPUS / "cassettes" / HTTP_400)
    assert cassette.interactions[0].response is not None
    param = json.loads(cassette.interactions[0].response.body)["error"]["param"]
    report = validate(cassette)
    assert [(f"$.{param}", "minimum")] == paths(report)
    assert (0, None, "request") == (
        report.findings[0].interaction,
        report.findings[0].event,
        report.findings[0].subject,
    )


def test_the_codex_fixture_form_is_read_as_codex_reads_it() -> None:
    """The Codex one-field-per-line fixture gives its three events, not one broken event."""
    report = validate(CORPUS / "sse" / CODEX_FIXTURE, allowlist=())
    assert {0, 1, 2} == {finding.event for finding in report.findings}
    assert "type" not in {finding.rule for finding in report.findings}


# -- payloads -------------------------------------------------------------------------------------


def test_the_client_payload_validates_clean() -> None:
    """What ModelClient sends, for a simple prompt and a tool round trip, has no findings."""
    client = ModelClient("o4-mini", api_key="sk-test", reasoning_effort="high")
    turn = Prompt(
        input=(
            Message.user("List the files."),
            FunctionCall(name="shell", arguments='{"command": ["ls"]}', call_id="call_1"),
            FunctionCallOutput(call_id="call_1", output="README.md"),
        ),
        previous_response_id="resp_1",
        instructions="You are a test.",
    )
    for prompt in (PROMPT, turn, Prompt()):
        assert [] == [str(f) for f in validate(client.payload(prompt)).findings]
    assert validate(dict(SHELL_TOOL)).ok


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"stream": "yes"}, ("$.stream", "type", "boolean or null", '"yes"')),
        ({"temperature": 3}, ("$.temperature", "maximum", "<= 2", "3")),
        ({"tool_choice": "always"}, ("$.tool_choice", "enum", None, '"always"')),
        ({"reasoning": {"effort": "extreme"}}, ("$.reasoning.effort", "enum", None, '"extreme"')),
        ({"input": [{"role": "robot", "content": "hi"}]}, ("$.input[0].role", "enum", None, None)),
        (
            {"input": [{"type": "function_call_output"}]},
            ("$.input[0].output", "required", None, None),
        ),
        ({"max_output_tokens": 8}, ("$.max_output_tokens", "minimum", ">= 16", "8")),
        ({"include": ["reasoning.encrypted"]}, ("$.include[0]", "enum", None, None)),
        ({"metadata": {"k": 1}}, ("$.metadata.k", "type", "string", "1")),
        (
            {"text": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
            ("$.text.format.name", "required", None, None),
        ),
        ({"tools": [{"type": "web_searchh"}]}, ("$.tools[0].type", "enum", None, None)),
        (
            {"tools": [{"type": "mcp", "server_url": "https://mcp.example"}]},
            ("$.tools[0].server_label", "required", None, None),
        ),
        (
            {"tools": [{"type": "file_search"}]},
            ("$.tools[0].vector_store_ids", "required", None, None),
        ),
        (
            {"tools": [{"type": "code_interpreter"}]},
            ("$.tools[0].container", "required", None, None),
        ),
        (
            {
                "tools": [
                    {
                        "type": "custom",
                        "name": "sql",
                        "format": {"type": "grammar", "syntax": "lark"},
                    }
                ]
            },
            ("$.tools[0].format.definition", "required", None, None),
        ),
        ({"tool_choice": {"type": "nonsense"}}, ("$.tool_choice.type", "enum", None, '"nonsense"')),
        (
            {"input": [{"type": "function_cal", "call_id": "c", "name": "n", "arguments": "{}"}]},
            ("$.input[0].type", "enum", None, '"function_cal"'),
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "detail": "ultra"}]}]},
            ("$.input[0].content[0].detail", "enum", None, '"ultra"'),
        ),
        (
            {
                "input": [
                    {
                        "type": "function_call_output",
                        "call_id": "c",
                        "output": "x",
                        "status": "done",
                    }
                ]
            },
            ("$.input[0].status", "enum", None, '"done"'),
        ),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_a_planted_payload_error_is_found_at_its_path(
    change: dict[str, Any], expected: tuple[str, str, str | None, str | None]
) -> None:
    """Each bad field of an otherwise clean payload is one finding at that field's path."""
    payload = {**ModelClient("o4-mini", api_key="sk-test").payload(PROMPT), **change}
    (finding,) = validate(payload).findings
    path, rule, wanted, found = expected
    assert (path, rule) == (finding.path, finding.rule)
    assert wanted in (None, finding.expected)
    assert found in (None, finding.found)
    assert "request" == finding.subject


HOSTED_TOOLS = [
    {"type": "web_search", "filters": {"allowed_domains": ["example.com"]}},
    {"type": "web_search_preview", "search_context_size": "medium"},
    {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 5},
    {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file_1"]}},
    {"type": "code_interpreter", "container": "cntr_123"},
    {"type": "image_generation", "quality": "high", "partial_images": 2},
    {"type": "mcp", "server_label": "deepwiki", "server_url": "https://mcp.deepwiki.com/mcp"},
    {
        "type": "custom",
        "name": "sql",
        "format": {"type": "grammar", "syntax": "lark", "definition": "start: A"},
    },
    {"type": "custom", "name": "free", "format": {"type": "text"}},
    {
        "type": "computer_use_preview",
        "display_width": 1024,
        "display_height": 768,
        "environment": "browser",
    },
    {"type": "local_shell"},
    {"type": "shell"},
    {"type": "apply_patch"},
]
"""Tool definitions the openai SDK sends (captured from it), one of each kind."""


def test_hosted_tools_tool_choices_and_input_items_the_sdk_sends_validate_clean() -> None:
    """Every tool kind, a tool_choice naming each, and each input item kind pass the schema."""
    base = ModelClient("o4-mini", api_key="sk-test").payload(PROMPT)
    for tool in HOSTED_TOOLS:
        choice = (
            {"type": tool["type"], "name": tool["name"]}
            if tool["type"] == "custom"
            else {"type": "mcp", "server_label": "deepwiki"}
            if tool["type"] == "mcp"
            else {"type": tool["type"]}
        )
        payload = {**base, "tools": [tool], "tool_choice": choice}
        assert [] == [str(f) for f in validate(payload).findings]
    items = [
        {
            "role": "user",
            "content": [
                {"type": "input_image", "image_url": "https://x/y.png", "detail": "original"}
            ],
        },
        {
            "type": "function_call_output",
            "call_id": "call_1",
            "output": "42",
            "status": "completed",
        },
        {
            "type": "computer_call_output",
            "call_id": "call_4",
            "output": {"type": "computer_screenshot"},
        },
        {"type": "mcp_approval_response", "approval_request_id": "mr_1", "approve": True},
        {"type": "local_shell_call_output", "id": "lsh_1", "output": "a"},
        {"type": "item_reference", "id": "msg_0"},
    ]
    assert [] == [str(f) for f in validate({**base, "input": items}).findings]


def test_an_unknown_top_level_key_is_a_probable_typo() -> None:
    """A misspelled key is reported at its path, naming the key it probably meant."""
    payload = ModelClient("o4-mini", api_key="sk-test").payload(PROMPT)
    payload["instructons"] = payload.pop("instructions")
    (finding,) = validate(payload).findings
    assert ("$.instructons", "additionalProperties") == (finding.path, finding.rule)
    assert "a known key (probable typo of 'instructions')" == finding.expected
    assert 'unknown key "instructons"' == finding.found


def test_a_chat_completions_tool_in_a_responses_payload_is_found() -> None:
    """The Chat Completions tool shape ({"function": {...}}) is refused where its fields belong."""
    tool = {"type": "function", "function": {"name": "f", "parameters": {}}}
    report = validate({"model": "gpt-4o", "input": "hi", "tools": [tool]})
    assert {
        ("$.tools[0].function", "additionalProperties"),
        ("$.tools[0].name", "required"),
        ("$.tools[0].parameters", "required"),
        ("$.tools[0].strict", "required"),
    } == set(paths(report))


def test_every_request_body_of_a_cassette_is_validated() -> None:
    """A cassette's request bodies are checked, each finding naming its interaction."""
    good = ModelClient("o4-mini", api_key="sk-test").payload(PROMPT)
    bad = {**good, "stream": "yes"}
    interactions = tuple(
        Interaction(
            RecordedRequest("POST", "http://127.0.0.1/v1/responses", (), json.dumps(body).encode()),
            None,
            outcome=Outcome.FAILED,
            error=TransportFailure("ConnectError", "refused"),
        )
        for body in (good, bad)
    )
    report = validate(Cassette(interactions))
    assert [(1, "$.stream")] == [(f.interaction, f.path) for f in report.findings]


def test_only_a_post_to_responses_itself_is_checked_as_a_create_request() -> None:
    """Bodies sent to /responses sub-resources (input_tokens, compact...) are noted, not
    checked against the create-response schema; POST /responses is, with a slash or a query."""
    body = json.dumps({"model": "gpt-5", "input": "hi", "personality": "friendly"}).encode()
    uris = (
        "http://127.0.0.1/v1/responses/input_tokens",
        "http://127.0.0.1/v1/responses/compact",
        "http://127.0.0.1/v1/responses/resp_1/cancel",
        "http://127.0.0.1/v1/responses",
        "http://127.0.0.1/v1/responses/?api-version=1",
    )
    response = RecordedResponse(200, "OK", (("content-type", "application/json"),), b"{}")
    cassette = Cassette(
        tuple(Interaction(RecordedRequest("POST", uri, (), body), response) for uri in uris)
    )
    report = validate(cassette)
    assert [(3, "$.personality"), (4, "$.personality")] == [
        (f.interaction, f.path) for f in report.findings
    ]
    assert [
        f"interaction #{i}: POST {uri} is not a create-response request: its body is not checked"
        for i, uri in enumerate(uris[:3])
    ] == list(report.notes)


# -- events, items and the response object --------------------------------------------------------


def _one_of_each_type() -> dict[str, dict[str, Any]]:
    """For each event type in the corpus, its event with the fewest deviations from the spec."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((CORPUS / "sse").glob("*__responses_*.sse")):
        for event in corpus_events(path.name):
            kind = event["type"]
            if kind not in schema("events.json")["$defs"]:
                continue
            best = found.get(kind)
            if best is None or len(validate(event, allowlist=()).findings) < len(
                validate(best, allowlist=()).findings
            ):
                found[kind] = event
    return found


EXAMPLE_EVENTS = _one_of_each_type()


@pytest.mark.parametrize("kind", sorted(EXAMPLE_EVENTS))
def test_a_planted_error_in_each_event_type_is_found_at_its_path(kind: str) -> None:
    """Dropping each required field, or giving it the wrong type, is found at that field."""
    event = EXAMPLE_EVENTS[kind]
    assert validate(event).ok
    before = set(paths(validate(event, allowlist=())))  # what the allowlist waives
    required = [name for name in schema("events.json")["$defs"][kind]["required"] if name in event]
    assert 2 <= len(required)
    for name in (name for name in required if name != "type"):
        dropped = {key: value for key, value in event.items() if key != name}
        assert {(f"$.{name}", "required")} == set(paths(validate(dropped, allowlist=()))) - before
        wrong = {**event, name: []}
        assert [(f"$.{name}", "type")] == [
            found for found in paths(validate(wrong, allowlist=())) if found not in before
        ]


ITEM_EVENTS = {
    event["item"]["type"]: event
    for path in sorted((CORPUS / "sse").glob("pydanticai__responses_*.sse"))
    for event in corpus_events(path.name)
    if event["type"] == "response.output_item.done"
}


@pytest.mark.parametrize("kind", sorted(ITEM_EVENTS))
def test_a_planted_error_in_each_output_item_kind_is_found_at_its_path(kind: str) -> None:
    """Each required field of an output item, dropped, is found under $.item."""
    event = ITEM_EVENTS[kind]
    assert validate(event).ok
    for name in schema("items.json")["$defs"][kind]["required"]:
        if name == "type":
            continue
        item = {key: value for key, value in event["item"].items() if key != name}
        assert [(f"$.item.{name}", "required")] == paths(validate({**event, "item": item}))


def test_a_planted_error_in_the_response_object_is_found_at_its_path() -> None:
    """A wrong id type and a wrong output item in response.completed are found where they are."""
    event = EXAMPLE_EVENTS["response.completed"]
    response = dict(event["response"])
    response["id"] = 42
    response["output"] = [*response["output"], {"type": "function_call", "name": "f"}]
    at = len(response["output"]) - 1
    report = validate({**event, "response": response})
    assert {
        ("$.response.id", "type"),
        (f"$.response.output[{at}].call_id", "required"),
        (f"$.response.output[{at}].arguments", "required"),
    } == set(paths(report))


def test_an_event_without_a_type_is_a_finding() -> None:
    """JSON without a string type is reported at $.type, with its event index."""
    report = validate([{"sequence_number": 0}], allowlist=())
    assert [("$.type", "type", 0)] == [(f.path, f.rule, f.event) for f in report.findings[:1]]


def test_events_are_accepted_as_sse_values_bytes_and_typed_events() -> None:
    """Server-sent events, a raw body and the pipeline's typed events validate alike."""
    body = load_fixture(CORPUS / "sse" / "openllmetry__responses_text_obfuscation.sse")
    pipeline = EventPipeline()
    typed = [pipeline.process(event) for event in iter_sse_bytes([body])]
    for target in (list(iter_sse_bytes([body])), body, [e for e in typed if e is not None]):
        report = validate(target)
        assert ([], 1) == ([str(f) for f in report.findings], report.waived)


# -- cassettes ------------------------------------------------------------------------------------


def saved_cassette(tmp_path: Path) -> Path:
    body = load_fixture(CORPUS / "sse" / "pydanticai__responses_text_deltas_after_tool.sse")
    payload = ModelClient("o4-mini", api_key="sk-test").payload(PROMPT)
    request = RecordedRequest(
        "POST",
        "http://127.0.0.1:9/v1/responses",
        (("content-type", "application/json"), ("authorization", "Bearer sk-test-secret-1234")),
        json.dumps(payload).encode(),
    )
    response = RecordedResponse(200, "OK", (("content-type", "text/event-stream"),), body)
    streamed = Interaction(request, response, (Chunk(5.0, 100), Chunk(7.5, len(body) - 100)))
    broken = Interaction(
        request,
        RecordedResponse(200, "OK", (("content-type", "text/event-stream"),), body[:900]),
        (Chunk(3.0, 900),),
        Outcome.FAILED,
        2.0,
        TransportFailure("RemoteProtocolError", "peer closed connection"),
        9.0,
    )
    refused = Interaction(
        request, None, outcome=Outcome.FAILED, error=TransportFailure("ConnectError", "refused")
    )
    binary = Interaction(
        request, RecordedResponse(500, "Oops", (), b"\xff\xfe"), (Chunk(1.0, 2),), head_ms=1.0
    )
    cassette = Cassette((refused, streamed, broken, binary))
    return cassette.save(tmp_path / "session.yaml", redactor=Redactor(secrets=set()))


def test_a_cassette_written_by_save_validates(tmp_path: Path) -> None:
    """Our own file (a refusal, a stream, a broken stream, a binary body) validates clean."""
    report = validate(saved_cassette(tmp_path))
    assert [] == [str(f) for f in report.findings]
    assert 1 <= report.waived  # the recorded stream has no sequence numbers


def test_a_planted_error_in_the_cassette_format_is_found_at_its_path(tmp_path: Path) -> None:
    """A status code written as a string is found in the file's structure, by JSON path."""
    path = saved_cassette(tmp_path)
    text = path.read_text().replace(
        '{"code": 200, "message": "OK"}', '{"code": "200", "message": "OK"}', 1
    )
    path.write_text(text)
    Cassette.rehash(path)
    report = validate(path)
    assert [("$.interactions[0].response.status.code", "type", "cassette")] == [
        (f.path, f.rule, f.subject) for f in report.findings
    ]
    assert str(path) == report.findings[0].file


def test_a_damaged_cassette_is_one_finding_not_a_crash(tmp_path: Path) -> None:
    """A truncated cassette and a missing file are reported with their names; the rest goes on."""
    path = saved_cassette(tmp_path)
    path.write_bytes(path.read_bytes()[:-20])
    (tmp_path / "fixture.sse").write_bytes(sse({"type": "response.created", "sequence_number": 0}))
    report = validate(tmp_path, allowlist=())
    rules = {(Path(f.file or "").name, f.rule) for f in report.findings}
    assert ("session.yaml", "cassette") in rules
    assert ("fixture.sse", "required") in rules  # the folder's other file was still checked
    (missing,) = validate(tmp_path / "nope.yaml").findings
    assert "unreadable" == missing.rule


def test_a_failed_recording_needs_no_terminal_event() -> None:
    """A stream whose recording ended in a transport failure is not blamed for ending early."""
    body = sse({"type": "response.created", "sequence_number": 0, "response": {"id": "r"}})
    request = RecordedRequest("POST", "http://h/v1/responses", (), b"")
    response = RecordedResponse(200, "OK", (("content-type", "text/event-stream"),), body)
    failed = Interaction(request, response, (Chunk(1.0, len(body)),), Outcome.FAILED)
    complete = Interaction(request, response, (Chunk(1.0, len(body)),), Outcome.COMPLETE)
    ignore_response = (Waiver("required", "$.response.*", "not the point here"),)
    assert validate(Cassette((failed,)), allowlist=ignore_response).ok
    report = validate(Cassette((complete,)), allowlist=ignore_response)
    assert [("$", "terminal-event", None, "stream")] == [
        (f.path, f.rule, f.event, f.subject) for f in report.findings
    ]


# -- reports --------------------------------------------------------------------------------------


def test_a_finding_reads_as_one_line_with_its_place() -> None:
    """A finding prints as file:interaction #i event #j (type) $.path, expected, found, rule."""
    finding = Finding(
        file="c.yaml",
        interaction=1,
        event=3,
        subject="response.output_text.delta",
        path="$.delta",
        rule="type",
        expected="string",
        found="5",
        message="5 is not of type 'string'",
    )
    assert (
        "c.yaml:interaction #1 event #3 (response.output_text.delta) $.delta: "
        "expected string, found 5 [type]"
    ) == str(finding)


def test_the_report_lists_every_finding_and_ends_with_a_count() -> None:
    """Every problem is reported, not only the first, then a summary line."""
    payload = {"model": 5, "stream": "yes", "temperature": -1}
    report = validate(payload)
    lines = str(report).splitlines()
    assert 4 == len(lines)
    assert "3 findings" == lines[-1]
    assert not report.ok


def test_the_json_report_carries_findings_waivers_and_notes() -> None:
    """to_json is machine-readable: ok, each finding's fields, what was waived and why."""
    report = validate(CORPUS / "sse" / CODEX_FIXTURE, allowlist=ALLOWLIST)
    document = json.loads(report.to_json())
    assert document["ok"] is True
    assert report.waived == document["waived"] == sum(w["count"] for w in document["waivers"])
    assert {"count", "file", "path", "reason", "rule", "subject"} == set(document["waivers"][0])
    bad = json.loads(validate({"stream": "yes"}).to_json())
    assert {
        "event": None,
        "expected": "boolean or null",
        "file": None,
        "found": '"yes"',
        "interaction": None,
        "message": "'yes' is not of type 'boolean', 'null'",
        "path": "$.stream",
        "rule": "type",
        "subject": "request",
    } == bad["findings"][0]


def test_secrets_in_found_values_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key-shaped tokens, $OPENAI_API_KEY and given secrets never appear in a report."""
    monkeypatch.setenv("OPENAI_API_KEY", "env-secret-value-42")
    key = "sk-proj-abcdefghijklmnopqrstuvwx"
    payload = {"stream": key, "store": "env-secret-value-42", "background": "my-own-secret-1"}
    report = validate(payload, secrets=["my-own-secret-1"])
    text = str(report) + report.to_json()
    assert 3 == len(report.findings)
    for secret in (key, "env-secret-value-42", "my-own-secret-1"):
        assert secret not in text
    assert "<redacted>" in text


def test_a_waiver_matches_paths_with_brackets_literally() -> None:
    """In a waiver, * matches anything and brackets are literal, so paths read as written."""
    waiver = Waiver("enum", "$.input[*].role", "reason")
    fields = {"rule": "enum", "expected": "", "found": "", "message": "", "subject": "request"}
    finding = Finding(path="$.input[12].role", **fields)
    assert waiver.matches(finding)
    assert not waiver.matches(Finding(path="$.input1.role", **fields))
    assert not Waiver("enum", "$.input[*].role", "r", file="*.sse").matches(finding)


# -- what recorders and replayers do with a report -----------------------------------------------


def test_enforce_warns_raises_or_stays_silent_by_mode() -> None:
    """warn emits a ValidationWarning, fail raises ValidationError with the report, off and ok
    pass."""
    bad = validate({"stream": "yes"})
    with pytest.warns(ValidationWarning, match=r"\$\.stream"):
        enforce(bad, "warn")
    with pytest.raises(ValidationError) as caught:
        enforce(bad, ValidationMode.FAIL, what="tests/cassettes/chat.yaml")
    assert bad is caught.value.report
    assert str(caught.value).startswith("tests/cassettes/chat.yaml does not validate (1 finding)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enforce(bad, "off")
        enforce(validate({"stream": True}), "fail")
    with pytest.raises(ValueError, match="'loud'"):
        enforce(bad, "loud")


def test_nan_in_a_payload_is_not_json(tmp_path: Path) -> None:
    """Python's json reads NaN and Infinity; JSON (and the API) does not: a finding, in a
    payload file and in a recorded request."""
    path = tmp_path / "payload.json"
    path.write_text('{"model": "gpt-5", "input": "hi", "temperature": NaN}')
    assert ["json"] == [finding.rule for finding in validate(path).findings]
    request = RecordedRequest("POST", "https://h/v1/responses", (), b'{"temperature": Infinity}')
    with pytest.raises(ValueError, match="Infinity"):
        request.json()
