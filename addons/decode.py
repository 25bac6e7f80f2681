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

from addons.matchers import ANCHOR_START
from addons.matchers import Confirmer
from addons.matchers import re2_compile
from addons.normalize import OffsetMap
from addons.normalize import View
from addons.normalize import ViewBuilder
from addons.normalize import char_offsets
from addons.normalize import fold

MAX_DEPTH = 2
DECODE_BUDGET = 256 * 1024  # decoded characters per segment, all kinds and depths together
MAX_RUNS = 2000  # encoded runs considered per kind and level
MAX_RUN = 64 * 1024  # longest encoded run decoded
SAMPLE = 4096  # characters of a longer run decoded to tell text (reported as not inspected) from binary
CONTEXT = 256  # characters of source kept around decoded runs in large texts
WHOLE_TEXT = 8192  # below this size the decoded view is the whole text

# Candidates. base64 and hex runs are only worth decoding when they encode text, and text has a
# shape: in base64 of ASCII text every 4-character group starts with [C-DI-Za-f] (the top six
# bits of a byte 0x09-0x7e) followed by [AC-HQS-Xgi-nwy-z0-3]; in hex every byte starts with 2-7
# (or is \\t \\n \\r). Random ids, hashes and identifiers rarely have that shape, so the
# candidate search stays cheap. Text in other scripts is found through its ASCII stretches: a card
# number, an id or a key inside base64 of Chinese or Russian text is 12+ ASCII bytes, so its quads
# have the shape, the run is grown to the whole token and decoded as UTF-8 (tests/test_scan.py).
_B64_QUAD = r"[C-DI-Za-f][AC-HQS-Xgi-nwy-z0-3][A-Za-z0-9+/_\-]{2}"
_B64_SHAPE = rf"(?:{_B64_QUAD}){{4,}}"
_HEX_SHAPE = r"(?:[2-7][0-9A-Fa-f]|0[9aAdD]){8,}|(?:\\x(?:[2-7][0-9A-Fa-f]|0[9aAdD])){4,}"
_PCT_SHAPE = r"(?:%[0-9A-Fa-f]{2})+"
_UESC_SHAPE = r"(?:\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}|\\u\{[0-9A-Fa-f]{1,6}\}|\\x[0-9A-Fa-f]{2})+"
_HTML_SHAPE = r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"

# hyperscan triggers (one pass, SINGLEMATCH): a decoder runs only when its trigger fired
# base64 and hex report where a run ends (see HINTED: the run is grown back from there), once per run:
# a pattern ending anywhere inside a run fired at every character of a long one (a base64 document).
TRIGGERS: dict[str, bytes] = {  # the rest fire once per scan
    "base64": _B64_QUAD.encode() * 4 + rb"[A-Za-z0-9+/_\-]*(?:[^A-Za-z0-9+/_\-]|$)",
    "hex": rb"(?:[2-7][0-9A-Fa-f]|0[9aAdD]){8}[0-9A-Fa-f]*(?:[^0-9A-Fa-f]|$)|(?:\\x[0-9A-Fa-f]{2}){4}",
    "percent": rb"%[0-9A-Fa-f]{2}",
    "unicode-escape": rb"\\[uU][0-9A-Fa-f{]|\\x[0-9A-Fa-f]{2}",
    "html": _HTML_SHAPE.encode(),
}
_B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
_HEX_CHARS = "0123456789abcdefABCDEF"
HINTED = ("base64", "hex")  # kinds whose trigger reports where runs end (the caller passes them as hints)
RUN_BYTES = {"base64": frozenset(_B64_CHARS.encode()), "hex": frozenset(_HEX_CHARS.encode())}
_ONE_ESC = re.compile(r"\\u\{([0-9A-Fa-f]{1,6})\}|\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})|\\x([0-9A-Fa-f]{2})")
_PRINTABLE = bytes(sorted(frozenset(range(0x20, 0x7F)) | {9, 10, 13}))


