"""URL paths are logged without the secrets some services carry in them."""

from __future__ import annotations

import secrets
import string

import pytest

from addons.model import Finding
from addons.urlsafe import safe_path


def token(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


@pytest.mark.parametrize(
    "path",
    ["/", "/v1/chat/completions", "/backend-api/f/conversation", "/api/organizations/completion",
     "/v1beta/models/gemini-2.5-pro:generateContent", "/static/app-bundle-production-minified.js"],
)
def test_ordinary_paths_are_unchanged(path):
    assert safe_path(path) == path


def test_random_tokens_in_paths_are_masked():
    bot = f"{secrets.randbelow(10**9):09d}:{token(35)}"
    key = f"fc-{token(32, string.hexdigits.lower())}"
    assert safe_path(f"/bot{bot}/sendMessage") == f"/bot{bot.split(':')[0]}:<redacted>/sendMessage"
    assert safe_path(f"/{key}/v2/sse") == "/<redacted>/v2/sse"


def test_finding_spans_are_masked():
    secret = token(20)
    path = f"/hooks/{secret}/x"
    start = path.index(secret)
    finding = Finding("secret-x", "secret", "high", 0.9, "url.path", start, start + len(secret), 1, "raw", "…", "0")
    assert safe_path(path, [finding]) == "/hooks/<redacted>/x"
