"""The repository keeps its promises: CI runs the README's command; the public API is whole."""

from __future__ import annotations

import importlib
import re
import types
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """The last command of .ci/run is the README's test command, character for character."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.+?)\n```", readme, flags=re.S)
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line]
    assert "pytest" in blocks[1]
    assert blocks[1] == ci_lines[-1]


def test_readme_opens_with_the_two_commands() -> None:
    """The first two code blocks install-and-run the main job, then install-and-test."""
    readme = (ROOT / "README.md").read_text()
    first, second = re.findall(r"```sh\n(.+?)\n```", readme, flags=re.S)[:2]
    assert first.startswith("python3 -m venv .venv && ")
    assert "harness " in first
    assert second.startswith("python3 -m venv .venv && ")
    assert "pytest" in second


def test_public_api_is_sorted_and_complete() -> None:
    """__all__ is sorted, and every public name in harness/__init__.py is in it."""
    public = {
        name
        for name, value in vars(harness).items()
        # Submodules (cli, pytest_plugin) and pytest's assertion-rewriting helpers aside.
        if not name.startswith(("_", "@")) and not isinstance(value, types.ModuleType)
    }

    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert sorted(harness.__all__, key=kind) == list(harness.__all__)
    assert public | {"__version__"} | set(harness._LAZY) == set(harness.__all__)
    for name, module in harness._LAZY.items():  # the lazy ones resolve to their module's
        assert getattr(importlib.import_module(module), name) is getattr(harness, name)
