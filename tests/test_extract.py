import gzip
import json
import secrets
import string
import zlib

import pytest

from addons.extract import KEYS_WHERE
from addons.extract import MAX_KEY_TEXT
from addons.extract import extract_segments
from addons.extract import label_step
from addons.model import Segment
from tests.integration.fakes import grouped
from tests.integration.fakes import visa_number

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
        'json:$["weird key"][0]', 'json:$["weird key"][1]', "json:{keys}"]
    joined = {s.where: s.text for s in r.segments if s.joined}
    # lower-case labels such as "user" are not joined; values are
    assert joined == {'json:$["weird key"][*]': "A\u2063b1"}
    assert Segment("json:$.n", "4111111111111111") in r.segments
    # a label is at most 16 lower-case letters: a 17-letter word is a value, joined with another value
    seventeen = "a" * 17
    joined_of = lambda doc: {s.where: s.text for s in ex(json.dumps(doc).encode()).segments if s.joined}  # noqa: E731
    assert joined_of({"a": seventeen, "b": "card"}) == {}
    assert joined_of({"a": seventeen, "b": "Card"}) == {"json:$[*]": seventeen + "\u2063Card"}
    assert joined_of({"a": "a" * 16, "b": "Card"}) == {}


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
    assert [s.text for s in r.segments] == ["hello", "q"]


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
    assert [s.text for s in r.segments] == ["café", "q"]
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


def test_form_names_that_are_not_labels_are_scanned_and_never_written():
    token = "7" + "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(24))  # never a label
    r = ex(f"q=hi&{token}=1&tag=a&tag=b".encode(), ctype="application/x-www-form-urlencoded")
    assert [(s.where, s.text) for s in r.segments] == [
        ("form:q", "hi"), ("form:[#1]", "1"), ("form:[#2]", "a"), ("form:[#3]", "b"), ("form:{names}", token)]


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
    assert r.kind == "ndjson"
    assert [s.where for s in r.segments] == ["json:0:$.a", "json:0:{keys}", "json:1:$.a", "json:1:{keys}"]


def test_empty_body():
    assert ex(b"").kind == "empty"


def _rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


SECRET_KEYS = {  # secret-shaped object keys, made at run time (test ids name the kind, never the value)
    "card": visa_number,
    "grouped-card": lambda: grouped(visa_number()),
    "aws-key-id": lambda: "AKIA" + _rand(string.ascii_uppercase, 7) + "3" + _rand(string.ascii_uppercase + "234567", 8),
    "github-token": lambda: "ghp_" + _rand(string.ascii_letters, 12) + "7" + _rand(string.ascii_letters, 23),
    "anthropic-key": lambda: "sk-ant-api03-" + _rand(string.ascii_letters + string.digits + "-_", 93) + "AA",
    "email": lambda: _rand(string.ascii_lowercase, 6) + ".doe@example.com",
}


@pytest.mark.parametrize(
    ("key", "step"),
    [("content", ".content"), ("tool_calls", ".tool_calls"), ("item1", ".item1"), ("v2", ".v2"),
     ("Content-Type", '["Content-Type"]'), ("user name", '["user name"]'), ("$ref", '["$ref"]'),
     ("@type", '["@type"]'), ("a.b", '["a.b"]'), ("x" * 40, "." + "x" * 40),
     ("item123", None), ("a1b", None), ("1abc", None), ("x" * 41, None), ("", None), ("*", None),
     ("Straße", None), ("a@b.c", None), ("key\n", None)],
)  # fmt: skip
def test_only_label_like_keys_are_named_in_paths(key, step):
    assert label_step(key) == step


def test_keys_segment_lists_every_distinct_key_once_in_document_order():
    doc = {"model": "m", "messages": [{"role": "user", "content": "hi"},
                                      {"role": "assistant", "content": "yo", "meta": {"": "e", "model": "x"}}],
           "tools": [], "n": 1}  # fmt: skip
    r = ex(json.dumps(doc).encode())
    keys = [s for s in r.segments if s.where == KEYS_WHERE]
    assert keys == [Segment(KEYS_WHERE, "model\nmessages\nrole\ncontent\nmeta\ntools\nn")]
    assert r.segments[-1] == keys[0] and not r.truncated


@pytest.mark.parametrize("doc", [["a", "b"], "just text", {"": "x"}, [[], {}]],
                         ids=["list", "string", "empty-key", "empty"])
def test_no_keys_no_keys_segment(doc):
    assert all(s.where != KEYS_WHERE for s in ex(json.dumps(doc).encode()).segments)


@pytest.mark.parametrize("kind", SECRET_KEYS)
def test_secret_shaped_keys_are_scanned_but_never_written_in_a_path(kind):
    key = SECRET_KEYS[kind]()
    r = ex(json.dumps({"a": 1, key: {"note": "n", "b": ["x y", "z w"]}, "data": {key: "v"}}).encode())
    assert [s.where for s in r.segments] == [
        "json:$[#1].note", "json:$[#1].b[0]", "json:$[#1].b[1]", "json:$[#1].b[*]", "json:$.data[#0]", KEYS_WHERE]
    assert r.segments[-1].text == f"a\n{key}\nnote\nb\ndata"
    assert not any(key in s.where or key.replace(" ", "") in s.where for s in r.segments)


