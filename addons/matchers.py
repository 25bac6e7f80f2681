"""matchers.py: how each detector is located (one hyperscan pass) and confirmed (RE2 in bounded windows).

Invariants: every pattern is confirmed by RE2 (linear time, no backtracking) inside bounded byte
windows; locating is ONE hyperscan pass per batch of views over a database holding the keywordless
patterns, the evasion triggers, keywords, word lists and anchor literals. Every strategy is exact: a
window always covers the whole of any match it can contain (patterns of unbounded width are capped
at WINDOW_CAP). Compiled databases are cached on disk, keyed by everything that went into them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]

import hyperscan as hs
import re2

WINDOW_CAP = 2048  # chars: longest match confirmed for a pattern of unbounded width
KEYWORD_RADIUS = 512  # chars: a keyword-gated match must lie this close to a keyword (as TruffleHog)
SLOW_MBS = 300.0  # a keywordless pattern slower than this alone is located by its anchor literal
SHORT_KEYWORD = 4  # keywords up to this length count only at the start of a word (see `keyword_regex`)
RELAX_BOUND = 32  # RE2 locates with `{m,}` instead of `{m,n}` when n >= this (see `relax`)
UNANCHORED = _ANCHOR = re2._Anchor.UNANCHORED
ANCHOR_START = re2._Anchor.ANCHOR_START
_COMMON = frozenset(" \t\n.,-_/:;'\"()")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@functools.lru_cache(maxsize=4096)
def re2_compile(pattern: str, case_insensitive: bool = False):
    """Compile with RE2 (UTF-8, quiet); raises ValueError with RE2's message. Cached: the loader checks
    a pattern before the scanner compiles it, and compiled RE2 objects are immutable and thread-safe."""
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not case_insensitive
    try:
        return re2.compile(pattern, options)
    except re2.error as e:
        msg = e.args[0].decode(errors="replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(msg) from None


@functools.lru_cache(maxsize=4096)
def _parse(pattern: str):
    try:
        return P.parse(pattern.replace(r"\z", r"\Z"))
    except Exception:
        return None


def max_width(pattern: str) -> int:
    """Longest match in characters (Python's parser reads RE2 syntax closely enough), capped."""
    tree = _parse(pattern)
    return WINDOW_CAP if tree is None else min(int(tree.getwidth()[1]), WINDOW_CAP)


def anchor_literal(pattern: str) -> str | None:
    """The longest literal every match contains (outside optional parts), if any; no common punctuation."""
    tree = _parse(pattern)
    if tree is None:
        return None
    best = ""

    def walk(items) -> None:
        nonlocal best
        run: list[str] = []
        for op, av in list(items) + [(None, None)]:
            if op is C.LITERAL:
                run.append(chr(av))
                continue
            if op is C.AT:
                continue
            text = "".join(run).strip("".join(_COMMON))
            if len(text) > len(best):
                best = text
            run = []
            if op is C.SUBPATTERN:
                walk(av[-1])
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
                walk(av[2])

    walk(tree)
    return best or None


_BOUNDARY_AT = frozenset((C.AT_BOUNDARY, C.AT_BEGINNING, C.AT_BEGINNING_STRING))


def _caseless_items(items) -> list:
    """Parse items with a class of one letter's two cases (`[Ff]`) read as that literal: keywords and
    literals are matched case-insensitively by the locate pass."""
    out = []
    for op, av in items:
        if op is C.IN and av and all(o is C.LITERAL for o, _ in av) and len({chr(v).lower() for _, v in av}) == 1:
            out.append((C.LITERAL, ord(chr(av[0][1]).lower())))
        else:
            out.append((op, av))
    return out


def keyword_inside(pattern: str, keywords: Sequence[str]) -> bool:
    """Whether every match of `pattern` contains an occurrence of one of `keywords` that the locate pass
    reports (a literal every match needs holds the keyword; a short keyword must start a word there).
    Then the match lies within its width of that keyword hit, and the RE2 window around a keyword hit
    can shrink from KEYWORD_RADIUS to the pattern's width: same matches, far fewer bytes."""
    tree = _parse(pattern)
    if tree is None or not keywords:
        return False
    kws = [k.lower() for k in keywords]

    def run_ok(run: str, boundary_before: bool) -> bool:
        low = run.lower()
        for k in kws:
            i = low.find(k)
            while i >= 0:
                if not is_short(k) or (i > 0 and low[i - 1] not in _ALNUM) or (i == 0 and boundary_before):
                    return True
                i = low.find(k, i + 1)
        return False

    expansions = [64]  # optional items expanded into "with" and "without" (both must hold a keyword)

    def seq(items, boundary: bool) -> bool:
        items = list(items)
        for i, (op, av) in enumerate(items):
            if op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] == 0 and av[1] == 1 and expansions[0] > 0:
                expansions[0] -= 1  # `[_.-]?` in `api[_.-]?key`: "api_key" and "apikey" each hold one
                with_it, without = items[:i] + list(av[2]) + items[i + 1:], items[:i] + items[i + 1:]
                return seq(with_it, boundary) and seq(without, boundary)
        run: list[str] = []
        run_b = prev_b = boundary
        for op, av in [*_caseless_items(items), (None, None)]:
            if op is C.LITERAL:
                if not run:
                    run_b = prev_b
                run.append(chr(av))
                continue
            if op is C.BRANCH and run:  # the parser factors common prefixes out: `AKIA|ASIA` → A(KIA|SIA)
                head = [(C.LITERAL, ord(c)) for c in run]
                if all(seq(head + list(b), run_b) for b in av[1]):
                    return True
            if run:
                if run_ok("".join(run), run_b):
                    return True
                prev_b = run[-1] not in _ALNUM
                run = []
            if op is None:
                break
            if op is C.AT:
                prev_b = av in _BOUNDARY_AT
                continue
            if op is C.SUBPATTERN:
                if seq(av[-1], prev_b):
                    return True
            elif op is C.BRANCH:
                if all(seq(b, prev_b) for b in av[1]):
                    return True
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
                if seq(av[2], prev_b):
                    return True
            prev_b = _ends_apart(op, av)
        return False

    return seq(list(tree), False)


