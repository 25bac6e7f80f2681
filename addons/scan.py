"""scan.py: the hot path. Segments → views → one batched locate pass → RE2 confirmation → Findings.

Invariants: scanning is linear in the input (hyperscan + RE2 in bounded windows + bounded decoders);
all segments' views are located in one hyperscan pass per stage (raw views; the derived views the
first pass asked for; spelled digits a normalized view revealed and encodings a decoded view holds),
so small bodies pay the fixed cost once, and every decoding, nested ones too, starts from triggers;
a segment's hits depend on its text alone, which is what `reuse` (scancache.py) relies on; a
Finding's span is in the segment's original text; no matched value is kept beyond the masked
preview and the keyed fingerprint; `max_bytes` truncation is reported in the ScanReport.
"""

from __future__ import annotations

import bisect
import hashlib
import sys
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import hyperscan as hs

from addons import decode
from addons.detector_spec import DetectorSpec
from addons.extract import JOIN_SEP
from addons.findings import CheckState
from addons.findings import Compiled
from addons.findings import Hit
from addons.findings import _back
from addons.findings import _fwd
from addons.findings import check_candidates
from addons.findings import compile_detector
from addons.findings import finish
from addons.findings import mask
from addons.fingerprint import Fingerprinter
from addons.matchers import KEYWORD_RADIUS
from addons.matchers import SHORT_KEYWORD
from addons.matchers import SLOW_MBS
from addons.matchers import UNANCHORED
from addons.matchers import Locator
from addons.matchers import alone_speed
from addons.matchers import anchor_literal
from addons.matchers import byte_safe
from addons.matchers import cache_key
from addons.matchers import cache_load
from addons.matchers import cache_store
from addons.matchers import check_pattern
from addons.matchers import hs_check
from addons.matchers import hs_compile
from addons.matchers import hs_escape
from addons.matchers import keyword_counts
from addons.matchers import keyword_gate
from addons.matchers import keyword_inside
from addons.matchers import keyword_regex
from addons.matchers import merge_windows
from addons.matchers import required_literal_len
from addons.model import ScanReport
from addons.model import Segment
from addons.normalize import View
from addons.normalize import ViewBuilder
from addons.normalize import char_offsets
from addons.normalize import despace
from addons.normalize import fold
from addons.normalize import spell_digits
from addons.scancache import SegmentCache
from addons.scancache import rebase
from addons.scancache import seal

__all__ = ["Scanner", "check_disabled", "mask"]

ENGINE = "scan-3"  # part of the database cache key: bump when the plan or the database layout changes
SEP = b"\n\x00\x00\n"  # between views in a batched buffer
_WORDCHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") | frozenset(
    range(0x80, 0x100)
)
TRIGGERS: dict[str, bytes] = {
    # hyperscan has no lookbehind: the consumed boundary characters make this a superset of BROKEN_RUN
    "broken-digits": rb"(?:^|[^0-9A-Za-z])[0-9]{1,8}(?: ?[\t\n\v\f\r\x{85}\x{2028}\x{2029}]+ ?[0-9]{1,8})+"
    rb"(?:[^0-9A-Za-z:/\-]|$)",
    **decode.TRIGGERS,
}
_TRIGGER_FLAGS = {"broken-digits": hs.HS_FLAG_MULTILINE, **{k: 0 for k in decode.HINTED}}
_W = rb"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|niner|double|triple|treble)"
# two digit tokens in a row, at least one a word ("four one", "4 one", "oh seven"): lone "one"s don't fire
TRIGGERS["digit-words"] = (
    rb"(?i)\b(?:" + _W + rb"|[0-9])[\s,.\-/]{1,3}" + _W + rb"\b|\b" + _W + rb"[\s,.\-/]{1,3}[0-9]\b"
)
_TRIGGER_FLAGS["digit-words"] = 0
# eight single characters with whitespace between them (normalize.despace finds the whole run)
TRIGGERS["spaced"] = rb"(?:[\x21-\x7e][ \t\r\n\f\v]{1,3}){7}[\x21-\x7e]"
_TRIGGER_FLAGS["spaced"] = 0
# triggers without a flag above are SINGLEMATCH (once per scanned buffer); every match holds this byte
_SINGLE_MARK = {"percent": b"%", "unicode-escape": b"\\", "html": b"&"}
FREQUENT = 8  # keyword hits in the 64 KB sample from which a keyword is "frequent" (see _plan)
KW_REGEX_LITERAL = 3  # a frequent-keyword detector whose pattern needs a literal this long is located by it

