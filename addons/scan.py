"""scan.py: the hot path. Segments → views → one hyperscan pass → RE2 confirmation → checks → Findings.

Invariants: scanning is linear in the input (hyperscan + RE2, bounded windows, bounded decoders);
a Finding's span is in the segment's original text; no matched value is kept beyond the masked
preview and the keyed fingerprint; `max_bytes` truncation is reported in `ScanReport.truncated`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass

import hyperscan as hs

from addons import decode
from addons.detector_spec import DetectorSpec
from addons.fingerprint import Fingerprinter
from addons.fingerprint import canonical
from addons.matchers import Confirmer
from addons.matchers import Locator
from addons.matchers import check_spec
from addons.matchers import hs_check
from addons.matchers import re2_compile
from addons.model import Finding
from addons.model import ScanReport
from addons.model import Segment
from addons.extract import JOIN_SEP
from addons.normalize import View
from addons.normalize import ViewBuilder
from addons.normalize import fold
from addons.normalize import spell_digits

_WORDCHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") | frozenset(
    range(0x80, 0x100)
)
TRIGGERS: dict[str, bytes] = {
    "broken-digits": rb"[0-9] ?[\t\n\v\f\r]+ ?[0-9]",
    "digit-words": rb"(?i)\b(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|niner|double|triple|[0-9])"
    rb"[\s,.\-/]{1,3}(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|niner|double|triple|[0-9])"
    rb"[\s,.\-/]{1,3}(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|niner|double|triple|[0-9])\b",
    **decode.TRIGGERS,
}
_TRIGGER_FLAGS = hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_UTF8


def _near_rx(words: Iterable[str]) -> re.Pattern[str]:
    """Case-insensitive search for any word starting at a word boundary (suffixes allowed: card → cards)."""
    alts = [(r"(?<![A-Za-z0-9])" if w[:1].isalnum() else "") + re.escape(w) for w in words]
    return re.compile("|".join(alts), re.IGNORECASE)


def _entropy(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values()) if n else 0.0


def mask(value: str) -> str:
    """Masked preview: `••••1111` for digit values, else ≤ 4 leading and ≤ 2 trailing characters."""
    canon = canonical(value)
    if canon.isdigit() and len(canon) >= 6:
        return "••••" + canon[-min(4, len(canon) // 4):]
    v = value.strip()
    lead, trail = min(4, len(v) // 4), min(2, len(v) // 8)
    return v[:lead] + "…" + (v[-trail:] if trail else "")


@dataclass(slots=True)
class _Det:
    spec: DetectorSpec
    confirm: Confirmer | None
    kw_ids: frozenset[int]
    allow_values: frozenset[str]
    allow_rx: tuple
    ctx_rx: re.Pattern[str] | None
    neg_rx: re.Pattern[str] | None
    validator: Callable[[str], bool | None] | None


@dataclass(slots=True)
class _Hit:
    det: _Det
    view: str
    start: int  # original span
    end: int
    value: str
    confidence: float
    fingerprint: str
    where: str
    seg: int
    joined: bool


def _registry() -> dict[str, Callable[[str], bool | None]]:
    try:
        from addons import validators
    except ImportError:
        return {}
    return getattr(validators, "REGISTRY", {})


class Scanner:
    """Compiled detectors. Build with `build_scanner` (addons.detectors); `scan` is the hot path."""

    def __init__(self, specs: Sequence[DetectorSpec], *, disabled: Sequence[DetectorSpec] = ()):
        self.problems: dict[str, str] = {}
        registry = _registry()
        dets: list[_Det] = []
        keywords: dict[str, int] = {}
        for spec in specs:
            confirm, _, problem = check_spec(spec) if spec.pattern is not None else (None, 0, None)
            if problem:
                self.problems[spec.id] = problem
                continue
            kw_ids = frozenset(keywords.setdefault(k, len(keywords)) for k in spec.keywords)
            dets.append(_Det(
                spec, confirm, kw_ids, frozenset(canonical(v) for v in spec.allow_values),
                tuple(re2_compile(p) for p in spec.allow_patterns),
                _near_rx(spec.context.words) if spec.context else None,
                _near_rx(spec.negative.words) if spec.negative else None,
                registry.get(spec.validator) if spec.validator else None,
            ))  # fmt: skip
        self._dets, self._keywords = self._compile(dets, keywords)
        self._by_id = {d.spec.id: d for d in self._dets}
        self._specs = {s.id: s for s in (*specs, *disabled) if s.id not in self.problems}
        self.detector_ids = frozenset(self._by_id)
        self.categories = frozenset(d.spec.category for d in self._dets)

    def _compile(self, dets: list[_Det], keywords: dict[str, int]) -> tuple[list[_Det], dict[str, int]]:
        """Build the locator; patterns hyperscan rejects are found one by one and reported."""
        flags = {d.spec.id: hs_flags(d.spec) for d in dets if d.confirm is not None}
        try:
            self._locator = self._make_locator(dets, flags, keywords)
            return dets, keywords
        except hs.error:
            pass
        for d in dets:
            if d.confirm is not None:
                f, problem = hs_check(d.spec.pattern or "", d.spec.case_insensitive)
                flags[d.spec.id] = f
                if problem:
                    self.problems[d.spec.id] = problem
        dets = [d for d in dets if d.spec.id not in self.problems]
        self._locator = self._make_locator(dets, flags, keywords)
        return dets, keywords

    def _make_locator(self, dets: list[_Det], flags: dict[str, int], keywords: dict[str, int]) -> Locator:
        regexes: list[tuple[bytes, int]] = []
        self._regex_owner: list[tuple[str, object]] = []
        for d in dets:
            if d.confirm is not None:
                regexes.append((d.spec.pattern.encode(), flags[d.spec.id]))  # type: ignore[union-attr]
                self._regex_owner.append(("det", d))
        for name, pattern in TRIGGERS.items():
            regexes.append((pattern, _TRIGGER_FLAGS))
            self._regex_owner.append(("trigger", name))
        literals: list[tuple[bytes, int]] = []
        self._literal_owner: list[tuple[str, object]] = []
        for kw in keywords:
            literals.append((kw.encode(), hs.HS_FLAG_CASELESS | hs.HS_FLAG_SINGLEMATCH))
            self._literal_owner.append(("kw", keywords[kw]))
        words: dict[str, list[_Det]] = {}
        for d in dets:
            for w in d.spec.words:
                words.setdefault(w, []).append(d)
        for w, owners in words.items():
            literals.append((w.encode(), hs.HS_FLAG_CASELESS | hs.HS_FLAG_SOM_LEFTMOST))
            self._literal_owner.append(("word", tuple(owners)))
        return Locator(regexes, literals)

    def detector(self, detector_id: str) -> DetectorSpec | None:
        return self._specs.get(detector_id)

    def without(self, ids: Iterable[str]) -> Scanner:
        """The same compiled scanner with some detectors switched off (no recompilation)."""
        drop = set(ids)
        other = object.__new__(Scanner)
        for slot in ("problems", "_keywords", "_locator", "_regex_owner", "_literal_owner"):
            setattr(other, slot, getattr(self, slot))
        other._dets = [d for d in self._dets if d.spec.id not in drop]
        other._by_id = {d.spec.id: d for d in other._dets}
        other._specs = {k: v for k, v in self._specs.items() if k not in drop}
        other.detector_ids = frozenset(other._by_id)
        other.categories = frozenset(d.spec.category for d in other._dets)
        return other

    def has_candidate(self, detector_id: str, text: str) -> bool:
        d = self._by_id.get(detector_id)
        if d is None or d.confirm is None:
            return False
        from addons.normalize import build_views

        for v in build_views(text):
            data = v.text.encode("utf-8", "replace")
            if d.confirm.find(data, 0, len(data)):
                return True
        return False

    # -----------------------------------------------------------------------------------------

    def scan(
        self,
        segments: Sequence[Segment],
        *,
        fingerprinter: Fingerprinter,
        max_bytes: int | None = None,
        only: set[str] | None = None,
    ) -> ScanReport:
        hits: list[_Hit] = []
        scanned = 0
        truncated = False
        not_inspected: list[str] = []
        active = self._dets if only is None else [d for d in self._dets if d.spec.id in only]
        active_set = {id(d) for d in active}
        for d in active:
            if d.spec.edm_key_id is not None and d.spec.edm_key_id != fingerprinter.key_id:
                active_set.discard(id(d))
                not_inspected.append(f"edm-key-mismatch:{d.spec.id}")
        for n, seg in enumerate(segments):
            text = seg.text
            size = len(text.encode("utf-8", "replace")) if not text.isascii() else len(text)
            if max_bytes is not None and scanned + size > max_bytes:
                keep = max(0, max_bytes - scanned)
                text = text.encode("utf-8", "replace")[:keep].decode("utf-8", "ignore")
                size = keep
                truncated = True
            scanned += size
            if text:
                hits.extend(self._scan_segment(n, seg, text, active_set, fingerprinter))
            if truncated:
                not_inspected.append("scan-limit")
                break
        findings = _finish(hits)
        return ScanReport(tuple(findings), scanned, truncated, tuple(dict.fromkeys(not_inspected)))

    def _scan_segment(self, n: int, seg: Segment, text: str, active: set[int], fp: Fingerprinter) -> list[_Hit]:
        extra: list[View] = []
        if seg.joined and JOIN_SEP in text:  # siblings read as "a b" (raw view) and as "ab"
            b = ViewBuilder(text)
            pos = 0
            for i, ch in enumerate(text):
                if ch == JOIN_SEP:
                    b.copy(pos, i)
                    pos = i + 1
            b.copy(pos, len(text))
            extra.append(View("joined", *b.build()))
            text = text.replace(JOIN_SEP, " ")
        raw = View("raw", text)
        out: list[_Hit] = []
        triggers, kws = self._scan_view(raw, None, n, seg, active, fp, out)
        base_text, base_map = text, None
        if not text.isascii() or "broken-digits" in triggers:
            folded = fold(text)
            if folded is not None:
                extra.append(View("normalized", folded[0], folded[1]))
                base_text, base_map = folded
        if "digit-words" in triggers or (base_map is not None and not base_text.isascii()):
            spelled = spell_digits(base_text, base_map)
            if spelled is not None:
                extra.append(View("spelled-digits", spelled[0], spelled[1]))
        kinds = [k for k in decode.ORDER if k in triggers]
        if kinds:
            extra.extend(decode.decoded_views(text, kinds))
        for view in extra:
            self._scan_view(view, kws, n, seg, active, fp, out)
        return out

    def _scan_view(self, view, raw_kws, n, seg, active, fp, out) -> tuple[set[str], set[int]]:
        text = view.text
        ascii_ = text.isascii()
        data = text.encode() if ascii_ else text.encode("utf-8", "replace")
        regex_hits, literal_hits = self._locator.run(data)
        triggers: set[str] = set()
        kws: set[int] = set(raw_kws or ())
        ends: dict[int, list[int]] = {}
        owners = self._regex_owner
        for i, e in regex_hits:
            kind, owner = owners[i]
            if kind == "det":
                ends.setdefault(i, []).append(e)
            else:
                triggers.add(owner)  # type: ignore[arg-type]
        cands: list[tuple[_Det, int, int]] = []  # (det, byte start, byte end) of the sensitive value
        for i, s, e in literal_hits:
            kind, owner = self._literal_owner[i]
            if kind == "kw":
                kws.add(owner)  # type: ignore[arg-type]
            elif (s == 0 or data[s - 1] not in _WORDCHARS) and (e == len(data) or data[e] not in _WORDCHARS):
                for d in owner:  # type: ignore[union-attr]
                    if id(d) in active:
                        cands.append((d, s, e))
        for i, es in ends.items():
            d = owners[i][1]
            if id(d) not in active or (d.kw_ids and not (d.kw_ids & kws)):  # type: ignore[union-attr]
                continue
            cands.extend(self._confirm(d, data, es, ascii_))  # type: ignore[arg-type]
        if cands:
            self._check(cands, view, data, ascii_, n, seg, fp, out)
        return triggers, kws

    @staticmethod
    def _confirm(d: _Det, data: bytes, ends: list[int], ascii_: bool) -> list[tuple[_Det, int, int]]:
        c = d.confirm
        assert c is not None
        width = c.width if ascii_ else c.width * 4
        out = []
        ws, we = -1, -1
        windows = []
        for e in ends:
            s = max(0, e - width)
            if s <= we:
                we = max(we, e)
            else:
                if we >= 0:
                    windows.append((ws, we))
                ws, we = s, e
        windows.append((ws, we))
        g = d.spec.secret_group
        for ws, we in windows:
            while not ascii_ and ws > 0 and (data[ws] & 0xC0) == 0x80:
                ws -= 1
            for spans in c.find(data, ws, we):
                s, e = spans[g]
                if s >= 0 and e > s:
                    out.append((d, s, e))
        return out

    def _check(self, cands, view: View, data: bytes, ascii_: bool, n, seg: Segment, fp, out) -> None:
        if ascii_:
            to_char = None
        else:
            offsets = sorted({o for _, s, e in cands for o in (s, e)})
            to_char, prev, count = {}, 0, 0
            for o in offsets:
                count += len(data[prev:o].decode("utf-8", "replace"))
                to_char[o] = count
                prev = o
        text = view.text
        for d, bs, be in cands:
            s, e = (bs, be) if to_char is None else (to_char[bs], to_char[be])
            value = text[s:e]
            spec = d.spec
            conf = spec.confidence
            if d.validator is not None:
                try:
                    verdict = d.validator(value)
                except Exception:
                    verdict = None
                if verdict is False:
                    continue
                if verdict is True:
                    conf = max(conf, 0.85)
            if spec.entropy_min is not None and _entropy(value) < spec.entropy_min:
                continue
            canon = canonical(value)
            if canon in d.allow_values or any(rx.search(value) for rx in d.allow_rx):
                continue
            if spec.allow_stopwords and any(w in value.lower() for w in spec.allow_stopwords):
                continue
            if d.neg_rx is not None and spec.negative is not None:
                w = spec.negative.window
                if d.neg_rx.search(text[max(0, s - w):s]) or d.neg_rx.search(text[e:e + w]):
                    continue
            if d.ctx_rx is not None and spec.context is not None:
                w = spec.context.window
                near = d.ctx_rx.search(text[max(0, s - w):s]) or d.ctx_rx.search(text[e:e + w])
                if near:
                    conf = min(1.0, conf + spec.context.boost)
                elif spec.context.required:
                    continue
            if spec.edm_file is not None:
                h = fp.fingerprint_folded(value)
                if h not in spec.edm_hashes:
                    continue
            else:
                h = fp.fingerprint(value)
            os_, oe = view.span(s, e)
            name = "joined" if seg.joined and view.name == "raw" else view.name
            out.append(_Hit(d, name, os_, oe, value, conf, h, seg.where, n, seg.joined))


def hs_flags(spec: DetectorSpec) -> int:
    return hs.HS_FLAG_UTF8 | (hs.HS_FLAG_CASELESS if spec.case_insensitive else 0)


_VIEW_RANK = {"raw": 0, "joined": 1, "normalized": 2, "spelled-digits": 3}


def _in_child(h: _Hit, leaf_values: set[tuple[str, str, str]]) -> bool:
    """A joined hit whose value was also found inside one of the joined siblings is that same hit."""
    parent = h.where.removesuffix("[*]")
    return any(
        did == h.det.spec.id and fpr == h.fingerprint and w.startswith(parent) and w[len(parent):][:1] in (".", "[")
        for did, fpr, w in leaf_values
    )


def _finish(hits: list[_Hit]) -> list[Finding]:
    """Dedupe (same occurrence seen in several views; joined duplicates of leaf values), min_count, count."""
    hits.sort(key=lambda h: (h.seg, h.start, _VIEW_RANK.get(h.view, 9), -(h.end - h.start)))
    kept: list[_Hit] = []
    best: dict[tuple[str, int, str], list[_Hit]] = {}
    leaf_values = {(h.det.spec.id, h.fingerprint, h.where) for h in hits if not h.joined}
    for h in hits:
        if h.joined and _in_child(h, leaf_values):
            continue
        key = (h.det.spec.id, h.seg, h.fingerprint)
        same = best.setdefault(key, [])
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
            counts[(spec.id, h.fingerprint)], h.view, mask(h.value), h.fingerprint, spec.name,
        ))  # fmt: skip
    return out


def check_disabled(specs: Sequence[DetectorSpec]) -> dict[str, str]:
    """Problems (id → message) of disabled detectors' patterns (RE2 and hyperscan, one by one)."""
    out = {}
    for spec in specs:
        _, _, problem = check_spec(spec, with_hyperscan=True)
        if problem:
            out[spec.id] = problem
    return out
