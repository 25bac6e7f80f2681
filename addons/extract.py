"""extract.py: a request body → the text segments to scan (JSON leaves + joined siblings, form fields,
multipart text parts, raw text), with bounded decompression and explicit notes on what was skipped.

Invariants: never raises on hostile input; decompressed output ≤ `max_decompressed`, text ≤ `max_bytes`,
segments ≤ `max_segments`, JSON depth ≤ `max_depth`; anything cut or skipped is named in
`truncated` / `not_inspected`. `where` strings: `json:$.a[0].b`, `json:$.a[*]` (joined siblings),
`json:$.a[#1]` (an object's member by position: its key is not label-like, so never written), `json:{keys}`
(the document's object keys), `form:<key>` / `form:[#n]` / `form:{names}` (see params.py),
`multipart:<name>`, `file:<filename>`, `body`; an office document's text parts (documents.py)
`document#word/document.xml`, or `file:<filename>#<part>` in a multipart upload; `protobuf[<n>]` (the
strings of a gRPC / Connect / protobuf message, protowire.py); a PDF's pages
(pdftext.py, read by the caller) `document#page1` / `file:<filename>#page1`.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from dataclasses import dataclass
from email.message import Message

from addons import embedded
from addons.documents import document_text
from addons.documents import is_document
from addons.params import is_label
from addons.params import param_segments
from addons.params import parse_params
from addons.pdftext import is_pdf
from addons.protowire import is_protobuf
from addons.protowire import proto_text
from addons.urlsafe import safe_path

JOIN_EDGE = 256  # characters of each sibling's head and tail that take part in the joined text
JOIN_GAP = "\x00"  # stands for the elided middle of a long sibling
JOIN_SEP = "\u2063"  # between siblings; the scanner reads it both as a space and as nothing
KEYS_WHERE = "json:{keys}"  # the segment holding a JSON document's distinct object keys, one per line
MAX_KEY_TEXT = 64 << 10  # characters of key text scanned per JSON document
_TEXT_TYPES = ("text/", "application/xml", "application/javascript", "application/graphql", "application/yaml",
               "application/x-yaml", "application/sql", "application/x-sh", "application/csv")  # fmt: skip
_BINARY_TYPES = ("image/", "audio/", "video/", "font/", "application/octet-stream", "application/zip",
                 "application/pdf", "application/x-protobuf", "application/protobuf", "application/grpc",
                 "application/gzip", "application/vnd.", "application/msword", "application/wasm")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Extraction:
    segments: tuple  # tuple[Segment, ...]
    truncated: bool = False
    not_inspected: tuple[str, ...] = ()
    kind: str = "empty"  # json | ndjson | form | multipart | document | pdf | protobuf | text | binary | empty
    # PDFs found but not read here (pdftext.py reads them in a child process): (label, note, bytes); each
    # is in `not_inspected` under its note until a reader replaces the note with the PDF's pages
    pdfs: tuple[tuple[str, str, bytes], ...] = ()


class _Notes:
    def __init__(self) -> None:
        self.truncated = False
        self.items: list[str] = []

    def add(self, note: str, truncated: bool = False) -> None:
        self.truncated |= truncated
        if note not in self.items:
            self.items.append(note)


def parse_content_type(value: str | None) -> tuple[str, dict[str, str]]:
    """('type/subtype' lower-cased, {param: value}); tolerant of junk, quotes and missing parts."""
    if not value:
        return "", {}
    mime, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";") if rest else ():
        k, eq, v = part.partition("=")
        if eq:
            params[k.strip().lower()] = v.strip().strip('"')
    return mime.strip().lower(), params


def decompress(body: bytes, encoding: str | None, limit: int, notes: _Notes) -> bytes | None:
    """Undo content-encoding (applied in order, so undone in reverse), never producing more than `limit`."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    data = body
    for coding in reversed(codings):
        if coding in ("identity", ""):
            continue
        try:
            if coding in ("gzip", "x-gzip", "deflate"):
                data = _zlib(data, coding, limit, notes)
            elif coding == "br":
                data = _brotli(data, limit, notes)
            elif coding == "zstd":
                data = _zstd(data, limit, notes)
            else:
                notes.add(f"content-encoding:{coding}")
                return None
        except Exception:
            notes.add(f"decompression-error:{coding}")
            return None
    return data


def _zlib(data: bytes, coding: str, limit: int, notes: _Notes) -> bytes:
    wbits = 31 if coding != "deflate" else (15 if data[:1] == b"\x78" else -15)
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, limit + 1)
    if len(out) > limit or d.unconsumed_tail:
        notes.add("decompression-limit", truncated=True)
        return out[:limit]
    return out