_APART = (C.CATEGORY_SPACE, C.CATEGORY_NOT_WORD)


def _ends_apart(op, av) -> bool:
    """Whether a (non-literal) pattern item always ends with a character that is no ASCII letter or digit
    (a class such as `[_.-]` or `\\s`, or a repeat of one at least once): a keyword after it starts a word."""
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        body = list(av[2])
        return av[0] >= 1 and len(body) == 1 and _ends_apart(*body[0])
    if op is C.LITERAL:
        return chr(av) not in _ALNUM
    if op is not C.IN or not av or av[0][0] is C.NEGATE:
        return False
    for o, a in av:
        if o is C.LITERAL:
            if chr(a) in _ALNUM:
                return False
        elif o is C.RANGE:
            if any(chr(c) in _ALNUM for c in range(a[0], min(a[1], 0x7F) + 1)):
                return False
        elif not (o is C.CATEGORY and a in _APART):
            return False
    return True


def required_literal_len(pattern: str) -> int:
    """The length of the shortest literal in the best set of literals every match needs one of: `ghp_…`
    gives 4, `(?:api[_.-]?key|apikey)…` gives 3 (`api`, `key` or `apikey`), `[0-9]{9}` gives 0.
    Hyperscan keys a pattern with such literals on them, so it costs the locate pass next to nothing."""
    tree = _parse(pattern)
    if tree is None:
        return 0

    def seq(items) -> int:
        best = 0
        run: list[str] = []
        for op, av in [*_caseless_items(items), (None, None)]:
            if op is C.LITERAL:
                run.append(chr(av))
                continue
            if op is C.BRANCH and run:  # the parser factors common prefixes out of alternatives
                head = [(C.LITERAL, ord(c)) for c in run]
                best = max(best, min(seq(head + list(b)) for b in av[1]))
            if run:
                best = max(best, len("".join(run).strip("".join(_COMMON))))
                run = []
            if op is C.SUBPATTERN:
                best = max(best, seq(av[-1]))
            elif op is C.BRANCH:
                best = max(best, min(seq(b) for b in av[1]))
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
                best = max(best, seq(av[2]))
        return best

    return seq(list(tree))


_QUANT = re.compile(r"\{(\d+)(?:,(\d*))?\}")


def relax(pattern: str, bound: int = RELAX_BOUND) -> str | None:
    """A pattern matching a superset of `pattern`: groups made non-capturing, and every repeat `{m,n}`
    with n >= `bound` opened to `{m,}`. None when no repeat was opened.

    Why: RE2 needs the start of an unanchored match, and for wide counted repeats (`[A-Za-z0-9]{20,1000}`)
    its reverse DFA gives up and the NFA runs over the whole window (~10 MB/s). The relaxed pattern
    finds the leftmost start cheaply; the exact pattern then confirms anchored there (see Confirmer)."""
    text, opened = _rewrite(pattern, bound)
    return text if opened else None


