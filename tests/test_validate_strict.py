"""The strict-mode linter for tool parameters: each rule with a failing and a passing schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness._validate import Report, validate
from harness._validate_strict import UNSUPPORTED, strict_problems


def obj(**properties: Any) -> dict[str, Any]:
    """A strict-mode object: every property required, no additional ones."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


PLACE = obj(lat={"type": "number"}, next={"anyOf": [{"$ref": "#/$defs/place"}, {"type": "null"}]})
GOOD = {
    **obj(
        city=obj(name={"type": "string"}, zip={"type": ["string", "null"]}),
        when={"anyOf": [{"type": "null"}, obj(day={"type": "integer"})]},
        stops={"type": "array", "items": obj(at={"$ref": "#/$defs/place"})},
        unit={"type": "string", "enum": ["C", "F"]},
    ),
    "$defs": {"place": PLACE},
}
"""A schema that uses every allowed construct: nested objects, anyOf, arrays, $defs, recursion."""


def tool(parameters: Any, *, strict: bool = True, name: str = "get_weather") -> dict[str, Any]:
    return {"type": "function", "name": name, "strict": strict, "parameters": parameters}


def found(report: Report) -> list[tuple[str, str]]:
    return [(f.path, f.rule) for f in report.findings]


def test_a_schema_using_every_allowed_construct_passes() -> None:
    """Nested objects, anyOf, arrays, $defs and a recursive $ref break no strict rule."""
    assert [] == found(validate(tool(GOOD)))


def test_the_root_must_be_an_object_not_any_of() -> None:
    """A root anyOf, or a root of another type, is refused at $.parameters."""
    root_any_of = {"anyOf": [obj(a={"type": "string"}), obj(b={"type": "string"})]}
    assert [("$.parameters", "strict-root")] == found(validate(tool(root_any_of)))
    assert [("$.parameters", "strict-root")] == found(validate(tool({"type": "string"})))
    assert [] == found(validate(tool(obj(a={"type": "string"}))))


def test_every_property_must_be_required() -> None:
    """A property missing from required is found at its own path, in nested objects too."""
    schema = copy.deepcopy(GOOD)
    schema["required"].remove("unit")
    schema["properties"]["city"]["required"] = ["name"]
    assert [
        ("$.parameters.properties.city.properties.zip", "strict-required"),
        ("$.parameters.properties.unit", "strict-required"),
    ] == sorted(found(validate(tool(schema))))
    assert [] == found(validate(tool(GOOD)))


@pytest.mark.parametrize(
    "where",
    [
        (),
        ("properties", "city"),
        ("$defs", "place"),
        ("properties", "when", "anyOf", 1),
        ("properties", "stops", "items"),
    ],
    ids=["root", "nested", "defs", "anyOf-branch", "array-items"],
)
def test_every_object_needs_additional_properties_false(where: tuple[str | int, ...]) -> None:
    """additionalProperties: false is needed on each object; missing or true is found there."""
    for value in (None, True):
        schema = copy.deepcopy(GOOD)
        node: Any = schema
        for part in where:
            node = node[part]
        if value is None:
            del node["additionalProperties"]
        else:
            node["additionalProperties"] = value
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where)
        path = f"$.parameters{path}.additionalProperties".replace(".$defs", '["$defs"]')
        report = validate(tool(schema))
        assert [(path, "strict-additional-properties")] == found(report)
        assert ("missing" if value is None else "true") == report.findings[0].found


KEYWORD_VALUES: dict[str, Any] = {
    "allOf": [{"type": "string"}],
    "oneOf": [{"type": "string"}],
    "not": {"type": "integer"},
    "if": {"type": "string"},
    "then": {"minLength": 1},
    "else": {"type": "string"},
    "dependentRequired": {"a": ["b"]},
    "dependentSchemas": {"a": {"type": "object"}},
    "dependencies": {"a": ["b"]},
    "patternProperties": {"^x": {"type": "string"}},
    "unevaluatedProperties": False,
    "propertyNames": {"pattern": "^[a-z]+$"},
    "minProperties": 1,
    "maxProperties": 3,
    "unevaluatedItems": False,
    "contains": {"type": "string"},
    "minContains": 1,
    "maxContains": 2,
    "uniqueItems": True,
}


@pytest.mark.parametrize("keyword", UNSUPPORTED)
def test_an_unsupported_keyword_is_found_where_it_is(keyword: str) -> None:
    """Each keyword strict mode refuses is reported at its own path; without it, no finding."""
    schema = obj(a={"type": "string", keyword: KEYWORD_VALUES[keyword]})
    report = validate(tool(schema))
    assert [(f"$.parameters.properties.a.{keyword}", "strict-keyword")] == found(report)
    assert f"no {keyword} (strict mode does not support it)" == report.findings[0].expected
    assert [] == found(validate(tool(obj(a={"type": "string"}))))


