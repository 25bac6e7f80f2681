"""Office documents built by real producers (openpyxl, python-docx, python-pptx, odfpy) → their text."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest
from odf.opendocument import OpenDocumentText
from odf.text import P

from addons.documents import document_text
from addons.documents import is_document

LIMITS = {"max_bytes": 8 << 20, "max_chars": 1 << 20}


def xlsx_bytes() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Customer", "Reference", "Amount"])
    sheet.append(["Ada Lovelace", "REF A-1001", 12.5])
    sheet.append(["Alan Turing", "REF A-1002", 7])
    book.create_sheet("Second").append(["note", "second sheet text"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_paragraph("Quarterly report")
    document.add_paragraph("Refund order REF A-1001 please.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Account"
    table.rows[0].cells[1].text = "ACME-77"
    document.sections[0].header.paragraphs[0].text = "CONFIDENTIAL"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx_bytes() -> bytes:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Launch plan"
    slide.placeholders[1].text = "Codename falcon ships in May"
    slide.notes_slide.notes_text_frame.text = "speaker note: budget 1.2M"
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def odt_bytes() -> bytes:
    document = OpenDocumentText()
    document.text.addElement(P(text="First paragraph"))
    document.text.addElement(P(text="Second paragraph with a value"))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def test_spreadsheet_rows_come_out_tab_separated_with_shared_strings_resolved():
    doc = document_text(xlsx_bytes(), **LIMITS)
    assert doc is not None and doc.kind == "xlsx" and not doc.truncated and doc.notes == []
    assert [name for name, _ in doc.parts] == ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"]
    assert doc.parts[0][1].splitlines() == ["Customer\tReference\tAmount\t", "Ada Lovelace\tREF A-1001\t12.5\t",
                                            "Alan Turing\tREF A-1002\t7\t"]
    assert doc.parts[1][1].split() == ["note", "second", "sheet", "text"]


def test_word_document_body_tables_and_header():
    doc = document_text(docx_bytes(), **LIMITS)
    assert doc is not None and doc.kind == "docx"
    texts = dict(doc.parts)
    assert texts["word/document.xml"].splitlines() == ["Quarterly report", "Refund order REF A-1001 please.",
                                                       "Account\tACME-77\t"]
    assert any(name.startswith("word/header") and "CONFIDENTIAL" in text for name, text in doc.parts)


def test_presentation_slides_and_speaker_notes():
    doc = document_text(pptx_bytes(), **LIMITS)
    assert doc is not None and doc.kind == "pptx"
    joined = "\n".join(text for _, text in doc.parts)
    assert "Launch plan" in joined and "Codename falcon ships in May" in joined and "budget 1.2M" in joined


def test_opendocument_text():
    doc = document_text(odt_bytes(), **LIMITS)
    assert doc is not None and doc.kind == "odf"
    assert dict(doc.parts)["content.xml"].splitlines() == ["First paragraph", "Second paragraph with a value"]


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def test_a_plain_archive_gives_its_text_members_and_the_office_documents_in_it():
    data = _zip({"repo/README.md": b"# Payments service\n", "repo/src/app.py": b"TIMEOUT = 30\n",
                 "repo/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(64), "repo/blob.dat": bytes(range(256)),
                 "repo/docs/spec.docx": docx_bytes(), "repo/empty/": b""})  # fmt: skip
    doc = document_text(data, **LIMITS)
    assert doc is not None and doc.kind == "zip" and not doc.truncated
    assert [name for name, _ in doc.parts] == ["repo/README.md", "repo/src/app.py",
                                               "repo/docs/spec.docx#word/document.xml",
                                               "repo/docs/spec.docx#word/header1.xml"]
    assert doc.parts[1][1] == "TIMEOUT = 30\n"
    assert doc.notes == ["archive-members-not-text:2"]  # the image (by name) and the binary blob (by content)


def test_archive_members_share_one_byte_budget():
    data = _zip({f"part{i}.txt": b"x" * 100_000 for i in range(50)})  # 5 MB of text, a tiny archive
    doc = document_text(data, max_bytes=250_000, max_chars=1 << 20)
    assert doc is not None and doc.truncated
    assert sum(len(text) for _, text in doc.parts) <= 250_000


def test_not_documents():
    assert document_text(b"PK\x03\x04 truncated garbage", **LIMITS) is None
    assert document_text(b"%PDF-1.7", **LIMITS) is None
    assert not is_document(b"hello")


def _ooxml(parts: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def test_zip_bomb_stops_at_the_byte_cap():
    filler = b"<w:r><w:t>" + b"a" * 1000 + b"</w:t></w:r>"
    body = f"<w:document {W}><w:body><w:p>".encode() + filler * 20_000 + b"</w:p></w:body></w:document>"
    data = _ooxml({"word/document.xml": body})
    assert len(data) < len(body) // 50  # highly compressed
    doc = document_text(data, max_bytes=1 << 20, max_chars=1 << 20)
    assert doc is not None and doc.truncated
    assert doc.notes == ["document-part-unreadable:word/document.xml"]  # cut XML is noted, not guessed at


def test_entity_expansion_is_refused_and_noted():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b"<w:document " + W.encode() + b"><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>")
    doc = document_text(_ooxml({"word/document.xml": bomb}), **LIMITS)
    assert doc is not None and doc.parts == [] and doc.notes == ["document-part-unreadable:word/document.xml"]


@pytest.mark.parametrize("limit", [5, 40])
def test_text_is_capped(limit):
    doc = document_text(docx_bytes(), max_bytes=8 << 20, max_chars=limit)
    assert doc is not None and doc.truncated
    assert sum(len(text) for _, text in doc.parts) <= limit


# --- in the request pipeline -------------------------------------------------------------------------


def _extract(body: bytes, content_type: str):
    from addons.extract import extract_segments

    return extract_segments(body, content_type=content_type, content_encoding=None, max_bytes=2 << 20,
                            max_decompressed=16 << 20)  # fmt: skip


def test_a_raw_upload_is_read_as_a_document_whatever_its_content_type():
    for ctype in ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream",
                  None):  # fmt: skip
        ex = _extract(xlsx_bytes(), ctype)
        assert ex.kind == "document" and ex.not_inspected == ()
        assert [s.where for s in ex.segments] == ["document#xl/worksheets/sheet1.xml",
                                                  "document#xl/worksheets/sheet2.xml"]  # fmt: skip


def test_a_multipart_upload_names_the_file_and_the_part():
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nassistants\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"report.docx\"\r\n"
            f"Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n\r\n"
            ).encode() + docx_bytes() + f"\r\n--{boundary}--\r\n".encode()  # fmt: skip
    ex = _extract(body, f"multipart/form-data; boundary={boundary}")
    wheres = [s.where for s in ex.segments]
    assert wheres[0] == "multipart:purpose"
    assert "file:report.docx#word/document.xml" in wheres
    assert not [n for n in ex.not_inspected if n.startswith("binary")]


def test_a_card_number_in_a_spreadsheet_cell_is_found_and_cannot_be_redacted():
    from addons.detectors import build_scanner
    from addons.fingerprint import Fingerprinter
    from addons.redact import redact_body
    from addons.ruleyaml import Problems
    from addons.ruleyaml import read_rule_files
    from tests import uploads
    from tests.integration import fakes

    number = fakes.visa_number()
    data = uploads.xlsx_bytes(["Customer", "Card number"], ["Ada Lovelace", fakes.grouped(number)])
    rules = Path(__file__).resolve().parent.parent / "rules" / "detectors"
    problems = Problems()
    scanner = build_scanner(read_rule_files(rules, "detectors", problems, "rules/detectors"), problems,
                            rules_dir=rules, run_examples=False)  # fmt: skip
    report = scanner.scan(_extract(data, "application/octet-stream").segments,
                          fingerprinter=Fingerprinter(bytes(32)))  # fmt: skip
    cards = [f for f in report.findings if f.detector_id == "fin-card-number"]
    assert [(f.where, f.view) for f in cards] == [("document#xl/worksheets/sheet1.xml", "raw")]
    assert number[-4:] in cards[0].preview and number not in cards[0].preview
    assert redact_body(data, content_type="application/octet-stream", findings=cards) is None


def test_documents_inside_an_archive_draw_on_the_archive_budget():
    filler = b"<w:r><w:t>" + b"a" * 1000 + b"</w:t></w:r>"
    body = f"<w:document {W}><w:body><w:p>".encode() + filler * 300 + b"</w:p></w:body></w:document>"
    inner = _ooxml({"word/document.xml": body})  # ~300 KB of XML each
    data = _zip({f"docs/d{i}.docx": inner for i in range(10)})
    doc = document_text(data, max_bytes=1_000_000, max_chars=10 << 20)
    assert doc is not None and doc.truncated
    assert doc.read <= 1_000_000  # not 10 × the budget