def _no_captures(pattern: str) -> str:
    """The same pattern with every group non-capturing."""
    return _rewrite(pattern, 1 << 30)[0]


def _rewrite(pattern: str, bound: int) -> tuple[str, bool]:
    out: list[str] = []
    i, n, opened = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            j = i + 2
            if pattern[i + 1:i + 2] in ("p", "P", "x") and pattern[i + 2:i + 3] == "{":
                j = pattern.find("}", i) + 1 or n
            elif pattern[i + 1:i + 2] == "Q":
                k = pattern.find("\\E", i)
                j = n if k < 0 else k + 2
            out.append(pattern[i:j])
            i = j
            continue
        if c == "[":
            j = i + 1
            if pattern[j:j + 1] == "^":
                j += 1
            if pattern[j:j + 1] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                if pattern[j] == "\\":
                    j += 2
                    continue
                if pattern[j:j + 2] == "[:":
                    k = pattern.find(":]", j + 2)
                    if k > 0:
                        j = k + 2
                        continue
                j += 1
            out.append(pattern[i:j + 1])
            i = j + 1
            continue
        if c == "(":
            if pattern[i + 1:i + 2] != "?":
                out.append("(?:")
                i += 1
                continue
            if pattern[i + 2:i + 4] == "P<" or (pattern[i + 2:i + 3] == "<" and pattern[i + 3:i + 4] not in "=!"):
                out.append("(?:")
                i = pattern.find(">", i) + 1 or n
                continue
        if c == "{":
            m = _QUANT.match(pattern, i)
            if m:
                hi = m.group(2)
                if hi and int(hi) >= bound:
                    out.append(f"{{{m.group(1)},}}")
                    opened = True
                else:
                    out.append(m.group())
                i = m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out), opened


_MAX_MISSES = 16  # relaxed starts the exact pattern rejects, per find(), before falling back to plain RE2


@dataclass(slots=True)
class Confirmer:
    """RE2 for one detector: finds matches of the pattern inside byte windows of a view; each match is a
    list of (start, end) per group (at least up to the detector's secret group).

    RE2 extracts groups slowly over long texts (bit-state/NFA engines), so when the pattern has groups
    or wide repeats the leftmost match is located with `loc`, a capture-free (and, see `relax`, maybe
    relaxed) version, and the exact pattern then runs anchored at that start over at most the match's
    width. The result equals the plain unanchored search: every exact match is a `loc` match, so the
    `loc` leftmost start is never right of the exact one. When the secret group is the whole match
    (`\\b(ghp_[A-Za-z0-9]{36})\\b`), no group is extracted at all (`whole`, `exact` capture-free)."""

    rx: object  # re2 _Regexp
    width: int
    groups: int
    loc: object | None = None  # capture-free _Regexp locating candidates
    relaxed: bool = False  # `loc` matches a superset (wide repeats opened)
    whole: int = -1  # the secret group when it spans the whole match, else -1
    exact: object | None = None  # capture-free exact _Regexp (with `whole` and `relaxed`)
    least: int = 1  # the fewest characters a match consumes: a shorter rest of the window holds none

    def find(self, data: bytes, start: int, end: int, scale: int = 1) -> list:
        regexp = self.rx._regexp  # type: ignore[attr-defined]
        out: list = []
        pos = start
        loc = self.loc
        limit = self.width * scale
        whole = self.whole
        misses = 0
        least = self.least
        while end - pos >= least:
            if loc is not None:
                where = loc.Match(_ANCHOR, data, pos, end)[0]
                s0 = where[0]
                if s0 < 0:
                    break
                if self.relaxed:
                    stop = s0 + limit
                    stop = stop if stop < end else end
                    if whole >= 0:
                        span = self.exact.Match(ANCHOR_START, data, s0, stop)[0]  # type: ignore[union-attr]
                        spans = [span] * (whole + 1)
                    else:
                        spans = regexp.Match(ANCHOR_START, data, s0, stop)
                    if spans[0][0] < 0:
                        pos = s0 + 1
                        misses += 1
                        if misses > _MAX_MISSES:
                            loc = None
                        continue
                elif whole >= 0:
                    spans = [where] * (whole + 1)
                else:
                    spans = regexp.Match(ANCHOR_START, data, s0, where[1])
            else:
                spans = regexp.Match(_ANCHOR, data, pos, end)
                if spans[0][0] < 0:
                    break
            out.append(spans)
            pos = spans[0][1] if spans[0][1] > spans[0][0] else spans[0][1] + 1
        return out


