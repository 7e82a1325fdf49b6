"""kill -9 in the middle of a save: the cassette is the previous one, or none, never a part.

A child process records a large response (about 2 MB, so one save takes tens of ms) through a
real ``RecordingTransport`` and saves it by closing the client, once for each version. It says
``saving N`` on its stdout just before it closes the client that holds version N. The parent
waits for those lines on the pipe, and after a random number of them kills the child with
SIGKILL at a random moment within one save's duration (the child measures it first). The kill
moment is the test's random input, not a synchronisation: the assertions hold wherever it
lands. They are the strongest the ordering allows: saves run one after another, so when the
child has announced version N, the file on disk is version N - 1 or N, and if the kill left a
temp file behind it landed inside save N, so the file is version N - 1 (0 being the version
saved before, or no file at all).
"""

from __future__ import annotations

import inspect
import random
import select
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from harness import Cassette

# Bound on every wait for the child: it prints a line every ~50 ms when all is well.
TIMEOUT = 20.0
# Trials end once this many kills have landed inside the write (a temp file was left behind),
# after at least MIN_TRIALS trials and at most MAX_TRIALS. A kill lands there about half the
# time, so a run takes about 6 trials and needing more than MAX_TRIALS is a one in 10^6 event.
WANTED_MID_WRITE = 3
MIN_TRIALS = 6
MAX_TRIALS = 30


def version_body(version: int) -> bytes:
    """The SSE body recorded as version ``version``: about 2 MB, every line naming it."""
    size = 2 << 20
    line = (
        'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
        f'"delta":"version {version} {"x" * 160}"}}\n\n'
    ).encode()
    return line * (size // len(line))


CHILD = (
    inspect.getsource(version_body)
    + '''
import sys, time

import httpx

from harness import RecordingTransport

CHUNK = 64 << 10


def record(path, version):
    """A client whose transport has recorded version ``version``; closing it saves that."""
    data = version_body(version)

    def handler(request):
        chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, content=iter(chunks))

    client = httpx.Client(transport=RecordingTransport(httpx.MockTransport(handler), path))
    body = {"version": version}
    with client.stream("POST", "http://127.0.0.1/v1/responses", json=body) as response:
        for _ in response.iter_raw():
            pass
    return client


path, first = sys.argv[1], sys.argv[2]
client = record(first, 0)
start = time.perf_counter()
client.close()
print(f"ready {time.perf_counter() - start:.6f}", flush=True)
version = 1
while True:
    client = record(path, version)
    print(f"saving {version}", flush=True)
    client.close()
    version += 1
'''
)


@dataclass(frozen=True)
class Trial:
    """What one killed child left: the versions it announced, the cassette and temp files."""

    announced: int  # the last N of "saving N"
    version: int | None  # the version the cassette on disk holds; None: no file
    temp_files: tuple[str, ...]


def read_line(stream: IO[bytes], proc: subprocess.Popen[bytes]) -> str:
    """The child's next stdout line, waiting on the pipe at most TIMEOUT seconds."""
    ready, _, _ = select.select([stream], [], [], TIMEOUT)
    assert ready, f"the child printed nothing for {TIMEOUT}s"
    line = stream.readline()  # unbuffered: reads the line and not a byte more
    if not line:
        pytest.fail(f"the child ended early: {stderr_of(proc)}")
    return line.decode().strip()


def stderr_of(proc: subprocess.Popen[bytes]) -> str:
    proc.wait(timeout=TIMEOUT)
    assert proc.stderr is not None
    return proc.stderr.read().decode(errors="replace")


def recorded_version(path: Path) -> int:
    """The version a cassette holds, after checking it is whole and exactly that version."""
    cassette = Cassette.load(path)  # a truncated or damaged file raises CassetteError
    assert 1 == len(cassette.interactions)
    interaction = cassette.interactions[0]
    version = int(interaction.request.json()["version"])
    assert interaction.response is not None
    assert version_body(version) == interaction.response.body
    assert len(interaction.response.body) == sum(chunk.size for chunk in interaction.chunks)
    return version


def kill_mid_save(folder: Path, rng: random.Random, *, previous: bool, saves: int) -> Trial:
    """Run the child in ``folder``; SIGKILL it during its ``saves``-th announced save.

    With ``previous`` the child first saves version 0 to the cassette; otherwise to a file in
    another folder (to time a save), and the cassette does not exist before version 1.
    """
    folder.mkdir()
    path = folder / "c.yaml"
    first = path if previous else folder.with_name(folder.name + "-first") / "c.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(first)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    try:
        assert proc.stdout is not None
        ready = read_line(proc.stdout, proc)
        assert ready.startswith("ready "), ready
        save_seconds = float(ready.split()[1])
        for n in range(1, saves + 1):
            assert f"saving {n}" == read_line(proc.stdout, proc)
        # The kill moment: anywhere within one save from the announcement of save `saves`.
        # A wait on the child, which must still be running when it ends.
        try:
            code = proc.wait(timeout=rng.uniform(0, save_seconds))
        except subprocess.TimeoutExpired:
            pass
        else:
            pytest.fail(f"the child ended by itself ({code}): {stderr_of(proc)}")
        proc.send_signal(signal.SIGKILL)
        assert -signal.SIGKILL == proc.wait(timeout=TIMEOUT)
        temp_files = tuple(sorted(p.name for p in folder.iterdir() if p.name != "c.yaml"))
        later = proc.stdout.read().decode().splitlines()  # saves it began after `saves`
        announced = saves + len(later)
        assert [f"saving {n}" for n in range(saves + 1, announced + 1)] == later
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=TIMEOUT)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    version = recorded_version(path) if path.exists() else None
    return Trial(announced, version, temp_files)


