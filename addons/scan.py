"""scan.py: the hot path. Segments → views → two batched locate passes → RE2 confirmation → Findings.

Invariants: scanning is linear in the input (hyperscan + RE2 in bounded windows + bounded decoders);
all segments' views are located in one hyperscan pass per stage, so small bodies pay the fixed
cost once; a Finding's span is in the segment's original text; no matched value is kept beyond the
masked preview and the keyed fingerprint; `max_bytes` truncation is reported in the ScanReport.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

import hyperscan as hs

from addons import decode
from addons.detector_spec import DetectorSpec
from addons.extract import JOIN_SEP
from addons.findings import Compiled
from addons.findings import Hit
from addons.findings import check_candidates
from addons.findings import compile_detector
from addons.findings import finish
from addons.findings import mask
from addons.fingerprint import Fingerprinter
from addons.matchers import KEYWORD_RADIUS
from addons.matchers import SLOW_MBS
from addons.matchers import Locator
from addons.matchers import alone_speed
from addons.matchers import anchor_literal
from addons.matchers import check_pattern
from addons.matchers import hs_check
from addons.matchers import literal_counts
from addons.matchers import merge_windows
from addons.model import ScanReport
from addons.model import Segment
from addons.normalize import View
from addons.normalize import ViewBuilder
from addons.normalize import char_offsets
from addons.normalize import fold
from addons.normalize import spell_digits

__all__ = ["Scanner", "check_disabled", "mask"]

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
FREQUENT = 8  # keyword hits in the 64 KB sample above which a keyword is "frequent" (see _build)


@dataclass(slots=True)
class _ViewHits:
    """What the locate pass found in one view."""

    view: View
    seg: int
    start: int  # byte range of the view in the batched buffer
    end: int
    ascii: bool
    regex_ends: dict[int, list[int]] = field(default_factory=dict)  # regex id → end offsets (view bytes)
    literal: list[tuple[int, int, int]] = field(default_factory=list)  # (literal id, start, end)
    triggers: dict[str, list[int]] = field(default_factory=dict)
    data: bytes = b""


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
                dets.append(det)
        self._plan(dets)
        self._dets = [d for d in dets if d.spec.id not in self.problems]
        self._specs = {s.id: s for s in (*specs, *disabled) if s.id not in self.problems}
        self._index()

    def _index(self) -> None:
        self._by_id = {d.spec.id: d for d in self._dets}
        self._active = frozenset(id(d) for d in self._dets)
        self._edm = [d for d in self._dets if d.spec.edm_key_id is not None]
        self.detector_ids = frozenset(self._by_id)
        self.categories = frozenset(d.spec.category for d in self._dets)

    # --- compile ---------------------------------------------------------------------------------

    def _plan(self, dets: list[Compiled]) -> None:
        """Decide how each detector is located, then build the two databases."""
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
        live = [d for d in dets if d.spec.id not in self.problems]
        try:
            self._build(live)
        except hs.error:  # find the pattern(s) hyperscan rejects in combination
            for d in live:
                if d.mode == "regex":
                    d.hs_flags, problem = hs_check(d.hs_pattern.decode(), d.spec.case_insensitive)
                    if problem:
                        self.problems[d.spec.id] = problem
            self._build([d for d in live if d.spec.id not in self.problems])

    def _build(self, dets: list[Compiled]) -> None:
        regexes: list[tuple[bytes, int]] = []
        self._regex_owner: list[tuple[str, object]] = []
        for d in dets:
            if d.mode == "regex":
                regexes.append((d.hs_pattern, d.hs_flags | hs.HS_FLAG_MULTILINE))
                self._regex_owner.append(("det", d))
        for name, pattern in TRIGGERS.items():
            flags = _TRIGGER_FLAGS.get(name, hs.HS_FLAG_SINGLEMATCH)
            regexes.append((pattern, flags | hs.HS_FLAG_UTF8))
            self._regex_owner.append(("trigger", name))
        owners: dict[bytes, tuple[str, list]] = {}

        def literal(text: str, kind: str, owner: object) -> None:
            key = text.lower().encode()
            entry = owners.setdefault(key, (kind, []))
            if owner is not None:
                entry[1].append(owner)

        for d in dets:
            for kw in d.spec.keywords if d.mode == "keyword" else ():
                literal(kw, "kw", d)
            for w in d.spec.words:
                literal(w, "word", d)
            if d.mode == "anchor" and d.anchor:
                literal(d.anchor, "anchor", d)
        # Frequent keywords ("key", "token", "://") would flood the pass with hits: they are reported once
        # per view, and their detectors confirm over the whole view instead of around each hit.
        counts = literal_counts([k for k, (kind, _) in owners.items() if kind == "kw"])
        literals: list[tuple[bytes, int]] = []
        self._literal_owner = []
        for key, (kind, lst) in owners.items():
            flags = hs.HS_FLAG_CASELESS | hs.HS_FLAG_SOM_LEFTMOST
            if kind == "kw" and counts.get(key, 0) >= FREQUENT:
                kind, flags = "kw-view", hs.HS_FLAG_CASELESS | hs.HS_FLAG_SINGLEMATCH
            literals.append((key, flags))
            self._literal_owner.append((kind, tuple(lst)))
        self._locator = Locator(regexes, literals)

    # --- public API --------------------------------------------------------------------------------

    def detector(self, detector_id: str) -> DetectorSpec | None:
        return self._specs.get(detector_id)

    def without(self, ids: Iterable[str]) -> Scanner:
        """The same compiled scanner with some detectors switched off (no recompilation)."""
        drop = set(ids)
        other = object.__new__(Scanner)
        other.__dict__.update(self.__dict__)
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
            if d.confirm.find(data, 0, len(data)):
                return True
        return False

    def scan(
        self,
        segments: Sequence[Segment],
        *,
        fingerprinter: Fingerprinter,
        max_bytes: int | None = None,
        only: set[str] | None = None,
    ) -> ScanReport:
        if only is None:
            active = self._active
        else:
            active = {id(d) for d in self._dets if d.spec.id in only}
        not_inspected: list[str] = []
        for d in self._edm:
            if id(d) in active and d.spec.edm_key_id != fingerprinter.key_id:
                active = set(active) - {id(d)}
                not_inspected.append(f"edm-key-mismatch:{d.spec.id}")
        raw_views, scanned, truncated = self._raw_views(segments, max_bytes)
        if truncated:
            not_inspected.append("scan-limit")
        hits: list[Hit] = []
        first = self._locate(raw_views, [k for k, (_, n) in enumerate(raw_views) if segments[n].joined])
        extra: list[tuple[View, int]] = []
        for vh in first:
            self._confirm(vh, active, fingerprinter, segments, hits)
            extra.extend((v, vh.seg) for v in self._extra_views(vh, segments[vh.seg]))
        for vh in self._locate(extra):
            self._confirm(vh, active, fingerprinter, segments, hits)
        return ScanReport(tuple(finish(hits)), scanned, truncated, tuple(dict.fromkeys(not_inspected)))

    # --- stages ------------------------------------------------------------------------------------

    @staticmethod
    def _raw_views(segments: Sequence[Segment], max_bytes: int | None) -> tuple[list[tuple[View, int]], int, bool]:
        out: list[tuple[View, int]] = []
        scanned, truncated = 0, False
        for n, seg in enumerate(segments):
            text = seg.text
            size = len(text) if text.isascii() else len(text.encode("utf-8", "replace"))
            if max_bytes is not None and scanned + size > max_bytes:
                keep = max(0, max_bytes - scanned)
                text = text.encode("utf-8", "replace")[:keep].decode("utf-8", "ignore")
                size, truncated = keep, True
            scanned += size
            if text:
                out.append((View("raw", text.replace(JOIN_SEP, " ") if seg.joined else text), n))
            if truncated:
                break
        return out, scanned, truncated

    def _locate(self, views: list[tuple[View, int]], need: Sequence[int] = ()) -> list[_ViewHits]:
        """One batched pass over every view; hits distributed back to their view (byte offsets).
        Returns the views that need more work: hits, triggers, non-ASCII text or joined siblings."""
        if not views:
            return []
        parts: list[bytes] = []
        starts: list[int] = []
        pos = 0
        for view, _ in views:
            text = view.text
            data = text.encode() if text.isascii() else text.encode("utf-8", "replace")
            starts.append(pos)
            parts.append(data)
            pos += len(data) + len(SEP)
        buf = SEP.join(parts)
        found: dict[int, _ViewHits] = {}

        def get(k: int) -> _ViewHits:
            vh = found.get(k)
            if vh is None:
                view, seg = views[k]
                size = len(parts[k])
                vh = found[k] = _ViewHits(view, seg, starts[k], starts[k] + size, size == len(view.text))
                vh.data = parts[k]
            return vh

        regex_hits, literal_hits = self._locator.run(buf)
        owners = self._regex_owner
        for i, e in regex_hits:
            vh = get(max(0, bisect.bisect_right(starts, e - 1) - 1))
            kind, owner = owners[i]
            end = min(e, vh.end) - vh.start
            if kind == "det":
                vh.regex_ends.setdefault(i, []).append(end)
            else:
                vh.triggers.setdefault(owner, []).append(end)  # type: ignore[arg-type]
        for i, s, e in literal_hits:
            vh = get(max(0, bisect.bisect_right(starts, s) - 1))
            if e <= vh.end:
                vh.literal.append((i, s - vh.start, e - vh.start))
        for k in need:  # views that get extra views even without hits (joined siblings)
            if k not in found:
                get(k)
        for k, (view, _) in enumerate(views):
            if k not in found and len(parts[k]) != len(view.text):
                get(k)  # non-ASCII: needs a normalized view
        return [found[k] for k in sorted(found)]

    def _confirm(self, vh: _ViewHits, active: set[int], fp: Fingerprinter, segments, out: list[Hit]) -> None:
        data = vh.data
        scale = 1 if vh.ascii else 4
        windows: dict[int, tuple[Compiled, list[tuple[int, int]]]] = {}
        cands: list[tuple[Compiled, int, int]] = []
        for i, ends in vh.regex_ends.items():
            d: Compiled = self._regex_owner[i][1]  # type: ignore[assignment]
            if id(d) in active:
                w = d.confirm.width * scale  # type: ignore[union-attr]
                windows.setdefault(id(d), (d, []))[1].extend((max(0, e - w), e) for e in ends)
        for i, s, e in vh.literal:
            kind, dets = self._literal_owner[i]
            for d in dets:
                if id(d) not in active:
                    continue
                if kind == "word":
                    if (s == 0 or data[s - 1] not in _WORDCHARS) and (e == len(data) or data[e] not in _WORDCHARS):
                        cands.append((d, s, e))
                    continue
                if kind == "kw-view":
                    windows.setdefault(id(d), (d, []))[1].append((0, len(data)))
                    continue
                w = d.confirm.width * scale  # type: ignore[union-attr]
                r = w + (KEYWORD_RADIUS * scale if kind == "kw" else 0)
                windows.setdefault(id(d), (d, []))[1].append((max(0, s - r), min(len(data), e + r)))
        for d, spans in windows.values():
            g = d.spec.secret_group
            for ws, we in merge_windows(spans):
                if not vh.ascii:
                    while ws > 0 and (data[ws] & 0xC0) == 0x80:
                        ws -= 1
                for m in d.confirm.find(data, ws, we):  # type: ignore[union-attr]
                    s, e = m[g]
                    if s >= 0 and e > s:
                        cands.append((d, s, e))
        if cands:
            seg = segments[vh.seg]
            check_candidates(cands, vh.view, data, vh.ascii, vh.seg, seg, fp, out)

    def _extra_views(self, vh: _ViewHits, seg: Segment) -> list[View]:
        """Views built from what the raw pass found: joined-tight, normalized, spelled-digits, decoded."""
        text = vh.view.text
        out: list[View] = []
        if seg.joined and JOIN_SEP in seg.text and len(seg.text) == len(text):
            b = ViewBuilder(text)
            pos = 0
            for part in seg.text.split(JOIN_SEP):
                b.copy(pos, pos + len(part))
                pos += len(part) + 1
            out.append(View("joined", *b.build()))
        base_text, base_map = text, None
        broken = vh.triggers.get("broken-digits")
        if not vh.ascii or broken:
            ends = [e for e in broken or ()]
            if not vh.ascii:
                ends = list(char_offsets(vh.data, ends).values())
            spots = [(max(0, e - 64), e) for e in ends]
            folded = fold(text, None, spots, vh.data)
            if folded is not None:
                out.append(View("normalized", *folded))
                base_text, base_map = folded
        ends = vh.triggers.get("digit-words", [])
        if ends and not vh.ascii:
            ends = list(char_offsets(vh.data, ends).values())
        if ends or base_map is not None:  # the normalized view (small, or all of a non-Latin text) is searched
            spots = [(max(0, e - 40), e) for e in ends] if base_map is None else None
            spelled = spell_digits(base_text, base_map, spots)
            if spelled is not None:
                out.append(View("spelled-digits", *spelled))
        kinds = [k for k in decode.ORDER if k in vh.triggers]
        if kinds:
            hints = {k: vh.triggers[k] for k in decode.HINTED if k in vh.triggers}
            if not vh.ascii:
                hints = {k: [to for to in char_offsets(vh.data, v).values()] for k, v in hints.items()}
            out.extend(decode.decoded_views(text, kinds, data=vh.data, hints=hints))
        return out


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