_RUN_BYTES = decode.RUN_BYTES  # hinted triggers: the bytes of the runs they report the end of

# what a database pattern reports (first item of an owner tuple)
_DET, _KWRE, _TRIG, _KW, _ANCHOR, _WORD = range(6)


@dataclass(slots=True)
class _ViewHits:
    """What the locate pass found in one view."""

    view: View
    seg: int
    ascii: bool
    data: bytes
    hits: list[tuple[int, int]] = field(default_factory=list)  # (pattern id, end offset in view bytes)
    triggers: dict[str, list[int]] = field(default_factory=dict)


_CODE_DIGEST: str | None = None


def _code_digest() -> str:
    """Hash of the modules that decide the plan and build the database: any change to them invalidates
    cached databases (no stale plan survives an upgrade or an edit)."""
    global _CODE_DIGEST
    if _CODE_DIGEST is None:
        from addons import findings
        from addons import matchers

        h = hashlib.sha256()
        for module in (sys.modules[__name__], matchers, findings, decode):
            try:
                h.update(Path(module.__file__).read_bytes())  # type: ignore[arg-type]
            except (OSError, TypeError):
                h.update(repr(module).encode())
        _CODE_DIGEST = h.hexdigest()
    return _CODE_DIGEST


def _decoded_runs(view: View) -> tuple[tuple[int, int], ...] | None:
    """The original spans a decoded or despaced view changed (it reports only values overlapping one,
    see findings.check_candidates), or None for a view that reports every value."""
    name = view.name
    return view.runs if name.startswith("decoded:") or name == "despaced" else None


def _reaches_a_run(vh: _ViewHits, runs: tuple[tuple[int, int], ...], ws: int, we: int) -> bool:
    """Whether the byte window [ws, we) of a decoded view maps onto a run it changed. A value inside the
    window maps inside the window's original span, so a window that reaches no run holds no value the
    view may report, and needs no RE2 call (most of a small text's decoded view is copied text)."""
    if vh.ascii:
        s, e = ws, we
    else:
        at = char_offsets(vh.data, [ws, we])
        s, e = at[ws], at[we]
    os_, oe = vh.view.span(s, e)
    return any(rs < oe and os_ < re_ for rs, re_ in runs)


