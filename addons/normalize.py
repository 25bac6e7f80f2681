"""normalize.py: matching views of a text (normalized, spelled-digits) with offset maps back to the original.

Invariants: a view is only produced when its text differs from its source; every view offset maps
to a span of the original text (`OffsetMap.span`); pure-ASCII text without digit words or
line-broken digit runs yields no extra view (fast path).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

# Latin look-alikes NFKC leaves alone (Cyrillic, Greek, a few others), after TR39 confusables.
_CONFUSABLES = {
    # Cyrillic upper
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "У": "Y", "Ѕ": "S", "І": "I", "Ј": "J", "Ԛ": "Q", "Ԝ": "W", "Һ": "H",
    "Ӏ": "I", "Ԁ": "D", "Ꙅ": "S", "З": "3", "Б": "6",
    # Cyrillic lower
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "х": "x", "у": "y", "ѕ": "s", "і": "i", "ј": "j", "ԛ": "q", "ԝ": "w", "һ": "h",
    "ӏ": "l", "ԁ": "d", "ɡ": "g", "ո": "n", "ս": "u", "ь": "b", "г": "r", "п": "n", "ѵ": "v",
    # Greek upper
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Greek lower
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "υ": "u", "χ": "x",
    "ε": "e", "ϲ": "c", "ϳ": "j",
    # Armenian, Cherokee and misc
    "Օ": "O", "օ": "o", "Ꭺ": "A", "Ᏼ": "B", "Ꮯ": "C", "Ꭼ": "E", "Ꮋ": "H", "Ꮶ": "K", "Ꮇ": "M",
    "Ꭱ": "R", "Ꮪ": "S", "Ꭲ": "T", "ı": "i", "ȷ": "j", "ℓ": "l",
}  # fmt: skip

# Separators that may sit inside a digit run to break a pattern (newlines, tabs, exotic spaces).
_BREAKERS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)
_ASCII_BROKEN_DIGITS = re.compile(r"[0-9][ ]?[\t\n\v\f\r]+[ ]?[0-9]")


def _re2(pattern: str):
    from addons.matchers import re2_compile

    return re2_compile(pattern)


_NON_ASCII_RE2 = _re2(r"[^\x00-\x7f]+")


@dataclass(slots=True)
class OffsetMap:
    """Piecewise map from view offsets to original spans; `exact` pieces map 1:1, others to their whole span."""

    vstarts: list[int]
    ostarts: list[int]
    oends: list[int]
    exact: list[bool]
    parent: OffsetMap | None = None  # the map of the view this one was built from

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original span covering view span [start, end)."""
        if end <= start:
            end = start + 1
        i = max(0, bisect.bisect_right(self.vstarts, start) - 1)
        s = self.ostarts[i] + (start - self.vstarts[i]) if self.exact[i] else self.ostarts[i]
        j = max(0, bisect.bisect_right(self.vstarts, end - 1) - 1)
        e = self.ostarts[j] + (end - self.vstarts[j]) if self.exact[j] else self.oends[j]
        s, e = min(s, e), max(s, e)
        return self.parent.span(s, e) if self.parent is not None else (s, e)


class ViewBuilder:
    """Builds a view's text from copies and replacements of a source text, recording the offset map."""

    __slots__ = ("_parts", "_vpos", "_m", "source")

    def __init__(self, source: str):
        self.source = source
        self._parts: list[str] = []
        self._vpos = 0
        self._m = OffsetMap([], [], [], [])

    def _piece(self, text: str, ostart: int, oend: int, exact: bool) -> None:
        if not text:
            return
        self._parts.append(text)
        self._m.vstarts.append(self._vpos)
        self._m.ostarts.append(ostart)
        self._m.oends.append(oend)
        self._m.exact.append(exact)
        self._vpos += len(text)

    def copy(self, start: int, end: int) -> None:
        self._piece(self.source[start:end], start, end, True)

    def replace(self, start: int, end: int, text: str) -> None:
        if text == self.source[start:end]:
            self.copy(start, end)
        else:
            self._piece(text, start, end, False)

    def build(self, parent: OffsetMap | None = None) -> tuple[str, OffsetMap]:
        self._m.parent = parent
        return "".join(self._parts), self._m


class View(NamedTuple):
    """A text to match in; `omap` None means the text is the segment's original text. A named tuple:
    the scanner makes one per segment per request, and a tuple is built in a third of the time."""

    name: str
    text: str
    omap: OffsetMap | None = None
    runs: tuple[tuple[int, int], ...] = ()  # decoded views: original spans of the decoded runs

    def span(self, start: int, end: int) -> tuple[int, int]:
        return (start, end) if self.omap is None else self.omap.span(start, end)


