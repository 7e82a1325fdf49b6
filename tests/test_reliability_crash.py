"""200 randomized kill -9 of recording processes in the middle of saves: no partial cassette.

Each trial is one child process of tests/test_record_crash.py: it records a 2 MB response
through a real ``RecordingTransport`` and saves it, version after version, announcing each save
on a pipe; the parent SIGKILLs it at a random moment within one save's duration after a random
number of announcements. Half the trials save over an existing cassette, half kill the very
first save. After every kill the cassette on disk must load completely and be exactly one of
the versions written (the last one saved whole, or the one being saved), or be absent when no
save had finished; a leftover temp file means the kill landed inside the write, and then the
file must be the previous version. ``CassetteError`` is counted as a rejection (there should be
none: the write is atomic), and a load of anything else fails the test at once.

Trials run several at a time (each is a process; the parent only waits on pipes), so the
default 200 kills take well under a minute. ``HARNESS_RELIABILITY_KILLS`` sets another count.
"""

from __future__ import annotations

import concurrent.futures
import os
import random
import time
from collections import Counter
from pathlib import Path

from harness import CassetteError
from tests.test_record_crash import Trial, check, kill_mid_save

KILLS = int(os.environ.get("HARNESS_RELIABILITY_KILLS", "200"))
# Children at once: each spends most of its life starting up and writing, so a few per core.
PARALLEL = min(8, max(2, 2 * (os.cpu_count() or 1)))
SEED = 20241127


def trial(folder: Path, number: int) -> tuple[Trial, bool]:
    """Kill trial ``number`` in ``folder``; check it; return it and whether it had a previous
    cassette."""
    rng = random.Random(SEED + number)
    previous = number % 2 == 0
    saves = rng.randint(1, 3) if previous else 1
    result = kill_mid_save(folder / f"t{number}", rng, previous=previous, saves=saves)
    check(result, previous=previous)  # loads whole, and is the version the ordering allows
    return result, previous


def test_two_hundred_kills_leave_no_partial_cassette(tmp_path: Path) -> None:
    """After each of 200 SIGKILLs during saves, the cassette is a whole version or absent:
    zero partial loads, zero rejections, and enough kills land inside the write itself."""
    started = time.monotonic()
    counts: Counter[str] = Counter()
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        futures = [pool.submit(trial, tmp_path, n) for n in range(KILLS)]
        for future in concurrent.futures.as_completed(futures):
            try:
                result, previous = future.result()
            except CassetteError:  # a torn file that was refused: safe, but never expected
                counts["rejected"] += 1
                continue
            counts["kills"] += 1
            counts["mid-write"] += bool(result.temp_files)
            if result.version is None:
                counts["no file"] += 1
            elif result.version == result.announced:
                counts["new version"] += 1
            else:
                counts["previous version"] += 1
            counts["over an existing cassette" if previous else "first save"] += 1
    elapsed = time.monotonic() - started
    print(f"\n{KILLS} kills in {elapsed:.1f} s ({PARALLEL} at a time): {dict(counts)}")
    assert KILLS == counts["kills"]
    assert 0 == counts["rejected"]
    # A kill lands inside the write about a third of the time; fewer than 10% would mean the
    # kills missed the window this test is about.
    assert KILLS // 10 <= counts["mid-write"], counts
