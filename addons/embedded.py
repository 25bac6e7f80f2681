"""embedded.py: files an AI API request carries inside its JSON as base64.

Two shapes cover the providers: a `data:` URL in a string (`data:application/pdf;base64,…`, OpenAI's
`file_data` and `image_url`), and an object holding base64 `data` beside its media type (Anthropic's
`source` blocks: `media_type`; Gemini's `inline_data`: `mime_type` / `mimeType`).

Invariant: decoding is bounded (the caller's byte limit is checked before decoding); what does not
decode as base64 stays an ordinary string.
"""

from __future__ import annotations

import binascii
import re

_DATA_URL = re.compile(r"data:([A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+)?(?:;[A-Za-z0-9.+-]+=[^;,]{0,64})*;base64,")
MIME_KEYS = ("media_type", "mime_type", "mimeType")
MIN_CHARS = 64  # shorter base64 is a value (a token, a hash), not a file


def data_url(value: str) -> tuple[str, str] | None:
    """(media type, base64 payload) of a `data:…;base64,` URL, or None."""
    if not value.startswith("data:"):
        return None
    m = _DATA_URL.match(value, 0, 256)
    if m is None or len(value) - m.end() < MIN_CHARS:
        return None
    return (m.group(1) or "").lower(), value[m.end():]


def base64_member(node: dict) -> tuple[str, str] | None:
    """(media type, base64 payload) of an object with base64 `data` beside its media type, or None."""
    payload = node.get("data")
    if type(payload) is not str or len(payload) < MIN_CHARS:
        return None
    for key in MIME_KEYS:
        mime = node.get(key)
        if type(mime) is str:
            return mime.lower(), payload
    return None


def decode(payload: str, limit: int) -> bytes | None:
    """The payload's bytes, or None when it is not strictly base64 (line breaks, the URL-safe alphabet
    and missing padding are accepted) or would decode to more than `limit` bytes."""
    if len(payload) // 4 * 3 > limit or not payload.isascii():
        return None
    text = payload.replace("-", "+").replace("_", "/")
    if not text.isalnum():  # usual base64 has + or /, so look for whitespace only when split finds some
        parts = text.split()
        if len(parts) > 1:
            text = "".join(parts)
    try:
        return binascii.a2b_base64(text + "=" * (-len(text) % 4), strict_mode=True)
    except (binascii.Error, ValueError):
        return None
