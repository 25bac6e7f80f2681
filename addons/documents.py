"""documents.py: the text of uploaded office documents (Word, Excel, PowerPoint, OpenDocument) and ZIP archives.

Employees upload spreadsheets and reports to AI apps, and zip up source code or CSV exports; all of
these are ZIP archives, so their text is read here (standard library only) and scanned like any
other text: an office document's text parts, an archive's text members (and the office documents
in it, one level deep).

Invariants: never raises on hostile input (returns None or notes what was skipped); reads at most
`max_bytes` of uncompressed XML in all and `MAX_PARTS` parts, whatever the archive claims (zip
bombs stop at the cap); XML with a DTD is refused (no entity expansion); text out ≤ `max_chars`.
A spreadsheet's cells come out row by row, tab-separated, shared strings resolved, so a header row
stays next to its values.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from dataclasses import field
from xml.etree.ElementTree import ParseError
from xml.etree.ElementTree import XMLParser

ZIP_MAGIC = b"PK\x03\x04"
MAX_PARTS = 256  # XML parts read per document
MAX_MEMBERS = 2000  # members looked at in a plain ZIP archive
OFFICE_SUFFIXES = (".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".pptm", ".odt", ".ods", ".odp")
BINARY_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".ico", ".tif", ".tiff", ".pdf", ".zip", ".gz",
                   ".tgz", ".bz2", ".xz", ".7z", ".rar", ".jar", ".class", ".exe", ".dll", ".so", ".dylib", ".o",
                   ".a", ".bin", ".mp3", ".mp4", ".mov", ".avi", ".wav", ".woff", ".woff2", ".ttf", ".otf",
                   ".pyc", ".whl", ".db", ".sqlite", ".parquet")  # fmt: skip
CHUNK = 64 << 10

# parts holding text, per format (regex over the archive member names), in reading order
_OOXML_PARTS = {
    "docx": re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml"),
    "pptx": re.compile(r"ppt/(slides/slide\d+|notesSlides/notesSlide\d+|comments/comment\d*)\.xml"),
    "xlsx": re.compile(r"xl/worksheets/sheet\d+\.xml"),
}
_ODF_PARTS = re.compile(r"content\.xml|styles\.xml")  # styles.xml holds headers and footers
_PARAGRAPH_ENDS = frozenset({"p", "h", "row", "tr", "br", "cr", "si", "list-item"})  # a line break after these
_CELL_ENDS = frozenset({"c", "tc", "table-cell", "tab"})  # a tab after these
_OOXML_TEXT = frozenset({"t", "v", "delText"})  # OOXML keeps text only inside these elements
_ODF_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


@dataclass
class DocumentText:
    kind: str  # docx | xlsx | pptx | odf | zip
    parts: list[tuple[str, str]] = field(default_factory=list)  # (archive member, text)
    notes: list[str] = field(default_factory=list)
    truncated: bool = False
    read: int = 0  # uncompressed bytes read (a nested document's count against its archive's budget)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _TextTarget:
    """XMLParser target collecting the text of one part (see the module docstring for the layout)."""

    def __init__(self, ooxml: bool, limit: int, shared: list[str] | None = None) -> None:
        self.ooxml, self.limit, self.shared = ooxml, limit, shared
        self.out: list[str] = []
        self.size = 0
        self.depth_in_text = 0
        self.cell_shared = False  # xlsx: inside <c t="s">, whose <v> is an index into the shared strings
        self.value: list[str] | None = None
        self.full = False

    def _emit(self, text: str) -> None:
        if self.full or not text:
            return
        if self.size + len(text) > self.limit:
            text = text[:self.limit - self.size]
            self.full = True
        self.out.append(text)
        self.size += len(text)

    def start(self, tag: str, attrib: dict) -> None:
        name = _local(tag)
        if name == "c":
            self.cell_shared = attrib.get("t") == "s"
        if name in _OOXML_TEXT:
            self.depth_in_text += 1
            if name == "v" and self.cell_shared and self.shared is not None:
                self.value = []
        elif name == "s" and not self.ooxml:  # ODF <text:s text:c="3"/>: a run of spaces
            count = attrib.get(_ODF_TEXT + "c", "1")
            self._emit(" " * (min(int(count), 64) if count.isdigit() else 1))

    def end(self, tag: str) -> None:
        name = _local(tag)
        if name in _OOXML_TEXT:
            self.depth_in_text -= 1
            if self.value is not None:
                index = "".join(self.value).strip()
                self.value = None
                if index.isdigit() and int(index) < len(self.shared or ()):
                    self._emit(self.shared[int(index)])  # type: ignore[index]
        if name in _PARAGRAPH_ENDS:
            self._emit("\n")
        elif name in _CELL_ENDS:
            if self.out and self.out[-1] == "\n" and name != "tab":  # a cell's last paragraph: stay on the row
                self.out[-1] = "\t"
            else:
                self._emit("\t")

    def data(self, text: str) -> None:
        if self.value is not None:
            self.value.append(text)
        elif not self.ooxml or self.depth_in_text > 0:
            self._emit(text)

    def close(self) -> str:
        return "".join(self.out)


def _parse(data: bytes, target):
    """Feed `data` to `target`; its result, or None for malformed XML or XML with a DTD."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return None  # Office never writes a DTD: refuse entity tricks outright
    parser = XMLParser(target=target)
    try:
        parser.feed(data)
        return parser.close()
    except (ParseError, ValueError, RecursionError):
        return None