def test_ndjson_lines_have_their_own_keys_segment_and_positional_paths():
    key = grouped(visa_number())
    body = (json.dumps({key: "x"}) + "\n" + json.dumps({"a": {"b": "y"}}) + "\n").encode()
    r = ex(body, ctype="application/x-ndjson")
    assert [(s.where, s.text) for s in r.segments] == [
        ("json:0:$[#0]", "x"), ("json:0:{keys}", key), ("json:1:$.a.b", "y"), ("json:1:{keys}", "a\nb")]


def test_key_text_is_bounded_and_the_cut_is_noted():
    many = {f"{i:04d}" + "k" * 1000: i for i in range(100)}  # 100 KB of distinct keys
    r = ex(json.dumps(many).encode())
    (keys,) = r.segments
    assert keys.where == KEYS_WHERE and len(keys.text) == MAX_KEY_TEXT
    assert r.truncated and "json-keys-truncated" in r.not_inspected
    r = ex(json.dumps({"k" * (MAX_KEY_TEXT + 10): "v"}).encode())
    assert len(r.segments[-1].text) == MAX_KEY_TEXT and "json-keys-truncated" in r.not_inspected
    r = ex(json.dumps({"k" * (MAX_KEY_TEXT - 3): "v", "ab": "w"}).encode())  # exactly fits
    assert len(r.segments[-1].text) == MAX_KEY_TEXT and not r.truncated


def test_keys_segment_survives_the_segment_limit():
    doc = {f"k{i}": f"v{i}" for i in range(20)}
    r = ex(json.dumps(doc).encode(), max_segments=5)
    assert r.truncated and "segment-limit" in r.not_inspected
    assert [s.where for s in r.segments] == ["json:$.k0", "json:$.k1", "json:$.k2", "json:$.k3", KEYS_WHERE]
    assert r.segments[-1].text == "\n".join(doc)


def test_file_names_are_logged_without_numbers_or_tokens():
    from tests.integration import fakes

    card = fakes.visa_number()
    ssn_like = f"{card[:3]}-{card[3:5]}-{card[5:9]}"
    b = "BnD"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"customer_{card}.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\nname,plan\r\nAda,pro\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"scan\"; filename=\"id {ssn_like}.png\""
            f"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"f2\"; filename=\"export_2024-03-15.csv\"\r\n\r\na,b\r\n"
            f"--{b}--\r\n").encode("latin-1")  # fmt: skip
    r = ex(body, ctype=f"multipart/form-data; boundary={b}")
    assert [s.where for s in r.segments] == ["file:customer_<redacted>.csv", "file:export_2024-03-15.csv"]
    assert r.not_inspected == ("binary:id <redacted>.png",)
    assert card[:9] not in repr(r) and ssn_like not in repr(r)


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def test_files_embedded_as_base64_are_read_in_place_of_their_string():
    from tests.uploads import docx_bytes
    from tests.uploads import pdf_bytes

    card = grouped(visa_number())
    note = f"Customer notes: card {card} on file. " * 4
    body = json.dumps({"model": "claude", "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "text/plain", "data": _b64(note.encode())}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": _b64(pdf_bytes(f"card {card}"))}},
        {"type": "file", "file": {"filename": "plan.docx", "file_data": "data:application/vnd.openxmlformats-"
                                  "officedocument.wordprocessingml.document;base64," + _b64(docx_bytes(note))}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": _b64(bytes(range(256)) * 4)}},
        {"inline_data": {"mime_type": "text/csv", "data": _b64(f"name,card,city\nJane Doe,{card},Ohio\n".encode())}},
    ]}]}).encode()  # fmt: skip
    r = ex(body)
    texts = {s.where: s.text for s in r.segments}
    part = "json:$.messages[0].content"
    assert texts[f"{part}[0].source.data#file"] == note  # Anthropic: a text document
    assert not [w for w in texts if w.startswith(f"{part}[1].source.data")]  # a PDF: for the PDF reader
    assert [(label, len(data) > 0) for label, _, data in r.pdfs] == [(f"{part}[1].source.data", True)]
    assert [w for w in texts if w.startswith(f"{part}[2].file.file_data#")]  # OpenAI: a Word document's parts
    assert card in "".join(t for w, t in texts.items() if w.startswith(f"{part}[2]"))
    assert not [w for w in texts if w.startswith(f"{part}[3].source.data")]  # an image: not scanned as text
    assert "binary:image/png" in r.not_inspected
    assert texts[f"{part}[4].inline_data.data#file"] == f"name,card,city\nJane Doe,{card},Ohio\n"  # Gemini
    assert f"binary:{part}[1].source.data" in r.not_inspected  # until the PDF reader settles it


@pytest.mark.parametrize("data", ["not base64 at all, just a sentence with words: " * 3,
                                  "abcd" * 30 + "!",  # one character outside the alphabet
                                  "QUJD" * 30 + "="])  # padding where none belongs
def test_a_data_string_that_is_not_base64_stays_a_string(data):
    r = ex(json.dumps({"source": {"media_type": "text/plain", "data": data}}).encode())
    assert [s.text for s in r.segments if s.where == "json:$.source.data"] == [data]