def _brotli(data: bytes, limit: int, notes: _Notes) -> bytes:
    import brotli

    d = brotli.Decompressor()
    out = d.process(data, output_buffer_limit=limit + 1)
    if len(out) > limit or not d.is_finished():
        if len(out) > limit or not d.can_accept_more_data():
            notes.add("decompression-limit", truncated=True)
        return out[:limit]
    return out


def _zstd(data: bytes, limit: int, notes: _Notes) -> bytes:
    import zstandard

    reader = zstandard.ZstdDecompressor().stream_reader(data)
    out = reader.read(limit + 1)
    if len(out) > limit:
        notes.add("decompression-limit", truncated=True)
        return out[:limit]
    return out


UTF8_BOM = b"\xef\xbb\xbf"


def utf8_bom(data: bytes, encoding: str) -> bytes:
    """The UTF-8 byte-order mark `data` starts with under `encoding`, or b"" (the text is read without it)."""
    return UTF8_BOM if encoding.lower().replace("_", "-") in ("utf-8", "utf8") and data.startswith(UTF8_BOM) else b""


def to_text(data: bytes, charset: str | None, notes: _Notes) -> str:
    name = charset or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        notes.add("unknown-charset")
        name = "utf-8"
    data = data[len(utf8_bom(data, name)):]
    try:
        return data.decode(name)
    except UnicodeDecodeError:
        notes.add("invalid-text-replaced")
        return data.decode(name, "replace")


_ENUMISH = re.compile(r"[a-z_]{1,16}")  # "user", "assistant", "text", "image_url": labels, not data


def join_siblings(strings: list[str]) -> tuple[str, list[tuple[int, int, int]]]:
    """Sibling strings joined for split-value detection: short ones whole, long ones as head + gap + tail
    (a value split across two siblings lies at their boundary); lower-case labels ("user") are left
    out. Returns the text and, per piece, (sibling index, start, end) in the joined text."""
    parts: list[str] = []
    pieces: list[tuple[int, int, int]] = []
    pos = 0
    for i, s in enumerate(strings):
        if _ENUMISH.fullmatch(s):
            continue
        text = s if len(s) <= 2 * JOIN_EDGE else s[:JOIN_EDGE] + JOIN_GAP + s[-JOIN_EDGE:]
        if parts:
            parts.append(JOIN_SEP)
            pos += 1
        parts.append(text)
        pieces.append((i, pos, pos + len(text)))
        pos += len(text)
    return "".join(parts), pieces


def label_step(key: str) -> str | None:
    """`.key` / `["k e y"]` for a label-like object key, else None: such a key is named in a `where`
    by its position (`[#n]`)."""
    if not is_label(key):
        return None
    return f".{key}" if key.isidentifier() else f"[{json.dumps(key)}]"


