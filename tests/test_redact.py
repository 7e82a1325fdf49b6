"""Redaction and the scanner, without any I/O."""

from __future__ import annotations

import pytest

from harness import Redactor, scan
from harness._redact import REDACTED

KEY = "sk-proj-abcdefghijklmnopqrstuvwx"


def redactor(*secrets: str) -> Redactor:
    return Redactor(secrets=set(secrets))


def test_secret_headers_are_redacted_and_their_values_learned() -> None:
    """Authorization and friends are replaced; the bearer token becomes a known secret."""
    r = redactor()
    headers = r.headers(
        [
            ("Authorization", f"Bearer {KEY}"),
            ("OpenAI-Organization", "org-12345678"),
            ("Content-Type", "application/json"),
        ]
    )
    assert [
        ("authorization", REDACTED),
        ("openai-organization", REDACTED),
        ("content-type", "application/json"),
    ] == headers
    assert f"echo {REDACTED} from {REDACTED}" == r.text(f"echo {KEY} from org-12345678")


def test_short_values_are_redacted_in_headers_but_not_replaced_everywhere() -> None:
    """A test key like "k" is redacted in its header, never in every body ("keep" stays)."""
    r = redactor()
    assert [("authorization", REDACTED)] == r.headers([("authorization", "Bearer k")])
    assert "keep" == r.text("keep")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://h/v1/x?api_key={KEY}&a=1", f"https://h/v1/x?api_key={REDACTED}&a=1"),
        ("https://user:hunter2hunter2@h/v1", f"https://{REDACTED}@h/v1"),
        ("https://h/v1?token=abc&TOKEN=def&x", f"https://h/v1?token={REDACTED}&TOKEN={REDACTED}&x"),
        ("https://h/v1?a=1&b=2", "https://h/v1?a=1&b=2"),
    ],
)
def test_urls_lose_userinfo_and_token_like_query_values(url: str, expected: str) -> None:
    """Userinfo and token-like query parameters are redacted; other parameters are untouched."""
    assert expected == redactor().url(url)


def test_body_redaction_moves_chunk_boundaries_with_the_text() -> None:
    """Boundaries after a secret shift by the length change; one inside it moves past it."""
    body = f"ab{KEY}cd{KEY}".encode()
    out, moved = redactor(KEY).body(body, [1, 2, 10, 2 + len(KEY), len(body)])
    assert f"ab{REDACTED}cd{REDACTED}".encode() == out
    assert [1, 2, 2 + len(REDACTED), 2 + len(REDACTED), len(out)] == moved


def test_overlapping_secrets_are_replaced_longest_first() -> None:
    """A secret containing another is replaced whole."""
    assert f"x{REDACTED}y".encode() == redactor(KEY, KEY[:12]).body(f"x{KEY}y".encode())[0]


def test_scan_finds_known_secrets_and_key_shaped_tokens_with_their_place() -> None:
    """The scanner reports line, column, kind and a masked excerpt, never the whole secret."""
    data = f"ok\n  {KEY}\nAuthorization: Bearer abc123defghij\nmy-own-secret-value\n".encode()
    findings = scan(data, ["my-own-secret-value"])
    assert [(2, 3, "key-shaped token"), (3, 16, "key-shaped token"), (4, 1, "known secret")] == [
        (f.line, f.column, f.kind) for f in findings
    ]
    assert all(KEY not in str(finding) for finding in findings)


def test_scan_accepts_redacted_values() -> None:
    """Redacted placeholders are not findings."""
    assert [] == scan(f"Authorization: Bearer {REDACTED}\n{REDACTED}".encode(), [])
