"""decode.py: bounded decoders (base64, hex, percent, \\u escapes, HTML entities) producing decoded views.

Invariants: a decoded view is the source text with each encoded run replaced by its decoded text
(so keywords and context around it stay visible), mapped back to the encoded run's span; work is
bounded (decoded characters per segment, runs per kind, depth ≤ 2); binary-looking decodings
(base64/hex that are not mostly printable text) are discarded.
"""

from __future__ import annotations

import binascii
import html
import re
from collections.abc import Iterable

from addons.normalize import OffsetMap
from addons.normalize import View
from addons.normalize import ViewBuilder
from addons.normalize import fold

MAX_DEPTH = 2
DECODE_BUDGET = 256 * 1024  # decoded characters per segment, all kinds and depths together
MAX_RUNS = 2000  # encoded runs considered per kind and level
MAX_RUN = 64 * 1024  # longest encoded run decoded
CONTEXT = 256  # characters of source kept around decoded runs in large texts
WHOLE_TEXT = 8192  # below this size the decoded view is the whole text

# hyperscan triggers (one pass, SINGLEMATCH): a decoder runs only when its trigger fired
TRIGGERS: dict[str, bytes] = {
    "base64": rb"[A-Za-z0-9+/_\-]{16}",
    "hex": rb"[0-9A-Fa-f]{16}|(?:\\x[0-9A-Fa-f]{2}){4}",
    "percent": rb"%[0-9A-Fa-f]{2}",
    "unicode-escape": rb"\\[uU][0-9A-Fa-f{]|\\x[0-9A-Fa-f]{2}",
    "html": rb"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});",
}

_B64 = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{16,}={0,2}")
_HEX = re.compile(r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{2}){8,}(?![0-9A-Za-z])|(?:\\x[0-9A-Fa-f]{2}){4,}")
_PCT = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_UESC = re.compile(r"(?:\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}|\\u\{[0-9A-Fa-f]{1,6}\}|\\x[0-9A-Fa-f]{2})+")
_HTML = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ONE_ESC = re.compile(r"\\u\{([0-9A-Fa-f]{1,6})\}|\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})|\\x([0-9A-Fa-f]{2})")
_PRINTABLE = frozenset(range(0x20, 0x7F)) | {9, 10, 13}


def _text_ok(data: bytes) -> str | None:
    """Decoded bytes as text when they look like text (UTF-8, ≥ 90 % printable), else None."""
    if len(data) < 4:
        return None
    if data.isascii():
        bad = len(data.translate(None, bytes(_PRINTABLE)))
        return data.decode("ascii") if bad * 10 <= len(data) else None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    bad = sum(1 for c in text if not (c.isprintable() or c in "\t\r\n"))
    return text if bad * 10 <= len(text) else None


def _base64(run: str) -> str | None:
    body = run.rstrip("=")
    if ("-" in body or "_" in body) and ("+" in body or "/" in body):
        return None
    if len(body) % 4 == 1:
        body = body[:-1]
    if not (any(c.isupper() for c in body) and any(c.islower() or c.isdigit() for c in body)):
        return None  # lower-case identifiers and upper-case constants are not base64 of text
    body = body.replace("-", "+").replace("_", "/")
    try:
        data = binascii.a2b_base64(body + "=" * (-len(body) % 4), strict_mode=False)
    except (binascii.Error, ValueError):
        return None
    return _text_ok(data)


def _hex(run: str) -> str | None:
    digits = run.replace("\\x", "")
    if len(digits) % 2:
        return None
    try:
        return _text_ok(bytes.fromhex(digits))
    except ValueError:
        return None


def _percent(run: str) -> str | None:
    data = bytes.fromhex(run.replace("%", ""))
    return data.decode("utf-8", "replace")


def _uesc(run: str) -> str | None:
    out: list[str] = []
    pending = bytearray()  # \xNN sequences are UTF-8 bytes
    for m in _ONE_ESC.finditer(run):
        if m.group(4) is not None:
            pending.append(int(m.group(4), 16))
            continue
        if pending:
            out.append(pending.decode("utf-8", "replace"))
            pending.clear()
        cp = int(m.group(1) or m.group(2) or m.group(3), 16)
        out.append(chr(cp) if cp <= 0x10FFFF else "\ufffd")
    if pending:
        out.append(pending.decode("utf-8", "replace"))
    text = "".join(out)
    try:  # surrogate pairs written as two \\u escapes
        text = text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _html(run: str) -> str | None:
    out = html.unescape(run)
    return None if out == run else out


_KINDS = {
    "base64": (_B64, _base64),
    "hex": (_HEX, _hex),
    "percent": (_PCT, _percent),
    "unicode-escape": (_UESC, _uesc),
    "html": (_HTML, _html),
}
ORDER = ("hex", "base64", "percent", "unicode-escape", "html")


class _Budget:
    __slots__ = ("left",)

    def __init__(self, left: int):
        self.left = left


def _one_kind(text: str, kind: str, parent: OffsetMap | None, budget: _Budget) -> tuple[str, OffsetMap] | None:
    rx, decoder = _KINDS[kind]
    runs: list[tuple[int, int, str]] = []
    for n, m in enumerate(rx.finditer(text)):
        if n >= MAX_RUNS or budget.left <= 0:
            break
        if m.end() - m.start() > MAX_RUN:
            continue
        out = decoder(m.group())
        if out is None or out == m.group():
            continue
        budget.left -= len(out)
        runs.append((m.start(), m.end(), out))
    if not runs:
        return None
    b = ViewBuilder(text)
    if len(text) <= WHOLE_TEXT:
        windows = [(0, len(text))]
    else:
        windows = []
        for s, e, _ in runs:
            ws, we = max(0, s - CONTEXT), min(len(text), e + CONTEXT)
            if windows and ws <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(windows[-1][1], we))
            else:
                windows.append((ws, we))
    i = 0
    for ws, we in windows:
        if b._vpos:  # noqa: SLF001 - separate windows so matches cannot span them
            b._piece("\n\n", ws, ws, False)  # noqa: SLF001
        pos = ws
        while i < len(runs) and runs[i][1] <= we:
            s, e, out = runs[i]
            b.copy(pos, s)
            b.replace(s, e, out)
            pos = e
            i += 1
        b.copy(pos, we)
    decoded, omap = b.build(parent)
    folded = fold(decoded, omap)
    return folded if folded is not None else (decoded, omap)


def decoded_views(
    text: str,
    kinds: Iterable[str] | None = None,
    *,
    depth: int = MAX_DEPTH,
    budget: int = DECODE_BUDGET,
) -> list[View]:
    """Decoded views of `text` (kinds: the triggers that fired; None = try all), nested up to `depth`."""
    left = _Budget(budget)
    out: list[View] = []
    todo: list[tuple[str, OffsetMap | None, str, int]] = [(text, None, "", 1)]
    wanted = set(ORDER if kinds is None else kinds)
    while todo:
        src, omap, chain, level = todo.pop(0)
        for kind in ORDER:
            if kind not in wanted or left.left <= 0:
                continue
            res = _one_kind(src, kind, omap, left)
            if res is None:
                continue
            name = f"decoded:{chain + '+' if chain else ''}{kind}"
            out.append(View(name, res[0], res[1]))
            if level < depth:
                todo.append((res[0], res[1], f"{chain + '+' if chain else ''}{kind}", level + 1))
        wanted = set(ORDER)  # nested levels: any encoding
    return out
