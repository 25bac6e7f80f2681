import json

from addons.extract import extract_segments
from addons.fingerprint import Fingerprinter
from addons.model import Finding
from addons.redact import Member
from addons.redact import parse_path
from addons.redact import redact_body


def finding(where, start, end, did="fin-card", view="raw"):
    return Finding(did, "financial", "high", 0.9, where, start, end, 1, view, "••••1111", "0" * 64)


def test_parse_path():
    assert parse_path('$.a[0]["b c"].d[*]') == ["a", 0, "b c", "d", "*"]
    assert parse_path("$") == []
    assert parse_path("a.b") is None and parse_path("$[*].x") is None
    assert parse_path("$.data[#0].n[#12][3]") == ["data", Member(0), "n", Member(12), 3]
    assert parse_path("$[#x]") is None and parse_path("$[#]") is None and parse_path("{keys}") is None


def test_json_span_replaced_and_valid():
    body = json.dumps({"messages": [{"role": "user", "content": "card 4111 1111 1111 1111 please"}]}).encode()
    out = redact_body(body, content_type="application/json", findings=[finding("json:$.messages[0].content", 5, 24)])
    assert json.loads(out) == {"messages": [{"role": "user", "content": "card [REDACTED:fin-card] please"}]}


def test_several_and_overlapping_spans_in_one_leaf():
    body = json.dumps({"q": "a 1111 b 2222 c"}).encode()
    fs = [finding("json:$.q", 2, 6), finding("json:$.q", 9, 13, "x-two"), finding("json:$.q", 10, 12, "x-three")]
    assert json.loads(redact_body(body, content_type="application/json", findings=fs)) == {
        "q": "a [REDACTED:fin-card] b [REDACTED:x-two] c"}


def test_joined_finding_redacts_every_touched_sibling():
    body = json.dumps({"a": "note", "b": "4111 1111", "c": "1111 1111", "d": "end"}).encode()
    ex = extract_segments(body, content_type="application/json", content_encoding=None, max_bytes=1 << 20,
                          max_decompressed=1 << 20)
    (joined,) = [s for s in ex.segments if s.joined]
    start = joined.text.index("4111")
    f = finding("json:$[*]", start, start + len("4111 11111111 1111"), view="joined")
    assert json.loads(redact_body(body, content_type="application/json", findings=[f])) == {
        "a": "note", "b": "[REDACTED:fin-card]", "c": "[REDACTED:fin-card]", "d": "end"}


def test_number_leaf():
    body = b'{"card": 4111111111111111, "x": 1}'
    out = redact_body(body, content_type="application/json", findings=[finding("json:$.card", 0, 16)])
    assert json.loads(out) == {"card": "[REDACTED:fin-card]", "x": 1}


def test_decoded_finding_replaces_the_encoded_run():
    body = json.dumps({"q": "k=NDExMSAxMTExIDExMTEgMTExMQ== ok"}).encode()
    f = finding("json:$.q", 2, 30, view="decoded:base64")
    assert json.loads(redact_body(body, content_type="application/json", findings=[f])) == {
        "q": "k=[REDACTED:fin-card] ok"}


def test_form_and_text():
    body = b"q=card+4111+1111+1111+1111&lang=en"
    out = redact_body(body, content_type="application/x-www-form-urlencoded", findings=[finding("form:q", 5, 24)])
    assert out == b"q=card+%5BREDACTED%3Afin-card%5D&lang=en"
    out = redact_body(b"tag=a1&tag=b2", content_type="application/x-www-form-urlencoded",
                      findings=[finding("form:[#1]", 0, 2)])  # a repeated name: by position
    assert out == b"tag=a1&tag=%5BREDACTED%3Afin-card%5D"
    assert redact_body(b"q=abc", content_type="application/x-www-form-urlencoded",
                       findings=[finding("form:{names}", 0, 3)]) is None  # a name cannot be redacted
    out = redact_body(b"card 4111 1111 1111 1111.", content_type="text/plain", findings=[finding("body", 5, 24)])
    assert out == b"card [REDACTED:fin-card]."