def json_segments(doc, seg_cls, max_depth: int, max_segments: int, notes: _Notes,
                  files: list | None = None) -> list:  # fmt: skip
    """String leaves (and long integers) in document order, plus one joined segment per container
    with ≥ 2 string children that are not labels (`joined=True`, where `json:<parent>[*]`), plus one
    `json:{keys}` segment: the document's distinct non-empty object keys, one per line. Every chat
    request goes through here, so the walk is written out flat (objects and arrays apart, no helper
    call per member). `files` collects (where, media type, base64) of the files embedded as base64
    (see embedded.py)."""
    out: list = []
    add = out.append
    labels: dict[str, str] = {}  # key → ".key", '["k e y"]' or "" (not a label: written `[#n]`)
    keys: dict[str, None] = {}  # distinct non-empty keys, in document order
    budget = MAX_KEY_TEXT
    enumish = _ENUMISH.fullmatch

    def member(key: str, index: int) -> str:
        """The path step to an object member: `.key`, `["k e y"]`, or `[#n]` for a key that is no label."""
        s = labels.get(key)
        if s is None:
            s = labels[key] = label_step(key) or ""
        return s or f"[#{index}]"

    def joined_of(strings: list[str], path: str) -> None:
        """The joined segment of a container's strings, when two of them are no label (`join_siblings`
        leaves labels out, and chat messages are a label and one text)."""
        other = 0
        for s in strings:
            if len(s) > 16 or enumish(s) is None:
                other += 1
                if other == 2:
                    joined, pieces = join_siblings(strings)
                    if len(pieces) >= 2:
                        add(seg_cls(f"json:{path}[*]", joined, joined=True))
                    return

    def walk(node, path: str, depth: int) -> None:
        nonlocal budget
        if len(out) >= max_segments:
            notes.add("segment-limit", truncated=True)
            return
        if depth >= max_depth:
            notes.add("json-depth-limit", truncated=True)
            return
        strings: list[str] = []
        if type(node) is dict:
            if files is not None and "data" in node:
                found = embedded.base64_member(node)
                if found is not None:
                    files.append((f"json:{path}{member('data', 0)}", *found))
            i = -1
            for key, value in node.items():
                i += 1
                if key not in keys and key:
                    if budget <= 0:
                        notes.add("json-keys-truncated", truncated=True)
                    else:
                        keys[key] = None
                        budget -= len(key) + 1
                t = type(value)
                if t is str:
                    strings.append(value)
                    if len(out) < max_segments:
                        s = labels.get(key)  # member(key, i), inline: string leaves are most members
                        if s is None:
                            s = labels[key] = label_step(key) or ""
                        add(seg_cls(f"json:{path}{s or f'[#{i}]'}", value))
                        if files is not None and value[:5] == "data:":
                            found = embedded.data_url(value)
                            if found is not None:
                                files.append((out[-1].where, *found))
                elif t is dict or t is list:
                    if value:
                        walk(value, path + member(key, i), depth + 1)
                elif t is int and abs(value) >= 100_000:
                    add(seg_cls(f"json:{path}{member(key, i)}", str(value)))
        else:
            i = -1
            for value in node:
                i += 1
                t = type(value)
                if t is str:
                    strings.append(value)
                    if len(out) < max_segments:
                        add(seg_cls(f"json:{path}[{i}]", value))
                        if files is not None and value[:5] == "data:":
                            found = embedded.data_url(value)
                            if found is not None:
                                files.append((out[-1].where, *found))
                elif t is dict or t is list:
                    if value:
                        walk(value, f"{path}[{i}]", depth + 1)
                elif t is int and abs(value) >= 100_000:
                    add(seg_cls(f"json:{path}[{i}]", str(value)))
        if len(strings) >= 2 and len(out) < max_segments:
            joined_of(strings, path)

    if isinstance(doc, str):
        add(seg_cls("json:$", doc))
    elif isinstance(doc, dict | list):
        walk(doc, "$", 0)
    if len(out) >= max_segments:
        notes.add("segment-limit", truncated=True)
    out = out[:max_segments]
    if keys and max_segments > 0:
        text = "\n".join(keys)
        if len(text) > MAX_KEY_TEXT:
            notes.add("json-keys-truncated", truncated=True)
        if len(out) >= max_segments:  # keys are scanned nowhere else: they take the last leaf's place
            out = out[:max_segments - 1]
        out.append(seg_cls(KEYS_WHERE, text[:MAX_KEY_TEXT]))
    return out


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart body: its `label` (`file:<filename>` or `multipart:<name>`), its
    declared type, and where its content lies in the body (`start`, `end`)."""

    label: str
    short: str  # filename or field name (loggable_name), for notes
    ctype: str
    content: bytes
    start: int
    end: int


_NUMBER_RUN = re.compile(r"[0-9](?:[ ._\-]?[0-9]){5,}")  # ≥ 6 digits, maybe grouped: ids, card, account, phone
_DATE = re.compile(r"(?:19|20)[0-9]{2}([-_.]?)(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12][0-9]|3[01])")


def loggable_name(name: str) -> str:
    """A file or field name as it may appear in a `where` and in the log: runs of six or more digits
    (an id, a card or account number in "customer_4111….csv") and random-looking tokens are replaced
    by `<redacted>`; dates (2024-03-15, 20240315) stay."""
    masked = _NUMBER_RUN.sub(lambda m: m.group() if _DATE.fullmatch(m.group()) else "<redacted>", name)
    return safe_path(masked)


def multipart_parts(data: bytes, boundary: str) -> list[Part]:
    """The parts between `--boundary` delimiters, up to the closing one."""
    delim = b"--" + boundary.encode("latin-1", "replace")
    out: list[Part] = []
    pos = data.find(delim)
    while pos >= 0:
        begin = pos + len(delim)
        pos = data.find(delim, begin)
        part = data[begin:pos if pos >= 0 else len(data)]
        if part.startswith(b"--"):
            break
        cut, size = part.find(b"\r\n\r\n"), 4
        if cut < 0:
            cut, size = part.find(b"\n\n"), 2
        head, body_at = (part, len(part)) if cut < 0 else (part[:cut], cut + size)
        content = part[body_at:]
        content = content[:-2] if content.endswith(b"\r\n") else content.removesuffix(b"\n")
        msg = Message()
        for line in head.decode("latin-1").splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                msg[k.strip()] = v.strip()
        name = msg.get_param("name", header="content-disposition") or "part"
        filename = msg.get_param("filename", header="content-disposition")
        short = loggable_name(str(filename or name))
        label = f"file:{short}" if filename else f"multipart:{short}"
        out.append(Part(label, short, (msg.get("content-type") or "").lower(), content,
                        begin + body_at, begin + body_at + len(content)))  # fmt: skip
    return out


def part_charset(part: Part, default: str | None) -> str | None:
    return parse_content_type(part.ctype)[1].get("charset") or default


def _multipart(data: bytes, boundary: str, seg_cls, charset, notes: _Notes, max_segments: int,
               max_chars: int, max_unzipped: int, pdfs: list) -> list:  # fmt: skip
    out: list = []
    for part in multipart_parts(data, boundary):
        if len(out) >= max_segments:
            notes.add("segment-limit", truncated=True)
            break
        content = part.content
        docs = _document_segments(content, part.label, seg_cls, notes, max_chars, max_unzipped)
        if docs is not None:
            out.extend(docs[:max(0, max_segments - len(out))])
            continue
        unread = f"binary:{part.short}"
        if is_pdf(content):
            notes.add(unread)
            pdfs.append((part.label, unread, content))
            continue
        if _is_binary(part.ctype, content):
            notes.add(unread)
            continue
        out.append(seg_cls(part.label, to_text(content, part_charset(part, charset), notes)))
    return out


def _document_segments(data: bytes, label: str, seg_cls, notes: _Notes, max_chars: int,
                       max_unzipped: int) -> list | None:  # fmt: skip
    """An office document's text parts as segments `<label>#<part>`; None when `data` is not one."""
    if not is_document(data):
        return None
    doc = document_text(data, max_bytes=max_unzipped, max_chars=max_chars)
    if doc is None:
        return None
    for note in doc.notes:
        notes.add(note)
    if doc.truncated:
        notes.add("document-truncated", truncated=True)
    return [seg_cls(f"{label}#{part}", text) for part, text in doc.parts]


