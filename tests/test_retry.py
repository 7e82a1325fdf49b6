"""Retry decisions: which statuses to retry and how long to wait, without any I/O."""

from __future__ import annotations

import random

import pytest

from harness._retry import backoff, is_retryable_status, retry_after

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": " 2 "}, 2.0),
        ({"retry-after": "Tue, 14 Nov 2023 22:13:27 GMT"}, 7.0),
        ({"retry-after": "Tue, 14 Nov 2023 22:13:00 GMT"}, 0.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-1"}, None),
        ({}, None),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    """Integer and fractional seconds, HTTP-dates and retry-after-ms all give seconds."""
    assert expected == retry_after(headers, NOW)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {}, True),
        (500, {}, True),
        (503, {}, True),
        (400, {}, False),
        (404, {}, False),
        (400, {"x-should-retry": "true"}, True),
        (503, {"x-should-retry": "false"}, False),
        (503, {"x-should-retry": "maybe"}, True),
    ],
)
def test_retryable_statuses(status: int, headers: dict[str, str], expected: bool) -> None:
    """429 and 5xx retry; x-should-retry overrides the status either way."""
    assert expected == is_retryable_status(status, headers)


def test_backoff_doubles_from_200ms_with_ten_percent_jitter() -> None:
    """Backoff is 0.2 s * 2^(attempt-1), jittered within +-10 %, as in Codex."""
    rng = random.Random(7)
    for attempt, base in [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (5, 3.2)]:
        delays = [backoff(attempt, rng) for _ in range(200)]
        assert base * 0.9 <= min(delays)
        assert max(delays) <= base * 1.1
        assert max(delays) - min(delays) > base * 0.1  # the jitter is really there
