"""Our schemas accept what the official OpenAPI spec declares valid, for every shape they cover.

The spec (../shared/openai-openapi/openapi.json, MIT) is test data. For each covered shape (the
request, a function tool, the response object, each output item kind, each event type we have
a schema for) two sources of instances:

- the spec's own examples (the events' ``x-oaiMeta.example``, the request bodies and responses of
  ``POST /responses``, the events of its streaming example);
- instances built from the spec's schemas: the minimal one (required properties only) of every
  alternative, and, a few levels down, the minimal instance with each property in turn set to
  each of its own alternatives. The spec's validator checks each one first; only those it
  accepts are "declared valid" (a few are not: the first branch of a ``oneOf`` sometimes also
  matches another).

Some of the spec's examples break its own required lists (no ``sequence_number``, no
``parallel_tool_calls``); for those the test asks only that we never reject an example the
spec's schema accepts.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from harness._jsonpath import format_path
from harness._sse import iter_sse_bytes
from harness._validate_schema import event_validator, problems, schema, validator
from tests.conftest import CORPUS

SPEC_PATH = CORPUS.parent / "openai-openapi" / "openapi.json"
SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text())
COMPONENTS: dict[str, Any] = SPEC["components"]["schemas"]
SPEC_URI = "https://spec.invalid/openapi.json"
REGISTRY: Registry[Any] = Registry().with_resource(
    SPEC_URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)

ITEMS = {
    "message": "OutputMessage",
    "function_call": "FunctionToolCall",
    "function_call_output": "FunctionToolCallOutputResource",
    "reasoning": "ReasoningItem",
    "web_search_call": "WebSearchToolCall",
    "local_shell_call": "LocalShellToolCall",
    "custom_tool_call": "CustomToolCall",
}
EVENT_MEMBERS = [
    ref["$ref"].rsplit("/", 1)[1] for ref in COMPONENTS["ResponseStreamEvent"]["anyOf"]
]
EVENTS = {COMPONENTS[name]["properties"]["type"]["enum"][0]: name for name in EVENT_MEMBERS}
OUR_EVENT_TYPES = list(schema("events.json")["$defs"])

# shape -> (spec component, our compiled validator, how many levels of variants to build)
SHAPES: dict[str, tuple[str, Draft202012Validator, int]] = {
    "request": ("CreateResponse", validator("request.json"), 3),
    "function_tool": ("FunctionTool", validator("function_tool.json"), 3),
    "response": ("Response", validator("response.json"), 2),
    **{f"item:{kind}": (name, validator("items.json"), 3) for kind, name in ITEMS.items()},
    **{
        f"event:{kind}": (EVENTS[kind], event_validator(kind), 2)
        for kind in OUR_EVENT_TYPES
        if kind in EVENTS
    },
}


@functools.cache
def spec_validator(component: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"{SPEC_URI}#/components/schemas/{component}"}, registry=REGISTRY
    )


# -- instances built from the spec's schemas ------------------------------------------------------


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target = COMPONENTS[node["$ref"].rsplit("/", 1)[1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def flat(node: Any) -> tuple[dict[str, Any], list[str]]:
    """The properties and required names of an object schema, its allOf parts merged."""
    node = resolve(node)
    properties, required = dict(node.get("properties", {})), list(node.get("required", []))
    for part in node.get("allOf", []):
        more, names = flat(part)
        properties.update(more)
        required.extend(names)
    return properties, required


def alternatives(node: Any) -> list[dict[str, Any]]:
    """The branches of a oneOf/anyOf (recursively), each merged with the keywords beside it."""
    node = resolve(node)
    for keyword in ("oneOf", "anyOf"):
        if keyword in node:
            rest = {k: v for k, v in node.items() if k not in (keyword, "discriminator")}
            return [
                alt for branch in node[keyword] for alt in alternatives({**rest, **resolve(branch)})
            ]
    return [node]


def is_object(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" or "properties" in node or "allOf" in node


def minimal(node: Any) -> Any:
    """The smallest instance of a schema: required properties only, first non-null branch."""
    branches = alternatives(node)
    if len(branches) > 1:
        return minimal(next((b for b in branches if b.get("type") != "null"), branches[0]))
    node = branches[0]
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return next((v for v in node["enum"] if v is not None), None)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if is_object(node) or kind == "object":
        properties, required = flat(node)
        return {name: minimal(properties.get(name, {"type": "string"})) for name in required}
    if kind == "array":
        return [minimal(node.get("items", {})) for _ in range(node.get("minItems", 0))]
    if kind == "string":
        return "https://example.com/x" if node.get("format") == "uri" else "x"
    if kind in ("integer", "number"):
        return node.get("minimum", 0)
    return {"boolean": False, "null": None}.get(str(kind), "x")


def variants(node: Any, depth: int) -> Iterator[Any]:
    """The minimal instance of every alternative and, down to ``depth`` levels of properties and
    array items, the minimal instance with one property (or item) set to each of its variants."""
    for branch in alternatives(node):
        base = minimal(branch)
        yield base
        if depth == 0:
            continue
        if is_object(branch) or branch.get("type") == "object":
            for name, sub in flat(branch)[0].items():
                for value in variants(sub, depth - 1):
                    yield {**base, name: value}
        elif branch.get("type") == "array" and "items" in branch:
            for value in variants(branch["items"], depth - 1):
                yield [value]


def built(shape: str) -> list[Any]:
    component, _, depth = SHAPES[shape]
    seen: dict[str, Any] = {}
    for value in variants(COMPONENTS[component], depth):
        seen.setdefault(json.dumps(value, sort_keys=True), value)
    return list(seen.values())


# -- the spec's examples --------------------------------------------------------------------------


def examples() -> dict[str, list[Any]]:
    """Every example the spec gives for a covered shape, by shape."""
    out: dict[str, list[Any]] = {shape: [] for shape in SHAPES}
    for kind, component in EVENTS.items():
        text = COMPONENTS[component].get("x-oaiMeta", {}).get("example")
        if text and f"event:{kind}" in out:
            # One example in the spec is not JSON (a missing comma): skipped.
            with contextlib.suppress(ValueError):
                out[f"event:{kind}"].append(json.loads(text))
    if isinstance(COMPONENTS["Response"].get("example"), dict):
        out["response"].append(COMPONENTS["Response"]["example"])
    for example in SPEC["paths"]["/responses"]["post"]["x-oaiMeta"]["examples"]:
        body = re.search(r"-d '(.*)'\s*$", example["request"]["curl"], re.S)
        assert body is not None
        out["request"].append(json.loads(body.group(1)))
        try:
            response = json.loads(example["response"])
        except ValueError:  # the streaming example: an SSE body
            for sse in iter_sse_bytes([example["response"].encode()]):
                event = json.loads(sse.data)
                out.setdefault(f"event:{event['type']}", []).append(event)
            continue
        out["response"].append(response)
        for item in response.get("output", []):
            if f"item:{item['type']}" in out:
                out[f"item:{item['type']}"].append(item)
    return out


EXAMPLES = examples()


def rejections(shape: str, instance: Any) -> list[str]:
    return [
        f"{format_path(p.path)} [{p.rule}] expected {p.expected}"
        for p in problems(SHAPES[shape][1], instance)
    ]


# -- the tests ------------------------------------------------------------------------------------


def test_every_event_type_we_check_is_in_the_spec() -> None:
    """Each event schema of events.json corresponds to an event type the spec defines."""
    assert [] == [kind for kind in OUR_EVENT_TYPES if kind not in EVENTS]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_schema_accepts_every_instance_the_spec_declares_valid(shape: str) -> None:
    """Every built instance the spec's own validator accepts, our schema accepts too."""
    instances = built(shape)
    component = SHAPES[shape][0]
    declared = [value for value in instances if spec_validator(component).is_valid(value)]
    # The builder is honest only if the spec accepts nearly all it builds.
    assert len(declared) >= 0.95 * len(instances)
    rejected = {
        json.dumps(value)[:200]: rejections(shape, value)
        for value in declared
        if rejections(shape, value)
    }
    assert {} == rejected


@pytest.mark.parametrize("shape", [shape for shape in SHAPES if EXAMPLES[shape]])
def test_schema_never_rejects_a_spec_example_the_spec_accepts(shape: str) -> None:
    """An example that our schema rejects is one the spec's own schema rejects as well."""
    component = SHAPES[shape][0]
    wrongly_rejected = [
        (json.dumps(example)[:200], rejections(shape, example))
        for example in EXAMPLES[shape]
        if rejections(shape, example) and spec_validator(component).is_valid(example)
    ]
    assert [] == wrongly_rejected


def test_the_spec_gives_enough_to_test_with() -> None:
    """The spec yields examples and built instances for the shapes, so the tests above bite."""
    assert 8 <= len(EXAMPLES["request"])
    assert 7 <= len(EXAMPLES["response"])
    assert 25 <= sum(len(EXAMPLES[shape]) for shape in SHAPES if shape.startswith("event:"))
    assert 1_000 <= sum(len(built(shape)) for shape in SHAPES)