def _with_embedded_files(segs: list, files: list, seg_cls, notes: _Notes, pdfs: list, max_chars: int,
                        max_unzipped: int) -> list:  # fmt: skip
    """The segments with each file embedded as base64 in place of its string: a text file's text
    (`<where>#file`), an office document's parts, nothing for a PDF (it goes to `pdfs`, for the reader)
    or another binary file (noted `binary:<type>`, not inspected). A string that is not base64 stays."""
    replaced: dict[str, list] = {}
    for where, mime, payload in files:
        data = embedded.decode(payload, max_unzipped)
        if data is None:
            if len(payload) // 4 * 3 > max_unzipped:
                notes.add("embedded-file-too-large")
            continue
        docs = _document_segments(data, where, seg_cls, notes, max_chars, max_unzipped)
        if docs is not None:
            replaced[where] = docs
        elif is_pdf(data):
            unread = f"binary:{where}"
            notes.add(unread)
            pdfs.append((where, unread, data))
            replaced[where] = []
        elif _is_binary(mime, data):
            notes.add(f"binary:{mime or 'unknown'}")
            replaced[where] = []
        else:
            text = to_text(data, parse_content_type(mime)[1].get("charset"), notes)
            replaced[where] = [seg_cls(f"{where}#file", text)]  # `#`: redaction cannot rewrite it in place
    return [s for seg in segs for s in (replaced.get(seg.where, (seg,)) if not seg.joined else (seg,))]


def _is_binary(ctype: str, content: bytes) -> bool:
    if ctype.startswith(_TEXT_TYPES) or "json" in ctype or "form-urlencoded" in ctype:
        return False
    if ctype.startswith(_BINARY_TYPES) and not ctype.startswith("application/octet-stream"):
        return True
    return not _looks_text(content)


def _looks_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    text = sample.decode("utf-8", "ignore")
    if len(text) < len(sample.decode("latin-1")) * 0.9:
        return False
    bad = sum(1 for c in text if not (c.isprintable() or c in "\t\r\n"))
    return bad * 20 <= max(1, len(text))


