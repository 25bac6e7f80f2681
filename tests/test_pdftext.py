"""PDF text, read in a child process: pages, limits, hostile files, and the extraction hand-off."""

from __future__ import annotations

import asyncio
import weakref

from addons.extract import extract_segments
from addons.pdftext import is_pdf
from addons.pdftext import read_pdf
from addons.pdftext import read_pdfs
from tests.uploads import pdf_bytes


def run(coro):
    return asyncio.run(coro)


def test_pages_come_back_in_order():
    text = run(read_pdf(pdf_bytes("Quarterly report for Ada", "page two: the forecast"), max_chars=1 << 20))
    assert text.error is None and not text.truncated
    assert text.pages == ("Quarterly report for Ada", "page two: the forecast")


def test_text_is_capped():
    text = run(read_pdf(pdf_bytes("a" * 500, "b" * 500, "c" * 500), max_chars=700))
    assert text.truncated and sum(map(len, text.pages)) <= 700 and len(text.pages) == 2


def test_broken_and_hostile_files_are_errors_not_crashes():
    assert run(read_pdf(b"%PDF-1.7\n" + b"\x00garbage" * 100, max_chars=1000)).error.startswith("unreadable:")
    assert run(read_pdf(pdf_bytes("slow"), max_chars=1000, timeout=0.001)).error == "timeout"  # child killed


def test_read_pdfs_labels_pages_and_settles_the_notes_of_what_it_read():
    pages = run(read_pdfs([("file:a.pdf", "binary:a.pdf", pdf_bytes("alpha", "", "gamma")),
                           ("file:b.pdf", "binary:b.pdf", b"%PDF-1.4 broken")], max_chars=1 << 20))  # fmt: skip
    assert [(s.where, s.text) for s in pages.segments] == [("file:a.pdf#page1", "alpha"), ("file:a.pdf#page3", "gamma")]
    assert pages.settled == {"binary:a.pdf"}
    assert [n.split(":")[0] for n in pages.notes] == ["pdf-unreadable"]


def test_extraction_hands_pdfs_over_and_notes_them_until_read():
    data = pdf_bytes("hello")
    assert is_pdf(data) and not is_pdf(b"%PD")
    raw = extract_segments(data, content_type="application/pdf", content_encoding=None, max_bytes=1 << 20,
                           max_decompressed=1 << 20)  # fmt: skip
    assert (raw.kind, raw.segments, raw.not_inspected) == ("pdf", (), ("binary:application/pdf",))
    assert raw.pdfs == (("document", "binary:application/pdf", data),)
    b = "bnd"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nuser_data\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"q3.pdf\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()
    multi = extract_segments(body, content_type=f"multipart/form-data; boundary={b}", content_encoding=None,
                             max_bytes=1 << 20, max_decompressed=1 << 20)  # fmt: skip
    assert [s.where for s in multi.segments] == ["multipart:purpose"]
    assert multi.not_inspected == ("binary:q3.pdf",)
    assert multi.pdfs == (("file:q3.pdf", "binary:q3.pdf", data),)


def test_readers_queue_beyond_the_limit_and_each_loop_has_its_own(monkeypatch):
    import addons.pdftext as pdftext

    monkeypatch.setattr(pdftext, "CHILDREN", 1)
    monkeypatch.setattr(pdftext, "_slots_by_loop", weakref.WeakKeyDictionary())

    async def both():
        return await asyncio.gather(*(read_pdf(pdf_bytes(text), max_chars=100) for text in ("one", "two")))

    for _ in range(2):  # a second event loop gets a fresh limit, not the first loop's semaphore
        first, second = run(both())
        assert (first.pages, second.pages) == (("one",), ("two",))


def test_the_pdfs_of_one_request_share_one_deadline():
    slow = pdf_bytes("page")
    pages = run(read_pdfs([(f"file:{i}.pdf", f"binary:{i}.pdf", slow) for i in range(3)], max_chars=1000,
                          timeout=0.0))  # fmt: skip
    assert pages.segments == () and pages.settled == frozenset()
    assert pages.notes == ("pdf-unreadable:timeout",)