def _whole_group(pattern: str, group: int) -> bool:
    """Whether `group` is the pattern's only consuming part (besides zero-width assertions)."""
    tree = _parse(pattern)
    if tree is None or group < 1:
        return False
    items = [(op, av) for op, av in tree if op is not C.AT]
    return len(items) == 1 and items[0][0] is C.SUBPATTERN and items[0][1][0] == group


def hs_compile(patterns: Sequence[bytes], flags: Sequence[int], *, literal: bool = False) -> hs.Database:
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    db.compile(expressions=list(patterns), ids=list(range(len(patterns))), elements=len(patterns),
               flags=list(flags), literal=literal)  # fmt: skip
    return db


def hs_flags(case_insensitive: bool) -> int:
    return hs.HS_FLAG_UTF8 | (hs.HS_FLAG_CASELESS if case_insensitive else 0)


def hs_check(pattern: str, case_insensitive: bool) -> tuple[int, str | None]:
    """Compile one pattern alone with hyperscan: (flags to use, problem or None). Falls back to prefilter mode."""
    flags = hs_flags(case_insensitive)
    data = pattern.encode()
    try:
        hs_compile([data], [flags])
        return flags, None
    except hs.error as e:
        first = str(e)
    if "empty" in first:
        return flags, "pattern matches the empty string: it must consume at least one character"
    try:
        hs_compile([data], [flags | hs.HS_FLAG_PREFILTER])
        return flags | hs.HS_FLAG_PREFILTER, None
    except hs.error:
        return flags, f"hyperscan rejects the pattern: {first}"


_UNSAFE_ESCAPES = frozenset("WSDBCXpPNx0123456789")  # \\x is safe below 0x80 (checked apart)


def byte_safe(pattern: bytes) -> bool:
    """Whether hyperscan reads the pattern the same without HS_FLAG_UTF8 (ASCII literals and classes
    only, no `.`, no negated class): byte mode runs much faster on digit-heavy text."""
    try:
        text = pattern.decode("ascii")
    except UnicodeDecodeError:
        return False
    i, n, in_class = 0, len(text), False
    while i < n:
        c = text[i]
        if c == "\\":
            nxt = text[i + 1:i + 2]
            if nxt == "x":
                if text[i + 2:i + 3] not in tuple("01234567"):
                    return False
            elif nxt in _UNSAFE_ESCAPES:
                return False
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            if text[i + 1:i + 2] == "^":
                return False
            in_class = True
            if text[i + 1:i + 2] == "]":
                i += 1
        elif c == ".":
            return False
        i += 1
    return True


def hs_escape(text: str) -> bytes:
    """A literal as a hyperscan regex: ASCII letters and digits as is, every other byte as \\xHH."""
    return b"".join(bytes([b]) if chr(b) in _ALNUM else b"\\x%02x" % b for b in text.encode())


def is_short(keyword: str) -> bool:
    """A keyword that counts only at the start of a word (`aba` must not fire inside 'database')."""
    return len(keyword) <= SHORT_KEYWORD and keyword[:1] in _ALNUM


def keyword_regex(keyword: str) -> bytes:
    """The hyperscan regex of a keyword (caseless): short keywords start after a non-alphanumeric
    character (`_` counts as a boundary, so `user_ssn` has `ssn`) or at the start of a view."""
    lit = hs_escape(keyword.lower())
    return b"(?:^|[^A-Za-z0-9])" + lit if is_short(keyword) else lit


def keyword_gate(keywords: Sequence[str]):
    """RE2 (case-insensitive) finding any of `keywords` under the same rule as `keyword_regex`."""
    alts = [("(?:^|[^A-Za-z0-9])" if is_short(k) else "") + re.escape(k) for k in keywords]
    return re2_compile("|".join(alts), case_insensitive=True)._regexp


# --- a yardstick of ordinary text: which keywords are frequent, which patterns are slow ----------------

