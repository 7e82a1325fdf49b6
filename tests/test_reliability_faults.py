"""Faults around the cassette file itself: writes that fail, and many writers and readers on one
path. The file is whole or untouched, never torn, and no temp file is left behind."""

from __future__ import annotations

import concurrent.futures
import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from harness import Cassette, CassetteError, RecordingTransport
from harness.cli import main

TIMEOUT = 30.0


def handler(body: bytes) -> httpx.MockTransport:
    """A transport that streams ``body`` (in 64 KiB pieces) to every request."""
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    return httpx.MockTransport(
        lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=iter(pieces)
        )
    )


def version_body(version: int) -> bytes:
    """About 256 KiB of events, every one naming ``version``."""
    line = f'data: {{"type":"response.output_text.delta","delta":"v{version} {"x" * 90}"}}\n\n'
    return line.encode() * (256 * 1024 // len(line))


def record(path: Path, version: int) -> None:
    """Record ``version`` into ``path`` through a real RecordingTransport; saves on close."""
    with httpx.Client(transport=RecordingTransport(handler(version_body(version)), path)) as client:
        client.post("http://127.0.0.1/v1/responses", json={"version": version}).read()


def test_a_save_that_cannot_be_written_leaves_the_old_cassette_and_no_temp_file(
    tmp_path: Path,
) -> None:
    """A save whose rename fails (the target is now a folder) raises OSError naming the path;
    whatever was there is untouched and no temp file is left."""
    path = tmp_path / "c.yaml"
    path.mkdir()  # the rename over it fails, after the temp file was written
    (path / "keep").write_text("untouched")
    with pytest.raises(IsADirectoryError, match=r"c\.yaml"):
        record(path, 1)
    assert ["c.yaml"] == sorted(p.name for p in tmp_path.iterdir())
    assert "untouched" == (path / "keep").read_text()


def test_harness_record_into_an_impossible_path_is_one_line(tmp_path: Path) -> None:
    """harness record whose cassette cannot be written: one line naming the path, exit 2."""
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(
        main,
        [
            "record",
            "hi",
            "-o",
            str(tmp_path / "file" / "c.yaml"),
            "--base-url",
            "http://127.0.0.1:9/v1",
        ],
        env={"OPENAI_API_KEY": "sk-test", "OPENAI_REQUEST_MAX_RETRIES": "0"},
    )
    assert 2 == result.exit_code, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("harness: "), last
    assert str(tmp_path / "file") in last, last
    assert "Traceback" not in result.output


def test_writers_racing_on_one_path_and_a_reader_never_see_a_torn_file(tmp_path: Path) -> None:
    """8 threads save 64 versions over the same cassette while another thread keeps loading it:
    every load is whole and one of the versions, and the last file is one of them too."""
    path = tmp_path / "c.yaml"
    record(path, 0)
    writers, saves = 8, 8
    done = threading.Event()
    seen: list[int] = []
    errors: list[CassetteError] = []

    def read() -> None:
        while not done.is_set():
            try:
                cassette = Cassette.load(path)
            except CassetteError as exc:
                errors.append(exc)
                continue
            interaction = cassette.interactions[0]
            version = int(interaction.request.json()["version"])
            assert interaction.response is not None
            assert version_body(version) == interaction.response.body
            seen.append(version)

    def write(writer: int) -> None:
        for n in range(saves):
            record(path, 1 + writer * saves + n)

    with concurrent.futures.ThreadPoolExecutor(writers + 1) as pool:
        reader = pool.submit(read)
        for future in [pool.submit(write, w) for w in range(writers)]:
            future.result(timeout=TIMEOUT)
        done.set()
        reader.result(timeout=TIMEOUT)
    assert [] == errors  # never a torn or half-written file
    assert seen  # the reader did read while the writers wrote
    assert 1 <= int(Cassette.load(path).interactions[0].request.json()["version"]) <= 64
    assert ["c.yaml"] == sorted(p.name for p in tmp_path.iterdir())  # no temp file left


def test_recording_through_a_transport_with_read_responses_keeps_the_body(tmp_path: Path) -> None:
    """A response whose body the wrapped transport already read is recorded with that body."""
    body = b'data: {"type":"response.created","response":{"id":"resp_1"}}\n\n'
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    with httpx.Client(transport=RecordingTransport(transport, tmp_path / "c.yaml")) as client:
        assert body == client.post("http://127.0.0.1/v1/responses").content
    response = Cassette.load(tmp_path / "c.yaml").interactions[0].response
    assert response is not None
    assert body == response.body
