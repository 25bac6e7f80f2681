import base64
import json
import secrets
import textwrap

import pytest

from addons.detectors import build_edm
from addons.detectors import build_scanner
from addons.fingerprint import Fingerprinter
from addons.model import Segment
from addons.ruleyaml import Problems
from addons.ruleyaml import read_rule_files
from addons.scan import mask
from tests.integration.fakes import grouped
from tests.integration.fakes import visa_number

FP = Fingerprinter(bytes(range(32)))
AWS = "AKIAQWERTYUIOPASDFGH"

DETECTORS = """
schema: 1
detectors:
  - id: secret-aws-access-key-id
    name: AWS access key ID
    category: secret
    severity: high
    confidence: 0.7
    keywords: [akia, asia]
    pattern: '\\b((?:AKIA|ASIA)[A-Z2-7]{16})\\b'
    secret_group: 1
    entropy_min: 3.0
    context: {words: [aws], window: 40, boost: 0.2}
    negative: {words: [example only], window: 30}
    allow: {values: [AKIAIOSFODNN7EXAMPLE], patterns: ['X{6,}'], stopwords: [fake]}
    examples: {match: ['AKIA${gen:A-Z2-7:16}'], no_match: ['AKIAIOSFODNN7EXAMPLE']}
  - id: fin-card-visa
    name: Visa card
    category: financial
    severity: high
    keywordless: true
    pattern: '\\b4[0-9]{3}(?:[ -]?[0-9]{4}){3}\\b'
    examples: {match: ['4111 1111 1111 1111'], no_match: ['4111']}
  - id: pii-xx-record
    name: Record number
    category: pii
    severity: low
    keywords: [rec]
    pattern: '\\bREC-([0-9]{4})\\b'
    secret_group: 1
    min_count: 2
    context: {words: [patient], required: true}
    examples: {match: ['patient REC-1234 and REC-5678'], no_match: ['patient REC-1234']}
  - id: custom-codename
    name: Codename
    category: custom
    severity: medium
    words_file: words.txt
    examples: {match: ['the Bluefalcon plan'], no_match: ['bluefalcons']}
  - id: secret-redos
    name: Catastrophic
    category: secret
    severity: low
    keywordless: true
    pattern: '(a+)+$'
    examples: {match: ['aaa'], no_match: ['b']}
"""


def make(tmp_path, yaml_text=DETECTORS, words="bluefalcon\nsaffron harbor\n", fingerprinter=None):
    d = tmp_path / "detectors"
    d.mkdir(exist_ok=True)
    (d / "t.yaml").write_text(textwrap.dedent(yaml_text))
    (d / "words.txt").write_text(words)
    problems = Problems()
    files = read_rule_files(d, "detectors", problems, "rules/detectors")
    scanner = build_scanner(files, problems, rules_dir=d, fingerprinter=fingerprinter)
    return scanner, problems


@pytest.fixture(scope="module")
def scanner(tmp_path_factory):
    s, problems = make(tmp_path_factory.mktemp("rules"))
    assert not problems, problems.items
    return s


def scan(scanner, *texts, **kw):
    segs = [Segment(f"s{i}", t) for i, t in enumerate(texts)]
    return scanner.scan(segs, fingerprinter=FP, **kw)


def ids(report):
    return [(f.detector_id, f.view) for f in report.findings]


def test_api(scanner):
    assert "fin-card-visa" in scanner.detector_ids
    assert scanner.categories >= {"secret", "financial", "custom"}
    spec = scanner.detector("fin-card-visa")
    assert spec.name == "Visa card" and spec.severity == "high"
    assert scanner.detector("nope") is None


def test_finding_fields(scanner):
    text = f"aws key = {AWS};"
    (f,) = scan(scanner, text).findings
    assert (f.detector_id, f.category, f.severity, f.where, f.view) == (
        "secret-aws-access-key-id", "secret", "high", "s0", "raw")
    assert text[f.start:f.end] == AWS
    assert f.confidence == pytest.approx(0.9)  # 0.7 + context boost
    assert f.preview == "AKIA…GH" and f.count == 1
    assert f.fingerprint == FP.fingerprint(AWS)
    assert AWS not in repr(f)


