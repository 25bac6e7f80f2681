"""Reusing the hits of segments seen before gives exactly the findings of a full rescan."""

import json
import random
from pathlib import Path

import pytest

from addons.detectors import build_scanner
from addons.extract import extract_segments
from addons.fingerprint import Fingerprinter
from addons.model import Segment
from addons.ruleyaml import Problems
from addons.ruleyaml import expand_fakes
from addons.ruleyaml import read_rule_files
from addons.scancache import MIN_CHARS
from tests.integration.fakes import grouped
from tests.integration.fakes import visa_number

RULES = Path(__file__).resolve().parent.parent / "rules" / "detectors"
FP = Fingerprinter(bytes(range(32)))
FILLER = ("Could you look at the quarterly numbers and tell me what changed for the platform team? "
          "Les résultats du trimestre sont bons, merci. ")  # fmt: skip


@pytest.fixture(scope="module")
def files():
    return read_rule_files(RULES, "detectors", Problems(), "rules/detectors")


@pytest.fixture
def scanner(files):  # a new scanner per test: a new, empty cache
    return build_scanner(files, Problems(), rules_dir=RULES, run_examples=False)


def examples(files) -> list[str]:
    out = []
    for f in files:
        for record in f.records:
            ex = record.get("examples") or {}
            if record.get("enabled") is False or record.get("edm_file"):
                continue
            for kind in ("match", "evasions"):
                out += [expand_fakes(t, f"{record.get('id')}/{kind}/{i}") for i, t in enumerate(ex.get(kind) or ())]
    return out


def segments(messages: list[dict]) -> list[Segment]:
    body = json.dumps({"model": "m", "messages": messages}).encode()
    return list(extract_segments(body, content_type="application/json", content_encoding=None,
                                 max_bytes=8 << 20, max_decompressed=8 << 20).segments)  # fmt: skip


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_conversation_scanned_turn_by_turn_gives_the_findings_of_full_rescans(scanner, files, seed):
    rng = random.Random(seed)
    pool = examples(files)
    messages: list[dict] = [{"role": "system", "content": "You are helpful."}]
    for turn in range(40):
        parts = [FILLER * rng.randint(1, 12)]
        for _ in range(rng.randint(0, 3)):
            parts.insert(rng.randint(0, len(parts)), rng.choice(pool))
        if rng.random() < 0.3:  # a value split across sibling fields
            parts = [{"type": "text", "text": p} for p in parts]
        messages.append({"role": "user" if turn % 2 == 0 else "assistant",
                         "content": " ".join(parts) if isinstance(parts[0], str) else parts})  # fmt: skip
        segs = segments(messages)
        full = scanner.scan(segs, fingerprinter=FP)
        reused = scanner.scan(segs, fingerprinter=FP, reuse=True)
        assert reused == full, f"turn {turn}"
    assert scanner.cache.hits > 100 and len(scanner.cache) > 10


def test_a_value_repeated_in_an_old_and_a_new_message_is_counted_twice(scanner):
    card = grouped(visa_number())
    old = Segment("json:$.messages[1].content", FILLER * 8 + f" card {card}")
    new = Segment("json:$.messages[3].content", FILLER * 8 + f" card {card} again")
    scanner.scan([old], fingerprinter=FP, reuse=True)
    report = scanner.scan([old, Segment("json:$.messages[2].content", "ok"), new], fingerprinter=FP, reuse=True)
    cards = [f for f in report.findings if f.detector_id == "fin-card-number"]
    assert [(f.where, f.count) for f in cards] == [("json:$.messages[1].content", 2), ("json:$.messages[3].content", 2)]
    assert report == scanner.scan([old, Segment("json:$.messages[2].content", "ok"), new], fingerprinter=FP)


def test_the_cache_holds_no_value_and_skips_short_or_cut_segments(scanner):
    card = visa_number()
    text = FILLER * 8 + f" card {grouped(card)}"
    scanner.scan([Segment("body", text)], fingerprinter=FP, reuse=True)
    (entry,) = scanner.cache._entries.values()
    assert entry and all(h.value == "" and h.canon == "" for h in entry)
    assert card not in repr(entry) and grouped(card) not in repr(entry)
    scanner.scan([Segment("body", "x" * (MIN_CHARS - 1))], fingerprinter=FP, reuse=True)
    report = scanner.scan([Segment("body", text + " tail")], fingerprinter=FP, reuse=True, max_bytes=len(text) // 2)
    assert report.truncated and len(scanner.cache) == 1


def test_another_fingerprint_key_does_not_reuse(scanner):
    text = FILLER * 8 + f" card {grouped(visa_number())}"
    first = scanner.scan([Segment("body", text)], fingerprinter=FP, reuse=True)
    other = Fingerprinter(bytes(range(1, 33)))
    second = scanner.scan([Segment("body", text)], fingerprinter=other, reuse=True)
    assert [f.fingerprint for f in second.findings] != [f.fingerprint for f in first.findings]
    assert second == scanner.scan([Segment("body", text)], fingerprinter=other)


def test_the_cache_is_bounded_in_entries_and_in_hits_held():
    from addons.findings import Hit
    from addons.scancache import SegmentCache

    hit = Hit(None, "raw", 0, 1, "", 0.5, "k", "f", "body", 0, False)  # type: ignore[arg-type]
    cache = SegmentCache(max_entries=3, max_hits=5)
    for i in range(3):
        cache.put(bytes([i]), (hit, hit))  # 6 hits > 5: the oldest goes
    assert (len(cache), cache.held) == (2, 4) and cache.get(bytes([0])) is None
    cache.put(b"big", (hit,) * 6)  # more than the whole budget: not kept
    assert (len(cache), cache.held) == (2, 4)
    for i in range(3, 7):
        cache.put(bytes([i]), ())
    assert len(cache) == 3 and cache.held == 0
