"""The strict-mode rules for a tool's parameters schema (sans-I/O).

With ``"strict": true`` the API constrains generation to the schema, and so accepts only a
subset of JSON Schema; anything else is refused with a 400 when the request is sent. The
rules, as the structured-outputs guide documents them
(https://platform.openai.com/docs/guides/structured-outputs#supported-schemas):

- the root is an object schema, not ``anyOf``;
- every schema has a ``type`` (or is an ``anyOf`` or a ``$ref``);
- every object (nested ones, ``$defs``, ``anyOf`` branches and array items included) has
  ``"additionalProperties": false`` and lists every property in ``required`` (an optional
  field is written as a union with ``null``);
- no ``allOf``, ``oneOf``, ``not``, ``if``/``then``/``else``, ``dependentRequired``,
  ``dependentSchemas``, ``patternProperties`` and the other keywords of :data:`UNSUPPORTED`;
  ``$ref`` only to the schema itself (``#/$defs/...``);
- at most 5,000 properties in all, 10 levels of nested objects, 1,000 enum values, and 120,000
  characters of property names, definition names, enum values and const values together; an
  enum of more than 250 strings holds at most 15,000 characters.

The same rules hold for a ``json_schema`` text format with ``strict`` true. Paths are relative to
the schema checked.

Two rules hold for every function's parameters, strict or not (:func:`parameters_problems`): the
API refuses a root object schema without ``properties`` and an array schema without ``items``
(400 ``invalid_function_parameters``, "Invalid schema for function 'f': In context=(), object
schema missing properties.").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness._validate_schema import MISSING, Problem, render

__all__ = [
    "MAX_DEPTH",
    "MAX_ENUM_VALUES",
    "MAX_PROPERTIES",
    "MAX_STRING_LENGTH",
    "UNSUPPORTED",
    "parameters_problems",
    "strict_problems",
]

MAX_PROPERTIES = 5_000
MAX_DEPTH = 10
MAX_ENUM_VALUES = 1_000
MAX_STRING_LENGTH = 120_000
LARGE_ENUM = 250
LARGE_ENUM_LENGTH = 15_000
_EXACT_GROUP = 8
"""Mutually recursive definitions up to this many are measured exactly (see :class:`_Depth`)."""

UNSUPPORTED = (
    "allOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "patternProperties",
    "unevaluatedProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "uniqueItems",
)
"""Keywords strict mode refuses: the composition keywords the guide names, and the object and
array constraints it lists as unsupported."""

_TYPED_BY = ("type", "anyOf", "$ref", "enum", "const")
"""Keywords that give a strict-mode schema its type (an enum or a const is left to the API)."""

Path = tuple[str | int, ...]


def _is_object(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node


def _children(node: dict[str, Any], path: Path) -> Iterator[tuple[Path, Any]]:
    """The subschemas strict mode allows, with their paths (not through unsupported keywords)."""
    properties = node.get("properties")
    if isinstance(properties, dict):
        for name, child in properties.items():
            yield (*path, "properties", name), child
    items = node.get("items")
    if isinstance(items, dict):
        yield (*path, "items"), items
    for keyword in ("anyOf", "prefixItems"):
        branches = node.get(keyword)
        if isinstance(branches, list):
            for i, child in enumerate(branches):
                yield (*path, keyword, i), child


def _definitions(node: dict[str, Any], path: Path) -> Iterator[tuple[Path, str, Any]]:
    for keyword in ("$defs", "definitions"):
        defs = node.get(keyword)
        if isinstance(defs, dict):
            for name, child in defs.items():
                yield (*path, keyword, name), name, child


@dataclass
class _Totals:
    properties: int = 0
    enum_values: int = 0
    characters: int = 0


def parameters_problems(root: Any, function: str) -> list[Problem]:
    """The schemas the API refuses in the parameters of any function tool ``function``: a root
    object without ``properties`` (``{}`` for none) and an array without ``items``."""
    if not isinstance(root, dict):
        return []
    out: list[Problem] = []
    if _has_type(root, "object") and "properties" not in root:
        out.append(_refused(function, (), "properties", "object schema missing properties"))
    stack: list[tuple[Path, Any]] = [((), root)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            continue
        if _has_type(node, "array") and "items" not in node and "prefixItems" not in node:
            out.append(_refused(function, path, "items", "array schema missing items"))
        stack.extend(reversed(list(_subschemas(node, path))))
    return out


def _has_type(node: dict[str, Any], name: str) -> bool:
    kind = node.get("type")
    return kind == name or (isinstance(kind, list) and name in kind)


def _refused(function: str, path: Path, keyword: str, says: str) -> Problem:
    context = tuple(str(part) for part in path)
    return Problem(
        path,
        "function-parameters",
        f'"{keyword}"' + (" ({} for none)" if keyword == "properties" else ""),
        MISSING,
        f'the API refuses this schema with 400: "Invalid schema for function {function!r}: '
        f'In context={context!r}, {says}."',
    )


def _subschemas(node: dict[str, Any], path: Path) -> Iterator[tuple[Path, Any]]:
    """Every subschema of ``node`` (through any keyword), with its path."""
    for keyword in ("properties", "$defs", "definitions", "patternProperties"):
        children = node.get(keyword)
        if isinstance(children, dict):
            for name, child in children.items():
                yield (*path, keyword, name), child
    for keyword in ("items", "additionalProperties", "not", "if", "then", "else", "contains"):
        child = node.get(keyword)
        if isinstance(child, dict):
            yield (*path, keyword), child
    for keyword in ("anyOf", "oneOf", "allOf", "prefixItems"):
        branches = node.get(keyword)
        if isinstance(branches, list):
            for i, child in enumerate(branches):
                yield (*path, keyword, i), child


def strict_problems(root: Any) -> list[Problem]:
    """Every strict-mode rule ``root`` (a parameters schema) breaks, in document order."""
    if not isinstance(root, dict) or not _is_object(root) or "anyOf" in root:
        found = root.get("type", MISSING) if isinstance(root, dict) else root
        if isinstance(root, dict) and "anyOf" in root:
            found = "anyOf"
        return [
            Problem(
                (),
                "strict-root",
                'an object schema ("type": "object", not anyOf)',
                found if found in (MISSING, "anyOf") else render(found),
                "strict mode needs an object at the root of the parameters schema",
            ),
            *(_walk(root) if isinstance(root, dict) else []),
        ]
    return _walk(root)


def _walk(root: dict[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    totals = _Totals()
    stack: list[tuple[Path, Any]] = [((), root)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            continue
        out.extend(_node_problems(root, path, node, totals))
        children = list(_children(node, path))
        for def_path, name, child in _definitions(node, path):
            totals.characters += len(name)
            children.append((def_path, child))
        stack.extend(reversed(children))
    if totals.properties > MAX_PROPERTIES:
        out.append(
            Problem(
                (),
                "strict-properties-limit",
                f"at most {MAX_PROPERTIES:,} properties in all",
                f"{totals.properties:,}",
                "strict mode limits the number of object properties in a schema",
            )
        )
    if totals.enum_values > MAX_ENUM_VALUES:
        out.append(
            Problem(
                (),
                "strict-enum-limit",
                f"at most {MAX_ENUM_VALUES:,} enum values in all",
                f"{totals.enum_values:,}",
                "strict mode limits the number of enum values in a schema",
            )
        )
    if totals.characters > MAX_STRING_LENGTH:
        out.append(
            Problem(
                (),
                "strict-string-limit",
                f"at most {MAX_STRING_LENGTH:,} characters of names, enum and const values",
                f"{totals.characters:,}",
                "strict mode limits the total length of property names, definition names, "
                "enum values and const values",
            )
        )
    depth, deepest = _Depth(root).deepest()
    if depth > MAX_DEPTH:
        out.append(
            Problem(
                deepest,
                "strict-depth-limit",
                f"at most {MAX_DEPTH} levels of nested objects",
                f"{depth} levels",
                "strict mode limits how deep objects nest",
            )
        )
    return out


def _node_problems(
    root: dict[str, Any], path: Path, node: dict[str, Any], totals: _Totals
) -> Iterator[Problem]:
    for keyword in UNSUPPORTED:
        if keyword in node:
            yield Problem(
                (*path, keyword),
                "strict-keyword",
                f"no {keyword} (strict mode does not support it)",
                render(node[keyword], 60),
                f"strict mode refuses the {keyword} keyword",
            )
    if not any(keyword in node for keyword in _TYPED_BY):
        context = tuple(str(part) for part in path)
        yield Problem(
            path,
            "strict-type",
            'a "type" (or anyOf, $ref)',
            MISSING,
            "strict mode needs a type on every schema; the API refuses one without with 400: "
            f"\"In context={context!r}, schema must have a 'type' key.\"",
        )
    ref = node.get("$ref")
    if isinstance(ref, str) and _resolve(root, ref) is None:
        yield Problem(
            (*path, "$ref"),
            "strict-ref",
            "a reference into this schema (#, #/$defs/...)",
            render(ref),
            "strict mode resolves only references within the schema itself",
        )
    if _is_object(node):
        properties = node.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        additional = node.get("additionalProperties", MISSING)
        if additional is not False:
            yield Problem(
                (*path, "additionalProperties"),
                "strict-additional-properties",
                "false",
                additional if additional == MISSING else render(additional),
                'strict mode needs "additionalProperties": false on every object',
            )
        required = node.get("required")
        required = required if isinstance(required, list) else []
        for name in properties:
            if name not in required:
                yield Problem(
                    (*path, "properties", name),
                    "strict-required",
                    'listed in "required"',
                    "not listed",
                    f"strict mode needs every property required; for an optional {name!r} "
                    'list it and allow null ("type": [..., "null"])',
                )
        totals.properties += len(properties)
        totals.characters += sum(len(name) for name in properties)
    enum = node.get("enum")
    if isinstance(enum, list):
        totals.enum_values += len(enum)
        length = sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in enum)
        totals.characters += length
        if len(enum) > LARGE_ENUM and length > LARGE_ENUM_LENGTH:
            yield Problem(
                (*path, "enum"),
                "strict-enum-size",
                f"at most {LARGE_ENUM_LENGTH:,} characters in an enum of over {LARGE_ENUM} values",
                f"{length:,} characters in {len(enum)} values",
                "strict mode limits the length of large enums",
            )
    const = node.get("const")
    if isinstance(const, str):
        totals.characters += len(const)


def _resolve(root: dict[str, Any], ref: str) -> Any:
    """The subschema a local ``$ref`` points at, or ``None``."""
    if not ref.startswith("#"):
        return None
    node: Any = root
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


class _Depth:
    """The deepest object nesting of a schema and the path where it is reached.

    ``$ref``s are followed, except a recursive one (a reference to a target already being
    walked on the way there: its depth is the model's choice). The deepest path is thus the
    longest one that enters each target at most once. Walking every path would take time
    exponential in the number of shared references (a model used by several fields of a model
    used by several fields...), so a target's depth is measured once and kept, relative to where
    it is entered. The depth of a target depends on which references are blocked on the way
    there only through those in its group of mutually recursive definitions (a blocked one it
    cannot reach changes nothing), so that part of the blocked set is part of the key: the
    result is exact, and linear in the schema for references without mutual recursion. A group
    of more than :data:`_EXACT_GROUP` mutually recursive definitions, whose exact measure takes
    time exponential in its size, is measured once per target, from the first way in.
    """

    __slots__ = ("_groups", "_kept", "_root")

    def __init__(self, root: dict[str, Any]) -> None:
        self._root = root
        self._groups = _recursive_groups(root)
        self._kept: dict[tuple[str, frozenset[str]], tuple[int, Path]] = {}

    def deepest(self) -> tuple[int, Path]:
        return self._walk(self._root, (), 0, frozenset())

    def _walk(self, node: Any, path: Path, level: int, refs: frozenset[str]) -> tuple[int, Path]:
        if not isinstance(node, dict):
            return level, path
        if _is_object(node):
            level += 1
        best = (level, path)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in refs:
            found = self._follow(ref, path, level - _is_object(node), refs)
            if found is not None:
                best = max(best, found, key=lambda pair: pair[0])
        for child_path, child in _children(node, path):
            found = self._walk(child, child_path, level, refs)
            best = max(best, found, key=lambda pair: pair[0])
        return best

    def _follow(
        self, ref: str, path: Path, level: int, refs: frozenset[str]
    ) -> tuple[int, Path] | None:
        target = _resolve(self._root, ref)
        if target is None:
            return None
        group = self._groups.get(ref, frozenset())
        key = (ref, refs & group if len(group) <= _EXACT_GROUP else frozenset())
        kept = self._kept.get(key)
        if kept is None:
            kept = self._kept[key] = self._walk(target, (), 0, refs | {ref})
        return level + kept[0], (*path, *kept[1])


def _refs_under(node: Any) -> Iterator[str]:
    """The ``$ref`` strings of ``node`` and of the subschemas under it (not followed)."""
    stack = [node]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        stack.extend(child for _, child in _children(node, ()))


def _recursive_groups(root: dict[str, Any]) -> dict[str, frozenset[str]]:
    """Each reference reachable from ``root``, with the references that reach it and that it
    reaches (its strongly connected component, by Tarjan's algorithm)."""
    edges: dict[str, list[str]] = {}
    pending = list(_refs_under(root))
    while pending:
        ref = pending.pop()
        if ref in edges:
            continue
        target = _resolve(root, ref)
        edges[ref] = [] if target is None else list(_refs_under(target))
        pending.extend(edges[ref])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: dict[str, frozenset[str]] = {}

    def connect(ref: str) -> None:
        index[ref] = low[ref] = len(index)
        stack.append(ref)
        on_stack.add(ref)
        for other in edges[ref]:
            if other not in index:
                connect(other)
                low[ref] = min(low[ref], low[other])
            elif other in on_stack:
                low[ref] = min(low[ref], index[other])
        if low[ref] == index[ref]:
            members: list[str] = []
            while not members or members[-1] != ref:
                members.append(stack.pop())
                on_stack.discard(members[-1])
            group = frozenset(members)
            groups.update(dict.fromkeys(members, group))

    for ref in edges:
        if ref not in index:
            connect(ref)
    return groups
