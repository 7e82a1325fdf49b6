"""The command line: `harness replay` on fixture files, and its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "function_call.sse"


def test_replay_prints_one_readable_line_per_event() -> None:
    """`harness replay` streams the bundled fixture through the client, one line per event."""
    result = CliRunner().invoke(main, ["replay", str(FIXTURE)])
    assert 0 == result.exit_code, result.output
    lines = result.output.splitlines()
    assert 11 == len(lines)
    assert lines[0].startswith("Created ")
    assert 'function_call get_capital({"country":"France"})' in lines[-2]
    assert lines[-1].endswith("tokens: 271 total")


def test_replay_json_prints_the_wire_json_of_each_event() -> None:
    """`--json` prints each event's wire JSON, one object per line."""
    result = CliRunner().invoke(main, ["replay", "--json", str(FIXTURE)])
    assert 0 == result.exit_code, result.output
    types = [json.loads(line)["type"] for line in result.output.splitlines()]
    assert "response.created" == types[0]
    assert "response.completed" == types[-1]


def test_replay_of_a_missing_file_is_one_line_and_exit_1() -> None:
    """A missing fixture gives one line naming the file, exit code 1, no traceback."""
    result = CliRunner().invoke(main, ["replay", "no/such.sse"])
    assert 1 == result.exit_code
    assert "harness: cannot read SSE fixture no/such.sse: No such file or directory\n" == (
        result.output
    )


def test_replay_of_a_truncated_stream_names_the_file_and_the_problem(tmp_path: Path) -> None:
    """A fixture cut before response.completed ends with the seed's error, exit code 1."""
    cut = tmp_path / "cut.sse"
    cut.write_bytes(FIXTURE.read_bytes()[:2000])
    result = CliRunner().invoke(main, ["replay", str(cut)])
    assert 1 == result.exit_code
    assert (
        f"harness: {cut}: stream closed before response.completed\n"
        == (result.output.splitlines(keepends=True)[-1])
    )
    assert "Traceback" not in result.output