def char_offsets(data: bytes, offsets: list[int]) -> dict[int, int]:
    """UTF-8 byte offsets (at character boundaries) → character offsets, in one forward pass."""
    out: dict[int, int] = {}
    prev = count = 0
    for o in sorted(set(offsets)):
        count += len(data[prev:o].decode("utf-8", "replace"))
        out[o] = count
        prev = o
    return out


# ---------------------------------------------------------------------------------------------
# Folding: format chars, combining marks, compatibility forms, confusables, non-ASCII digits


@lru_cache(maxsize=8192)
def fold_char(ch: str) -> str:
    """What one non-ASCII character becomes in the normalized view ('' = removed)."""
    cat = unicodedata.category(ch)
    if cat == "Cf" or cat in ("Mn", "Me") or 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0000 <= ord(ch) <= 0xE0FFF:
        return ""
    if ch in _CONFUSABLES:
        return _CONFUSABLES[ch]
    if cat == "Nd":
        return str(unicodedata.decimal(ch))
    if ch in _BREAKERS:
        return " " if ch in ("\xa0", "\u202f", "\u3000") or 0x2000 <= ord(ch) <= 0x200A else ch
    out = []
    for c in unicodedata.normalize("NFKD", ch):
        if unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        c = _CONFUSABLES.get(c, c)
        if unicodedata.category(c) == "Nd" and not c.isascii():
            c = str(unicodedata.decimal(c))
        out.append(c)
    return "".join(out)


MARGIN = 256  # characters of unchanged text kept around each change in a windowed view
WHOLE_TEXT = 8192  # texts up to this size get a whole-text view rather than windows
GAP = "\n\n"  # between windows, so no match can span two of them

# digits broken by line breaks/tabs: a digit group, then ≥ 1 break + digit group, ending at a boundary
# (so a log line ending "ms=388" followed by "2026-03-14" on the next line is not joined)
BROKEN_RUN = (
    r"(?<![0-9A-Za-z])[0-9]{1,8}(?:[ ]?[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]+[ ]?[0-9]{1,8})+"
    r"(?![0-9A-Za-z:/-])"
)
_BROKEN_RUN = re.compile(BROKEN_RUN)
_BREAK = re.compile(r"[ ]?[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]+[ ]?")


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def windows_around(spots: list[tuple[int, int]], size: int, margin: int = MARGIN) -> list[tuple[int, int]]:
    """Merged [start, end) windows of `margin` around each spot; one whole-text window for small texts."""
    if size <= WHOLE_TEXT:
        return [(0, size)] if spots else []
    out: list[tuple[int, int]] = []
    for s, e in sorted(spots):
        ws, we = max(0, s - margin), min(size, e + margin)
        if out and ws <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], we))
        else:
            out.append((ws, we))
    return out


_BLOCK = 4096


def _non_ascii_blocks(data: bytes) -> list[tuple[int, int]]:
    """Merged byte ranges of the 4 KB blocks `bytes.isascii` says hold non-ASCII bytes (a multi-byte
    character never crosses out of them: its continuation bytes are non-ASCII too)."""
    ranges: list[list[int]] = []
    size = len(data)
    for off in range(0, size, _BLOCK):
        if not data[off:off + _BLOCK].isascii():
            end = min(size, off + _BLOCK)
            if ranges and ranges[-1][1] == off:
                ranges[-1][1] = end
            else:
                ranges.append([off, end])
    return [(a, b) for a, b in ranges]


