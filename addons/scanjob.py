"""scanjob.py: one request's text (body, and the URL's query) extracted and scanned, PDFs included.

Pure: touches no flow and no addon state, so the proxy runs it in any thread (or awaits `with_pdfs`),
and `shadowgate scan FILE` runs the same job on a file.
"""

from __future__ import annotations

from dataclasses import dataclass

from addons.extract import Extraction
from addons.extract import extract_segments
from addons.fingerprint import Fingerprinter
from addons.model import ScanReport
from addons.model import Segment
from addons.pdftext import PDF_MAGIC
from addons.pdftext import PdfPages
from addons.pdftext import read_pdfs
from addons.rules import RuleSet

NO_PAGES = PdfPages()
PDF_MAGIC_BASE64 = b"JVBERi0"  # "%PDF-" in base64, where an embedded file's payload starts


@dataclass(frozen=True, slots=True)
class ScanJob:
    """Extract and scan one body (and the query segments given with it)."""

    body: bytes
    content_type: str | None
    content_encoding: str | None
    ruleset: RuleSet
    fingerprinter: Fingerprinter
    max_scan: int
    max_decompressed: int
    reuse: bool = True
    query: tuple[Segment, ...] = ()  # the URL's query parameters (urlquery.query_segments)
    not_inspected: tuple[str, ...] = ()  # already known (a body that is not scanned)

    @property
    def size(self) -> int:
        return len(self.body)

    @property
    def may_hold_pdf(self) -> bool:
        """Whether the body may be or carry a PDF, also as base64 in JSON (then `with_pdfs` reads it; a
        plain call notes it unread)."""
        return PDF_MAGIC in self.body or PDF_MAGIC_BASE64 in self.body

    def extract(self) -> Extraction:
        return extract_segments(
            self.body,
            content_type=self.content_type,
            content_encoding=self.content_encoding,
            max_bytes=self.max_scan,
            max_decompressed=self.max_decompressed,
        )

    def scan(self, extraction: Extraction, pdfs: PdfPages = NO_PAGES) -> ScanReport:
        segments = (*self.query, *extraction.segments, *pdfs.segments)
        report = self.ruleset.scanner.scan(segments, fingerprinter=self.fingerprinter,
                                           max_bytes=self.max_scan, reuse=self.reuse)  # fmt: skip
        unread = (n for n in extraction.not_inspected if n not in pdfs.settled)
        notes = (*self.not_inspected, *unread, *pdfs.notes, *report.not_inspected)
        return ScanReport(
            findings=report.findings,
            scanned_bytes=report.scanned_bytes,
            truncated=report.truncated or extraction.truncated or pdfs.truncated,
            not_inspected=tuple(dict.fromkeys(notes)),
        )

    def __call__(self) -> ScanReport:
        return self.scan(self.extract())

    async def with_pdfs(self) -> ScanReport:
        """Extract, read the PDFs in child processes (pdftext.py; the event loop stays free), then scan."""
        extraction = self.extract()
        pages = await read_pdfs(extraction.pdfs, max_chars=self.max_scan) if extraction.pdfs else NO_PAGES
        return self.scan(extraction, pages)