def _text_ok(data: bytes) -> str | None:
    """Decoded bytes as text when they look like text (at least 4 bytes, see `printable_text`), else None."""
    return printable_text(data) if len(data) >= 4 else None


def printable_text(data: bytes) -> str | None:
    """The bytes as text when they read as text (valid UTF-8, at least 90 % printable), else None."""
    if data.isascii():
        bad = len(data.translate(None, _PRINTABLE))
        return data.decode("ascii") if bad * 10 <= len(data) else None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    bad = sum(1 for c in text if not (c.isprintable() or c in "\t\r\n"))
    return text if bad * 10 <= len(text) else None


_PROBE = 64  # characters looked at first when growing a run; each further look is four times longer


def _extend(text: str, start: int, end: int, chars: str, tail: str = "") -> tuple[int, int]:
    """Grow a candidate to the whole token of `chars` (plus trailing `tail` chars, e.g. '=' padding), at
    most MAX_RUN characters each way. Looks at growing pieces: most tokens are short, and copying
    MAX_RUN characters each way cost more than the decoding itself in large texts."""
    floor, lo, step = max(0, start - MAX_RUN), start, _PROBE
    while lo > floor:
        piece = text[max(floor, lo - step):lo]
        kept = piece.rstrip(chars)
        lo -= len(piece) - len(kept)
        if kept:
            break
        step *= 4
    ceiling, hi, step = min(len(text), end + MAX_RUN), end, _PROBE
    while hi < ceiling:
        piece = text[hi:min(ceiling, hi + step)]
        kept = piece.lstrip(chars)
        hi += len(piece) - len(kept)
        if kept:
            break
        step *= 4
    if tail:
        right = text[hi:hi + 2]
        hi += len(right) - len(right.lstrip(tail))
    return lo, hi


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
    "base64": (re2_compile(_B64_SHAPE), _base64, _B64_CHARS, "="),
    "hex": (re2_compile(_HEX_SHAPE), _hex, _HEX_CHARS, ""),
    "percent": (re2_compile(_PCT_SHAPE), _percent, None, ""),
    "unicode-escape": (re2_compile(_UESC_SHAPE), _uesc, None, ""),
    "html": (re2_compile(_HTML_SHAPE), _html, None, ""),
}


_MARKS = {"percent": b"%", "unicode-escape": b"\\", "html": b"&"}  # the byte every match starts with
_MAX_MARKS = 1000  # marker bytes tried one by one before one plain RE2 pass over the rest


def _matches(rx, data: bytes, mark: bytes | None) -> list[tuple[int, int]]:
    """Byte spans of RE2 matches in `data`, in order. With `mark` (the byte every match starts with), the
    marker bytes are found with `bytes.find` and RE2 only runs anchored at them: RE2 does not skip ahead
    to a one-byte prefix by itself (a `%…` pattern runs at ~500 MB/s, `find` at memory speed)."""
    if mark is None:
        return [(sp[0][0], sp[0][1]) for sp in Confirmer(rx, 0, 0).find(data, 0, len(data))]
    out: list[tuple[int, int]] = []
    match, find, size = rx._regexp.Match, data.find, len(data)
    pos, tries = 0, 0
    while True:
        p = find(mark, pos)
        if p < 0:
            return out
        tries += 1
        if tries > _MAX_MARKS:
            return out + [(sp[0][0], sp[0][1]) for sp in Confirmer(rx, 0, 0).find(data, p, size)]
        sp = match(ANCHOR_START, data, p, size)[0]
        if sp[0] >= 0 and sp[1] > sp[0]:
            out.append(sp)
            pos = sp[1]
        else:
            pos = p + 1


def _candidates(rx, text: str, data: bytes | None, mark: bytes | None = None) -> list[tuple[int, int]]:
    """Character spans of RE2 matches in `text` (searched in its UTF-8 bytes `data`)."""
    ascii_ = text.isascii()
    if data is None:
        data = text.encode() if ascii_ else text.encode("utf-8", "replace")
    spans = _matches(rx, data, mark)
    if ascii_ or not spans:
        return spans
    to_char = char_offsets(data, [o for span in spans for o in span])
    return [(to_char[s], to_char[e]) for s, e in spans]