def non_ascii_runs(data: bytes, blocks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Character spans of the non-ASCII runs of a text (`data` is its UTF-8), found with RE2 (much faster
    than `re`) only in its non-ASCII `blocks` (see _non_ascii_blocks; mostly-ASCII text has few)."""
    from addons.matchers import Confirmer

    find = Confirmer(_NON_ASCII_RE2, 0, 0).find
    spans = [sp[0] for a, b in blocks for sp in find(data, a, b)]
    to_char = char_offsets(data, [o for span in spans for o in span])
    return [(to_char[s], to_char[e]) for s, e in spans]


_ASCII_BYTES = bytes(range(0x80))
DENSE = 256  # a text with a non-ASCII byte per this many bytes (or more) is folded whole, not in windows


def fold_plan(data: bytes, blocks: list[tuple[int, int]]) -> tuple[dict[str, str], re.Pattern[str] | None, int]:
    """How a text's distinct non-ASCII characters fold (`data` is its UTF-8, `blocks` its non-ASCII
    blocks): those that become one other character (a same-length replacement, `str.replace` per
    character), a regex of those that vanish or expand (they need an offset map), and the number of
    non-ASCII bytes. Characters that stay are in neither."""
    non_ascii = b"".join(data[a:b] for a, b in blocks).translate(None, _ASCII_BYTES)
    simple: dict[str, str] = {}
    resized: list[str] = []
    for ch in set(non_ascii.decode("utf-8", "replace")):
        out = fold_char(ch)
        if out == ch:
            continue
        if len(out) == 1:
            simple[ch] = out
        else:
            resized.append(ch)
    rx = re.compile("[" + "".join(re.escape(c) for c in sorted(resized)) + "]+") if resized else None
    return simple, rx, len(non_ascii)


def _fold_window(b: ViewBuilder, text: str, ws: int, we: int, simple: dict[str, str],
                 resized: re.Pattern[str] | None) -> None:  # fmt: skip
    """Append text[ws:we] folded: same-length replacements keep a 1:1 (exact) map."""

    def same_length(s: int, e: int) -> None:
        piece = text[s:e]
        for ch, out in simple.items():
            if ch in piece:
                piece = piece.replace(ch, out)
        b._piece(piece, s, e, True)

    if resized is None:
        same_length(ws, we)
        return
    pos = ws
    for m in resized.finditer(text, ws, we):
        same_length(pos, m.start())
        for i in range(m.start(), m.end()):
            b.replace(i, i + 1, fold_char(text[i]))
        pos = m.end()
    same_length(pos, we)


def fold(text: str, parent: OffsetMap | None = None, spots: list[tuple[int, int]] | None = None,
         data: bytes | None = None):  # fmt: skip
    """The normalized view of `text` (windows around changes in large texts), or None when it equals
    `text`. `spots` are known broken-digit positions (from the caller's trigger pass); None = search."""
    ascii_ = text.isascii()
    blocks: list[tuple[int, int]] = []
    if not ascii_:
        data = text.encode("utf-8", "replace") if data is None else data
        blocks = _non_ascii_blocks(data)  # found once, for the plan and for the runs below
    simple, resized, non_ascii = ({}, None, 0) if ascii_ else fold_plan(data, blocks)  # type: ignore[arg-type]
    changes = bool(simple) or resized is not None
    places: list[tuple[int, int]] = []
    if spots is None:
        if not ascii_ or _ASCII_BROKEN_DIGITS.search(text):
            places.extend(m.span() for m in _BROKEN_RUN.finditer(text))
    else:
        places.extend(spots)
    if not changes and not places:
        return None
    if changes:
        if len(text) <= WHOLE_TEXT or non_ascii * DENSE >= len(data):  # type: ignore[arg-type]
            places = [(0, len(text))]  # small or dense (e.g. French, German, Cyrillic): the whole text
        else:
            places.extend(non_ascii_runs(data, blocks))  # type: ignore[arg-type]
    b = ViewBuilder(text)
    for ws, we in windows_around(places, len(text)):
        if b._vpos:
            b._piece(GAP, ws, ws, False)
        if changes:
            _fold_window(b, text, ws, we, simple, resized)
        else:
            b.copy(ws, we)
    folded, omap = b.build(parent)
    joined = _join_broken_digits(folded, omap) if spots is None or spots else None
    if not changes and joined is None:
        return None
    return joined if joined is not None else (folded, omap)


def _join_broken_digits(text: str, omap: OffsetMap) -> tuple[str, OffsetMap] | None:
    """Remove line breaks and tabs inside digit runs ("4111\\n1111\\n…" → "41111111…")."""
    runs = list(_BROKEN_RUN.finditer(text))
    if not runs:
        return None
    b = ViewBuilder(text)
    pos = 0
    for run in runs:
        for m in _BREAK.finditer(text, run.start(), run.end()):
            b.copy(pos, m.start())
            pos = m.end()
    b.copy(pos, len(text))
    return b.build(omap)


# ---------------------------------------------------------------------------------------------
# Spelled-out digits: "four one one one", "oh", "double seven", "triple zero"

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "nil": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "niner": "9",
}  # fmt: skip
_REPEAT_WORDS = {"double": 2, "triple": 3, "treble": 3}
_WORD_ALT = "|".join(sorted([*_DIGIT_WORDS, *_REPEAT_WORDS], key=len, reverse=True))
# a run: at least three tokens (digit words, digits, repeaters) separated by spaces, commas, hyphens
_TOKEN = rf"(?:{_WORD_ALT}|[0-9])"
_RUN = re.compile(rf"(?i)\b{_TOKEN}(?:[\s,.\-/]{{1,3}}{_TOKEN}){{2,}}\b")
_TOK = re.compile(rf"(?i)\b(?:{_WORD_ALT})\b|[0-9]")
_TRIGGER = re.compile(r"(?i)\b(?:zero|one|two|three|four|five|six|seven|eight|nine|niner|oh|double|triple)\b")