def check(trial: Trial, *, previous: bool) -> None:
    """The cassette on disk is the last version saved whole, or the one being saved."""
    before = trial.announced - 1 if previous or trial.announced > 1 else None
    # At most one temp file, with the documented hidden name, which no *.yaml glob matches.
    assert len(trial.temp_files) <= 1, trial
    assert all(n.startswith(".c.yaml.") and n.endswith(".tmp") for n in trial.temp_files), trial
    if trial.temp_files:  # killed inside save N, before its rename: N - 1 is on disk
        assert before == trial.version, trial
    else:
        assert trial.version in (before, trial.announced), trial


def run_trials(tmp_path: Path, *, previous: bool, seed: int) -> list[Trial]:
    rng = random.Random(seed)
    trials: list[Trial] = []
    while len(trials) < MAX_TRIALS and (
        len(trials) < MIN_TRIALS or sum(bool(t.temp_files) for t in trials) < WANTED_MID_WRITE
    ):
        saves = rng.randint(1, 3) if previous else 1
        trial = kill_mid_save(tmp_path / f"t{len(trials)}", rng, previous=previous, saves=saves)
        check(trial, previous=previous)
        trials.append(trial)
    # Otherwise the kills all missed the write, and the test proved nothing about it.
    assert WANTED_MID_WRITE <= sum(bool(t.temp_files) for t in trials), trials
    return trials


def test_kill_during_save_leaves_the_previous_cassette_or_the_new_one(tmp_path: Path) -> None:
    """SIGKILL in the middle of a save over an existing cassette leaves that cassette or the
    new one, whole; never a partial file, and a leftover temp file is never the cassette."""
    trials = run_trials(tmp_path, previous=True, seed=20240601)
    assert all(t.version is not None for t in trials)


def test_kill_during_first_save_leaves_no_cassette_or_a_whole_one(tmp_path: Path) -> None:
    """SIGKILL in the middle of the very first save leaves no cassette or a whole one."""
    trials = run_trials(tmp_path, previous=False, seed=20240602)
    # A kill inside the write of the only save leaves no cassette at all.
    assert all(t.version is None for t in trials if t.temp_files)


def test_version_bodies_differ() -> None:
    """Every version's body is distinct, so the check of which version is on disk is sharp."""
    assert 4 == len({version_body(v) for v in range(4)})