_PROSE = """the of and to in is that for it as was with be by on not he this are or his from at which but have an
they you were her she there been one all we their has would when if so what out up more who about can will
said each do how them then these some could other into time has look two like him see no way may people
first over did down only new after also made before must through back years where much your well should
because each just those work between still any life day same own here might last never under few right
while again part great world place around however home small both since long found every state during
without another less turned against nothing name possible yet face means enough almost high number often
passed passing past path pattern patterns patch patient patent paste pathway deal dead dear death deadline
tell tells telling telephone telemetry call called calling cell cells cellular wire wired wireless born
export expect expected expand expense experience expert expire explain expose key keys keyboard keyword
token tokens secret secrets password passwords pass route routing setting meeting testing waiting tiny
database schema index cluster region customer quarterly revenue forecast deploy service request latency
budget review draft summary product launch team policy update migration config settings value default
message content model response status error warning debug info trace event session cookie cache header
body version build release client server user users account amount price date address city country code
email phone contact notes report reports document documents table column query select insert delete where
order limit offset page total count list items data file files folder directory upload download access
""".split()
_CODE = ["def {a}_{b}(self, {c}, timeout={n}):\n", "    {a} = self.{b}.get('{c}', {n})\n",
         "    return {a}.{b}({c}=True)\n", "import {a}.{b} as {c}\n", "    if not {a}: raise ValueError('{b} {c}')\n",
         "const {a}{B} = require('./{b}/{c}');\n", "    for {a} in {b}.{c}s():\n", "# TODO: {a} the {b} {c}\n",
         '{{"{a}": "{b}", "{c}": {n}, "path": "/{a}/{b}"}}\n', "  {a}: {b}-{c}\n"]  # fmt: skip
_SAMPLE: bytes | None = None


def sample() -> bytes:
    """64 KB of English prose, source code, JSON, config and log lines (fixed seed): the yardstick for
    keyword frequency and pattern speed. Only performance depends on it, never what is found."""
    global _SAMPLE
    if _SAMPLE is None:
        rng = random.Random(42)
        w = _PROSE
        parts: list[str] = []
        size = 0
        while size < 65536:
            k = rng.random()
            if k < 0.45:
                s = " ".join(rng.choice(w) for _ in range(rng.randint(8, 20))).capitalize() + ". "
            elif k < 0.75:
                a, b, c = (rng.choice(w) for _ in range(3))
                s = rng.choice(_CODE).format(a=a, b=b, c=c, B=b.capitalize(), n=rng.randint(0, 9999))
            else:
                s = (f"2026-01-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z "
                     f"{rng.choice(['INFO', 'WARN', 'DEBUG'])} {rng.choice(w)}={rng.getrandbits(64):016x} "
                     f"client=10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)} "
                     f"path=/api/v2/{rng.choice(w)}/{rng.randint(1, 99999)} status={rng.choice([200, 404, 500])} "
                     f"ms={rng.randint(1, 900)}\n")  # fmt: skip
            parts.append(s)
            size += len(s)
        _SAMPLE = "".join(parts).encode()
    return _SAMPLE


def alone_speed(pattern: bytes, flags: int) -> float:
    """MB/s of one pattern alone over the sample (scan only; the best of three, the machine is shared)."""
    db = hs_compile([pattern], [flags])
    data = sample()
    scratch = hs.Scratch(db)
    best = 1e9
    for _ in range(3):
        start = time.perf_counter()
        db.scan(data, match_event_handler=lambda *a: None, scratch=scratch)
        best = min(best, time.perf_counter() - start)
    return len(data) / max(best, 1e-9) / 1e6


def keyword_counts(keywords: Sequence[str]) -> dict[str, int]:
    """How often each keyword occurs in the sample (short keywords at word starts only)."""
    if not keywords:
        return {}
    db = hs_compile([keyword_regex(k) for k in keywords], [hs.HS_FLAG_CASELESS | hs.HS_FLAG_MULTILINE] * len(keywords))
    counts = [0] * len(keywords)

    def on(i: int, s: int, e: int, f: int, c: object) -> None:
        counts[i] += 1

    db.scan(sample(), match_event_handler=on)
    return dict(zip(keywords, counts, strict=True))


class Locator:
    """The one locate pass: a hyperscan database of keywordless patterns, triggers, keywords, words and
    anchor literals, reporting (pattern id, end offset). Safe to share between threads: each thread
    scans with its own scratch space."""

    def __init__(self, db: hs.Database | None):
        self.db = db
        self._local = threading.local()

    def run(self, data: bytes) -> list[tuple[int, int]]:
        hits: list[tuple[int, int]] = []
        if not data or self.db is None:
            return hits
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hs.Scratch(self.db)
        add = hits.append
        self.db.scan(data, match_event_handler=lambda i, s, e, f, c: add((i, e)), scratch=scratch)
        return hits


