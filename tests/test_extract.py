import gzip
import json
import zlib

import pytest

from addons.extract import extract_segments
from addons.model import Segment

MB = 1 << 20


def ex(body, ctype="application/json", enc=None, **kw):
    args = {"max_bytes": MB, "max_decompressed": 4 * MB, **kw}
    return extract_segments(body, content_type=ctype, content_encoding=enc, **args)


def test_json_leaves_and_joined_siblings():
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 4111111111111111,
                       "weird key": ["A", "b1"], "t": True}).encode()
    r = ex(body)
    assert r.kind == "json" and not r.truncated
    assert [s.where for s in r.segments if not s.joined] == [
        "json:$.model", "json:$.messages[0].role", "json:$.messages[0].content", "json:$.n",
        'json:$["weird key"][0]', 'json:$["weird key"][1]']
    joined = {s.where: s.text for s in r.segments if s.joined}
    # lower-case labels such as "user" are not joined; values are
    assert joined == {'json:$["weird key"][*]': "A\u2063b1"}
    assert Segment("json:$.n", "4111111111111111") in r.segments


def test_long_siblings_join_only_their_edges():
    r = ex(json.dumps({"a": "x" * 5000 + "4111 1111", "b": "1111 1111" + "y" * 5000}).encode())
    (j,) = [s for s in r.segments if s.joined]
    assert "4111 1111\u20631111 1111" in j.text and len(j.text) < 1100


@pytest.mark.parametrize("enc", ["gzip", "deflate", "br", "zstd"])
def test_content_encodings(enc):
    raw = json.dumps({"q": "hello"}).encode()
    if enc == "gzip":
        body = gzip.compress(raw)
    elif enc == "deflate":
        body = zlib.compress(raw)
    elif enc == "br":
        import brotli

        body = brotli.compress(raw)
    else:
        import zstandard

        body = zstandard.ZstdCompressor().compress(raw)
    r = ex(body, enc=enc)
    assert [s.text for s in r.segments] == ["hello"]


@pytest.mark.parametrize("enc", ["gzip", "br", "zstd"])
def test_decompression_bomb_is_bounded(enc):
    raw = b"A" * (20 * MB)
    if enc == "gzip":
        body = gzip.compress(raw)
    elif enc == "br":
        import brotli

        body = brotli.compress(raw)
    else:
        import zstandard

        body = zstandard.ZstdCompressor().compress(raw)
    r = ex(body, ctype="text/plain", enc=enc, max_decompressed=MB)
    assert r.truncated and "decompression-limit" in r.not_inspected
    assert sum(len(s.text) for s in r.segments) <= MB


def test_broken_compression_and_unknown_encoding_never_raise():
    r = ex(b"not gzip at all", enc="gzip")
    assert r.segments == () and r.not_inspected == ("decompression-error:gzip",)
    r = ex(b"x", enc="compress")
    assert r.not_inspected == ("content-encoding:compress",)


def test_charset_and_invalid_utf8():
    r = ex("{\"q\": \"caf\xe9\"}".encode("latin-1"), ctype="application/json; charset=latin-1")
    assert [s.text for s in r.segments] == ["café"]
    r = ex(b"caf\xff text", ctype="text/plain")
    assert r.segments[0].text == "caf\ufffd text" and "invalid-text-replaced" in r.not_inspected
    r = ex(b"text", ctype="text/plain; charset=klingon")
    assert "unknown-charset" in r.not_inspected


def test_broken_json_falls_back_to_text():
    r = ex(b'{"a": "4111 1111 1111 1111", ', ctype="application/json")
    assert r.kind == "text" and r.segments == (Segment("body", '{"a": "4111 1111 1111 1111", '),)
    assert "json-invalid" in r.not_inspected


def test_json_depth_and_segment_limits():
    deep = "[" * 100 + '"x"' + "]" * 100
    r = ex(deep.encode(), max_depth=10)
    assert r.truncated and "json-depth-limit" in r.not_inspected and r.segments == ()
    r = ex(json.dumps([str(i) for i in range(100)]).encode(), max_segments=10)
    assert r.truncated and "segment-limit" in r.not_inspected and len(r.segments) <= 10
    r = ex(("[" * 100_000 + "]" * 100_000).encode())  # deeper than Python's recursion limit
    assert r.kind in ("text", "json")


def test_max_bytes_truncates():
    r = ex(b"x" * 1000, ctype="text/plain", max_bytes=100)
    assert r.truncated and "body-truncated" in r.not_inspected and len(r.segments[0].text) == 100


def test_form():
    r = ex(b"q=my+card+4111&empty=&x=%41", ctype="application/x-www-form-urlencoded")
    assert r.kind == "form"
    assert r.segments == (Segment("form:q", "my card 4111"), Segment("form:x", "A"))


def test_multipart():
    b = "XyZ"
    body = (
        f"--{b}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nhello there\r\n"
        f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\n"
        "Content-Type: text/plain\r\n\r\nline one\nline two\r\n"
        f"--{b}\r\nContent-Disposition: form-data; name=\"img\"; filename=\"a.png\"\r\n"
        "Content-Type: image/png\r\n\r\n\x89PNG\x00\x01\r\n"
        f"--{b}--\r\n"
    ).encode("latin-1")
    r = ex(body, ctype=f"multipart/form-data; boundary={b}")
    assert r.kind == "multipart"
    assert r.segments == (Segment("multipart:prompt", "hello there"), Segment("file:notes.txt", "line one\nline two"))
    assert r.not_inspected == ("binary:a.png",)


@pytest.mark.parametrize(
    ("ctype", "kind", "note"),
    [
        ("image/png", "binary", "binary:image/png"),
        ("application/octet-stream", "binary", "binary:application/octet-stream"),
        ("text/markdown", "text", None),
        (None, "text", None),
    ],
)
def test_content_types(ctype, kind, note):
    body = b"\x89PNG\x00\x00" if kind == "binary" else b"# hello"
    r = ex(body, ctype=ctype)
    assert r.kind == kind
    assert (note in r.not_inspected) if note else not r.not_inspected


def test_sniffs_json_without_content_type_and_ndjson():
    assert ex(b'{"a": "b"}', ctype=None).kind == "json"
    r = ex(b'{"a": "x"}\n{"a": "y"}\n', ctype="application/x-ndjson")
    assert r.kind == "ndjson" and [s.where for s in r.segments] == ["json:0:$.a", "json:1:$.a"]


def test_empty_body():
    assert ex(b"").kind == "empty"