def spell_digits(text: str, parent: OffsetMap | None = None, spots: list[tuple[int, int]] | None = None):
    """Runs of spelled digits turned into digit strings (windows around them in large texts); `spots`
    are digit-word positions from the caller's literal pass (None = search the whole text). None when
    no run of ≥ 4 digits exists."""
    if spots is None:
        if not _TRIGGER.search(text):
            return None
        ranges = [(0, len(text))]
    else:
        ranges = merge_spans([(max(0, s - 100), min(len(text), e + 100)) for s, e in spots])
    runs: list[tuple[int, int, list[tuple[int, int, str]]]] = []
    for ws, we in ranges:
        for run in _RUN.finditer(text, ws, we):
            if runs and run.start() < runs[-1][1]:
                continue
            digits = _spell_run(text, run)
            if digits:
                runs.append((run.start(), run.end(), digits))
    if not runs:
        return None
    return _rewritten(text, [pieces for _, _, pieces in runs], parent)  # separators, "double"/"triple" dropped


def _rewritten(text: str, runs: list[list[tuple[int, int, str]]], parent: OffsetMap | None = None):
    """A view of `text` (windows around the runs in a large text) in which each run, a sorted list of
    (start, end, replacement) pieces, becomes its pieces: the text between a run's pieces is dropped."""
    b = ViewBuilder(text)
    i = 0
    for ws, we in windows_around([(run[0][0], run[-1][1]) for run in runs], len(text)):
        if b._vpos:
            b._piece(GAP, ws, ws, False)
        pos = ws
        while i < len(runs) and runs[i][-1][1] <= we:
            b.copy(pos, runs[i][0][0])
            for s, e, piece in runs[i]:
                b.replace(s, e, piece)
            pos = runs[i][-1][1]
            i += 1
        b.copy(pos, we)
    return b.build(parent)


def _spell_run(text: str, run: re.Match[str]) -> list[tuple[int, int, str]] | None:
    """(start, end, digits) per token of a run, or None when the run is not a spelled number."""
    toks = list(_TOK.finditer(text, run.start(), run.end()))
    if not any(not t.group().isdigit() for t in toks):
        return None
    digits: list[tuple[int, int, str]] = []
    repeat = 1
    for t in toks:
        w = t.group().lower()
        if w in _REPEAT_WORDS:
            repeat = _REPEAT_WORDS[w]
            continue
        d = w if w.isdigit() else _DIGIT_WORDS[w]
        digits.append((t.start(), t.end(), d * repeat))
        repeat = 1
    if sum(len(d) for _, _, d in digits) < 4 or all(w in ("o", "oh") for w in _words(toks)):
        return None
    return digits


def _words(toks: list[re.Match[str]]) -> list[str]:
    return [t.group().lower() for t in toks if not t.group().isdigit()]


# Runs of single characters with whitespace between them: "4 1 1 1 …", "g h p _ …", one per line.
SPACED_MIN = 8  # characters in a run
_SPACED_RUN = re.compile(  # bounded by whitespace, or by punctuation that opens / closes ("(4 5 …, 6.")
    rf"(?<![^\s(\[{{\"'])(?:\S[ \t\r\n\f\v]{{1,3}}){{{SPACED_MIN - 1},}}\S(?![^\s.,;:!?)\]}}\"'])"
)
_SPACED_REACH = 1024  # characters searched on each side of a trigger hit in large texts


def despace(text: str, ends: list[int] | None = None) -> tuple[str, OffsetMap, tuple[tuple[int, int], ...]] | None:
    """The text with the whitespace inside runs of ≥ SPACED_MIN single characters removed ("4 1 1 1 …" →
    "4111…"), windowed in large texts, and the runs' spans; `ends` are trigger hits (None = whole text).
    None when there is no such run."""
    if ends is None:
        ranges = [(0, len(text))]
    else:
        ranges = merge_spans([(max(0, e - _SPACED_REACH), min(len(text), e + _SPACED_REACH)) for e in ends])
    runs: list[tuple[int, int]] = []
    for ws, we in ranges:
        for run in _SPACED_RUN.finditer(text, ws, we):
            if not runs or run.start() >= runs[-1][1]:
                runs.append(run.span())
    if not runs:
        return None
    view, omap = _rewritten(text, [[(k, k + 1, text[k]) for k in range(s, e) if not text[k].isspace()]
                                   for s, e in runs])  # fmt: skip
    return view, omap, tuple(runs)


def build_views(text: str) -> list[View]:
    """raw, then normalized (if different), then spelled-digits (from the normalized text if any)."""
    views = [View("raw", text)]
    folded = fold(text)
    base_text, base_map = text, None
    if folded is not None:
        views.append(View("normalized", folded[0], folded[1]))
        base_text, base_map = folded
    spelled = spell_digits(base_text, base_map)
    if spelled is not None:
        views.append(View("spelled-digits", spelled[0], spelled[1]))
    return views
