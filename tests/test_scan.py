import base64
import json
import textwrap

import pytest

from addons.detectors import build_edm
from addons.detectors import build_scanner
from addons.fingerprint import Fingerprinter
from addons.model import Segment
from addons.ruleyaml import Problems
from addons.ruleyaml import read_rule_files
from addons.scan import mask

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
    ],
)
def test_card_numbers_in_any_script_or_spelling(scanner, text):
    found = [f for f in scan(scanner, text).findings if f.detector_id == "fin-card-visa"]
    assert found, text


def test_plain_text_with_evasion_characters_is_not_a_finding(scanner):
    text = "Ｈｅｌｌｏ\u200b wörld – Привет мир, ٤٥ apples, one or two, &amp; %20 \\u0041 \U000e0041"
    assert scan(scanner, text).findings == ()


def test_allowlists_negative_entropy(scanner):
    assert not scan(scanner, "AKIAIOSFODNN7EXAMPLE").findings  # allow value
    assert not scan(scanner, "AKIAXXXXXXXXXXXXXXXX").findings  # allow pattern / entropy
    assert not scan(scanner, "AKIAFAKEQWERTYUIOPAS").findings  # stopword
    assert not scan(scanner, f"example only: {AWS}").findings  # negative context
    assert not scan(scanner, "AKIAAAAAAAAAAAAAAAAA").findings  # entropy


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


def test_concurrent_scans_from_threads(scanner):
    import threading

    errors, results = [], []

    def work():
        try:
            for _ in range(50):
                results.append(len(scan(scanner, f"aws {AWS} card 4111 1111 1111 1111 " * 20).findings))
        except Exception as e:  # pragma: no cover - the failure being tested for
            errors.append(repr(e))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and set(results) == {40}


@pytest.mark.parametrize(
    ("needle", "view", "detector"),
    [
        (f"AKIA\u200b{AWS[4:]}", "normalized", "secret-aws-access-key-id"),
        ("four one one one one one one one one one one one one one one one", "spelled-digits", "fin-card-visa"),
        (base64.b64encode(b"4111 1111 1111 1111").decode(), "decoded:base64", "fin-card-visa"),
        ("4111\n1111\n1111\n1111", "normalized", "fin-card-visa"),
        ("٤١١١ ١١١١ ١١١١ ١١١١", "normalized", "fin-card-visa"),
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