def test_only_local_references_resolve() -> None:
    """A $ref outside the schema, or to nothing, is found; #/$defs/... and # are fine."""
    outside = obj(a={"$ref": "https://example.com/a.json"}, b={"$ref": "#/$defs/none"})
    assert [
        ("$.parameters.properties.a.$ref", "strict-ref"),
        ("$.parameters.properties.b.$ref", "strict-ref"),
    ] == [(p.replace('["$ref"]', ".$ref"), r) for p, r in found(validate(tool(outside)))]
    assert [] == found(validate(tool({**obj(a={"anyOf": [{"$ref": "#"}, {"type": "null"}]})})))


def test_at_most_5000_properties_in_all() -> None:
    """5,000 properties pass; 5,001 (counted over every object) are found at the root."""
    inner = obj(**{f"p{i}": {"type": "string"} for i in range(2_499)})
    at_limit = obj(x=inner, **{f"q{i}": {"type": "string"} for i in range(2_500)})
    assert [] == found(validate(tool(at_limit)))
    over = copy.deepcopy(at_limit)
    over["properties"]["extra"] = {"type": "string"}
    over["required"].append("extra")
    assert [("$.parameters", "strict-properties-limit")] == found(validate(tool(over)))


def nest(levels: int) -> dict[str, Any]:
    schema = obj(leaf={"type": "string"})
    for _ in range(levels - 1):
        schema = obj(inner=schema)
    return schema


def test_objects_nest_at_most_10_levels() -> None:
    """Ten levels of objects pass; the eleventh is found at its path."""
    assert [] == found(validate(tool(nest(10))))
    deepest = "$.parameters" + ".properties.inner" * 10
    assert [(deepest, "strict-depth-limit")] == found(validate(tool(nest(11))))


def test_nesting_through_defs_counts() -> None:
    """Depth is counted through $ref into $defs, not only through inline properties."""
    schema = {**obj(a={"$ref": "#/$defs/deep"}), "$defs": {"deep": nest(10)}}
    assert ["strict-depth-limit"] == [rule for _, rule in found(validate(tool(schema)))]
    schema = {**obj(a={"$ref": "#/$defs/deep"}), "$defs": {"deep": nest(9)}}
    assert [] == found(validate(tool(schema)))


class CountedReads(dict[str, Any]):
    """A schema node that counts how often it is read."""

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        CountedReads.reads += 1
        return super().get(key, default)


def shared_models(levels: int, fields: int) -> dict[str, Any]:
    """A root object over models M0..M{levels-1}, each with ``fields`` nullable fields of the
    next model, as Pydantic writes a model tree: fields**(levels-1) paths lead to the last."""
    defs: dict[str, Any] = {}
    for i in range(levels - 1):
        ref = {"anyOf": [{"$ref": f"#/$defs/M{i + 1}"}, {"type": "null"}]}
        defs[f"M{i}"] = obj(**{f"f{k}": ref for k in range(fields)})
    defs[f"M{levels - 1}"] = CountedReads(obj(leaf={"type": "string"}))
    return {**obj(root={"$ref": "#/$defs/M0"}), "$defs": defs}


def test_a_model_shared_by_many_paths_is_walked_a_few_times_not_once_per_path() -> None:
    """The depth check reads a $ref target a bounded number of times, not once per path to it."""
    schema = shared_models(9, 3)  # 10 levels, 3**8 = 6,561 paths to the last model
    CountedReads.reads = 0
    assert [] == strict_problems(schema)
    assert CountedReads.reads < 100


def test_the_deepest_path_through_shared_models_is_the_first_one() -> None:
    """Over the limit through shared models, the first deepest path is named (as before)."""
    schema = shared_models(11, 3)  # the root and 11 models: 12 levels
    deepest = "$.parameters.properties.root" + ".properties.f0.anyOf[0]" * 10
    report = validate(tool(schema))
    assert [(deepest, "strict-depth-limit")] == found(report)
    assert "12 levels" == report.findings[0].found


def test_at_most_1000_enum_values_in_all() -> None:
    """1,000 enum values over the schema pass; 1,001 are found."""

    def schema(second: int) -> dict[str, Any]:
        return obj(a={"enum": list(range(500))}, b={"enum": list(range(second))})

    assert [] == found(validate(tool(schema(500))))
    assert [("$.parameters", "strict-enum-limit")] == found(validate(tool(schema(501))))


