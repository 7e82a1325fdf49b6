"""Our JSON Schemas, compiled once, and their errors as problems with a JSON path (sans-I/O).

The schemas live in ``harness/schemas/`` (JSON Schema 2020-12), one file per shape, with ``$ref``s
between files resolved through one shared :class:`referencing.Registry`:

- ``request.json``: the body of ``POST /v1/responses`` (``function_tool.json`` for its function
  tools);
- ``events.json``: one schema per stream event type, under ``$defs``. An event is checked by the
  schema of its ``type`` (a dictionary lookup), never against a union, so an error names the
  field, not "is not valid under any of the given schemas";
- ``items.json`` (output items, dispatched on ``type`` inside the schema), ``response.json`` (the
  response object the lifecycle events carry), ``common.json`` (shared parts);
- ``cassette.json``: our cassette file, as ``yaml.safe_load`` reads it.

Every validator is built once per process and reused (building one, and checking the schema
itself, costs a hundred times more than validating a small event). The base URI
``https://harness.invalid/schemas/`` is a name, never fetched: ``.invalid`` cannot resolve.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import json
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "BASE_URI",
    "MISSING",
    "SCHEMA_FILES",
    "Problem",
    "Validator",
    "event_schema",
    "event_validator",
    "problems",
    "registry",
    "render",
    "schema",
    "validator",
]

BASE_URI = "https://harness.invalid/schemas/"
SCHEMA_FILES = (
    "cassette.json",
    "common.json",
    "events.json",
    "function_tool.json",
    "items.json",
    "request.json",
    "response.json",
)
MISSING = "missing"
"""What a finding says it found where a required value is absent."""


class Problem(NamedTuple):
    """One problem found by a check, before it is placed in a file, interaction and event.

    ``path`` is relative to the checked value; ``expected`` and ``found`` are short texts
    (``found`` rendered with :func:`render`); ``message`` says the rest in a sentence.
    """

    path: tuple[str | int, ...]
    rule: str
    expected: str
    found: str
    message: str


def render(value: Any, limit: int = 80) -> str:
    """A value as short JSON for a report: at most ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    # A lone surrogate (valid in JSON text, not in UTF-8) is shown escaped, so reports write.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- the schemas ----------------------------------------------------------------------------------


@functools.cache
def _documents() -> dict[str, dict[str, Any]]:
    files = importlib.resources.files("harness") / "schemas"
    return {name: json.loads((files / name).read_text("utf-8")) for name in SCHEMA_FILES}


def schema(name: str) -> dict[str, Any]:
    """One of our schema documents by file name (``"request.json"``); do not modify it."""
    return _documents()[name]


@functools.cache
def registry() -> Registry[Any]:
    """Every schema file under its URI, so ``$ref``s between them resolve offline."""
    resources = [
        (BASE_URI + name, Resource.from_contents(document, default_specification=DRAFT202012))
        for name, document in _documents().items()
    ]
    return Registry().with_resources(resources).crawl()


# -- the fast path ---------------------------------------------------------------------------------
#
# Our schemas choose the schema of an item, a content part or a tool by its "type" with an allOf
# of clauses ``{"if": {"required": ["type"], "properties": {"type": {"const": C}}}, "then": S}``
# (plain JSON Schema, so any validator reads the files the same way). jsonschema evaluates every
# "if" for every instance, building a validator each time: for a payload of 20 input items that
# is most of the work. For an object the outcome of such an "if" is simply ``type == C``, so
# ``allOf`` below compares instead, and descends into the "then" only where it applies. Errors,
# their order and their schema paths are those of the plain validator (tests/test_validate_schema.py
# checks this on every fixture).


_Clause = tuple[int, Any, str | None]  # (index, subschema, or its "then" with the const C)
_CLAUSES: dict[int, tuple[list[Any], list[_Clause]]] = {}
_PLAIN_ALL_OF = Draft202012Validator.VALIDATORS["allOf"]


def _clauses(all_of: list[Any]) -> list[_Clause]:
    cached = _CLAUSES.get(id(all_of))
    if cached is not None and cached[0] is all_of:
        return cached[1]
    clauses: list[_Clause] = []
    for index, sub in enumerate(all_of):
        condition = sub.get("if") if isinstance(sub, dict) and set(sub) == {"if", "then"} else None
        const = None
        if (
            isinstance(condition, dict)
            and set(condition) == {"required", "properties"}
            and condition["required"] == ["type"]
            and isinstance(condition["properties"], dict)
            and set(condition["properties"]) == {"type"}
            and isinstance(condition["properties"]["type"], dict)
            and set(condition["properties"]["type"]) == {"const"}
            and isinstance(condition["properties"]["type"]["const"], str)
        ):
            const = condition["properties"]["type"]["const"]
        clauses.append((index, sub["then"] if const is not None else sub, const))
    _CLAUSES[id(all_of)] = (all_of, clauses)
    return clauses


