"""matchers.py: compile detector patterns into one hyperscan pass plus RE2 confirmers (linear time).

Invariants: every pattern is compiled by RE2 (the confirmer: linear, no backtracking) and by
hyperscan (the locator: one pass for all detectors); a pattern either engine rejects is reported
by detector id and never reaches the database. Offsets from `Locator.run` are UTF-8 byte offsets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import hyperscan as hs
import re2

from addons.detector_spec import DetectorSpec

WINDOW_CAP = 2048  # chars: longest match confirmed for a pattern without a bounded width
_ANCHOR = re2._Anchor.UNANCHORED
_BASE_FLAGS = hs.HS_FLAG_UTF8


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


def max_width(pattern: str) -> int:
    """Longest match in characters (from Python's parser; RE2 syntax is close), capped."""
    try:
        width = re._parser.parse(pattern).getwidth()[1]  # type: ignore[attr-defined]
    except Exception:
        return WINDOW_CAP
    return min(int(width), WINDOW_CAP)


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


def _hs_compile(patterns: Sequence[bytes], flags: Sequence[int], *, literal: bool = False) -> hs.Database:
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    db.compile(expressions=list(patterns), ids=list(range(len(patterns))), elements=len(patterns),
               flags=list(flags), literal=literal)  # fmt: skip
    return db


def hs_check(pattern: str, case_insensitive: bool) -> tuple[int, str | None]:
    """Compile one pattern alone with hyperscan: (flags to use, problem or None). Falls back to prefilter mode."""
    flags = _BASE_FLAGS | (hs.HS_FLAG_CASELESS if case_insensitive else 0)
    data = pattern.encode()
    try:
        _hs_compile([data], [flags])
        return flags, None
    except hs.error as e:
        first = str(e)
    if "empty" in first:
        return flags, "pattern matches the empty string: it must consume at least one character"
    try:
        _hs_compile([data], [flags | hs.HS_FLAG_PREFILTER])
        return flags | hs.HS_FLAG_PREFILTER, None
    except hs.error:
        return flags, f"hyperscan rejects the pattern: {first}"


class Locator:
    """One hyperscan database over all detector patterns + triggers, and one literal database
    (keywords, word lists). `run` returns raw (id, end) hits; ids are defined by the caller's order."""

    def __init__(self, regexes: Sequence[tuple[bytes, int]], literals: Sequence[tuple[bytes, int]]):
        self.regex_db = _hs_compile([p for p, _ in regexes], [f for _, f in regexes]) if regexes else None
        self.literal_db = (
            _hs_compile([p for p, _ in literals], [f for _, f in literals], literal=True) if literals else None
        )

    def run(self, data: bytes) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
        regex_hits: list[tuple[int, int]] = []
        literal_hits: list[tuple[int, int, int]] = []
        if self.regex_db is not None and data:
            add = regex_hits.append
            self.regex_db.scan(data, match_event_handler=lambda i, s, e, f, c: add((i, e)))
        if self.literal_db is not None and data:
            add2 = literal_hits.append
            self.literal_db.scan(data, match_event_handler=lambda i, s, e, f, c: add2((i, s, e)))
        return regex_hits, literal_hits


def check_spec(spec: DetectorSpec, *, with_hyperscan: bool = False) -> tuple[Confirmer | None, int, str | None]:
    """RE2 checks (and, on request, a lone hyperscan compile) of one spec's patterns: (confirmer, flags, problem)."""
    if spec.pattern is None:
        return None, 0, None
    try:
        rx = re2_compile(spec.pattern, spec.case_insensitive)
    except ValueError as e:
        return None, 0, f"pattern is not valid RE2: {e}"
    groups = rx.groups
    if spec.secret_group > groups:
        return None, 0, f"secret_group {spec.secret_group} but the pattern has {groups} group(s)"
    for p in spec.allow_patterns:
        try:
            re2_compile(p)
        except ValueError as e:
            return None, 0, f"allow pattern is not valid RE2: {e}"
    flags, problem = hs_check(spec.pattern, spec.case_insensitive) if with_hyperscan else (0, None)
    if problem:
        return None, 0, problem
    return Confirmer(rx, max_width(spec.pattern), groups), flags, None