@pytest.mark.parametrize(
    ("text", "view"),
    [
        (f"AKIA\u200b{AWS[4:]}", "normalized"),
        ("ＡＫＩＡ" + AWS[4:], "normalized"),
        ("АКІА" + AWS[4:], "normalized"),
        (f"AKIA{AWS[4:10]}\U000e0020{AWS[10:]}", "normalized"),
        ("A\u0301KIA" + AWS[4:], "normalized"),
        (f"k={base64.b64encode(AWS.encode()).decode()}", "decoded:base64"),
        (f"k={AWS.encode().hex()}", "decoded:hex"),
        ("k=" + "".join(f"%{b:02x}" for b in AWS.encode()), "decoded:percent"),
        ("k=" + "".join(f"\\u{ord(c):04x}" for c in AWS), "decoded:unicode-escape"),
        ("k=" + "".join(f"&#{ord(c)};" for c in AWS), "decoded:html"),
        ("key: " + " ".join(AWS), "despaced"),
        ("key:\n" + "\n".join(AWS), "despaced"),
    ],
)
def test_evasions_are_caught_and_mapped_to_the_original(scanner, text, view):
    (f,) = [f for f in scan(scanner, text).findings if f.detector_id == "secret-aws-access-key-id"]
    assert f.view == view
    assert f.fingerprint == FP.fingerprint(AWS)
    assert 0 <= f.start < f.end <= len(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1111",
        "٤١١١ ١١١١ ١١١١ ١١١١",
        "४१११-११११-११११-११११",
        "４１１１ １１１１ １１１１ １１１１",
        "4111\n1111\n1111\n1111",
        "4111\u200b1111\u200b1111\u200b1111",
        "four one one one one one one one one one one one one one one one",
        "four one one one, one one one one, one one one one, one one one one",
        "four triple one, double one one one, one one one one, one one one one",
        "four oh one one one one one one one one one one one one one one",
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
        "4 1 1 1  1 1 1 1  1 1 1 1  1 1 1 1",
    ],
)
def test_card_numbers_in_any_script_or_spelling(scanner, text):
    found = [f for f in scan(scanner, text).findings if f.detector_id == "fin-card-visa"]
    assert found, text


def test_plain_text_with_evasion_characters_is_not_a_finding(scanner):
    text = "Ｈｅｌｌｏ\u200b wörld – Привет мир, ٤٥ apples, one or two, &amp; %20 \\u0041 \U000e0041"
    assert scan(scanner, text).findings == ()
    assert scan(scanner, "x = a + b - c / d * e ; s e e  y o u  s o o n ; 1 2 3 4 5 6 7 8 9").findings == ()


def test_allowlists_negative_entropy(scanner):
    assert not scan(scanner, "AKIAIOSFODNN7EXAMPLE").findings  # allow value
    assert not scan(scanner, "AKIAXXXXXXXXXXXXXXXX").findings  # allow pattern / entropy
    assert not scan(scanner, "AKIAFAKEQWERTYUIOPAS").findings  # stopword
    assert not scan(scanner, f"example only: {AWS}").findings  # negative context
    assert not scan(scanner, "AKIAAAAAAAAAAAAAAAAA").findings  # entropy