def extract_segments(
    body: bytes,
    *,
    content_type: str | None,
    content_encoding: str | None,
    max_bytes: int,
    max_decompressed: int,
    max_depth: int = 64,
    max_segments: int = 10_000,
) -> Extraction:
    from addons.model import Segment

    notes = _Notes()
    if not body:
        return Extraction((), kind="empty")
    data = decompress(body, content_encoding, max_decompressed, notes)
    if data is None:
        return Extraction((), notes.truncated, tuple(notes.items), "binary")
    if len(data) > max_bytes:
        data = data[:max_bytes]
        notes.add("body-truncated", truncated=True)
    mime, params = parse_content_type(content_type)
    charset = params.get("charset")
    if mime.startswith("multipart/"):
        boundary = params.get("boundary")
        if boundary:
            pdfs: list = []
            segs = _multipart(data, boundary, Segment, charset, notes, max_segments, max_bytes, max_decompressed, pdfs)
            return Extraction(tuple(segs), notes.truncated, tuple(notes.items), "multipart", tuple(pdfs))
        notes.add("multipart-without-boundary")
    if mime == "application/x-www-form-urlencoded":
        text = to_text(data, charset, notes)
        segs = param_segments(parse_params(text), "form")
        if len(segs) > max_segments:
            notes.add("segment-limit", truncated=True)
            segs = segs[:max_segments - 1] + segs[-1:]  # names are scanned nowhere else: keep their segment
        return Extraction(tuple(segs), notes.truncated, tuple(notes.items), "form")
    docs = _document_segments(data, "document", Segment, notes, max_bytes, max_decompressed)
    if docs is not None:
        return Extraction(tuple(docs[:max_segments]), notes.truncated, tuple(notes.items), "document")
    if is_pdf(data):
        note = "binary:application/pdf"
        notes.add(note)
        return Extraction((), notes.truncated, tuple(notes.items), "pdf", (("document", note, data),))
    if is_protobuf(mime):
        return _protobuf(data, mime, notes, max_bytes, max_decompressed, max_segments)
    is_json = "json" in mime and "ndjson" not in mime and "jsonl" not in mime
    if mime and not is_json and "json" not in mime and _is_binary(mime, data):
        notes.add(f"binary:{mime or 'unknown'}")
        return Extraction((), notes.truncated, tuple(notes.items), "binary")
    text = to_text(data, charset, notes)
    stripped = text.lstrip()
    if "ndjson" in mime or "jsonl" in mime or "json-seq" in mime:
        return _ndjson(text, Segment, max_depth, max_segments, notes)
    if is_json or (not mime or mime == "text/plain") and stripped[:1] in ("{", "["):
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            if is_json:
                notes.add("json-invalid")
            return Extraction((Segment("body", text),), notes.truncated, tuple(notes.items), "text")
        files: list = []
        segs = json_segments(doc, Segment, max_depth, max_segments, notes, files)
        pdfs: list = []
        if files:
            segs = _with_embedded_files(segs, files, Segment, notes, pdfs, max_bytes, max_decompressed)
        return Extraction(tuple(segs), notes.truncated, tuple(notes.items), "json", tuple(pdfs))
    return Extraction((Segment("body", text),), notes.truncated, tuple(notes.items), "text")


def _protobuf(data: bytes, mime: str, notes: _Notes, max_bytes: int, max_decompressed: int,
              max_segments: int) -> Extraction:  # fmt: skip
    """A protobuf body (gRPC, Connect, x-protobuf): one segment per message, its strings one per line."""
    from addons.model import Segment

    proto = proto_text(data, mime, max_bytes=max_decompressed, max_chars=max_bytes)
    for note in proto.notes:
        notes.add(note, truncated=note == "protobuf-truncated")
    if proto.truncated:
        notes.add("protobuf-truncated", truncated=True)
    segs = [Segment(f"protobuf[{i}]", "\n".join(strings)) for i, strings in enumerate(proto.messages) if strings]
    return Extraction(tuple(segs[:max_segments]), notes.truncated, tuple(notes.items), "protobuf")


def _ndjson(text: str, seg_cls, max_depth: int, max_segments: int, notes: _Notes) -> Extraction:
    segs: list = []
    for n, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError):
            notes.add("json-invalid")
            segs.append(seg_cls(f"line:{n}", line))
            continue
        for s in json_segments(doc, seg_cls, max_depth, max_segments - len(segs), notes):
            segs.append(seg_cls(f"json:{n}:{s.where[5:]}", s.text, s.joined))  # json:2:$.a, json:2:{keys}
    return Extraction(tuple(segs), notes.truncated, tuple(notes.items), "ndjson")
