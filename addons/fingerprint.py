"""fingerprint.py: keyed fingerprints (HMAC-SHA256) of sensitive values, and their canonical form.

Invariant: the same value, however it was written (separators, fullwidth digits, zero-width
characters), gives the same fingerprint under one key; the key never leaves this object.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from pathlib import Path

_SEPARATORS = re.compile(r"[\s\-./()]+")
_SPACE = re.compile(r"\s+")
_DIGIT = re.compile(r"[0-9]")
KEY_BYTES = 32


def canonical(value: str) -> str:
    """The form a value is fingerprinted in: NFKC, no format characters; digit runs without separators."""
    if value.isascii():
        text = value
    else:
        text = unicodedata.normalize("NFKC", value)
        text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    if len(text) <= 64 and _DIGIT.search(text):
        digits = _SEPARATORS.sub("", text)
        if len(digits) >= 6 and digits.isascii() and digits.isdigit():
            return digits
    return _SPACE.sub("", text) if _SPACE.search(text) else text


class Fingerprinter:
    """HMAC-SHA256 over the canonical value with a per-deployment key, identified by `key_id`."""

    __slots__ = ("_key", "key_id")

    def __init__(self, key: bytes, key_id: str | None = None):
        if len(key) < 16:
            raise ValueError("fingerprint key must be at least 16 bytes")
        self._key = key
        self.key_id = key_id or key_id_of(key)

    def fingerprint(self, value: str) -> str:
        return self.of_canonical(canonical(value))

    def of_canonical(self, canon: str) -> str:
        """The fingerprint of a value already in canonical form (see `canonical`)."""
        return hmac.digest(self._key, canon.encode("utf-8", "replace"), "sha256").hex()

    def fingerprint_folded(self, value: str) -> str:
        """Case-insensitive variant (exact data match): canonical value, then casefold."""
        return hmac.digest(self._key, canonical(value).casefold().encode("utf-8", "replace"), "sha256").hex()

    def __repr__(self) -> str:
        return f"Fingerprinter(key_id={self.key_id!r})"

    @classmethod
    def ephemeral(cls) -> Fingerprinter:
        """A random key, for self-tests whose fingerprints are never stored."""
        return cls(secrets.token_bytes(KEY_BYTES))


def key_id_of(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def load_or_create_key(path: Path) -> Fingerprinter:
    """Read the key file (raw bytes, or 64 hex chars); create a random 32-byte key (mode 0600) if missing."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.hex().encode() + b"\n")
        return Fingerprinter(key)
    data = path.read_bytes()
    stripped = data.strip()
    if len(stripped) >= 32 and re.fullmatch(rb"[0-9a-fA-F]+", stripped) and len(stripped) % 2 == 0:
        key = bytes.fromhex(stripped.decode())
    else:
        key = data
    return Fingerprinter(key)
