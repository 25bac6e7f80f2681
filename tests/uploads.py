"""uploads.py: files as employees upload them, built by the real producers (fpdf2, openpyxl, python-docx)."""

from __future__ import annotations

import io

import docx
import fpdf
import openpyxl


def pdf_bytes(*pages: str) -> bytes:
    """A PDF with one page per text."""
    doc = fpdf.FPDF()
    doc.set_font("helvetica", size=12)
    for text in pages:
        doc.add_page()
        doc.multi_cell(w=0, text=text)
    return bytes(doc.output())


def xlsx_bytes(*rows: list) -> bytes:
    """A workbook whose first sheet holds `rows`."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def docx_bytes(*paragraphs: str) -> bytes:
    """A Word document with one paragraph per text."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