ORDER = ("hex", "base64", "percent", "unicode-escape", "html")


class DecodeBudget:
    """Decoded characters a segment may still produce, all kinds and levels together; `cut` records
    that a bound (this budget, or MAX_RUNS) left encoded runs undecoded."""

    __slots__ = ("cut", "left")

    def __init__(self, left: int = DECODE_BUDGET):
        self.left = left
        self.cut = False


def _one_kind(text: str, kind: str, parent: OffsetMap | None, budget: DecodeBudget,
              data: bytes | None = None, hints: list[int] | None = None):  # fmt: skip
    """(decoded text, offset map, original spans of the decoded runs) or None."""
    rx, decoder, chars, tail = _KINDS[kind]
    runs: list[tuple[int, int, str]] = []
    last = -1
    spans = [(max(0, e - 8), e) for e in hints] if hints is not None else _candidates(rx, text, data, _MARKS.get(kind))
    considered = 0
    for s, e in spans:  # hints: every end of a trigger match, so many per long run (skipped below)
        if chars is not None:
            if s < last:
                continue
            s, e = _extend(text, s, e, chars, tail)
            if s < last:  # the token of the run before: its other hints are skipped
                last = max(last, e)
                continue
        if considered >= MAX_RUNS or budget.left <= 0:
            budget.cut = True
            break
        considered += 1
        last = e
        if e - s > MAX_RUN:  # too long to decode; noted when it holds text (an image's base64 does not)
            head = len(text[:s].rstrip(chars)) if chars is not None else s  # where the token starts
            if decoder(text[head:head + SAMPLE]) is not None:
                budget.cut = True
            continue
        run = text[s:e]
        out = decoder(run)
        if out is None or out == run:
            continue
        budget.left -= len(out)
        runs.append((s, e, out))
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
    spans = tuple(parent.span(s, e) if parent is not None else (s, e) for s, e, _ in runs)
    return (*folded, spans) if folded is not None else (decoded, omap, spans)


def decoded_views(
    text: str,
    kinds: Iterable[str] | None = None,
    *,
    depth: int = MAX_DEPTH,
    budget: int | DecodeBudget = DECODE_BUDGET,
    data: bytes | None = None,
    hints: dict[str, list[int]] | None = None,
    parent: OffsetMap | None = None,
    chain: str = "",
) -> list[View]:
    """Decoded views of `text` (kinds: the triggers that fired; None = try all), nested up to `depth`.
    `data` is `text` in UTF-8; `hints` gives, per kind, character offsets where a run of it ends.
    `parent` and `chain` continue a decoded view: `text` is that view's, `parent` its offset map and
    `chain` its kinds (`percent` for `decoded:percent`); a shared `budget` bounds all the calls for a
    segment together."""
    left = budget if isinstance(budget, DecodeBudget) else DecodeBudget(budget)
    out: list[View] = []
    todo: list[tuple[str, OffsetMap | None, str, int]] = [(text, parent, chain, 1)]
    wanted = set(ORDER if kinds is None else kinds)
    while todo:
        src, omap, chain, level = todo.pop(0)
        for kind in ORDER:
            if kind not in wanted:
                continue
            if left.left <= 0:
                left.cut = True
                continue
            hint = (hints or {}).get(kind) if level == 1 else None
            res = _one_kind(src, kind, omap, left, data if level == 1 else None, hint)
            if res is None:
                continue
            name = f"decoded:{chain + '+' if chain else ''}{kind}"
            out.append(View(name, res[0], res[1], res[2]))
            if level < depth:
                todo.append((res[0], res[1], f"{chain + '+' if chain else ''}{kind}", level + 1))
        wanted = set(ORDER)  # nested levels: any encoding
    return out
