"""protowire.py: the text inside protobuf bodies (gRPC, gRPC-web, Connect, plain `application/x-protobuf`).

AI coding tools (Cursor, Windsurf) and some web apps send prompts and code as protobuf. The wire
format carries no schema but keeps every string as length-prefixed UTF-8, so the strings are found by
walking it without one (as `protoc --decode_raw` does); gRPC and Connect wrap messages in 5-byte
frames, possibly gzip-compressed, which are unwrapped first.

Invariants: never raises on hostile input; work and output are bounded (`max_chars` of text,
`max_bytes` decompressed for all the messages of a body, nesting ≤ MAX_DEPTH); a message that is not valid protobuf
is reported, and its printable runs are scanned instead.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import re
import zlib
from dataclasses import dataclass
from dataclasses import field

from addons.decode import printable_text

MAX_DEPTH = 32
_ENVELOPED = ("application/grpc", "application/connect+")
_PLAIN = ("application/proto", "application/protobuf", "application/x-protobuf", "application/vnd.google.protobuf",
          "application/x-google-protobuf")  # fmt: skip
_PRINTABLE_RUN = re.compile(rb"(?:[\t\n\r\x20-\x7e]|[\xc2-\xf4][\x80-\xbf]{1,3}){6,}")


def is_protobuf(mime: str) -> bool:
    return mime.startswith(_ENVELOPED) and "json" not in mime or mime in _PLAIN


@dataclass
class ProtoText:
    messages: list[list[str]] = field(default_factory=list)  # the strings of each message, in order
    notes: list[str] = field(default_factory=list)  # protobuf-unparsed, protobuf-compressed, protobuf-truncated
    truncated: bool = False


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); (-1, pos) when the varint is cut or longer than 10 bytes."""
    value = shift = 0
    for i in range(pos, min(pos + 10, len(buf))):
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i + 1
        shift += 7
    return -1, pos


class _Budget:
    """Fields a walk may visit: a message nested to fail late at every level is not walked again and again."""

    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left


def _walk(buf: bytes, depth: int, out: list[str], budget: _Budget) -> bool:
    """Collect the strings of one message into `out`; False when `buf` is not a valid message (or the
    walk ran out of budget)."""
    pos = 0
    size = len(buf)
    while pos < size:
        budget.left -= 1
        if budget.left < 0:
            return False
        key, pos = _varint(buf, pos)
        if key <= 0 or key >> 3 == 0:
            return False
        wire = key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            if value < 0:
                return False
        elif wire == 1 or wire == 5:
            pos += 8 if wire == 1 else 4
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if length < 0 or pos + length > size:
                return False
            chunk = buf[pos:pos + length]
            pos += length
            # a nested message when it parses whole and holds strings (text almost never parses whole,
            # and a short one that does holds none), else text, else bytes (ignored)
            inner: list[str] = []
            if chunk and depth < MAX_DEPTH and _walk(chunk, depth + 1, inner, budget) and inner:
                out.extend(inner)
            elif chunk and (text := printable_text(chunk)) is not None:
                out.append(text)
        else:  # groups (3, 4) are long deprecated; 6 and 7 do not exist
            return False
    return pos == size


def _inflate(payload: bytes, limit: int) -> bytes | None:
    try:
        if payload[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(payload)) as f:
                return f.read(limit + 1)[:limit]
        return zlib.decompressobj().decompress(payload, limit)
    except (OSError, EOFError, zlib.error):
        return None


def _frames(data: bytes, mime: str, limit: int, text: ProtoText) -> list[bytes]:
    """The messages of a body: its 5-byte frames for gRPC / Connect streams, else the body itself."""
    if mime.startswith("application/grpc-web-text"):
        try:
            data = base64.b64decode(data, validate=False)
        except (binascii.Error, ValueError):
            text.notes.append("protobuf-unparsed")
            return []
    if not mime.startswith(_ENVELOPED):
        return [data]
    out: list[bytes] = []
    pos = 0
    while pos + 5 <= len(data):
        flags, length = data[pos], int.from_bytes(data[pos + 1:pos + 5], "big")
        payload = data[pos + 5:pos + 5 + length]
        pos += 5 + length
        if len(payload) < length:
            text.notes.append("protobuf-truncated")
            text.truncated = True
            break
        if flags & 0x80 or flags & 0x02:  # gRPC-web trailers, Connect end-of-stream: metadata, not messages
            continue
        if flags & 0x01:
            if limit <= 0:  # one inflation budget for all the frames of a body
                text.notes.append("protobuf-truncated")
                text.truncated = True
                break
            payload = _inflate(payload, limit)
            if payload is None:
                text.notes.append("protobuf-compressed")
                continue
            limit -= len(payload)
        out.append(payload)
    return out


def proto_text(data: bytes, mime: str, *, max_bytes: int, max_chars: int) -> ProtoText:
    """The strings of each message of a protobuf body (see the module docstring)."""
    text = ProtoText()
    left = max_chars
    for message in _frames(data, mime, max_bytes, text):
        strings: list[str] = []
        if not _walk(message, 0, strings, _Budget(len(message) + 4096)):
            text.notes.append("protobuf-unparsed")
            strings = [m.group().decode("utf-8", "replace") for m in _PRINTABLE_RUN.finditer(message)]
        kept: list[str] = []
        for s in strings:
            if left <= 0:
                text.truncated = True
                break
            kept.append(s[:left])
            left -= len(kept[-1])
        text.messages.append(kept)
    text.notes = list(dict.fromkeys(text.notes))
    return text