def test_entropy_floor_decided_by_bounds_agrees_with_the_exact_sum():
    import random
    import string

    from addons.entropy import at_least
    from addons.entropy import bits_per_char

    rng = random.Random(11)
    alphabets = (string.digits, string.ascii_letters + string.digits, "ab", "abc", string.printable, "xyz0")
    for _ in range(20_000):
        n = rng.randint(0, 130)
        value = "".join(rng.choice(rng.choice(alphabets)) for _ in range(n))
        if n and rng.random() < 0.3:  # one character taking the repeats: the lower bound's own case
            value = value[: n // 2] + value[0] * (n - n // 2)
        floor = rng.choice([0.0, 1.0, 2.5, 3.0, 3.5, 4.0, 4.5, bits_per_char(value)])
        assert at_least(value, floor) is (bits_per_char(value) >= floor), (value, floor)


def test_min_count_and_required_context(scanner):
    assert not scan(scanner, "patient REC-1234").findings
    assert not scan(scanner, "REC-1234 REC-5678").findings  # no context word
    r = scan(scanner, "patient REC-1234, patient REC-5678, patient REC-1234")
    found = [f for f in r.findings if f.detector_id == "pii-xx-record"]
    assert len(found) == 3
    assert sorted(f.count for f in found) == [1, 2, 2]
    # distinct values are counted across segments
    assert len(scan(scanner, "patient REC-1111", "patient REC-2222").findings) == 2


def test_keyword_gate(tmp_path):
    yaml_text = DETECTORS.replace("keywords: [rec]", "keywords: [record]").replace(
        "match: ['patient REC-1234 and REC-5678']", "match: ['patient record REC-1234 and REC-5678']"
    )
    s, problems = make(tmp_path, yaml_text)
    assert not problems, problems.items
    assert not scan(s, "patient REC-1234 and REC-5678").findings
    assert scan(s, "patient RECORD REC-1234 and REC-5678").findings


def test_word_list(scanner):
    r = scan(scanner, "Ship BLUEFALCON and the Saffron Harbor deal; bluefalcons, xbluefalcon, saffron  harbor")
    assert [(f.detector_id, f.start) for f in r.findings] == [("custom-codename", 5), ("custom-codename", 24)]
    assert scan(scanner, "Ｂｌｕｅｆａｌｃｏｎ").findings[0].view == "normalized"


def test_ten_thousand_words(tmp_path):
    words = "\n".join(f"codename{i:05d}x" for i in range(10_000))
    s, problems = make(tmp_path, words=words + "\nbluefalcon\n")
    assert not problems
    r = scan(s, "notes about codename09999x and codename00001x " * 3)
    assert {f.detector_id for f in r.findings} == {"custom-codename"} and len(r.findings) == 6


def test_dedupe_prefers_raw_and_keeps_distinct_occurrences(scanner):
    b64 = base64.b64encode(AWS.encode()).decode()
    r = scan(scanner, f"{AWS} and again {b64}")
    assert ids(r) == [("secret-aws-access-key-id", "raw"), ("secret-aws-access-key-id", "decoded:base64")]
    assert all(f.count == 2 for f in r.findings)
    r = scan(scanner, "АКІА" + AWS[4:] + " " + AWS)
    assert [f.view for f in r.findings] == ["normalized", "raw"]


def test_joined_segment(scanner):
    segs = [
        Segment("json:$.a", "4111 1111"),
        Segment("json:$.b", "1111 1111"),
        Segment("json:$[*]", "4111 11111111 1111", joined=True),
    ]
    (f,) = scanner.scan(segs, fingerprinter=FP).findings
    assert (f.where, f.view) == ("json:$[*]", "joined")
    # a value inside one sibling is reported once, for the sibling
    segs = [Segment("json:$.a", "4111 1111 1111 1111"), Segment("json:$[*]", "x4111 1111 1111 1111", joined=True)]
    assert [f.where for f in scanner.scan(segs, fingerprinter=FP).findings] == ["json:$.a"]


def test_redos_pattern_completes(scanner):
    r = scan(scanner, "a" * 100_000)
    assert [f.detector_id for f in r.findings] == ["secret-redos"]


def test_max_bytes_truncation(scanner):
    r = scan(scanner, "x" * 100, f"aws {AWS}", max_bytes=120)
    assert r.truncated and r.scanned_bytes == 120 and "scan-limit" in r.not_inspected
    assert not r.findings
    r = scan(scanner, "x" * 100, f"aws {AWS}", max_bytes=1000)
    assert not r.truncated and r.findings


def test_json_chat_body_end_to_end(scanner):
    from addons.extract import extract_segments

    body = json.dumps({"messages": [{"role": "user", "content": f"debug this: aws_key={AWS}"}]}).encode()
    ex = extract_segments(body, content_type="application/json", content_encoding=None,
                          max_bytes=1 << 20, max_decompressed=1 << 22)
    (f,) = scanner.scan(ex.segments, fingerprinter=FP).findings
    assert f.where == "json:$.messages[0].content"


@pytest.mark.parametrize(
    ("value", "preview"),
    [("AKIAQWERTYUIOPASDFGH", "AKIA…GH"), ("4111 1111 1111 1111", "••••1111"), ("123-45-6789", "••••89"),
     ("bluefalcon", "bl…n"), ("abc", "…")],
)
def test_mask(value, preview):
    assert mask(value) == preview


EDM = """
schema: 1
detectors:
  - id: edm-customer
    name: Customer id
    category: pii
    severity: high
    edm_file: customers.edm
    edm_tokens: '\\b(CUS-[0-9]{6})\\b'
    secret_group: 1
    examples: {match: ['ticket CUS-000001'], no_match: ['ticket CUS-999999']}
"""


def test_exact_data_match(tmp_path):
    d = tmp_path / "detectors"
    d.mkdir()
    (d / "customers.edm").write_text(build_edm(["CUS-000417", "cus-000001", "CUS-000417"], FP))
    s, problems = make(tmp_path, EDM, fingerprinter=FP)
    assert not problems, problems.items
    r = scan(s, "refund CUS-000417 not CUS-123456")
    (f,) = r.findings
    assert f.detector_id == "edm-customer" and f.fingerprint == FP.fingerprint_folded("CUS-000417")
    other = Fingerprinter(bytes(32))
    r = s.scan([Segment("b", "CUS-000417")], fingerprinter=other)
    assert not r.findings and "edm-key-mismatch:edm-customer" in r.not_inspected


def test_edm_file_built_with_another_key_is_reported(tmp_path):
    d = tmp_path / "detectors"
    d.mkdir()
    (d / "customers.edm").write_text(build_edm(["CUS-000417"], Fingerprinter(bytes(32))))
    _, problems = make(tmp_path, EDM, fingerprinter=FP)
    assert any("hashed with key" in p for p in problems.items)


def test_build_edm_format():
    text = build_edm(["a-value", "b-value", "a-value", " "], FP)
    lines = text.splitlines()
    assert lines[0] == f"# shadowgate-edm v1 key_id={FP.key_id} count=2"
    assert len(lines) == 3 and all(len(x) == 64 for x in lines[1:])
    assert "a-value" not in text


def errors_in_threads(work, threads: int = 4) -> list[str]:
    """Run `work` in several threads at once; what any of them raised."""
    import threading

    errors: list[str] = []

    def guarded():
        try:
            work()
        except Exception as e:  # pragma: no cover - the failure being tested for
            errors.append(repr(e))

    started = [threading.Thread(target=guarded) for _ in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join()
    return errors


def test_concurrent_scans_from_threads(scanner):
    results = []

    def work():
        for _ in range(50):
            results.append(len(scan(scanner, f"aws {AWS} card 4111 1111 1111 1111 " * 20).findings))

    assert errors_in_threads(work) == [] and set(results) == {40}


@pytest.mark.parametrize(
    ("needle", "view", "detector"),
    [
        (f"AKIA\u200b{AWS[4:]}", "normalized", "secret-aws-access-key-id"),
        ("four one one one one one one one one one one one one one one one", "spelled-digits", "fin-card-visa"),
        (base64.b64encode(b"4111 1111 1111 1111").decode(), "decoded:base64", "fin-card-visa"),
        ("4111\n1111\n1111\n1111", "normalized", "fin-card-visa"),
        ("٤١١١ ١١١١ ١١١١ ١١١١", "normalized", "fin-card-visa"),
        (" ".join("4111111111111111"), "despaced", "fin-card-visa"),
    ],
)
@pytest.mark.parametrize("filler", ["ascii", "non-ascii"])
def test_evasions_inside_large_texts_use_windowed_views(scanner, needle, view, detector, filler):
    pad = ("lorem ipsum dolor sit amet " if filler == "ascii" else "Größe café Ünïcödé текст ") * 2000
    text = pad + " " + needle + " " + pad
    found = [f for f in scan(scanner, text).findings if f.detector_id == detector]
    assert [f.view for f in found] == [view]
    (f,) = found
    assert text[f.start:f.end].strip() in (needle, needle.replace(" ", "")) or needle in text[f.start - 1:f.end + 1]


# --- engine fixes and the fast paths ------------------------------------------------------------------


def test_decoded_view_does_not_refind_plain_values_with_shortened_context(scanner):
    # the hex view of a long text is windowed around the hex run: the window cut "example only"
    # off the plain key, which the raw view had rejected by negative context
    pad = "lorem ipsum dolor sit amet " * 400
    hexrun = b"the quick brown fox jumps".hex()
    text = pad + "example only: " + AWS + " " + "z" * 224 + " " + hexrun + " " + pad
    assert scan(scanner, text).findings == ()
    # an encoded occurrence of the same value is still its own finding
    enc = AWS.encode().hex()
    r = scan(scanner, f"aws {AWS} and {enc}")
    assert [f.view for f in r.findings] == ["raw", "decoded:hex"]


def test_negative_context_in_plain_view_covers_the_decoded_copy(scanner):
    text = f"example only: {AWS} (hex {AWS.encode().hex()})"
    assert scan(scanner, text).findings == ()


def test_once_per_scan_triggers_reach_every_segment(scanner):
    # percent, \\u and &entity; triggers fire once per batched scan: later segments still get decoded
    enc = "".join(f"%{b:02x}" for b in AWS.encode())
    r = scan(scanner, "see a%20b", "k=" + enc, "k2=" + "".join(f"&#{ord(c)};" for c in AWS) + " &amp;")
    assert [(f.where, f.view) for f in r.findings] == [("s1", "decoded:percent"), ("s2", "decoded:html")]


def test_context_words_are_whole_words(scanner):
    (f,) = scan(scanner, f"aws_key = {AWS}").findings  # `_` is a boundary (JSON keys, env names)
    assert f.confidence == pytest.approx(0.9)
    (f,) = scan(scanner, f"awsome = {AWS}").findings  # no longer a prefix match
    assert f.confidence == pytest.approx(0.7)
    (f,) = scan(scanner, f"AWS: {AWS}").findings
    assert f.confidence == pytest.approx(0.9)
    (f,) = scan(scanner, f"const awsKey = '{AWS}'").findings  # camelCase step
    assert f.confidence == pytest.approx(0.9)


SHORT = """
schema: 1
detectors:
  - id: fin-xx-routing
    name: Routing number
    category: financial
    severity: medium
    keywords: [aba, routing]
    pattern: '\\b([0-9]{9})\\b'
    secret_group: 1
    examples: {match: ['ABA 123456789', 'my_aba=123456789', 'routing:123456789'], no_match: ['database 123456789']}
  - id: pii-xx-grouped-id
    name: Grouped id
    category: national-id
    severity: high
    keywordless: true
    pattern: '\\b([2-9][0-9]{3}[ -][0-9]{4}[ -][0-9]{4})\\b'
    secret_group: 1
    examples:
      match: ['id 6580 7302 1578, Pune', 'id 6580 7302 1578 2026-03-20T10:00:00Z']
      no_match: ['card 4580 7302 1578 1234', 'card 4580-7302-1578-1234', 'IBAN DE89 3704 0044 0532 0130 00']
"""


def test_short_keywords_count_only_at_word_start_and_digit_runs_are_not_cut(tmp_path):
    s, problems = make(tmp_path, SHORT)
    assert not problems, problems.items
    assert not scan(s, "the database 123456789").findings  # `aba` inside a word: no keyword
    assert [f.detector_id for f in scan(s, "ABA: 123456789").findings] == ["fin-xx-routing"]
    assert not scan(s, "card 4580 7302 1578 1234 and 1234 4580 7302 1578").findings
    assert [f.detector_id for f in scan(s, "id 6580 7302 1578").findings] == ["pii-xx-grouped-id"]


def test_shipped_aadhaar_is_not_cut_out_of_card_numbers():
    from pathlib import Path

    rules = Path(__file__).resolve().parent.parent / "rules" / "detectors"
    problems = Problems()
    s = build_scanner(read_rule_files(rules, "detectors", problems, "rules/detectors"), problems, rules_dir=rules,
                      run_examples=False)  # fmt: skip
    ids = {f.detector_id for f in scan(s, "card 4556 7375 8689 9855 exp 12/29").findings}
    assert "pii-in-aadhaar" not in ids and "fin-card-number" in ids
    assert "pii-in-aadhaar" in {f.detector_id for f in scan(s, "Aadhaar: 6580 7302 1578, Pune").findings}


def test_scan_many_equals_separate_scans(scanner):
    requests = [
        [Segment("a", "patient REC-1234")],  # min_count 2: nothing alone
        [Segment("a", "patient REC-1234, patient REC-5678")],
        [Segment("a", f"aws {AWS}"), Segment("b", f"again {AWS}")],
        [Segment("a", "4111\n1111\n1111\n1111"), Segment("b", "k=" + "".join(f"%{b:02x}" for b in AWS.encode()))],
        [],
    ]
    batched = scanner.scan_many(requests, fingerprinter=FP)
    assert [r.findings for r in batched] == [scanner.scan(segs, fingerprinter=FP).findings for segs in requests]
    assert [len(r.findings) for r in batched] == [0, 2, 2, 2, 0]


def test_confirmer_equals_plain_re2_for_wide_repeats():
    import random

    from addons.matchers import UNANCHORED
    from addons.matchers import check_pattern
    from addons.matchers import relax

    assert relax(r"(?i:bearer)\s{1,3}([A-Za-z0-9._~+/=-]{20,1000})") == r"(?i:bearer)\s{1,3}(?:[A-Za-z0-9._~+/=-]{20,})"
    assert relax(r"[{]{1,20}\{1,50}(?P<x>a)") is None  # small bounds, escaped braces stay
    assert relax(r"[{]{1,40}(?P<x>a)") == r"[{]{1,}(?:a)"
    rng = random.Random(5)
    patterns = [
        (r"(?i:authorization)\s{0,3}[:=]\s{0,3}(?i:bearer)\s{1,3}([A-Za-z0-9._~+/=-]{20,1000})", 1),
        (r"\b(ab[0-9]{2,40}c)\b", 1),
        (r"x([a-c]{3,64})(y|z)", 2),
        (r"\b(k[0-9]{1,80})", 1),
    ]
    alphabet = "abcxyzk0123456789 ÄAuthorization: Bearer =._"
    for pattern, g in patterns:
        c, problem = check_pattern(pattern, False, g)
        assert problem is None
        for _ in range(300):
            data = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200))).encode()
            start = rng.randint(0, len(data))
            end = rng.randint(start, len(data))
            plain, pos = [], start
            while pos <= end:
                m = c.rx._regexp.Match(UNANCHORED, data, pos, end)
                if m[0][0] < 0:
                    break
                plain.append((m[0], m[g]))
                pos = m[0][1] if m[0][1] > m[0][0] else m[0][1] + 1
            assert [(m[0], m[g]) for m in c.find(data, start, end, 4)] == plain