def test_unsafe_cases_return_none():
    body = json.dumps({"q": "short"}).encode()
    ct = "application/json"
    assert redact_body(body, content_type=ct, findings=[finding("json:$.missing", 0, 1)]) is None
    assert redact_body(body, content_type=ct, findings=[finding("json:$.q", 0, 99)]) is None
    assert redact_body(b"{broken", content_type=ct, findings=[finding("json:$.q", 0, 1)]) is None
    assert redact_body(body, content_type=ct, findings=[finding("multipart:f", 0, 1)]) is None
    assert redact_body(body, content_type=ct, findings=[finding("json:$.q", 0, 1), finding("body", 0, 1)]) is None
    assert redact_body(b"\xff\xfe", content_type="text/plain", findings=[finding("body", 0, 1)]) is None
    assert redact_body(body, content_type=ct, findings=[]) == body


def test_round_trip_with_scanner(tmp_path):
    from tests.test_scan import make

    scanner, problems = make(tmp_path)
    assert not problems
    secret = "AKIAQWERTYUIOPASDFGH"
    body = json.dumps({"messages": [{"role": "user", "content": f"aws key {secret} and АКІА{secret[4:]}"}],
                       "parts": ["4111 1111", "1111 1111"]}, ensure_ascii=False).encode()
    ex = extract_segments(body, content_type="application/json", content_encoding=None, max_bytes=1 << 20,
                          max_decompressed=1 << 20)
    report = scanner.scan(ex.segments, fingerprinter=Fingerprinter(bytes(32)))
    out = redact_body(body, content_type="application/json; charset=utf-8", findings=report.findings)
    doc = json.loads(out)
    assert doc["messages"][0]["content"] == ("aws key [REDACTED:secret-aws-access-key-id] and "
                                             "[REDACTED:secret-aws-access-key-id]")
    assert doc["parts"] == ["[REDACTED:fin-card-visa]"] * 2
    assert secret[4:] not in out.decode()


def test_overlapping_spans_take_the_longest_findings_label():
    from addons.redact import redact_text

    text = "card 4539 1488 0343 6467 ok"
    assert redact_text(text, [(5, 19, "pii-in-aadhaar"), (5, 24, "fin-card-number")]) == (
        "card [REDACTED:fin-card-number] ok"
    )
    assert redact_text(text, [(5, 24, "fin-card-number"), (10, 19, "pii-in-aadhaar")]) == (
        "card [REDACTED:fin-card-number] ok"
    )


def leaf_where(body: bytes, text: str) -> str:
    ex = extract_segments(body, content_type="application/json", content_encoding=None, max_bytes=1 << 20,
                          max_decompressed=1 << 20)
    (seg,) = [s for s in ex.segments if s.text == text]
    return seg.where


def test_value_under_a_positional_key_is_redacted():
    one, two = "card 4111 1111 1111 1111 please", "also 4111 1111 1111 1111 here"
    body = json.dumps({"a": "keep", "data": {"x": 1, "Straße 12": {"note": one}}, "Ünïcode": ["n", two]},
                      ensure_ascii=False).encode()  # fmt: skip
    wheres = [leaf_where(body, one), leaf_where(body, two)]
    assert wheres == ["json:$.data[#1].note", "json:$[#2][1]"]
    fs = [finding(wheres[0], 5, 24), finding(wheres[1], 5, 24, "x-two")]
    out = redact_body(body, content_type="application/json", findings=fs)
    assert json.loads(out) == {"a": "keep", "data": {"x": 1, "Straße 12": {"note": "card [REDACTED:fin-card] please"}},
                               "Ünïcode": ["n", "also [REDACTED:x-two] here"]}


