"""The compiled validators: one per schema and event type, and the fast path's exact equivalence.

Our validators are jsonschema's Draft 2020-12 with two keywords made faster (``allOf`` of
type-dispatch clauses, ``properties`` with plainly valid values). They must give the very errors
plain ``Draft202012Validator`` gives (same verdict, instance paths, keywords, messages and schema
paths), on every fixture: the corpus, client payloads, the spec's examples and built instances,
and thousands of mutations of them that break one thing each.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from harness import ModelClient, Prompt, events_from_body, load_fixture
from harness._validate_schema import (
    SCHEMA_FILES,
    event_schema,
    event_validator,
    registry,
    schema,
    validator,
)
from tests.conftest import CORPUS, PROMPT
from tests.test_validate_spec import EXAMPLES, SHAPES, built

Case = tuple[str, Any]  # (schema file or "event:<type>", instance)


def plain(name: str) -> Draft202012Validator:
    if name.startswith("event:"):
        event = event_schema(name[6:])
        assert event is not None
        return Draft202012Validator(event, registry=registry())
    return Draft202012Validator(schema(name), registry=registry())


def fast(name: str) -> Draft202012Validator:
    if name.startswith("event:"):
        compiled = event_validator(name[6:])
        assert compiled is not None
        return compiled
    return validator(name)


def errors(checker: Draft202012Validator, instance: Any) -> list[tuple[Any, ...]]:
    def flat(error: Any) -> Iterator[tuple[Any, ...]]:
        yield (
            tuple(error.absolute_path),
            error.validator,
            error.message,
            tuple(error.relative_schema_path),
        )
        for inner in error.context or ():
            yield from flat(inner)

    return [entry for error in checker.iter_errors(instance) for entry in flat(error)]


def mutations(value: Any, depth: int = 2) -> Iterator[Any]:
    """Copies of ``value`` with one thing broken: a key dropped or a value of another type."""
    if isinstance(value, dict):
        for key in value:
            yield {k: v for k, v in value.items() if k != key}
            for other in ([], 1.5, True, "x", None, {}, -1):
                yield {**value, key: other}
            if depth:
                for changed in mutations(value[key], depth - 1):
                    yield {**value, key: changed}
    elif isinstance(value, list) and value and depth:
        for changed in mutations(value[0], depth - 1):
            yield [changed, *value[1:]]


def corpus_cases() -> list[Case]:
    """Two events of each type from the corpus (the first and last seen), and client payloads."""
    by_type: dict[str, list[Any]] = {}
    for path in sorted((CORPUS / "sse").glob("*.sse")):
        for event in events_from_body(load_fixture(path)):
            kind = event.get("type")
            if isinstance(kind, str) and event_validator(kind) is not None:
                by_type.setdefault(kind, []).append(event)
    cases: list[Case] = [
        (f"event:{kind}", event)
        for kind, events in by_type.items()
        for event in {id(e): e for e in (events[0], events[-1])}.values()
    ]
    client = ModelClient("o4-mini", api_key="sk-test", reasoning_effort="low")
    for prompt in (PROMPT, Prompt(previous_response_id="resp_1")):
        cases.append(("request.json", client.payload(prompt)))
    return cases


def spec_cases() -> list[Case]:
    """The spec's built instances as they are, and its examples with one thing broken."""
    cases: list[Case] = []
    for shape, (_, compiled, _) in SHAPES.items():
        name = next(
            (f for f in SCHEMA_FILES if validator(f) is compiled), f"event:{shape.split(':')[-1]}"
        )
        cases.extend((name, value) for value in built(shape))
        for example in EXAMPLES.get(shape, []):
            cases.extend((name, value) for value in [example, *mutations(example, 1)])
    return cases


CORPUS_CASES = corpus_cases()


@pytest.mark.parametrize("source", ["corpus", "spec"])
def test_the_fast_path_gives_the_errors_of_plain_jsonschema(source: str) -> None:
    """On every fixture and each one-thing-broken copy of it, errors are identical in order."""
    if source == "corpus":
        cases = [
            (name, case) for name, value in CORPUS_CASES for case in [value, *mutations(value)]
        ]
    else:
        cases = spec_cases()
    differences = []
    failing = 0
    for name, case in cases:
        ours, theirs = errors(fast(name), case), errors(plain(name), case)
        failing += bool(theirs)
        if ours != theirs:
            differences.append((name, json.dumps(case)[:200]))
    assert [] == differences[:5]
    assert 2_000 <= len(cases)
    assert 0.3 * len(cases) <= failing  # most cases break something


def test_each_event_type_has_its_own_compiled_validator() -> None:
    """Dispatch is a lookup: each type maps to one validator, built once and then reused."""
    kinds = list(schema("events.json")["$defs"])
    compiled = [event_validator(kind) for kind in kinds]
    assert len(kinds) == len({id(c) for c in compiled})
    assert compiled == [event_validator(kind) for kind in kinds]
    assert None is event_validator("response.audio.delta")  # no schema: passes unchecked


def test_every_schema_file_is_a_valid_2020_12_schema() -> None:
    """Each file in harness/schemas/ passes the Draft 2020-12 metaschema."""
    for name in SCHEMA_FILES:
        Draft202012Validator.check_schema(schema(name))


def test_a_planted_error_deep_in_a_cassette_structure_is_found_identically() -> None:
    """The cassette schema finds a bad chunk pair through both paths alike."""
    structure = {
        "harness": {"format": 2, "version": "0.1.0"},
        "version": 1,
        "interactions": [
            {
                "request": {"method": "POST", "uri": "http://h/v1/r", "headers": {}, "body": ""},
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"content-type": ["text/event-stream"]},
                    "body": {"string": "data: {}\n\n"},
                },
                "harness": {"outcome": {"kind": "complete", "bytes": 10}, "chunks": [[1500, 10]]},
            }
        ],
    }  # fmt: skip
    assert [] == errors(fast("cassette.json"), structure)
    broken = copy.deepcopy(structure)
    broken["interactions"][0]["harness"]["chunks"] = [[1500, "10"]]
    assert errors(plain("cassette.json"), broken) == errors(fast("cassette.json"), broken)
    assert [(("interactions", 0, "harness", "chunks", 0, 1), "type")] == [
        (path, keyword) for path, keyword, _, _ in errors(fast("cassette.json"), broken)
    ]