def test_byte_mode_only_for_patterns_it_reads_the_same():
    from addons.matchers import byte_safe

    assert byte_safe(rb"\b([A-Z]{2}[0-9]{6}[A-D])\b") and byte_safe(rb"[\s,.\-/]{1,3}\d")
    assert not byte_safe(rb"a.b") and not byte_safe(rb"[^0-9]") and not byte_safe(rb"\S+")
    assert not byte_safe("[ .‐-―]".encode()) and not byte_safe(rb"\x{2010}") and not byte_safe(rb"\xe2")


def test_compiled_database_cache(tmp_path, monkeypatch):
    from addons.matchers import cache_dir

    monkeypatch.setenv("SHADOWGATE_CACHE", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    text = f"aws {AWS} card 4111 1111 1111 1111 the Bluefalcon plan"
    for name in "abcde":
        (tmp_path / name).mkdir()
    first, problems = make(tmp_path / "a")
    assert not problems and not first.from_cache
    (entry,) = (tmp_path / "cache").glob("*.hsdb")
    second, problems = make(tmp_path / "b")
    assert not problems and second.from_cache
    assert scan(second, text).findings == scan(first, text).findings and len(scan(first, text).findings) == 3
    entry.write_bytes(entry.read_bytes()[:-100] + b"\x00" * 100)  # corrupt: ignored and rebuilt
    third, problems = make(tmp_path / "c")
    assert not problems and not third.from_cache and scan(third, text).findings == scan(first, text).findings
    assert make(tmp_path / "d")[0].from_cache
    monkeypatch.setenv("SHADOWGATE_CACHE", "")  # disabled
    assert cache_dir() is None and not make(tmp_path / "e")[0].from_cache


def test_cache_writers_race_safely(tmp_path, monkeypatch):
    import hyperscan as hs

    from addons.matchers import cache_load
    from addons.matchers import cache_store
    from addons.matchers import hs_compile

    monkeypatch.setenv("SHADOWGATE_CACHE", str(tmp_path))
    db = hs_compile([b"abc", b"d[0-9]+"], [0, 0])

    def write():
        for _ in range(20):
            cache_store("k" * 64, {"n": 1}, db)
            got = cache_load("k" * 64)
            assert got is None or got[0]["n"] == 1

    assert errors_in_threads(write) == [] and [p.name for p in tmp_path.iterdir()] == ["k" * 64 + ".hsdb"]
    meta, loaded = cache_load("k" * 64)
    hits = []
    loaded.scan(b"xabc d12", match_event_handler=lambda i, s, e, f, c: hits.append((i, e)), scratch=hs.Scratch(loaded))
    assert (0, 4) in hits and (1, 7) in hits


def test_spelled_digits_far_from_the_non_ascii_parts_of_a_large_text(scanner):
    # the normalized view of a large, mostly-ASCII text is windowed around its non-ASCII characters: digit
    # words elsewhere are spelled from the raw view
    spelled = "four one one one one one one one one one one one one one one one"
    text = "Größe " + "lorem ipsum dolor sit amet " * 600 + spelled + " " + "lorem ipsum " * 600 + "café"
    (f,) = [f for f in scan(scanner, text).findings if f.detector_id == "fin-card-visa"]
    assert f.view == "spelled-digits"
    assert text[f.start:f.end] == spelled


def test_spelled_digits_with_look_alike_letters_are_found_in_the_normalized_view(scanner):
    spelled = "f\u043eur \u043ene one one one one one one one one one one one one one \u043ene"  # Cyrillic о
    text = "Bitte zahlen Sie mit " + spelled + ", danke."
    (f,) = [f for f in scan(scanner, text).findings if f.detector_id == "fin-card-visa"]
    assert f.view == "spelled-digits"
    assert text[f.start:f.end] == spelled


@pytest.mark.parametrize("size", [200, 5000])  # whole-text view of a small text, and of a large dense one
def test_dense_non_latin_text_keeps_exact_offsets(scanner, size):
    pad = "Größe naïve café Ünïcödé текст " * size
    needle = f"AKIA\u200b{AWS[4:]}"
    text = pad + " aws " + needle + " " + pad
    (f,) = [f for f in scan(scanner, text).findings if f.detector_id == "secret-aws-access-key-id"]
    assert (f.view, text[f.start:f.end]) == ("normalized", needle)


@pytest.fixture(scope="module")
def shipped():
    from pathlib import Path

    rules = Path(__file__).resolve().parent.parent / "rules" / "detectors"
    problems = Problems()
    return build_scanner(read_rule_files(rules, "detectors", problems, "rules/detectors"), problems, rules_dir=rules,
                         run_examples=False)  # fmt: skip


def fake_ssn() -> str:
    from addons.validators import us_ssn

    while True:
        area, group, serial = secrets.randbelow(664) + 1, secrets.randbelow(99) + 1, secrets.randbelow(9999) + 1
        value = f"{area:03d}-{group:02d}-{serial:04d}"
        if us_ssn(value) is None:
            return value


def json_findings(scanner, doc) -> tuple:
    from addons.extract import extract_segments

    ex = extract_segments(json.dumps(doc).encode(), content_type="application/json", content_encoding=None,
                          max_bytes=1 << 20, max_decompressed=1 << 20)  # fmt: skip
    return scanner.scan(ex.segments, fingerprinter=FP).findings


@pytest.mark.parametrize("spacing", ["plain", "grouped"])
def test_a_card_number_written_as_an_object_key_is_found_in_the_keys_segment(shipped, spacing):
    card = visa_number()
    key = card if spacing == "plain" else grouped(card)
    cards = [f for f in json_findings(shipped, {"model": "m", key: "x"}) if f.detector_id == "fin-card-number"]
    assert [f.where for f in cards] == ["json:{keys}"]


def test_no_where_names_a_sensitive_key(shipped):
    card, ssn = visa_number(), fake_ssn()
    found = json_findings(shipped, {grouped(card): f"my ssn is {ssn}"})
    wheres = {(f.detector_id, f.where) for f in found}
    assert wheres >= {("pii-us-ssn", "json:$[#0]"), ("fin-card-number", "json:{keys}")}
    assert not any(group in f.where for f in found for group in grouped(card).split())


def test_a_value_under_a_positional_key_is_not_counted_again_in_its_joined_siblings(shipped):
    value = grouped(visa_number())
    found = json_findings(shipped, {grouped(visa_number()): f"card {value} here", "b": "other text here"})
    cards = [(f.where, f.count) for f in found if f.detector_id == "fin-card-number"]
    assert cards == [("json:$[#0]", 1), ("json:{keys}", 1)]


@pytest.mark.parametrize("wrap", ["客户的信用卡号码是{}，请尽快处理", "Номер карты клиента: {} — срочно",
                                  "カード番号は{}です"])
def test_values_in_base64_of_text_in_other_scripts_are_found(scanner, wrap):
    encoded = base64.b64encode(wrap.format("4111 1111 1111 1111").encode()).decode()
    found = [f for f in scan(scanner, f"payload={encoded}").findings if f.detector_id == "fin-card-visa"]
    assert [f.view for f in found] == ["decoded:base64"]


def test_url_user_info_is_no_email_address_but_the_credential_is_still_found(shipped):
    password = secrets.token_urlsafe(15).replace("-", "x").replace("_", "y")
    found = lambda text: sorted((f.detector_id, f.start, f.end) for f in scan(shipped, text).findings)  # noqa: E731
    text = f"DATABASE_URL=postgres://app:{password}@db.acme-corp.com:5432/prod"
    at = text.index(password)
    assert found(text) == [("secret-postgres-uri-password", at, at + len(password))]
    assert found("git clone ssh://deploy@git.acme-corp.com/platform/api.git") == []
    # an address after a URL, or in a mailto: link, is still one
    assert found("see https://intranet.acme-corp.com/help or mail it-help@acme-corp.com") == [("contact-email", 48, 69)]
    assert found('<a href="mailto:priya.raman@northwind-foods.co.uk">') == [("contact-email", 16, 49)]


def test_a_decoded_view_spends_no_regex_on_the_text_it_copied(shipped, monkeypatch):
    from addons.matchers import Confirmer

    plain, hidden = grouped(visa_number()), visa_number()
    encoded = "".join(f"%{b:02X}" for b in hidden.encode())
    text = f"card {plain} on file. " + "filler words " * 100 + f"ref={encoded}"
    calls: list[tuple[bytes, int]] = []
    real = Confirmer.find

    def find(self, data, start, end, scale=1):
        if self.width:  # a detector's pattern (the decoders' own run searches have no width)
            calls.append((data, start))
        return real(self, data, start, end, scale)

    monkeypatch.setattr(Confirmer, "find", find)
    cards = sorted((f.view, f.start) for f in scan(shipped, text).findings if f.detector_id == "fin-card-number")
    assert cards == [("decoded:percent", text.index(encoded)), ("raw", text.index(plain))]
    in_decoded = [start for data, start in calls if data != text.encode()]
    # the decoded view holds the plain card too, at the same place; only values overlapping the run it
    # decoded count there, so its regexes run only near that run
    assert in_decoded and min(in_decoded) > text.index(encoded) - 600


@pytest.mark.parametrize("body", ["x {}", '{{"q": "{}"}}'])
def test_an_encoding_inside_an_encoding_is_found_by_the_decoded_views_own_pass(shipped, body):
    card = visa_number()
    percent = "".join(f"%{b:02X}" for b in card.encode())
    twice = base64.b64encode(percent.encode()).decode()
    text = body.format(twice)
    found = [(f.view, text[f.start:f.end]) for f in scan(shipped, text).findings if f.detector_id == "fin-card-number"]
    assert found == [("decoded:base64+percent", twice)]
    # decoding stops two encodings deep
    thrice = base64.b64encode(twice.encode()).decode()
    assert [f for f in scan(shipped, body.format(thrice)).findings if f.detector_id == "fin-card-number"] == []


@pytest.mark.parametrize(("pattern", "keywords", "holds"), [
    (r"api[_.-]?key=(\w+)", ["key", "apikey"], True),  # "api_key=" and "apikey=" each hold one
    (r"api[_.-]?key=(\w+)", ["key"], False),  # "apikey=": `key` (short) must start a word
    (r"[?&]sig=(\w{8})", ["sig="], True),  # the class holds no letter or digit: `sig=` starts a word
    (r"[?a]sig=(\w{8})", ["sig="], False),
    (r"\b(?:ssh://)?git@(\w+)", ["git@"], True),
    (r"(?:ssh://)?git@(\w+)", ["git@"], False),  # "xgit@host" has no reported keyword
    (r"discord(?:app)?\.com/(\w+)", ["discord.com/", "discordapp.com/"], True),
    (r"discord(?:app)?\.com/(\w+)", ["discordapp.com/"], False),
])  # fmt: skip
def test_keyword_inside_reads_optional_parts_both_ways(pattern, keywords, holds):
    from addons.matchers import keyword_inside

    assert keyword_inside(pattern, keywords) is holds


def test_a_long_base64_run_is_reported_once_by_the_locate_pass_and_a_cut_is_noted(shipped):
    from addons.decode import MAX_RUN

    words = " ".join(f"line {i} of an uploaded text document" for i in range(4000))
    blob = base64.b64encode(words.encode()).decode()
    assert len(blob) > MAX_RUN
    owners = shipped._owner
    ends = [e for i, e in shipped._locator.run(f"doc={blob} end".encode()) if owners[i][1] == "base64"]
    assert ends == [4 + len(blob.rstrip("=")) + 1]  # once, where the run ends (its next character consumed)
    # too long to decode: scanned as text, and the report says what was left undecoded, every time
    for _ in range(2):
        report = shipped.scan([Segment("body", f"doc={blob} end")], fingerprinter=FP, reuse=True)
        assert report.not_inspected == ("decode-limit",)
    short = base64.b64encode(f"card {grouped(visa_number())} on file".encode()).decode()
    report = scan(shipped, f"doc={short} end")
    assert report.not_inspected == ()
    assert [f.view for f in report.findings if f.detector_id == "fin-card-number"] == ["decoded:base64"]


def test_a_long_base64_run_of_binary_data_is_no_decode_limit(shipped):
    import random

    blob = base64.b64encode(random.Random(3).randbytes(100_000)).decode()  # an image, say
    report = shipped.scan([Segment("body", f'{{"image": "data:image/png;base64,{blob}"}}')], fingerprinter=FP)
    assert report.not_inspected == ()
