"""JSON paths and structural differences between JSON values (sans-I/O).

Paths are written ``$.input[1].content``; a key that is not a plain identifier is quoted
(``$.headers["x-request-id"]``). Patterns given to :func:`drop_paths` may use ``[*]`` for any
index and ``.*`` for any key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Change", "differences", "drop_paths", "format_path", "parse_path"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: at ``path``, ``old`` became ``new`` (``None`` when absent on a side)."""

    path: str
    old: Any
    new: Any
    kind: str  # "changed", "added", "removed"

    def __str__(self) -> str:
        if self.kind == "added":
            return f"{self.path}: added {_short(self.new)}"
        if self.kind == "removed":
            return f"{self.path}: removed {_short(self.old)}"
        return f"{self.path}: {_short(self.old)} -> {_short(self.new)}"


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_path(parts: Sequence[str | int]) -> str:
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part)}]")
    return "".join(out)


_TOKEN = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*|\*)|\[(\d+|\*)\]|\["((?:[^"\\]|\\.)*)"\]')


def parse_path(path: str) -> list[str | int]:
    """``$.a[0]["b c"].*`` -> ``["a", 0, "b c", "*"]``; ``ValueError`` for anything else."""
    if not path.startswith("$"):
        raise ValueError(f"a JSON path starts with '$': {path!r}")
    parts: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None:
            raise ValueError(f"malformed JSON path {path!r} at character {pos}")
        name, index, quoted = match.groups()
        if name is not None:
            parts.append(name)
        elif index is not None:
            parts.append("*" if index == "*" else int(index))
        else:
            parts.append(json.loads(f'"{quoted}"'))
        pos = match.end()
    return parts


def drop_paths(value: Any, patterns: Sequence[Sequence[str | int]]) -> Any:
    """A copy of ``value`` without what the (parsed) path patterns select."""
    for pattern in patterns:
        value = _drop(value, list(pattern))
    return value


def _drop(value: Any, pattern: list[str | int]) -> Any:
    if not pattern:
        return value
    head, rest = pattern[0], pattern[1:]
    if isinstance(value, dict):
        keys = list(value) if head == "*" else [head] if head in value else []
        out = dict(value)
        for key in keys:
            if rest:
                out[key] = _drop(value[key], rest)
            else:
                del out[key]
        return out
    if isinstance(value, list):
        indices = range(len(value)) if head == "*" else [head] if isinstance(head, int) else []
        if not rest:
            return [item for i, item in enumerate(value) if i not in set(indices)]
        out_list = list(value)
        for i in indices:
            if 0 <= i < len(value):
                out_list[i] = _drop(value[i], rest)
        return out_list
    return value


def differences(old: Any, new: Any) -> list[Change]:
    """Every difference between two JSON values, in document order."""
    return list(_walk(old, new, []))


def _nan(value: Any) -> bool:
    """NaN (which Python's json reads) is not equal to itself; as data it is the same value."""
    return isinstance(value, float) and value != value


def _walk(old: Any, new: Any, path: list[str | int]) -> Iterator[Change]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            if key in new:
                yield from _walk(old[key], new[key], [*path, key])
            else:
                yield Change(format_path([*path, key]), old[key], None, "removed")
        for key in new:
            if key not in old:
                yield Change(format_path([*path, key]), None, new[key], "added")
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            if i >= len(new):
                yield Change(format_path([*path, i]), old[i], None, "removed")
            elif i >= len(old):
                yield Change(format_path([*path, i]), None, new[i], "added")
            else:
                yield from _walk(old[i], new[i], [*path, i])
    elif (old != new and not (_nan(old) and _nan(new))) or (
        isinstance(old, bool) != isinstance(new, bool)  # true == 1 in Python
    ):
        yield Change(format_path(path), old, new, "changed")