def test_joined_finding_under_a_positional_key():
    body = json.dumps({"Straße": {"b": "4111 1111", "c": "1111 1111"}}, ensure_ascii=False).encode()
    f = finding("json:$[#0][*]", 0, 19, view="joined")
    assert json.loads(redact_body(body, content_type="application/json", findings=[f])) == {
        "Straße": {"b": "[REDACTED:fin-card]", "c": "[REDACTED:fin-card]"}}


def test_positional_steps_that_do_not_fit_return_none():
    body = json.dumps({"a": "x", "l": ["y"], "d": {"k": "z"}}).encode()
    ct = "application/json"
    for where in ("json:$[#3]", "json:$.l[#0]", "json:$[#2][0]", "json:$[#0][#0]"):
        assert redact_body(body, content_type=ct, findings=[finding(where, 0, 1)]) is None, where
    assert json.loads(redact_body(body, content_type=ct, findings=[finding("json:$[#2][#0]", 0, 1)]))["d"] == {
        "k": "[REDACTED:fin-card]"}


def test_a_finding_in_an_object_key_cannot_be_redacted():
    body = json.dumps({"4111 1111 1111 1111": "card 4111 1111 1111 1111"}).encode()
    ct = "application/json"
    assert redact_body(body, content_type=ct, findings=[finding("json:{keys}", 0, 19)]) is None
    both = [finding("json:$[#0]", 5, 24), finding("json:{keys}", 0, 19)]
    assert redact_body(body, content_type=ct, findings=both) is None
    assert redact_body(body, content_type="application/x-ndjson", findings=[finding("json:0:{keys}", 0, 19)]) is None


def _multipart_body(boundary: str, image: bytes) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\ncard 4111 now\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"img\"; filename=\"a.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + image + (
            f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nnotes: 4111 and café\r\n--{boundary}--\r\n").encode()


def test_multipart_text_parts_are_redacted_in_place():
    from addons.extract import extract_segments

    image = bytes(range(256)) * 4  # not text: must come through byte for byte
    body = _multipart_body("XyZ", image)
    ctype = "multipart/form-data; boundary=XyZ"
    segs = {s.where: s.text for s in extract_segments(body, content_type=ctype, content_encoding=None,
                                                      max_bytes=1 << 20, max_decompressed=1 << 20).segments}
    assert segs == {"multipart:prompt": "card 4111 now", "file:notes.txt": "notes: 4111 and café"}
    out = redact_body(body, content_type=ctype, findings=[finding("multipart:prompt", 5, 9),
                                                           finding("file:notes.txt", 7, 11)])  # fmt: skip
    assert out == body.replace(b"card 4111 now", b"card [REDACTED:fin-card] now").replace(
        b"notes: 4111 and", b"notes: [REDACTED:fin-card] and")
    assert image in out


def test_multipart_refuses_what_it_cannot_place():
    ctype = "multipart/form-data; boundary=XyZ"
    body = _multipart_body("XyZ", b"\x89PNG")
    assert redact_body(body, content_type=ctype, findings=[finding("file:report.docx#word/document.xml", 0, 4)]) is None
    assert redact_body(body, content_type=ctype, findings=[finding("file:a.pdf#page1", 0, 4)]) is None
    assert redact_body(body, content_type=ctype, findings=[finding("multipart:gone", 0, 4)]) is None
    twice = body.replace(b'name="file"; filename="notes.txt"', b'name="prompt"')
    assert redact_body(twice, content_type=ctype, findings=[finding("multipart:prompt", 0, 4)]) is None


def test_a_finding_in_a_file_embedded_as_base64_is_not_rewritten_in_place():
    import base64

    data = base64.b64encode(b"card 4111 1111 1111 1111 on file, please charge it").decode()
    body = json.dumps({"source": {"type": "base64", "media_type": "text/plain", "data": data}}).encode()
    # the finding's span is in the decoded text, not in the base64 string: redaction must refuse (block)
    found = [finding("json:$.source.data#file", 5, 24)]
    assert redact_body(body, content_type="application/json", findings=found) is None
