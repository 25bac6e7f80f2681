"""findings.py: a confirmed match → checks (validator, entropy, allowlists, context) → Finding; dedupe and counts.

Invariants: a value leaves this module only as a masked preview and a keyed fingerprint; the same
occurrence seen in several views is reported once (raw preferred); `min_count` counts distinct
values per request; a joined-siblings hit that repeats a sibling's own value is dropped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass

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
    anchor (RE2 near a required literal) | words (literal list)."""

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


def near_rx(words: Iterable[str]):
    """RE2 (case-insensitive) for any word starting at a word boundary (suffixes allowed: card → cards)."""
    alts = [(r"(?:^|[^A-Za-z0-9])" if w[:1].isalnum() else "") + re.escape(w) for w in words]
    return re2_compile("|".join(alts), case_insensitive=True)._regexp


def _near(rx, text: str, start: int, end: int) -> bool:
    window = text[max(0, start):end].encode("utf-8", "replace")
    return rx.Match(_UNANCHORED, window, 0, len(window))[0][0] >= 0


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
    # hyperscan reads `^`/`$` per line (views are batched between newlines); RE2 confirms exactly
    hs_pattern = (spec.pattern or "").replace(r"\A", "^").replace(r"\z", "$").encode()
    validator = _registry().get(spec.validator) if spec.validator else None
    return Compiled(
        spec, confirm, hs_pattern, hs_flags(spec.case_insensitive),
        frozenset(canonical(v) for v in spec.allow_values), allow_rx,
        near_rx(spec.context.words) if spec.context else None,
        near_rx(spec.negative.words) if spec.negative else None,
        validator,
    ), None  # fmt: skip


_CLOG = [0.0] + [c * math.log2(c) for c in range(1, 4097)]


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(value)
    if not n:
        return 0.0
    counts = [value.count(c) for c in set(value)]
    if n > 4096:
        return -sum(c / n * math.log2(c / n) for c in counts)
    return math.log2(n) - sum(_CLOG[c] for c in counts) / n


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
    fingerprint: str
    where: str
    seg: int
    joined: bool
    canon: str = ""


def check_candidates(cands, view: View, data: bytes, ascii_: bool, n: int, seg: Segment,
                     fp: Fingerprinter, out: list[Hit]) -> None:  # fmt: skip
    """Run every check on (detector, byte start, byte end) candidates of one view; append Hits."""
    to_char = None if ascii_ else char_offsets(data, [o for _, s, e in cands for o in (s, e)])
    text = view.text
    seen: set[tuple[int, int, int]] = set()
    for d, bs, be in cands:
        if (id(d), bs, be) in seen:
            continue
        seen.add((id(d), bs, be))
        s, e = (bs, be) if to_char is None else (to_char[bs], to_char[be])
        hit = _check(d, text, s, e, fp)
        if hit is not None:
            conf, h, value, canon = hit
            os_, oe = view.span(s, e)
            name = "joined" if seg.joined and view.name == "raw" else view.name
            out.append(Hit(d, name, os_, oe, value, conf, h, seg.where, n, seg.joined, canon))


def _check(d: Compiled, text: str, s: int, e: int, fp: Fingerprinter) -> tuple[float, str, str, str] | None:
    value = text[s:e]
    spec = d.spec
    conf = spec.confidence
    if d.validator is not None:
        try:
            verdict = d.validator(value)
        except Exception:
            verdict = None
        if verdict is False:
            return None
        if verdict is True:
            conf = max(conf, 0.85)
    if spec.entropy_min is not None and entropy(value) < spec.entropy_min:
        return None
    canon = canonical(value)
    if canon in d.allow_values:
        return None
    if d.allow_rx:
        vb = value.encode("utf-8", "replace")
        if any(rx.Match(_UNANCHORED, vb, 0, len(vb))[0][0] >= 0 for rx in d.allow_rx):
            return None
    if spec.allow_stopwords and any(w in value.lower() for w in spec.allow_stopwords):
        return None
    if d.neg_rx is not None and spec.negative is not None:
        w = spec.negative.window
        if _near(d.neg_rx, text, s - w, s) or _near(d.neg_rx, text, e, e + w):
            return None
    if d.ctx_rx is not None and spec.context is not None:
        w = spec.context.window
        if _near(d.ctx_rx, text, s - w, s) or _near(d.ctx_rx, text, e, e + w):
            conf = min(1.0, conf + spec.context.boost)
        elif spec.context.required:
            return None
    if spec.edm_file is not None:
        h = fp.fingerprint_folded(value)
        if h not in spec.edm_hashes:
            return None
    else:
        h = fp.of_canonical(canon)
    return conf, h, value, canon


_VIEW_RANK = {"raw": 0, "joined": 1, "normalized": 2, "spelled-digits": 3}


def _in_child(h: Hit, leaf_values: set[tuple[str, str, str]]) -> bool:
    """A joined hit whose value was also found inside one of the joined siblings is that same hit."""
    parent = h.where.removesuffix("[*]")
    return any(
        did == h.det.spec.id and fpr == h.fingerprint and w.startswith(parent) and w[len(parent):][:1] in (".", "[")
        for did, fpr, w in leaf_values
    )


def finish(hits: list[Hit]) -> list[Finding]:
    """Dedupe (one occurrence seen in several views; joined repeats of sibling values), min_count, count."""
    hits.sort(key=lambda h: (h.seg, h.start, _VIEW_RANK.get(h.view, 9), -(h.end - h.start)))
    kept: list[Hit] = []
    best: dict[tuple[str, int, str], list[Hit]] = {}
    leaf_values = {(h.det.spec.id, h.fingerprint, h.where) for h in hits if not h.joined}
    for h in hits:
        if h.joined and _in_child(h, leaf_values):
            continue
        same = best.setdefault((h.det.spec.id, h.seg, h.fingerprint), [])
        if any(o.start < h.end and h.start < o.end for o in same):
            continue
        same.append(h)
        kept.append(h)
    per_det: dict[str, set[str]] = {}
    for h in kept:
        per_det.setdefault(h.det.spec.id, set()).add(h.fingerprint)
    counts = Counter((h.det.spec.id, h.fingerprint) for h in kept)
    out = []
    for h in kept:
        spec = h.det.spec
        if len(per_det[spec.id]) < spec.min_count:
            continue
        out.append(Finding(
            spec.id, spec.category, spec.severity, round(h.confidence, 3), h.where, h.start, h.end,
            counts[(spec.id, h.fingerprint)], h.view, mask(h.value, h.canon), h.fingerprint, spec.name,
        ))  # fmt: skip
    return out