def _all_of(
    checker: Draft202012Validator, all_of: list[Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        yield from _PLAIN_ALL_OF(checker, all_of, instance, schema)
        return
    kind = instance.get("type")
    for index, sub, const in _clauses(all_of):
        if const is None:
            yield from checker.descend(instance, sub, schema_path=index)
        elif const == kind and type(kind) is str:
            for error in checker.descend(instance, sub, schema_path="then"):
                error.relative_schema_path.appendleft(index)
                yield error


# Most properties of an event are a string or a count: ``{"type": "string"}``,
# ``{"type": "integer", "minimum": 0}``. A value that plainly satisfies such a schema needs no
# validator built for it; anything else (an error, a float that is an integer, a bool) takes the
# plain path, so the errors are the same.
_PLAIN_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_SIMPLE_KEYS = frozenset({"type", "minimum"})


def _plainly_valid(sub: Any, value: Any) -> bool:
    if not isinstance(sub, dict):
        return False
    if len(sub) == 1 and "const" in sub:
        const = sub["const"]
        return type(const) is str and type(value) is str and value == const
    kind = sub.get("type")
    kinds = _PLAIN_TYPES.get(kind) if isinstance(kind, str) else None
    if kinds is None or not sub.keys() <= _SIMPLE_KEYS or type(value) not in kinds:
        return False
    minimum = sub.get("minimum")
    return minimum is None or value >= minimum


def _properties(
    checker: Draft202012Validator, properties: dict[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        return
    for name, sub in properties.items():
        if name in instance and not _plainly_valid(sub, instance[name]):
            yield from checker.descend(instance[name], sub, path=name, schema_path=name)


Validator: type[Draft202012Validator] = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"allOf": _all_of, "properties": _properties}
)
"""Draft 2020-12 with the fast ``allOf`` above; what every compiled validator here is."""


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """The compiled validator of a whole schema file."""
    return Validator(schema(name), registry=registry())


@functools.cache
def event_schema(event_type: str) -> dict[str, Any] | None:
    """The schema of one event type, standing alone (``None`` for a type we have none for).

    It is the ``$defs`` entry of ``events.json`` with an ``$id`` of its own beside the other
    files, so its references to them resolve.
    """
    definition = schema("events.json")["$defs"].get(event_type)
    if definition is None:
        return None
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_URI}event.{event_type}.json",
        **definition,
    }


@functools.cache
def _event_validators() -> dict[str, Draft202012Validator]:
    out = {}
    for event_type in schema("events.json")["$defs"]:
        event = event_schema(event_type)
        assert event is not None
        out[event_type] = Validator(event, registry=registry())
    return out


def event_validator(event_type: str) -> Draft202012Validator | None:
    """The compiled validator for events of ``event_type``, or ``None`` if we have no schema."""
    return _event_validators().get(event_type)


# -- errors as problems ---------------------------------------------------------------------------


def problems(
    compiled: Draft202012Validator, instance: Any, prefix: tuple[str | int, ...] = ()
) -> list[Problem]:
    """Every error of ``instance`` against ``compiled``, as problems with paths under ``prefix``."""
    out: dict[tuple[Any, ...], Problem] = {}
    for error in compiled.iter_errors(instance):
        for problem in _problems(error, prefix):
            # Branches chosen by if/then can repeat an error (a list where an object belongs
            # fails the type of each): one finding each.
            out.setdefault(problem[:4], problem)
    return list(out.values())


def _problems(error: ValidationError, prefix: tuple[str | int, ...]) -> Iterator[Problem]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        # "Not valid under any of the given schemas" says nothing. When only one branch takes
        # values of this type (an object or null, say), its errors are the ones that matter.
        branches: dict[Any, list[ValidationError]] = {}
        for inner in error.context:
            branches.setdefault(inner.relative_schema_path[0], []).append(inner)
        fitting = [
            errors
            for errors in branches.values()
            if not any(e.validator == "type" and not e.relative_path for e in errors)
        ]
        if len(fitting) == 1:
            for inner in fitting[0]:
                yield from _problems(inner, prefix)
            return
        closest = best_match(error.context)
        if closest is not None:
            yield from _problems(closest, prefix)
            return
    path = (*prefix, *error.absolute_path)
    keyword = str(error.validator)
    value: Any = error.validator_value
    if keyword == "required":
        for name in value:
            if error.message == f"{name!r} is a required property":
                yield Problem((*path, name), "required", "present", MISSING, error.message)
        return
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        yield from _unknown_keys(error, path)
        return
    if "propertyNames" in error.relative_schema_path:
        yield Problem(
            (*path, str(error.instance)),
            keyword,
            "a key name " + _expected(keyword, value),
            render(error.instance),
            error.message,
        )
        return
    yield Problem(path, keyword, _expected(keyword, value), render(error.instance), error.message)


def _unknown_keys(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Problem]:
    known = list(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
    patterns = error.schema.get("patternProperties", {}) if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    for key in instance:
        if key in known or any(re.search(pattern, key) for pattern in patterns):
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        expected = f"a known key (probable typo of {close[0]!r})" if close else "a known key"
        yield Problem(
            (*path, key),
            "additionalProperties",
            expected,
            f"unknown key {render(key)}",
            f"{key!r} is not a key this object may have"
            + (f"; did you mean {close[0]!r}?" if close else ""),
        )


def _expected(keyword: str, value: Any) -> str:
    """What a failed keyword asked for, in words."""
    if keyword == "type":
        return " or ".join(value) if isinstance(value, list) else str(value)
    if keyword == "enum":
        return "one of " + render(value)
    if keyword == "const":
        return render(value)
    words = {
        "minimum": ">= {}",
        "maximum": "<= {}",
        "exclusiveMinimum": "> {}",
        "exclusiveMaximum": "< {}",
        "minLength": "at least {} characters",
        "maxLength": "at most {} characters",
        "minItems": "at least {} items",
        "maxItems": "at most {} items",
        "minProperties": "at least {} keys",
        "maxProperties": "at most {} keys",
        "pattern": "a string matching {}",
        "format": "format {}",
        "multipleOf": "a multiple of {}",
    }
    if keyword in words:
        return words[keyword].format(value)
    if keyword == "None":  # a false schema: nothing may be here
        return "nothing here"
    return f"{keyword} {render(value)}"