def _xml_text(data: bytes, ooxml: bool, limit: int, shared: list[str] | None = None) -> str | None:
    return _parse(data, _TextTarget(ooxml, limit, shared))


class _SharedStrings:
    """XMLParser target for xl/sharedStrings.xml: one string per <si> (its <t> runs, phonetic hints left out)."""

    def __init__(self, limit: int) -> None:
        self.items: list[str] = []
        self.current: list[str] = []
        self.in_text = self.in_phonetic = 0
        self.left = limit

    def start(self, tag: str, attrib: dict) -> None:
        name = _local(tag)
        self.in_text += name == "t"
        self.in_phonetic += name == "rPh"

    def end(self, tag: str) -> None:
        name = _local(tag)
        self.in_text -= name == "t"
        self.in_phonetic -= name == "rPh"
        if name == "si":
            text = "".join(self.current)[:max(self.left, 0)]
            self.left -= len(text)
            self.items.append(text)
            self.current = []

    def data(self, text: str) -> None:
        if self.in_text and not self.in_phonetic:
            self.current.append(text)

    def close(self) -> list[str]:
        return self.items


def _shared_strings(data: bytes, limit: int) -> list[str] | None:
    """xl/sharedStrings.xml → the strings, in order (each <si> is one cell's text)."""
    return _parse(data, _SharedStrings(limit))


def _kind(names: list[str]) -> str | None:
    if "[Content_Types].xml" in names:
        for kind, rx in _OOXML_PARTS.items():
            if any(rx.fullmatch(n) for n in names):
                return kind
        return None
    if "mimetype" in names and "content.xml" in names:
        return "odf"
    return None


