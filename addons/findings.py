"""findings.py: a confirmed match → checks (validator, entropy, allowlists, context) → Finding; dedupe and counts.

Invariants: a value leaves this module only as a masked preview and a keyed fingerprint; the same
occurrence seen in several views is reported once (raw preferred); `min_count` counts distinct
values per request; a joined-siblings hit that repeats a sibling's own value is dropped; a decoded
or despaced view only reports values that overlap a run it changed (plain text is the raw and
normalized views' job), and never a value that negative context rejected in a plain view of the same
segment; the HMAC is computed once per distinct canonical value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass

from addons import entropy
from addons.detector_spec import DetectorSpec
from addons.fingerprint import Fingerprinter
from addons.fingerprint import canonical
from addons.matchers import UNANCHORED as _UNANCHORED
from addons.matchers import Confirmer
from addons.matchers import check_pattern
from addons.matchers import hs_flags
from addons.matchers import re2_compile
from addons.model import Finding
from addons.model import Segment
from addons.normalize import View
from addons.normalize import char_offsets


@dataclass(slots=True)
class Compiled:
    """A detector ready to run. mode: regex (hyperscan) | keyword (RE2 near keyword hits) |
    kw-regex (hyperscan locates the pattern, then a keyword must be near) | anchor (RE2 near a
    required literal) | words (literal list)."""

    spec: DetectorSpec
    confirm: Confirmer | None
    hs_pattern: bytes
    hs_flags: int
    allow_values: frozenset[str]
    allow_rx: tuple
    ctx_rx: object | None  # low-level RE2 (see near_rx)
    neg_rx: object | None
    validator: Callable[[str], bool | None] | None
    mode: str = "regex"
    anchor: str | None = None
    idx: int = -1  # position in the scanner's detector list
    gate: object | None = None  # kw-regex: low-level RE2 finding any keyword (see matchers.keyword_gate)
    digit_run: bool = False  # national ids: a span continuing a longer digit run is not a candidate
    edm: bool = False
    inside: int = -1  # every match contains its keyword / anchor literal: the pattern's width, else -1
    not_after: object | None = None  # low-level RE2 for `(?:not_after)\z`, run on the text before a candidate


def near_rx(words: Iterable[str]):
    """RE2 (case-insensitive) for any of `words` as a whole word: not preceded or followed by an ASCII
    letter or digit (`_` and punctuation are boundaries, so `card_number` has `card`, `cards` has not);
    a camelCase step also ends a word (`mistralApiKey` has `mistral`, `MISTRALAPI` has not)."""
    alts = []
    for w in words:
        start = r"(?:^|[^A-Za-z0-9])" if w[:1].isalnum() else ""
        if not w[-1:].isalnum():
            alts.append(start + re.escape(w))
        elif w[-1].isascii() and w[-1].isalpha():
            last = re.escape(w[-1])
            alts.append(f"{start}{re.escape(w[:-1])}(?:{last}(?:[^A-Za-z0-9]|$)|(?-i:{last.lower()}[A-Z]))")
        else:
            alts.append(start + re.escape(w) + r"(?:[^A-Za-z0-9]|$)")
    return re2_compile("|".join(alts), case_insensitive=True)._regexp


def _near_bytes(rx, data: bytes, start: int, end: int) -> bool:
    """`_near` in the UTF-8 bytes of a view: a word of `rx` lies wholly in data[start:end] (byte offsets;
    RE2 sees the text around the window, so `^`/`$` and the boundary characters are exact)."""
    end += 1
    return rx.Match(_UNANCHORED, data, start - 1 if start > 0 else 0, end if end < len(data) else len(data))[0][0] >= 0


def _around(rx, data: bytes, bs: int, be: int, w: int, ascii_: bool) -> bool:
    """Whether a word of `rx` lies within `w` characters before byte `bs` or after byte `be`. One RE2 call
    over both sides and the value between them answers unless its leftmost word touches the value."""
    before, after = (bs - w, be + w) if ascii_ else (_back(data, bs, w), _fwd(data, be, w))
    size = len(data)
    ms, me = rx.Match(_UNANCHORED, data, before - 1 if before > 0 else 0, after + 1 if after < size else size)[0]
    if ms < 0:  # both sides' windows lie inside this one, and RE2 sees the same context around them
        return False
    if me <= bs + 1 or ms >= be - 1:  # wholly inside one side's window
        return True
    return _near_bytes(rx, data, before, bs) or _near_bytes(rx, data, be, after)


_CONT = bytes(range(0x80, 0xC0))  # UTF-8 continuation bytes


def _back(data: bytes, pos: int, n: int) -> int:
    """A character boundary x <= pos with at least `n` characters in data[x:pos] (or 0)."""
    x = pos - n
    while x > 0:
        short = n - len(data[x:pos].translate(None, _CONT))  # characters still missing
        if short <= 0:
            while 0 < x < pos and (data[x] & 0xC0) == 0x80:
                x -= 1
            return x
        x -= short
    return 0


def _fwd(data: bytes, pos: int, n: int) -> int:
    """A character boundary x >= pos with at least `n` characters in data[pos:x] (or len(data))."""
    size = len(data)
    x = pos + n
    while x < size:
        short = n - len(data[pos:x].translate(None, _CONT))
        if short <= 0:
            while x < size and (data[x] & 0xC0) == 0x80:
                x += 1
            return x
        x += short
    return size


def _registry() -> dict[str, Callable[[str], bool | None]]:
    try:
        from addons import validators
    except ImportError:
        return {}
    return getattr(validators, "REGISTRY", {})


def compile_detector(spec: DetectorSpec) -> tuple[Compiled | None, str | None]:
    confirm = None
    if spec.pattern is not None:
        confirm, problem = check_pattern(spec.pattern, spec.case_insensitive, spec.secret_group)
        if problem:
            return None, problem
    try:
        allow_rx = tuple(re2_compile(p)._regexp for p in spec.allow_patterns)
    except ValueError as e:
        return None, f"allow pattern is not valid RE2: {e}"
    try:
        not_after = re2_compile(f"(?:{spec.not_after})\\z")._regexp if spec.not_after else None
    except ValueError as e:
        return None, f"not_after is not valid RE2: {e}"
    if len(allow_rx) > 1:  # one RE2 call per candidate instead of one per pattern
        try:
            allow_rx = (re2_compile("|".join(f"(?:{p})" for p in spec.allow_patterns))._regexp,)
        except ValueError:
            pass
    # hyperscan reads `^`/`$` per line (views are batched between newlines); RE2 confirms exactly
    hs_pattern = (spec.pattern or "").replace(r"\A", "^").replace(r"\z", "$").encode()
    validator = _registry().get(spec.validator) if spec.validator else None
    return Compiled(
        spec, confirm, hs_pattern, hs_flags(spec.case_insensitive),
        frozenset(canonical(v) for v in spec.allow_values), allow_rx,
        near_rx(spec.context.words) if spec.context else None,
        near_rx(spec.negative.words) if spec.negative else None,
        validator, digit_run=spec.category == "national-id", edm=spec.edm_file is not None, not_after=not_after,
    ), None  # fmt: skip


def mask(value: str, canon: str | None = None) -> str:
    """Masked preview: `••••1111` for digit values, else ≤ 4 leading and ≤ 2 trailing characters."""
    canon = canonical(value) if canon is None else canon
    if canon.isdigit() and len(canon) >= 6:
        return "••••" + canon[-min(4, len(canon) // 4):]
    v = value.strip()
    lead, trail = min(4, len(v) // 4), min(2, len(v) // 8)
    return v[:lead] + "…" + (v[-trail:] if trail else "")


@dataclass(slots=True)
class Hit:
    det: Compiled
    view: str
    start: int  # original span
    end: int
    value: str
    confidence: float
    key: str  # what identifies the value: canonical form (case-folded for EDM)
    fingerprint: str | None  # EDM: known from the check; else computed in `finish` for kept hits
    where: str
    seg: int
    joined: bool
    canon: str = ""
    preview: str | None = None  # sealed hits (see scancache.seal): made before the value was dropped


_DIGITS = frozenset("0123456789")
_RUN_SEPS = frozenset(" -./\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212")


def _group(text: str, i: int, step: int) -> int:
    """Length of the run of ASCII digits starting at text[i] and going in direction `step`."""
    n = 0
    while 0 <= i < len(text) and text[i] in _DIGITS:
        n += 1
        i += step
    return n


def _continues_digit_run(text: str, value: str, s: int, e: int) -> bool:
    """Whether a value's digit groups continue outside it: one of its own separators, then a digit group
    as long as the value's group on that side, itself not part of another number ("4111 1111 1111"
    inside "4111 1111 1111 1111"). A fixed-length id must not be cut out of a longer number; an id
    followed by a date ("… 1578 2026-03-20") is no continuation."""
    if s >= 2 and value[:1] in _DIGITS:
        c = text[s - 1]
        if c in _RUN_SEPS and c in value and text[s - 2] in _DIGITS:
            n = _group(text, s - 2, -1)
            k = s - 2 - n  # the character before the continuation group
            if n == _group(value, 0, 1) and not (k >= 1 and text[k] in _RUN_SEPS and text[k] != c
                                                  and text[k - 1] in _DIGITS):  # fmt: skip
                return True
    if e + 1 < len(text) and value[-1:] in _DIGITS:
        c = text[e]
        if c in _RUN_SEPS and c in value and text[e + 1] in _DIGITS:
            n = _group(text, e + 1, 1)
            k = e + 1 + n  # the character after the continuation group
            if n == _group(value, len(value) - 1, -1) and not (k + 1 < len(text) and text[k] in _RUN_SEPS
                                                              and text[k] != c and text[k + 1] in _DIGITS):  # fmt: skip
                return True
    return False


_DECIMAL = re.compile(r"[+-]?[0-9]+\.[0-9]+")


def _in_decimal(text: str, value: str, s: int, e: int) -> bool:
    """Whether a numeric value is (part of) a decimal number (`0.39997558519241921`, `1.38435736E+12`,
    `+35236450.6`): the digits around a decimal point are no card, id or phone number."""
    if "." in value:
        return _DECIMAL.fullmatch(value) is not None
    if not (s >= 2 and text[s - 1] == "." and text[s - 2] in _DIGITS and value[:1] in _DIGITS
            or e + 1 < len(text) and text[e] == "." and text[e + 1] in _DIGITS and value[-1:] in _DIGITS):
        return False
    return sum(c in _DIGITS for c in value) * 5 >= len(value) * 4  # mostly digits


NOT_AFTER_REACH = 256  # bytes before a candidate that a detector's `not_after` pattern sees


class CheckState:
    """What the checks of one scan share: the fingerprinter, and values negative context rejected in
    plain views."""

    __slots__ = ("fp", "negated")

    def __init__(self, fp: Fingerprinter) -> None:
        self.fp = fp
        self.negated: set[tuple[int, int, str]] = set()  # (detector idx, segment, canonical value)


def check_candidates(cands, view: View, data: bytes, ascii_: bool, n: int, seg: Segment,
                     state: CheckState, out: list[Hit]) -> None:  # fmt: skip
    """Run every check on (detector, byte start, byte end) candidates of one view; append Hits.
    Cheap checks first; the HMAC is left to `finish` (only for values that are reported)."""
    to_char = None if ascii_ else char_offsets(data, [o for _, s, e in cands for o in (s, e)])
    text = view.text
    vname = view.name
    decoded = vname.startswith("decoded:") or vname == "despaced"  # only what overlaps a run it changed
    runs = view.runs if decoded else ()
    plain = view.omap is None
    name = "joined" if seg.joined and vname == "raw" else vname
    where, joined = seg.where, seg.joined
    negated = state.negated
    seen: set[tuple[int, int, int]] = set()
    for d, bs, be in cands:
        k = (d.idx, bs, be)
        if k in seen:
            continue
        seen.add(k)
        s, e = (bs, be) if to_char is None else (to_char[bs], to_char[be])
        if decoded:
            os_, oe = view.span(s, e)
            if not any(rs < oe and os_ < re_ for rs, re_ in runs):
                continue  # plain text copied into the decoded view: the plain views judge it
        value = text[s:e]
        spec = d.spec
        if d.digit_run and _continues_digit_run(text, value, s, e) or _in_decimal(text, value, s, e):
            continue
        conf = spec.confidence
        if d.validator is not None:
            try:
                verdict = d.validator(value)
            except Exception:
                verdict = None
            if verdict is False:
                continue
            if verdict is True and conf < 0.85:
                conf = 0.85
        if spec.entropy_min is not None and not entropy.at_least(value, spec.entropy_min):
            continue
        if d.not_after is not None:  # RE2's `\z` holds only at the end of the text: search a copy
            before = data[bs - NOT_AFTER_REACH if bs > NOT_AFTER_REACH else 0:bs]
            if d.not_after.Match(_UNANCHORED, before, 0, len(before))[0][0] >= 0:  # type: ignore[attr-defined]
                continue
        canon = canonical(value)
        if canon in d.allow_values:
            continue
        if d.allow_rx:
            vb = value.encode("utf-8", "replace")
            if any(rx.Match(_UNANCHORED, vb, 0, len(vb))[0][0] >= 0 for rx in d.allow_rx):
                continue
        if spec.allow_stopwords:
            low = value.lower()
            if any(w in low for w in spec.allow_stopwords):
                continue
        if decoded and (d.idx, n, canon) in negated:
            continue
        rx = d.neg_rx
        if rx is not None:
            w = spec.negative.window  # type: ignore[union-attr]
            if _around(rx, data, bs, be, w, ascii_):
                if not decoded:
                    negated.add((d.idx, n, canon))
                continue
        rx = d.ctx_rx
        if rx is not None:
            ctx = spec.context
            w = ctx.window  # type: ignore[union-attr]
            if _around(rx, data, bs, be, w, ascii_):
                conf = min(1.0, conf + ctx.boost)  # type: ignore[union-attr]
            elif ctx.required:  # type: ignore[union-attr]
                continue
        fpr = None
        key = canon
        if d.edm:
            fpr = state.fp.fingerprint_folded(value)
            if fpr not in spec.edm_hashes:
                continue
            key = canon.casefold()
        if plain:
            out.append(Hit(d, name, s, e, value, conf, key, fpr, where, n, joined, canon))
        else:
            os_, oe = view.span(s, e)
            out.append(Hit(d, name, os_, oe, value, conf, key, fpr, where, n, joined, canon))


_VIEW_RANK = {"raw": 0, "joined": 1, "normalized": 2, "spelled-digits": 3}


def _without_generic_repeats(hits: list[Hit]) -> list[Hit]:
    """Hits without those of generic detectors (`generic: true`: a generic API key, a password
    assignment, a bearer header) where a specific detector of the same category found an overlapping
    value in the same segment: one secret, one finding, named after what it is."""
    specific: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for h in hits:
        if not h.det.spec.generic:
            specific.setdefault((h.seg, h.det.spec.category), []).append((h.start, h.end))
    return [h for h in hits if not h.det.spec.generic
            or not any(s < h.end and h.start < e for s, e in specific.get((h.seg, h.det.spec.category), ()))]


def finish(hits: list[Hit], fp: Fingerprinter) -> list[Finding]:
    """Dedupe (one occurrence seen in several views; joined repeats of sibling values; a generic detector's
    repeat of a specific one's value), min_count, count; fingerprints of the values reported."""
    if not hits:
        return []
    rank = _VIEW_RANK
    hits.sort(key=lambda h: (h.seg, h.start, rank.get(h.view, 9), h.start - h.end, h.det.idx, h.view))  # total
    leaf: dict[tuple[int, str], list[str]] = {}
    if any(h.joined for h in hits):
        for h in hits:
            if not h.joined:
                leaf.setdefault((h.det.idx, h.key), []).append(h.where)
    kept: list[Hit] = []
    best: dict[tuple[int, int, str], list[Hit]] = {}
    for h in hits:
        if h.joined:  # a joined hit whose value was also found inside one of the joined siblings
            parent = h.where.removesuffix("[*]")
            siblings = leaf.get((h.det.idx, h.key), ())
            if any(w.startswith(parent) and w[len(parent):][:1] in (".", "[") for w in siblings):
                continue
        k = (h.det.idx, h.seg, h.key)
        same = best.get(k)
        if same is None:
            best[k] = [h]
        elif any(o.start < h.end and h.start < o.end for o in same):
            continue
        else:
            same.append(h)
        kept.append(h)
    if any(h.det.spec.generic for h in kept):
        kept = _without_generic_repeats(kept)
    per_det: dict[int, set[str]] = {}
    counts: dict[tuple[int, str], int] = {}
    for h in kept:
        k2 = (h.det.idx, h.key)
        counts[k2] = counts.get(k2, 0) + 1
        per_det.setdefault(h.det.idx, set()).add(h.key)
    prints: dict[str, str] = {}  # canonical value → fingerprint (detectors that share a value share it)
    out = []
    for h in kept:
        spec = h.det.spec
        if spec.min_count > 1 and len(per_det[h.det.idx]) < spec.min_count:
            continue
        k2 = (h.det.idx, h.key)
        fpr = h.fingerprint or prints.get(h.canon)
        if fpr is None:
            fpr = prints[h.canon] = fp.of_canonical(h.canon)
        out.append(Finding(
            spec.id, spec.category, spec.severity, round(h.confidence, 3), h.where, h.start, h.end,
            counts[k2], h.view, mask(h.value, h.canon) if h.preview is None else h.preview, fpr, spec.name,
        ))  # fmt: skip
    return out