class Scanner:
    """Compiled detectors. Build with `addons.detectors.build_scanner`; `scan` is the hot path."""

    def __init__(self, specs: Sequence[DetectorSpec], *, disabled: Sequence[DetectorSpec] = ()):
        self.problems: dict[str, str] = {}
        dets: list[Compiled] = []
        for spec in specs:
            det, problem = compile_detector(spec)
            if problem:
                self.problems[spec.id] = problem
            elif det is not None:
                det.idx = len(dets)
                dets.append(det)
        self._count = len(dets)
        self.from_cache = False
        self.cache = SegmentCache()  # hits of segments seen before (scan(reuse=True))
        self._plan(dets)
        self._dets = [d for d in dets if d.spec.id not in self.problems]
        self._specs = {s.id: s for s in (*specs, *disabled) if s.id not in self.problems}
        self._index()

    def _index(self) -> None:
        self._by_id = {d.spec.id: d for d in self._dets}
        act = bytearray(self._count)
        for d in self._dets:
            act[d.idx] = 1
        self._act = bytes(act)
        self._edm = [d for d in self._dets if d.spec.edm_key_id is not None]
        self.detector_ids = frozenset(self._by_id)
        self.categories = frozenset(d.spec.category for d in self._dets)

    # --- compile ---------------------------------------------------------------------------------

    def _plan(self, dets: list[Compiled]) -> None:
        """Decide how each detector is located and build the database, or take both from the cache."""
        key = cache_key(
            ENGINE, _code_digest(), sorted((k, v, _TRIGGER_FLAGS.get(k)) for k, v in TRIGGERS.items()),
            [SLOW_MBS, KW_REGEX_LITERAL, FREQUENT, SHORT_KEYWORD, KEYWORD_RADIUS],
            [(d.spec.id, d.hs_pattern, d.hs_flags, d.spec.keywords, d.spec.words, d.spec.pattern) for d in dets],
        )  # fmt: skip
        problems_before = dict(self.problems)
        cached = cache_load(key)
        if cached is not None:
            meta, db = cached
            try:
                self.problems.update(meta["problems"])
                for d in dets:
                    if d.spec.id not in self.problems:
                        d.mode, d.anchor, d.hs_flags = meta["modes"][d.spec.id]
                self._finish_plan(dets, db)
                self.from_cache = True
                return
            except (KeyError, TypeError, ValueError, IndexError, AttributeError):  # a malformed entry: rebuild
                self.problems = dict(problems_before)
        self._choose_modes(dets)
        live = [d for d in dets if d.spec.id not in self.problems]
        try:
            db = self._compile(live)
        except hs.error:  # find the pattern(s) hyperscan rejects in combination
            for d in live:
                if d.mode in ("regex", "kw-regex"):
                    d.hs_flags, problem = hs_check(d.hs_pattern.decode(), d.spec.case_insensitive)
                    if problem and d.mode == "regex":
                        self.problems[d.spec.id] = problem
                    elif problem:
                        d.mode = "keyword"
            live = [d for d in dets if d.spec.id not in self.problems]
            db = self._compile(live)
        meta = {
            "problems": {k: v for k, v in self.problems.items() if k not in problems_before},
            "modes": {d.spec.id: [d.mode, d.anchor, d.hs_flags] for d in live},
        }
        cache_store(key, meta, db)
        self._finish_plan(dets, db)

    def _choose_modes(self, dets: list[Compiled]) -> None:
        for d in dets:
            if d.spec.words:
                d.mode = "words"
            elif d.spec.keywords:
                d.mode = "keyword"
            else:
                d.mode = "regex"
                try:
                    speed = alone_speed(d.hs_pattern, d.hs_flags)
                except hs.error:
                    d.hs_flags, problem = hs_check(d.hs_pattern.decode(), d.spec.case_insensitive)
                    if problem:
                        self.problems[d.spec.id] = problem
                        continue
                    speed = alone_speed(d.hs_pattern, d.hs_flags)
                literal = anchor_literal(d.spec.pattern or "")
                if literal and speed < SLOW_MBS:  # e.g. `[…]{1,64}@…`: locate the '@', confirm around it
                    d.mode, d.anchor = "anchor", literal.lower()
        # A keyword common in ordinary text ("path" has `pat`, code is full of `key`) would flood the pass
        # with hits: such a detector is located by its own pattern when that pattern has a literal of
        # its own for hyperscan to key on (then it costs the pass next to nothing), and the keyword is
        # then only required near each match. Decided from the rules alone, never from timings.
        kws = sorted({k for d in dets if d.mode == "keyword" for k in d.spec.keywords})
        counts = keyword_counts(kws)
        for d in dets:
            if d.mode != "keyword" or max(counts.get(k, 0) for k in d.spec.keywords) < FREQUENT:
                continue
            if required_literal_len(d.spec.pattern or "") < KW_REGEX_LITERAL:
                continue
            flags, problem = hs_check(d.hs_pattern.decode(), d.spec.case_insensitive)
            if not problem and not flags & hs.HS_FLAG_PREFILTER:
                d.mode, d.hs_flags = "kw-regex", flags

    @staticmethod
    def _patterns(dets: list[Compiled]) -> list[tuple[bytes, int, tuple]]:
        """Every database pattern with its flags and owner, in a deterministic order."""
        out: list[tuple[bytes, int, tuple]] = []
        for d in dets:
            if d.mode in ("regex", "kw-regex"):
                flags = d.hs_flags | hs.HS_FLAG_MULTILINE
                if byte_safe(d.hs_pattern):  # the same matches, much faster on digit-heavy text
                    flags &= ~hs.HS_FLAG_UTF8
                out.append((d.hs_pattern, flags, (_DET if d.mode == "regex" else _KWRE, d)))
        for name, pattern in TRIGGERS.items():
            flags = _TRIGGER_FLAGS.get(name, hs.HS_FLAG_SINGLEMATCH) | (0 if byte_safe(pattern) else hs.HS_FLAG_UTF8)
            out.append((pattern, flags, (_TRIG, name)))
        literals: dict[tuple[int, str], list[Compiled]] = {}
        for d in dets:
            if d.mode == "keyword":
                for kw in d.spec.keywords:
                    literals.setdefault((_KW, kw.lower()), []).append(d)
            for w in d.spec.words:
                literals.setdefault((_WORD, w), []).append(d)
            if d.mode == "anchor" and d.anchor:
                literals.setdefault((_ANCHOR, d.anchor), []).append(d)
        for (kind, text), owners in literals.items():
            flags = hs.HS_FLAG_CASELESS | hs.HS_FLAG_MULTILINE
            pattern = keyword_regex(text) if kind == _KW else hs_escape(text)
            out.append((pattern, flags, (kind, tuple(owners), len(text.encode()))))
        return out

    def _compile(self, dets: list[Compiled]) -> hs.Database:
        pats = self._patterns(dets)
        return hs_compile([p for p, _, _ in pats], [f for _, f, _ in pats])

    def _finish_plan(self, dets: list[Compiled], db: hs.Database) -> None:
        live = [d for d in dets if d.spec.id not in self.problems]
        for d in live:
            holds_keyword = d.mode in ("keyword", "kw-regex") and keyword_inside(d.spec.pattern or "", d.spec.keywords)
            # kw-regex: a keyword must be near each match, unless every match holds one
            d.gate = keyword_gate(d.spec.keywords) if d.mode == "kw-regex" and not holds_keyword else None
            width = d.confirm.width if d.confirm is not None else 0
            inside = d.mode == "anchor" or d.mode == "keyword" and holds_keyword
            d.inside = width if inside else -1
        owners: list[tuple] = []
        for _, _, (kind, *rest) in self._patterns(live):
            if kind in (_DET, _KWRE):
                d = rest[0]
                owners.append((kind, d, d.confirm.width))  # type: ignore[union-attr]
            elif kind == _TRIG:
                owners.append((kind, rest[0], 0))
            elif kind == _WORD:
                owners.append((kind, rest[0], rest[1]))
            else:  # keyword: a match within KEYWORD_RADIUS, or containing it (see keyword_inside); anchor: containing
                owners.append((kind, tuple((d, d.confirm.width + KEYWORD_RADIUS, d.inside) for d in rest[0]), rest[1]))  # type: ignore[union-attr]
        self._owner = owners
        # triggers reported once per scan (they only say "decode this kind"), with the byte every match has
        self._single = {i: _SINGLE_MARK[o[1]] for i, o in enumerate(owners) if o[0] == _TRIG and o[1] in _SINGLE_MARK}
        self._locator = Locator(db)

    # --- public API --------------------------------------------------------------------------------

    def detector(self, detector_id: str) -> DetectorSpec | None:
        return self._specs.get(detector_id)

    def without(self, ids: Iterable[str]) -> Scanner:
        """The same compiled scanner with some detectors switched off (no recompilation)."""
        drop = set(ids)
        other = object.__new__(Scanner)
        for name in ("problems", "_count", "from_cache", "_owner", "_single", "_locator"):
            setattr(other, name, getattr(self, name))
        other.cache = SegmentCache()
        other._dets = [d for d in self._dets if d.spec.id not in drop]
        other._specs = {k: v for k, v in self._specs.items() if k not in drop}
        other._index()
        return other

    def has_candidate(self, detector_id: str, text: str) -> bool:
        """Whether the detector's pattern matches anywhere in `text` (any view), ignoring all checks."""
        d = self._by_id.get(detector_id)
        if d is None or d.confirm is None:
            return False
        views = [View("raw", text)] + ([View("normalized", *f)] if (f := fold(text)) else [])
        for v in views:
            data = v.text.encode("utf-8", "replace")
            if d.confirm.find(data, 0, len(data), 1 if len(data) == len(v.text) else 4):
                return True
        return False

    def scan(
        self,
        segments: Sequence[Segment],
        *,
        fingerprinter: Fingerprinter,
        max_bytes: int | None = None,
        only: set[str] | None = None,
        reuse: bool = False,
    ) -> ScanReport:
        """Findings of one request. `reuse`: take the hits of segments this scanner has seen before from
        its cache (the same findings as a rescan; chat APIs resend the whole conversation every turn)."""
        act, not_inspected = self._active(only, fingerprinter)
        raw_views, scanned, truncated = self._raw_views(segments, max_bytes)
        if truncated:
            not_inspected.append("scan-limit")
        if reuse and only is None:
            hits, cut = self._run_reusing(segments, raw_views, act, fingerprinter)
        else:
            hits, cut = self._run(segments, raw_views, act, fingerprinter)
        if cut:
            not_inspected.append("decode-limit")
        return ScanReport(tuple(finish(hits, fingerprinter)), scanned, truncated, tuple(dict.fromkeys(not_inspected)))

    def scan_many(self, requests: Sequence[Sequence[Segment]], *, fingerprinter: Fingerprinter) -> list[ScanReport]:
        """Scan several independent requests in one batch (one locate pass for all): each report is what
        `scan` gives for that request alone (min_count, counts and dedupe stay per request)."""
        act, not_inspected = self._active(None, fingerprinter)
        segments: list[Segment] = []
        owner: list[int] = []
        for r, segs in enumerate(requests):
            segments.extend(segs)
            owner.extend([r] * len(segs))
        raw_views, _, _ = self._raw_views(segments, None)
        hits, cut = self._run(segments, raw_views, act, fingerprinter)
        per: list[list[Hit]] = [[] for _ in requests]
        for h in hits:
            per[owner[h.seg]].append(h)
        sizes = [sum(len(s.text.encode("utf-8", "replace")) for s in segs) for segs in requests]
        notes = tuple(dict.fromkeys(not_inspected))
        cut_requests = {owner[n] for n in cut}
        return [ScanReport(tuple(finish(h, fingerprinter)), n, False, (*notes, "decode-limit") if r in cut_requests
                           else notes) for r, (h, n) in enumerate(zip(per, sizes, strict=True))]  # fmt: skip

    # --- stages ------------------------------------------------------------------------------------

    def _active(self, only: set[str] | None, fp: Fingerprinter) -> tuple[bytes, list[str]]:
        if only is None:
            act = self._act
        else:
            b = bytearray(self._count)
            for i in only:
                d = self._by_id.get(i)
                if d is not None:
                    b[d.idx] = 1
            act = bytes(b)
        not_inspected: list[str] = []
        for d in self._edm:
            if act[d.idx] and d.spec.edm_key_id != fp.key_id:
                b = bytearray(act)
                b[d.idx] = 0
                act = bytes(b)
                not_inspected.append(f"edm-key-mismatch:{d.spec.id}")
        return act, not_inspected

    def _run(self, segments: Sequence[Segment], raw_views: list[tuple], act: bytes,
             fp: Fingerprinter) -> tuple[list[Hit], set[int]]:  # fmt: skip
        """Hits of the segments of `raw_views`, and the segments whose encoded runs a decoding bound left
        partly undecoded (DecodeBudget.cut: reported as not inspected)."""
        state = CheckState(fp)
        hits: list[Hit] = []
        need = [k for k, (_, n, _) in enumerate(raw_views) if segments[n].joined]
        budgets: dict[int, decode.DecodeBudget] = {}  # per segment: decoded characters left, all levels
        extra: list[tuple] = []
        for vh in self._locate(raw_views, need):
            self._confirm(vh, act, segments, state, hits)
            seg = segments[vh.seg]
            if seg.joined or vh.triggers or not vh.ascii:
                extra.extend((v, vh.seg, None) for v in self._extra_views(vh, seg, budgets))
        last: list[tuple] = []  # spelled digits a normalized view revealed; encodings inside decoded text
        for vh in self._locate(extra):
            self._confirm(vh, act, segments, state, hits)
            if vh.view.name == "normalized" and "digit-words" in vh.triggers:
                view = self._spelled_view(vh)
                if view is not None:
                    last.append((view, vh.seg, None))
            last.extend((v, vh.seg, None) for v in self._nested_views(vh, budgets))
        for vh in self._locate(last):
            self._confirm(vh, act, segments, state, hits)
        return hits, {n for n, budget in budgets.items() if budget.cut}

    def _run_reusing(self, segments: Sequence[Segment], raw_views: list[tuple], act: bytes,
                     fp: Fingerprinter) -> tuple[list[Hit], set[int]]:  # fmt: skip
        """`_run` for the segments not in the cache; cached hits for the others. All hits come back sealed
        (keyed by fingerprint, preview made), so cached and fresh ones dedupe and count alike. A segment
        a decoding bound cut is not cached: each request rescans it and reports it as not inspected."""
        cache = self.cache
        hits: list[Hit] = []
        fresh: list[tuple] = []
        keys: dict[int, bytes] = {}
        for item in raw_views:
            view, n, _ = item
            seg = segments[n]
            key = cache.key(seg, fp.key_id) if len(view.text) == len(seg.text) else None  # not a cut segment
            found = cache.get(key) if key is not None else None
            if found is not None:
                hits.extend(rebase(found, n, seg))
                continue
            fresh.append(item)
            if key is not None:
                keys[n] = key
        cut: set[int] = set()
        if fresh:
            found_new, cut = self._run(segments, fresh, act, fp)
            new = [seal(h, fp) for h in found_new]
            per_segment: dict[int, list[Hit]] = {}
            for h in new:
                per_segment.setdefault(h.seg, []).append(h)
            for n, key in keys.items():
                if n not in cut:
                    cache.put(key, tuple(per_segment.get(n, ())))
            hits.extend(new)
        return hits, cut

    @staticmethod
    def _raw_views(segments: Sequence[Segment], max_bytes: int | None) -> tuple[list[tuple], int, bool]:
        """(view, segment index, UTF-8 bytes or None) per segment; bytes scanned; truncated."""
        out: list[tuple] = []
        scanned, truncated = 0, False
        for n, seg in enumerate(segments):
            text = seg.text
            data = None
            if text.isascii():
                size = len(text)
            else:
                data = text.encode("utf-8", "replace")
                size = len(data)
            if max_bytes is not None and scanned + size > max_bytes:
                keep = max(0, max_bytes - scanned)
                text = text.encode("utf-8", "replace")[:keep].decode("utf-8", "ignore")
                size, truncated, data = keep, True, None
            scanned += size
            if text:
                if seg.joined:
                    text, data = text.replace(JOIN_SEP, " "), None
                out.append((View("raw", text), n, data))
            if truncated:
                break
        return out, scanned, truncated

    def _locate(self, views: list[tuple], need: Sequence[int] = ()) -> list[_ViewHits]:
        """One batched pass over every view; hits distributed back to their view (byte offsets).
        Returns the views that need more work: hits, non-ASCII text or joined siblings."""
        if not views:
            return []
        parts: list[bytes] = []
        for view, _, data in views:
            if data is None:
                text = view.text
                data = text.encode() if text.isascii() else text.encode("utf-8", "replace")
            parts.append(data)
        if len(parts) == 1:
            hits = self._locator.run(parts[0])
            view, seg, _ = views[0]
            data = parts[0]
            if not hits and len(data) == len(view.text) and not need:
                return []
            return [_ViewHits(view, seg, len(data) == len(view.text), data, hits)]
        buf = SEP.join(parts)
        starts: list[int] = []
        pos = 0
        for p in parts:
            starts.append(pos)
            pos += len(p) + 4  # len(SEP)
        found: dict[int, _ViewHits] = {}
        for i, e in self._locator.run(buf):
            k = bisect.bisect_right(starts, e - 1) - 1
            vh = found.get(k)
            if vh is None:
                view, seg, _ = views[k]
                data = parts[k]
                vh = found[k] = _ViewHits(view, seg, len(data) == len(view.text), data)
            e -= starts[k]
            vh.hits.append((i, e if e <= len(vh.data) else len(vh.data)))  # a consumed trailing boundary
        if self._single:  # a once-per-scan trigger fired: later views holding its marker byte may have it too
            fired = {}
            for k, vh in found.items():
                for i, _ in vh.hits:
                    if i in self._single and (i not in fired or k < fired[i]):
                        fired[i] = k
            for i, k0 in fired.items():
                mark = self._single[i]
                for k in range(k0 + 1, len(parts)):
                    if mark in parts[k]:
                        vh = found.get(k)
                        if vh is None:
                            view, seg, _ = views[k]
                            vh = found[k] = _ViewHits(view, seg, len(parts[k]) == len(view.text), parts[k])
                        vh.hits.append((i, 0))
        for k in need:  # views that get extra views even without hits (joined siblings)
            if k not in found:
                view, seg, _ = views[k]
                found[k] = _ViewHits(view, seg, len(parts[k]) == len(view.text), parts[k])
        for k, (view, seg, _) in enumerate(views):
            if k not in found and len(parts[k]) != len(view.text):  # non-ASCII: needs a normalized view
                found[k] = _ViewHits(view, seg, False, parts[k])
        return [found[k] for k in sorted(found)]

    def _confirm(self, vh: _ViewHits, act: bytes, segments: Sequence[Segment], state: CheckState,
                 out: list[Hit]) -> None:  # fmt: skip
        data = vh.data
        size = len(data)
        ascii_ = vh.ascii
        scale = 1 if ascii_ else 4
        windows: dict[int, list[tuple[int, int]]] = {}
        dets: dict[int, Compiled] = {}
        cands: list[tuple[Compiled, int, int]] = []
        owners = self._owner
        # windows are in characters: byte arithmetic in ASCII views, a count of UTF-8 lead bytes otherwise
        for i, e in vh.hits:
            kind, a, b = owners[i]
            if kind <= _KWRE:  # a located pattern ends at e
                if act[a.idx]:
                    lst = windows.get(a.idx)
                    if lst is None:
                        lst = windows[a.idx] = []
                        dets[a.idx] = a
                    s = e - b if ascii_ else _back(data, e, b)
                    lst.append((s if s > 0 else 0, e))
            elif kind == _TRIG:
                run = _RUN_BYTES.get(a)
                if run is not None:  # the match ended on the character after the run: back to the run's end
                    while e and data[e - 1] not in run:
                        e -= 1
                vh.triggers.setdefault(a, []).append(e)
            elif kind == _WORD:
                s = e - b
                if (s == 0 or data[s - 1] not in _WORDCHARS) and (e == size or data[e] not in _WORDCHARS):
                    cands.extend((d, s, e) for d in a if act[d.idx])
            else:  # keyword or anchor literal at [e - b, e)
                s = e - b
                for d, r, w in a:
                    if act[d.idx]:
                        lst = windows.get(d.idx)
                        if lst is None:
                            lst = windows[d.idx] = []
                            dets[d.idx] = d
                        if w >= 0:  # every match contains the literal: it lies in [e - width, s + width]
                            if ascii_:
                                lst.append((e - w if e > w else 0, s + w if s + w < size else size))
                            else:
                                lst.append((_back(data, e, w), _fwd(data, s, w)))
                        elif ascii_:
                            lst.append((s - r if s > r else 0, e + r if e + r < size else size))
                        else:
                            lst.append((_back(data, s, r), _fwd(data, e, r)))
        runs = _decoded_runs(vh.view)
        for idx, spans in windows.items():
            d = dets[idx]
            g = d.spec.secret_group
            find = d.confirm.find  # type: ignore[union-attr]
            gate = d.gate
            for ws, we in merge_windows(spans):
                if runs is not None and not _reaches_a_run(vh, runs, ws, we):
                    continue
                for m in find(data, ws, we, scale):
                    s, e = m[g]
                    if s >= 0 and e > s:
                        if gate is not None:  # kw-regex: a keyword must be near, as for keyword hits
                            r = d.confirm.width + KEYWORD_RADIUS  # type: ignore[union-attr]
                            if ascii_:
                                lo, hi = m[0][0] - r - 1, m[0][1] + r
                                lo, hi = (lo if lo > 0 else 0), (hi if hi < size else size)
                            else:
                                lo, hi = _back(data, m[0][0], r + 1), _fwd(data, m[0][1], r)
                            if gate.Match(UNANCHORED, data, lo, hi)[0][0] < 0:
                                continue
                        cands.append((d, s, e))
        if cands:
            check_candidates(cands, vh.view, data, vh.ascii, vh.seg, segments[vh.seg], state, out)

    @staticmethod
    def _spelled_view(vh: _ViewHits) -> View | None:
        """The spelled-digits view of a located view, around its digit-word trigger hits."""
        ends = vh.triggers.get("digit-words")
        if not ends:
            return None
        if not vh.ascii:
            ends = list(char_offsets(vh.data, ends).values())
        view = vh.view
        spelled = spell_digits(view.text, view.omap, [(max(0, e - 40), e) for e in ends])
        return View("spelled-digits", *spelled) if spelled is not None else None

    def _extra_views(self, vh: _ViewHits, seg: Segment, budgets: dict[int, decode.DecodeBudget]) -> list[View]:
        """Views built from what the raw pass found: joined-tight, normalized, despaced, spelled-digits, and
        decoded (one level: encodings inside decoded text are found by the decoded view's own pass)."""
        text = vh.view.text
        out: list[View] = []
        if seg.joined and JOIN_SEP in seg.text and len(seg.text) == len(text):
            b = ViewBuilder(text)
            pos = 0
            for part in seg.text.split(JOIN_SEP):
                b.copy(pos, pos + len(part))
                pos += len(part) + 1
            out.append(View("joined", *b.build()))
        broken = vh.triggers.get("broken-digits")
        if not vh.ascii or broken:
            ends = [e for e in broken or ()]
            if not vh.ascii:
                ends = list(char_offsets(vh.data, ends).values())
            spots = [(max(0, e - 64), e) for e in ends]
            folded = fold(text, None, spots, vh.data)
            if folded is not None:
                out.append(View("normalized", *folded))
        spaced = vh.triggers.get("spaced")
        if spaced and vh.view.name == "raw":
            ends = spaced if vh.ascii else list(char_offsets(vh.data, spaced).values())
            despaced = despace(text, ends)
            if despaced is not None:
                out.append(View("despaced", *despaced))
        # digit words the raw pass found; a normalized view's own pass finds those its folding reveals (_run)
        spelled = self._spelled_view(vh)
        if spelled is not None:
            out.append(spelled)
        out.extend(self._decoded(vh, budgets))
        return out

    @staticmethod
    def _decoded(vh: _ViewHits, budgets: dict[int, decode.DecodeBudget]) -> list[View]:
        """One level of decoded views of a located view, from the encodings its triggers found."""
        kinds = [k for k in decode.ORDER if k in vh.triggers]
        if not kinds:
            return []
        hints = {k: vh.triggers[k] for k in decode.HINTED if k in vh.triggers}
        if not vh.ascii:
            hints = {k: [to for to in char_offsets(vh.data, v).values()] for k, v in hints.items()}
        view = vh.view
        chain = view.name.removeprefix("decoded:") if view.omap is not None else ""
        budget = budgets.setdefault(vh.seg, decode.DecodeBudget())
        return decode.decoded_views(view.text, kinds, depth=1, budget=budget, data=vh.data, hints=hints,
                                    parent=view.omap, chain=chain)  # fmt: skip

    def _nested_views(self, vh: _ViewHits, budgets: dict[int, decode.DecodeBudget]) -> list[View]:
        """Decoded views of a decoded view (base64 inside percent-encoding …), up to decode.MAX_DEPTH
        encodings deep, from the triggers of the decoded view's own locate pass."""
        name = vh.view.name
        if not name.startswith("decoded:") or name.count("+") + 1 >= decode.MAX_DEPTH:
            return []
        return self._decoded(vh, budgets)


def check_disabled(specs: Sequence[DetectorSpec]) -> dict[str, str]:
    """Problems (id → message) of disabled detectors' patterns (RE2 and hyperscan, one by one)."""
    out = {}
    for spec in specs:
        if spec.pattern is None:
            continue
        _, problem = check_pattern(spec.pattern, spec.case_insensitive, spec.secret_group)
        if problem is None:
            _, problem = hs_check(spec.pattern, spec.case_insensitive)
        if problem:
            out[spec.id] = problem
    return out