def _natural(name: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def is_document(data: bytes) -> bool:
    return data.startswith(ZIP_MAGIC)


class _Archive:
    """Bounded reads from one ZIP: every member read counts against one uncompressed-byte budget."""

    def __init__(self, archive: zipfile.ZipFile, doc: DocumentText, budget: int) -> None:
        self.archive, self.doc, self.budget = archive, doc, budget

    def read(self, name: str, note: str = "document-part-unreadable") -> bytes | None:
        if self.budget <= 0:
            self.doc.truncated = True
            return None
        try:
            with self.archive.open(name) as member:
                out = bytearray()
                while len(out) <= self.budget:
                    chunk = member.read(CHUNK)
                    if not chunk:
                        break
                    out += chunk
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
            self.doc.notes.append(f"{note}:{name}")  # encrypted, corrupt, unsupported compression
            return None
        if len(out) > self.budget:
            self.doc.truncated = True
            out = out[:self.budget]  # cut: an XML part then fails to parse and is noted
        self.budget -= len(out)
        self.doc.read += len(out)
        return bytes(out)


def document_text(data: bytes, *, max_bytes: int, max_chars: int, nested: bool = True) -> DocumentText | None:
    """The text of an office document (its text parts) or of a ZIP archive (its text members, and the
    office documents inside it when `nested`); None when `data` is not a ZIP or cannot be opened."""
    if not is_document(data):
        return None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None
    names = [i.filename for i in infos]
    kind = _kind(names)
    doc = DocumentText(kind or "zip")
    reader = _Archive(archive, doc, max_bytes)
    if kind is None:
        _archive_members(reader, infos, max_chars, nested)
    else:
        _office_parts(reader, kind, names, max_chars)
    return doc


def _office_parts(reader: _Archive, kind: str, names: list[str], max_chars: int) -> None:
    doc = reader.doc
    if kind == "odf":
        wanted = [n for n in names if _ODF_PARTS.fullmatch(n)]
    else:
        wanted = sorted((n for n in names if _OOXML_PARTS[kind].fullmatch(n)), key=_natural)
    if len(wanted) > MAX_PARTS:
        wanted, doc.truncated = wanted[:MAX_PARTS], True
    shared = None
    if kind == "xlsx" and "xl/sharedStrings.xml" in names:
        raw = reader.read("xl/sharedStrings.xml")
        shared = _shared_strings(raw, max_chars) if raw is not None else None
        if shared is None:
            doc.notes.append("document-part-unreadable:xl/sharedStrings.xml")
    chars = 0
    for name in wanted:
        raw = reader.read(name)
        if raw is None:
            continue
        text = _xml_text(raw, kind != "odf", max_chars - chars, shared)
        if text is None:
            doc.notes.append(f"document-part-unreadable:{name}")
            continue
        if text.strip():
            doc.parts.append((name, text))
            chars += len(text)
        if chars >= max_chars:
            doc.truncated = True
            break


def _looks_text(data: bytes) -> str | None:
    """The member as text when it is text (no NUL, valid UTF-8 or nearly so), else None."""
    head = data[:4096]
    if b"\x00" in head:
        return None
    text = data.decode("utf-8", "replace")
    return text if text.count("\ufffd") * 100 <= max(len(text), 1) else None


def _archive_members(reader: _Archive, infos: list[zipfile.ZipInfo], max_chars: int, nested: bool) -> None:
    """A plain ZIP (source code, CSV exports, notes): each text member is a part named by its path;
    office documents inside are read one level deep; other members are counted as not inspected."""
    doc = reader.doc
    members = [i for i in infos if not i.is_dir()]
    if len(members) > MAX_MEMBERS:
        members, doc.truncated = members[:MAX_MEMBERS], True
    chars = skipped = 0
    for info in members:
        name = info.filename
        if name.lower().endswith(BINARY_SUFFIXES):
            skipped += 1
            continue
        raw = reader.read(name, "archive-member-unreadable")
        if raw is None:
            continue
        office = nested and name.lower().endswith(OFFICE_SUFFIXES) and is_document(raw)
        limits = {"max_bytes": reader.budget, "max_chars": max_chars - chars}
        inner = document_text(raw, **limits, nested=False) if office else None
        if inner is not None:
            reader.budget -= inner.read  # one budget for the archive and the documents in it
            doc.read += inner.read
        if inner is not None and inner.kind != "zip":
            doc.parts += [(f"{name}#{part}", text) for part, text in inner.parts]
            doc.notes += inner.notes
            doc.truncated |= inner.truncated
            chars += sum(len(text) for _, text in inner.parts)
        elif (text := _looks_text(raw)) is not None:
            text = text[:max_chars - chars]
            if text.strip():
                doc.parts.append((name, text))
                chars += len(text)
        else:
            skipped += 1
        if chars >= max_chars:
            doc.truncated = True
            break
    if skipped:
        doc.notes.append(f"archive-members-not-text:{skipped}")
