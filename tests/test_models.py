"""Items, prompts and the request payload, exactly as the seed serialises them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness import (
    SHELL_TOOL,
    ConfigurationError,
    CustomToolCall,
    FunctionCall,
    FunctionCallOutput,
    LocalShellCall,
    Message,
    ModelClient,
    Prompt,
    Reasoning,
    UnknownItem,
    WebSearchCall,
)
from harness._client import _BaseClient
from harness._models import item_from_dict

SEED_SHELL_TOOL = (
    '{"name":"shell","type":"function","description":"Runs a shell command, and returns its '
    'output.","strict":false,"parameters":{"type":"object","properties":{"command":{"type":'
    '"array","items":{"type":"string"}},"timeout":{"type":"number"},"workdir":{"type":"string"}},'
    '"required":["command"],"additionalProperties":false}}'
)


def body(client: _BaseClient, prompt: Prompt) -> str:
    return client._request_parts(prompt)[1].decode()


def test_payload_bytes_match_the_seed_serialisation() -> None:
    """Field order, compact separators and the shell tool match serde's output of the seed."""
    client = _BaseClient("o4-mini", api_key="k", base_url="http://127.0.0.1:1/v1")
    prompt = Prompt.text("héllo", instructions="Be brief.")
    expected = (
        '{"model":"o4-mini","instructions":"Be brief.","input":[{"type":"message","role":"user",'
        '"content":[{"type":"input_text","text":"héllo"}]}],"tools":[' + SEED_SHELL_TOOL + "],"
        '"tool_choice":"auto","parallel_tool_calls":false,"reasoning":{"effort":"high"},'
        '"stream":true}'
    )
    assert expected == body(client, prompt)


def test_optional_fields_are_omitted_or_present_as_the_seed_does() -> None:
    """instructions and previous_response_id are omitted when None; reasoning is configurable."""
    client = _BaseClient("m", api_key="k", reasoning_effort="low")
    payload = client.payload(Prompt(input=(), previous_response_id="resp_1"))
    assert [
        "model",
        "input",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning",
        "previous_response_id",
        "stream",
    ] == list(payload)
    assert {"effort": "low"} == payload["reasoning"]
    assert (
        None is _BaseClient("m", api_key="k", reasoning_effort=None).payload(Prompt())["reasoning"]
    )


def test_serialisation_is_deterministic() -> None:
    """The same prompt gives the same bytes every time, from fresh clients too."""
    prompt = Prompt(input=({"type": "message", "role": "user", "content": "x", "b": 1, "a": 2},))
    first = body(_BaseClient("m", api_key="k"), prompt)
    assert first == body(_BaseClient("m", api_key="k"), prompt)
    assert '"content":"x","b":1,"a":2' in first  # user-given JSON keeps its own key order


def test_input_may_mix_typed_items_and_plain_dicts() -> None:
    """Typed items and plain JSON objects serialise side by side, typed ones via to_dict()."""
    call = FunctionCall(name="shell", arguments='{"command":["ls"]}', call_id="c1", id="fc_1")
    prompt = Prompt(input=(call, {"type": "function_call_output", "call_id": "c1", "output": "ok"}))
    payload = json.loads(body(_BaseClient("m", api_key="k"), prompt))
    assert [
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "c1",
            "name": "shell",
            "arguments": '{"command":["ls"]}',
        },
        {"type": "function_call_output", "call_id": "c1", "output": "ok"},
    ] == payload["input"]


def test_the_shell_tool_is_the_seeds() -> None:
    """SHELL_TOOL serialises byte for byte as the seed's TOOLS entry."""
    assert SEED_SHELL_TOOL == json.dumps(SHELL_TOOL, separators=(",", ":"))


WIRE_ITEMS: list[tuple[dict[str, Any], type]] = [
    (
        {
            "type": "message",
            "id": "m1",
            "role": "assistant",
            "status": "completed",
            "phase": "final",
            "content": [{"type": "output_text", "text": "Hi", "annotations": [], "logprobs": []}],
        },
        Message,
    ),
    (
        {
            "type": "function_call",
            "id": "fc",
            "call_id": "c",
            "name": "f",
            "arguments": "{}",
            "status": "completed",
        },
        FunctionCall,
    ),
    ({"type": "function_call_output", "call_id": "c", "output": "done"}, FunctionCallOutput),
    (
        {
            "type": "local_shell_call",
            "id": "ls",
            "call_id": "c",
            "status": "completed",
            "action": {"type": "exec", "command": ["ls"], "env": {}},
        },
        LocalShellCall,
    ),
    (
        {
            "type": "reasoning",
            "id": "rs",
            "summary": [{"type": "summary_text", "text": "s"}],
            "encrypted_content": "gAAA",
        },
        Reasoning,
    ),
    (
        {
            "type": "custom_tool_call",
            "id": "ct",
            "call_id": "c",
            "name": "apply_patch",
            "input": "*** Begin Patch",
        },
        CustomToolCall,
    ),
    (
        {
            "type": "web_search_call",
            "id": "ws",
            "status": "completed",
            "action": {"type": "search", "query": "q"},
        },
        WebSearchCall,
    ),
    ({"type": "computer_call", "id": "cc", "action": {}}, UnknownItem),
]


@pytest.mark.parametrize(("wire", "kind"), WIRE_ITEMS)
def test_items_parse_to_their_kind_and_round_trip_key_for_key(
    wire: dict[str, Any], kind: type
) -> None:
    """Every item kind parses to its class, and to_dict() gives back every field received."""
    item = item_from_dict(wire)
    assert kind is type(item)
    assert wire == item.to_dict()


def test_message_text_joins_text_parts() -> None:
    """Message.text is the concatenation of its text parts."""
    message = item_from_dict(
        {
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "Hello, "},
                {"type": "refusal", "refusal": "no"},
                {"type": "output_text", "text": "world"},
            ],
        }
    )
    assert isinstance(message, Message)
    assert "Hello, world" == message.text


@pytest.mark.parametrize("key", ["", None])
def test_a_missing_api_key_is_a_clear_error_before_any_io(
    key: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No key: stream() raises ConfigurationError at once (the base URL does not even resolve)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    client = ModelClient("m", api_key=key, base_url="http://nowhere.invalid/v1")
    with pytest.raises(ConfigurationError, match="no API key"):
        client.stream(Prompt.text("hi"))


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key, base URL (SDK's OPENAI_BASE_URL, else the seed's OPENAI_API_BASE), retries, timeout."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("OPENAI_REQUEST_MAX_RETRIES", "2")
    monkeypatch.setenv("OPENAI_STREAM_MAX_RETRIES", "3")
    monkeypatch.setenv("OPENAI_STREAM_IDLE_TIMEOUT_MS", "1500")
    client = _BaseClient("m")
    assert ("http://127.0.0.1:9/v1/responses", 2, 3, 1.5) == (
        client.url,
        client.max_retries,
        client.stream_max_retries,
        client.idle_timeout,
    )
    assert "Bearer sk-env" == client._request_parts(Prompt())[0]["Authorization"]
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8/v1/")
    assert "http://127.0.0.1:8/v1/responses" == _BaseClient("m").url


def test_a_malformed_environment_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-integer retry count names the variable and the value."""
    monkeypatch.setenv("OPENAI_REQUEST_MAX_RETRIES", "four")
    with pytest.raises(ConfigurationError, match="OPENAI_REQUEST_MAX_RETRIES='four'"):
        _BaseClient("m")
