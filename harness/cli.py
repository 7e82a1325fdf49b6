"""The ``harness`` command line: thin over the library.

Errors are one line on stderr naming the file and the problem, with exit code 1 (2 for bad
usage, as click does); never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from harness._client import ModelClient
from harness._events import (
    Completed,
    Created,
    OtherEvent,
    OutputItemAdded,
    OutputItemDone,
    Reconnecting,
    ResponseEvent,
)
from harness._exceptions import FixtureError, HarnessError
from harness._models import FunctionCall, Message, Prompt, ResponseItem, UnknownItem

DEFAULT_FIXTURE = "fixtures/function_call.sse"


def _item(item: ResponseItem) -> str:
    if isinstance(item, Message):
        return f"message[{item.role}] {item.text!r}"
    if isinstance(item, FunctionCall):
        return f"function_call {item.name}({item.arguments}) call_id={item.call_id}"
    if isinstance(item, UnknownItem):
        return f"{item.type} (kept raw{': ' + item.error if item.error else ''})"
    return item.type


def describe(event: ResponseEvent) -> str:
    """One readable line for an event."""
    name = type(event).__name__
    if isinstance(event, Created):
        return f"{name:<27} {event.response_id}"
    if isinstance(event, OutputItemAdded | OutputItemDone):
        return f"{name:<27} {_item(event.item)}"
    if isinstance(event, Completed):
        usage = event.token_usage
        tokens = f"  tokens: {usage.total_tokens} total" if usage else ""
        return f"{name:<27} {event.response_id}{tokens}"
    if isinstance(event, OtherEvent):
        return f"{name:<27} {event.type}"
    if isinstance(event, Reconnecting):
        return f"{name:<27} retry {event.attempt}/{event.max_retries} in {event.delay:.3f}s"
    return f"{name:<27} {getattr(event, 'delta', '')!r}"


@click.group()
@click.version_option(package_name="harness")
def main() -> None:
    """Record and replay streaming OpenAI Responses API sessions, offline and faithfully."""


@main.command()
@click.argument("path", default=DEFAULT_FIXTURE, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One event's wire JSON per line.")
@click.option("--model", default="replay", show_default=True, help="Model named in the payload.")
def replay(path: Path, as_json: bool, model: str) -> None:
    """Stream an SSE fixture file through the client, offline.

    The file goes through the same SSE decoder and event pipeline as a live response.
    Raw event-stream bodies and the Codex one-line-per-field form both work.

    \b
    Examples:
      harness replay fixtures/function_call.sse
      harness replay --json fixtures/text_after_tool.sse
    """
    try:
        with ModelClient(model, fixture=path) as client:
            for event in client.stream(Prompt()):
                if as_json:
                    data = getattr(event, "data", None) or {"type": type(event).__name__}
                    click.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
                else:
                    click.echo(describe(event))
    except FixtureError as exc:  # already names the file
        click.echo(f"harness: {exc}", err=True)
        sys.exit(1)
    except HarnessError as exc:
        click.echo(f"harness: {path}: {exc}", err=True)
        sys.exit(1)
