"""matchers.py: how each detector is located (hyperscan, literal hits, keyword windows) and confirmed (RE2).

Invariants: every pattern is confirmed by RE2 (linear time, no backtracking) inside bounded byte
windows; locating is one hyperscan pass for keywordless patterns plus one literal pass for
keywords, word lists and anchor literals. Every strategy is exact: a window always covers the
whole of any match it can contain (patterns of unbounded width are capped at WINDOW_CAP).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]

import hyperscan as hs
import re2

WINDOW_CAP = 2048  # chars: longest match confirmed for a pattern of unbounded width
KEYWORD_RADIUS = 512  # chars: a keyword-gated match must lie this close to a keyword (as TruffleHog)
SLOW_MBS = 300.0  # a keywordless pattern slower than this alone is located by its anchor literal
UNANCHORED = _ANCHOR = re2._Anchor.UNANCHORED
_COMMON = frozenset(" \t\n.,-_/:;'\"()")


def re2_compile(pattern: str, case_insensitive: bool = False):
    """Compile with RE2 (UTF-8, quiet); raises ValueError with RE2's message."""
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not case_insensitive
    try:
        return re2.compile(pattern, options)
    except re2.error as e:
        msg = e.args[0].decode(errors="replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(msg) from None


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


@dataclass(slots=True)
class Confirmer:
    """RE2 for one detector: finds matches of the pattern inside byte windows of a view."""

    rx: object  # re2 _Regexp
    width: int
    groups: int

    def find(self, data: bytes, start: int, end: int) -> list[list[tuple[int, int]]]:
        regexp = self.rx._regexp  # type: ignore[attr-defined]
        out = []
        pos = start
        while pos <= end:
            spans = regexp.Match(_ANCHOR, data, pos, end)
            if spans[0][0] < 0:
                break
            out.append(spans)
            pos = spans[0][1] if spans[0][1] > spans[0][0] else spans[0][1] + 1
        return out


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


_SAMPLE: bytes | None = None


def _sample() -> bytes:
    """64 KB of mixed prose, code, logs and ids (fixed seed): the yardstick for `alone_speed`."""
    global _SAMPLE
    if _SAMPLE is None:
        rng = random.Random(42)
        words = "the of and to in is that for it as was customer deploy request ms status user_id token".split()
        parts = []
        while sum(map(len, parts)) < 65536:
            parts.append(rng.choice([
                " ".join(rng.choice(words) for _ in range(12)) + ". ",
                f"{rng.getrandbits(64):016x} {rng.randint(0, 99999)} 10.{rng.randint(0, 255)}.0.1 ",
                f"def get_{rng.choice(words)}_{rng.choice(words)}(self, x={rng.randint(0, 99)}):\n",
                f"2026-01-{rng.randint(1, 28):02d} INFO a={rng.choice(words)} b=\"{rng.choice(words)}\"\n",
            ]))  # fmt: skip
        _SAMPLE = "".join(parts).encode()
    return _SAMPLE


def alone_speed(pattern: bytes, flags: int) -> float:
    """MB/s of one pattern alone over the sample (compile included in nothing; scan only)."""
    db = hs_compile([pattern], [flags])
    data = _sample()
    start = time.perf_counter()
    db.scan(data, match_event_handler=lambda *a: None)
    return len(data) / max(time.perf_counter() - start, 1e-9) / 1e6


def literal_counts(literals: Sequence[bytes]) -> dict[bytes, int]:
    """How often each (case-insensitive) literal occurs in the sample text."""
    if not literals:
        return {}
    db = hs_compile(list(literals), [hs.HS_FLAG_CASELESS] * len(literals), literal=True)
    counts = [0] * len(literals)

    def on(i: int, s: int, e: int, f: int, c: object) -> None:
        counts[i] += 1

    db.scan(_sample(), match_event_handler=on)
    return dict(zip(literals, counts, strict=True))


class Locator:
    """The two passes: `regex_db` (keywordless patterns + triggers; end offsets) and `literal_db`
    (keywords, words, anchor literals; start and end offsets). Safe to share between threads: each
    thread scans with its own hyperscan scratch space."""

    def __init__(self, regexes: Sequence[tuple[bytes, int]], literals: Sequence[tuple[bytes, int]]):
        self.regex_db = hs_compile([p for p, _ in regexes], [f for _, f in regexes]) if regexes else None
        self.literal_db = (
            hs_compile([p for p, _ in literals], [f for _, f in literals], literal=True) if literals else None
        )
        self._local = threading.local()

    def _scratch(self) -> tuple:
        pair = getattr(self._local, "scratch", None)
        if pair is None:
            pair = self._local.scratch = tuple(hs.Scratch(db) if db is not None else None
                                               for db in (self.regex_db, self.literal_db))  # fmt: skip
        return pair

    def run(self, data: bytes) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
        regex_hits: list[tuple[int, int]] = []
        literal_hits: list[tuple[int, int, int]] = []
        if not data:
            return regex_hits, literal_hits
        regex_scratch, literal_scratch = self._scratch()
        if self.regex_db is not None:
            add = regex_hits.append
            self.regex_db.scan(data, match_event_handler=lambda i, s, e, f, c: add((i, e)), scratch=regex_scratch)
        if self.literal_db is not None:
            add2 = literal_hits.append
            self.literal_db.scan(data, match_event_handler=lambda i, s, e, f, c: add2((i, s, e)),
                                 scratch=literal_scratch)  # fmt: skip
        return regex_hits, literal_hits


def merge_windows(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, merged windows."""
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
    if tree is not None and tree.getwidth()[0] == 0:
        return None, "pattern matches the empty string: it must consume at least one character"
    return Confirmer(rx, max_width(pattern), rx.groups), None

