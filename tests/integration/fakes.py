"""fakes.py: sensitive-looking values made fresh at run time, so no real or well-known value is ever used."""

from __future__ import annotations

import secrets
import string
import zlib

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_ALNUM = string.ascii_letters + string.digits


def luhn_check_digit(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # doubled: the check digit will sit to the right of this one
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(number: str) -> bool:
    return luhn_check_digit(number[:-1]) == number[-1]


def visa_number() -> str:
    """A random Luhn-valid 16-digit Visa number (4xxx…), never a published test number."""
    while True:
        payload = "4" + secrets.choice("5679") + "".join(secrets.choice(string.digits) for _ in range(13))
        number = payload + luhn_check_digit(payload)
        if len(set(number[1:])) >= 6:  # no 4111…/4242… style repetition
            return number


def grouped(number: str, size: int = 4, sep: str = " ") -> str:
    return sep.join(number[i:i + size] for i in range(0, len(number), size))


def spelled(number: str) -> str:
    """'4532…' → 'four five three two …'."""
    return " ".join(_WORDS[int(d)] for d in number)


def zero_width(number: str, every: int = 2) -> str:
    """U+200B (zero-width space) inside the number every `every` digits."""
    return "\u200b".join(number[i:i + every] for i in range(0, len(number), every))


def _base62(value: int, width: int) -> str:
    out = ""
    while value:
        value, rem = divmod(value, 62)
        out = _BASE62[rem] + out
    return out.rjust(width, "0")


def github_token() -> str:
    """A GitHub classic PAT shape: ghp_ + 30 random alphanumerics + 6-char base62 CRC32 (a valid checksum)."""
    body = "".join(secrets.choice(_ALNUM) for _ in range(30))
    return "ghp_" + body + _base62(zlib.crc32(body.encode()) & 0xFFFFFFFF, 6)


def api_key() -> str:
    """A fake provider API key for SDK clients; short and low-entropy so no secret detector takes it."""
    return "sgtest-" + secrets.token_hex(4)
