"""Sans-I/O retry decisions: which answers to retry, and how long to wait first.

The seed retries 429 and 5xx, honours an integer ``Retry-After`` and otherwise backs off
exponentially with jitter (``codex-rs/core/src/util.rs``: 200 ms doubling, x0.9 to x1.1). We also
read the forms real servers send: fractional seconds, an HTTP-date, ``retry-after-ms``, and
``x-should-retry``, which overrides the status either way (the openai SDKs obey it too).
"""

from __future__ import annotations

import datetime
import email.utils
import random
import re
from collections.abc import Mapping

__all__ = ["backoff", "is_retryable_status", "retry_after"]

INITIAL_DELAY = 0.2
BACKOFF_FACTOR = 2.0

_SECONDS = re.compile(r"\s*(\d+(?:\.\d+)?)\s*")


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): 0.2 s doubling, +-10 %."""
    base = INITIAL_DELAY * BACKOFF_FACTOR ** max(attempt - 1, 0)
    return base * (rng or random).uniform(0.9, 1.1)


def is_retryable_status(status: int, headers: Mapping[str, str]) -> bool:
    """429 and 5xx are retried, unless ``x-should-retry`` says otherwise (in either direction)."""
    override = headers.get("x-should-retry", "").strip().lower()
    if override == "true":
        return True
    if override == "false":
        return False
    return status == 429 or status >= 500


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """The delay in seconds the server asked for, or ``None`` if it asked for none we can read.

    ``retry-after-ms`` wins over ``retry-after``; ``retry-after`` may be seconds (integer or
    fractional) or an HTTP-date, measured against ``now`` (Unix time). A date in the past means
    no wait.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None and (match := _SECONDS.fullmatch(millis)):
        return float(match.group(1)) / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    if match := _SECONDS.fullmatch(value):
        return float(match.group(1))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, origin unknown
        when = when.replace(tzinfo=datetime.UTC)
    return max(when.timestamp() - now, 0.0)