def test_at_most_120000_characters_of_names_and_values() -> None:
    """Property names, definition names, enum and const values add up to 120,000 at most."""

    def schema(const: int) -> dict[str, Any]:
        # names "a", "b" (2) + 200 enum values of 590 (118,000) + a const
        values = [f"{i:03d}" + "x" * 587 for i in range(200)]
        return obj(a={"enum": values}, b={"const": "y" * const})

    assert [] == found(validate(tool(schema(1_998))))
    assert [("$.parameters", "strict-string-limit")] == found(validate(tool(schema(1_999))))


def test_a_large_string_enum_holds_at_most_15000_characters() -> None:
    """An enum of over 250 strings may hold 15,000 characters; more is found at the enum."""

    def schema(length: int) -> dict[str, Any]:
        return obj(a={"enum": [f"{i:03d}" + "x" * (length - 3) for i in range(251)]})

    assert [] == found(validate(tool(schema(59))))
    assert [("$.parameters.properties.a.enum", "strict-enum-size")] == found(
        validate(tool(schema(60)))
    )


def test_the_rules_apply_only_when_strict_is_true() -> None:
    """A loose schema in a tool without strict true breaks no strict rule."""
    loose = {"type": "object", "properties": {"a": {"type": "string", "minProperties": 1}}}
    assert [] == found(validate(tool(loose, strict=False)))
    assert 3 == len(validate(tool(loose)).findings)


def test_every_schema_needs_a_type_in_strict_mode() -> None:
    """A schema without a type (nor anyOf, $ref, enum, const) is found where it is."""
    schema = obj(a={}, b={"type": "array", "items": {"description": "any"}}, c={"enum": ["x"]})
    report = validate(tool(schema))
    assert [
        ("$.parameters.properties.a", "strict-type"),
        ("$.parameters.properties.b.items", "strict-type"),
    ] == found(report)
    assert "In context=('properties', 'b', 'items'), schema must have a 'type' key." in (
        report.findings[1].message
    )
    assert [] == found(validate(tool(schema, strict=False)))


@pytest.mark.parametrize("strict", [True, False])
def test_schemas_the_api_refuses_for_any_function_are_found(strict: bool) -> None:
    """A root object without properties and an array without items are refused with 400,
    strict or not; the finding quotes the API's error."""
    no_properties = {"type": "object", "additionalProperties": False, "required": []}
    report = validate(tool(no_properties, strict=strict))
    assert [("$.parameters", "function-parameters")] == found(report)
    assert (
        "the API refuses this schema with 400: \"Invalid schema for function 'get_weather': "
        'In context=(), object schema missing properties."'
    ) == report.findings[0].message
    no_items = obj(
        tags={"type": ["array", "null"]}, more={"type": "array", "items": {"type": "string"}}
    )
    report = validate(tool(no_items, strict=strict))
    assert [("$.parameters.properties.tags", "function-parameters")] == found(report)
    assert "In context=('properties', 'tags'), array schema missing items." in (
        report.findings[0].message
    )
    assert [] == found(validate(tool({**no_properties, "properties": {}}, strict=strict)))


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("get_weather-2", True),
        ("a" * 64, True),
        ("get weather", False),
        ("a" * 65, False),
        ("", False),
        ("ünï", False),
    ],
)
def test_a_tool_name_follows_the_api_pattern(name: str, ok: bool) -> None:
    """Tool names match ^[a-zA-Z0-9_-]{1,64}$, in a tool and in a payload's tools."""
    expected = [] if ok else [("$.name", "pattern")]
    assert expected == found(validate(tool(GOOD, name=name)))
    payload = {"model": "gpt-4o", "input": "hi", "tools": [tool(GOOD, name=name)]}
    assert [(f"$.tools[0]{p[1:]}", r) for p, r in expected] == found(validate(payload))


def test_a_strict_response_format_schema_follows_the_same_rules() -> None:
    """text.format of type json_schema with strict true is linted like strict tool parameters."""
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    form = {"type": "json_schema", "name": "answer", "strict": True, "schema": schema}
    payload = {"model": "gpt-4o", "input": "hi", "text": {"format": form}}
    assert [
        ("$.text.format.schema.additionalProperties", "strict-additional-properties"),
        ("$.text.format.schema.properties.a", "strict-required"),
    ] == found(validate(payload))


def test_parameters_must_be_a_valid_json_schema() -> None:
    """A misspelled type in the parameters is found as a JSON Schema error at its path."""
    report = validate(tool(obj(a={"type": "strin"}), strict=False))
    assert [("$.parameters.properties.a.type", "json-schema")] == found(report)


def test_a_message_names_the_path_and_the_rule() -> None:
    """Each strict finding reads with its JSON path, what strict mode wants, and the rule."""
    schema = obj(a={"type": "string"})
    del schema["additionalProperties"]
    (finding,) = validate(tool(schema)).findings
    assert (
        "(tool) $.parameters.additionalProperties: expected false, found missing "
        "[strict-additional-properties]"
    ) == str(finding)
