"""fingerprint.py: keyed fingerprints (HMAC-SHA256) of sensitive values, and their canonical form.

Invariant: the same value, however it was written (separators, fullwidth digits, zero-width
characters), gives the same fingerprint under one key; the key never leaves this object.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from pathlib import Path

_SEPARATORS = re.compile(r"[\s\-./()]+")
_SPACE = re.compile(r"\s+")
_DIGIT = re.compile(r"[0-9]")
KEY_BYTES = 32


_ASCII_SPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what `\s` matches in ASCII text
_ASCII_SEPARATORS = _ASCII_SPACE + b"-./()"


def canonical(value: str) -> str:
    """The form a value is fingerprinted in: NFKC, no format characters; digit runs without separators."""
    if value.isascii():  # fast path, same result as below
        data = value.encode()
        if len(data) <= 64:
            digits = data.translate(None, _ASCII_SEPARATORS)
            if len(digits) >= 6 and digits.isdigit():
                return digits.decode()
        tight = data.translate(None, _ASCII_SPACE)
        return value if len(tight) == len(data) else tight.decode()
    text = unicodedata.normalize("NFKC", value)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    if len(text) <= 64 and _DIGIT.search(text):
        digits = _SEPARATORS.sub("", text)
        if len(digits) >= 6 and digits.isascii() and digits.isdigit():
            return digits
    return _SPACE.sub("", text) if _SPACE.search(text) else text


class Fingerprinter:
    """HMAC-SHA256 over the canonical value with a per-deployment key, identified by `key_id`."""

    __slots__ = ("_inner", "_key", "_outer", "key_id")

    def __init__(self, key: bytes, key_id: str | None = None):
        if len(key) < 16:
            raise ValueError("fingerprint key must be at least 16 bytes")
        self._key = key
        self.key_id = key_id or key_id_of(key)
        # HMAC (RFC 2104) with the keyed inner and outer states computed once: copying them is much
        # cheaper than `hmac.digest`, which sets the key up again for every value
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\x00")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def _hmac(self, data: bytes) -> str:
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def fingerprint(self, value: str) -> str:
        return self.of_canonical(canonical(value))

    def of_canonical(self, canon: str) -> str:
        """The fingerprint of a value already in canonical form (see `canonical`)."""
        return self._hmac(canon.encode("utf-8", "replace"))

    def fingerprint_folded(self, value: str) -> str:
        """Case-insensitive variant (exact data match): canonical value, then casefold."""
        return self._hmac(canonical(value).casefold().encode("utf-8", "replace"))

    def __repr__(self) -> str:
        return f"Fingerprinter(key_id={self.key_id!r})"

    @classmethod
    def ephemeral(cls) -> Fingerprinter:
        """A random key, for self-tests whose fingerprints are never stored."""
        return cls(secrets.token_bytes(KEY_BYTES))


def key_id_of(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


# The key file next to the CA (mitmproxy confdir); the proxy and `shadowgate fingerprint` must agree on it.
DEFAULT_KEY_FILE = "shadowgate-fingerprint.key"


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
