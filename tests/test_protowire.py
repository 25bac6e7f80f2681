"""Strings out of protobuf bodies, encoded by the real protobuf library (no schema needed to read them)."""

from __future__ import annotations

import base64
import gzip
import struct

from google.protobuf import struct_pb2
from google.protobuf import wrappers_pb2

from addons.extract import extract_segments
from addons.protowire import MAX_DEPTH
from addons.protowire import is_protobuf
from addons.protowire import proto_text

LIMITS = {"max_bytes": 1 << 20, "max_chars": 1 << 20}


def chat_request(prompt: str, code: str) -> bytes:
    """A nested message (Struct → Value → ListValue → Struct) like a coding assistant's request."""
    msg = struct_pb2.Struct()
    msg.update({"model": "fast", "conversation": [{"role": "user", "text": prompt}], "context": {"file": code},
                "temperature": 0.2})  # fmt: skip
    return msg.SerializeToString()


def frame(payload: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(payload)) + payload


def test_strings_of_nested_messages_in_wire_order():
    data = chat_request("why does this fail?", "def f():\n    return 1 / 0\n")
    text = proto_text(data, "application/x-protobuf", **LIMITS)
    assert text.notes == [] and len(text.messages) == 1
    strings = text.messages[0]
    assert "why does this fail?" in strings and "def f():\n    return 1 / 0\n" in strings
    assert {"model", "fast", "role", "user"} <= set(strings)


def test_grpc_and_connect_frames_compressed_or_not_and_trailers_skipped():
    one = wrappers_pb2.StringValue(value="first message").SerializeToString()
    two = wrappers_pb2.StringValue(value="second, compressed").SerializeToString()
    body = frame(one) + frame(gzip.compress(two), flags=1) + frame(b"grpc-status: 0", flags=0x80)
    for mime in ("application/grpc", "application/grpc-web+proto", "application/connect+proto"):
        text = proto_text(body, mime, **LIMITS)
        assert text.messages == [["first message"], ["second, compressed"]], mime
    web_text = proto_text(base64.b64encode(body), "application/grpc-web-text", **LIMITS)
    assert web_text.messages == [["first message"], ["second, compressed"]]


def test_broken_input_is_noted_and_its_printable_runs_scanned():
    text = proto_text(b"\xff\xff\xff not protobuf at all \x00\x01", "application/x-protobuf", **LIMITS)
    assert text.notes == ["protobuf-unparsed"] and text.messages == [[" not protobuf at all "]]
    cut = proto_text(frame(b"\x0a\x05hello")[:-2], "application/grpc", **LIMITS)
    assert cut.truncated and cut.notes == ["protobuf-truncated"]
    bad_gzip = proto_text(frame(b"\x1f\x8bnot gzip", flags=1), "application/grpc", **LIMITS)
    assert bad_gzip.notes == ["protobuf-compressed"] and bad_gzip.messages == []


def test_output_is_capped():
    text = proto_text(chat_request("x" * 5000, "y" * 5000), "application/x-protobuf", max_bytes=1 << 20, max_chars=100)
    assert text.truncated and sum(map(len, text.messages[0])) == 100


def test_extraction_makes_one_segment_per_message():
    assert is_protobuf("application/grpc+proto") and is_protobuf("application/x-protobuf")
    assert not is_protobuf("application/connect+json") and not is_protobuf("application/json")
    bye = wrappers_pb2.StringValue(value="bye").SerializeToString()
    body = frame(chat_request("hello there", "print(1)")) + frame(bye)
    ex = extract_segments(body, content_type="application/connect+proto", content_encoding=None, max_bytes=1 << 20,
                          max_decompressed=1 << 20)  # fmt: skip
    assert ex.kind == "protobuf" and ex.not_inspected == ()
    assert [s.where for s in ex.segments] == ["protobuf[0]", "protobuf[1]"]
    assert "hello there" in ex.segments[0].text.split("\n") and ex.segments[1].text == "bye"


def test_a_message_built_to_fail_late_at_every_level_is_walked_a_bounded_number_of_times(monkeypatch):
    import addons.protowire as protowire

    inner = b"\x08\x01" * 1000 + b"\x0f"  # 1,000 valid fields, then an invalid wire type
    for _ in range(MAX_DEPTH):
        inner = b"\x0a" + _varint_bytes(len(inner)) + inner
    message = inner * 20
    budgets: list = []

    class Recording(protowire._Budget):
        def __init__(self, left: int) -> None:
            super().__init__(left)
            budgets.append((left, self))

    monkeypatch.setattr(protowire, "_Budget", Recording)
    text = proto_text(message, "application/x-protobuf", **LIMITS)
    assert text.messages == [[]]  # nothing but numbers in there
    [(start, budget)] = budgets
    visited = start - budget.left
    assert visited <= len(message) + 4096 < 32 * 20 * 1000  # without the budget: every level walked again


def _varint_bytes(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_compressed_frames_share_one_inflation_budget():
    big = gzip.compress(wrappers_pb2.StringValue(value="z" * 200_000).SerializeToString())
    text = proto_text(frame(big, flags=1) * 10, "application/grpc", max_bytes=500_000, max_chars=10 << 20)
    assert text.truncated and "protobuf-truncated" in text.notes
    assert sum(map(len, (s for m in text.messages for s in m))) <= 500_000