def merge_windows(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, merged windows."""
    if len(spans) == 1:
        return list(spans)
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def check_pattern(pattern: str, case_insensitive: bool, secret_group: int) -> tuple[Confirmer | None, str | None]:
    """RE2 checks of one pattern: (confirmer, problem)."""
    try:
        rx = re2_compile(pattern, case_insensitive)
    except ValueError as e:
        return None, f"pattern is not valid RE2: {e}"
    if secret_group > rx.groups:
        return None, f"secret_group {secret_group} but the pattern has {rx.groups} group(s)"
    tree = _parse(pattern)
    fewest, most = (int(w) for w in tree.getwidth()) if tree is not None else (1, WINDOW_CAP)
    if fewest == 0:
        return None, "pattern matches the empty string: it must consume at least one character"
    width, least = min(most, WINDOW_CAP), min(fewest, WINDOW_CAP)
    relaxed = relax(pattern)
    source = relaxed if relaxed is not None else _no_captures(pattern) if rx.groups else None
    loc = exact = None
    whole = secret_group if rx.groups and _whole_group(pattern, secret_group) else -1
    if source is not None:
        try:
            loc = re2_compile(source, case_insensitive)._regexp
            if relaxed is not None and whole >= 0:
                exact = re2_compile(_no_captures(pattern), case_insensitive)._regexp
        except ValueError:
            loc, relaxed, exact, whole = None, None, None, -1
    return Confirmer(rx, width, rx.groups, loc, relaxed is not None and loc is not None, whole, exact, least), None


# --- on-disk cache of compiled hyperscan databases ---------------------------------------------------

CACHE_FORMAT = b"shadowgate-hs 1\n"
CACHE_KEEP = 16  # newest entries kept per cache directory


def cache_dir() -> Path | None:
    """$SHADOWGATE_CACHE (empty: no cache), else $XDG_CACHE_HOME/shadowgate, else ~/.cache/shadowgate."""
    env = os.environ.get("SHADOWGATE_CACHE")
    if env is not None:
        return Path(env) if env.strip() else None
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        return (Path(base) if base else Path.home() / ".cache") / "shadowgate"
    except RuntimeError:  # no home directory
        return None


def _platform_tag() -> str:
    """Serialized databases are specific to the CPU features they were compiled for."""
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line
                    break
    except OSError:
        pass
    return f"{os.uname().machine}:{hashlib.sha256(flags.encode()).hexdigest()[:16]}"


def cache_key(*parts: object) -> str:
    h = hashlib.sha256()
    h.update(repr((hs.__version__, _platform_tag())).encode())
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=repr).encode())
        h.update(b"\x00")
    return h.hexdigest()


def cache_load(key: str) -> tuple[dict, hs.Database] | None:
    """The cached (metadata, database) for `key`, or None (missing, unreadable, corrupt: rebuild)."""
    d = cache_dir()
    if d is None:
        return None
    try:
        raw = (d / f"{key}.hsdb").read_bytes()
        if not raw.startswith(CACHE_FORMAT):
            return None
        head, _, blob = raw[len(CACHE_FORMAT):].partition(b"\n")
        meta = json.loads(head)
        if meta.get("key") != key or meta.get("sha256") != hashlib.sha256(blob).hexdigest():
            return None
        db = hs.loadb(blob, hs.HS_MODE_BLOCK)
        hs.Scratch(db)  # fails on a database for another platform
        return meta, db
    except Exception:
        return None


def cache_store(key: str, meta: dict, db: hs.Database) -> None:
    """Write an entry atomically (temp file + rename: concurrent writers are safe); never raises."""
    d = cache_dir()
    if d is None:
        return
    try:
        blob = hs.dumpb(db)
        head = json.dumps({**meta, "key": key, "sha256": hashlib.sha256(blob).hexdigest()}).encode()
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(CACHE_FORMAT + head + b"\n" + blob)
            os.replace(tmp, d / f"{key}.hsdb")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        entries = sorted(d.glob("*.hsdb"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[CACHE_KEEP:]:
            old.unlink(missing_ok=True)
    except Exception:
        return
