"""pdftext.py: the text of an uploaded PDF, read in a child process with time and memory limits.

PDF parsing is slow and hostile files exist (bombs, deep nesting, decompression tricks), so it never
runs inside the proxy: `read_pdf` starts `python -m addons.pdftext`, which caps its own memory and CPU
time before it parses anything, feeds it the bytes and kills it at the deadline. The child prints one
JSON object, `{"pages": [...], "truncated": bool}` or `{"error": "..."}`. Needs `pypdf`; without it a
PDF is reported as unreadable (and stays "not inspected").
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from addons.model import Segment

PDF_MAGIC = b"%PDF-"
MAX_PAGES = 1000
TIMEOUT_S = 30.0  # wall clock for one PDF, child start included
CHILD_MEMORY = 1 << 30  # address space of the child
CHILD_CPU_S = 30
REQUEST_TIMEOUTS = 2  # all the PDFs of one request are read within this many TIMEOUT_S
CHILDREN = max(1, (os.cpu_count() or 2))  # PDF readers running at once


@dataclass(frozen=True, slots=True)
class PdfText:
    pages: tuple[str, ...] = ()
    truncated: bool = False
    error: str | None = None  # timeout | encrypted | unreadable:<Exception> | pypdf-missing | child-failed


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip()[:5] == PDF_MAGIC


_slots_by_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _slots() -> asyncio.Semaphore:
    """At most CHILDREN readers at once per event loop (a burst of uploads queues, memory stays bounded)."""
    loop = asyncio.get_running_loop()
    slots = _slots_by_loop.get(loop)
    if slots is None:
        slots = _slots_by_loop[loop] = asyncio.Semaphore(CHILDREN)
    return slots


async def read_pdf(data: bytes, *, max_chars: int, timeout: float = TIMEOUT_S) -> PdfText:
    """The PDF's text, page by page (at most `max_chars` in all), read by a child process; the wait for
    a free reader counts against `timeout` too."""
    try:
        async with asyncio.timeout(timeout):
            async with _slots():
                return await _read(data, max_chars)
    except TimeoutError:
        return PdfText(error="timeout")


async def _read(data: bytes, max_chars: int) -> PdfText:
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "addons.pdftext", str(max_chars),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
    except OSError as e:
        return PdfText(error=f"child-failed:{type(e).__name__}")
    try:
        out, _ = await child.communicate(data)
    except asyncio.CancelledError:  # the deadline: the child must not outlive it
        child.kill()
        await child.wait()
        raise
    try:
        result = json.loads(out)
        pages = tuple(str(p) for p in result.get("pages", ()))
        return PdfText(pages, bool(result.get("truncated")), result.get("error"))
    except (ValueError, AttributeError, TypeError):
        return PdfText(error=f"child-failed:exit-{child.returncode}")


@dataclass(frozen=True, slots=True)
class PdfPages:
    """What reading an extraction's PDFs gave: page segments, the notes they settle, new notes."""

    segments: tuple[Segment, ...] = ()
    settled: frozenset[str] = frozenset()  # `binary:<name>` notes of the PDFs that were read
    notes: tuple[str, ...] = ()  # pdf-unreadable:<reason>, pdf-truncated
    truncated: bool = False


async def read_pdfs(pdfs: Sequence[tuple[str, str, bytes]], *, max_chars: int,
                    timeout: float = TIMEOUT_S) -> PdfPages:  # fmt: skip
    """Read each (label, note, bytes) PDF in turn, all within `timeout` × REQUEST_TIMEOUTS (an upload of
    many slow PDFs waits that long at most); pages become segments `<label>#page<n>`."""
    segments: list[Segment] = []
    settled: set[str] = set()
    notes: list[str] = []
    truncated = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout * REQUEST_TIMEOUTS
    for label, note, data in pdfs:
        left = min(timeout, deadline - loop.time())
        text = await read_pdf(data, max_chars=max(0, max_chars - sum(len(s.text) for s in segments)),
                              timeout=left) if left > 0 else PdfText(error="timeout")  # fmt: skip
        if text.error:
            notes.append(f"pdf-unreadable:{text.error}")
            continue
        settled.add(note)
        segments += [Segment(f"{label}#page{n}", page) for n, page in enumerate(text.pages, 1) if page.strip()]
        if text.truncated:
            notes.append("pdf-truncated")
            truncated = True
    return PdfPages(tuple(segments), frozenset(settled), tuple(dict.fromkeys(notes)), truncated)


def _limit_self() -> None:
    import resource

    for limit, value in ((resource.RLIMIT_AS, CHILD_MEMORY), (resource.RLIMIT_CPU, CHILD_CPU_S)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass


def extract(data: bytes, max_chars: int) -> dict:
    """Text per page (the child's work); never raises."""
    try:
        import pypdf
    except ImportError:
        return {"error": "pypdf-missing"}
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return {"error": "encrypted"}
        pages: list[str] = []
        size, truncated = 0, False
        for n, page in enumerate(reader.pages):
            if n >= MAX_PAGES or size >= max_chars:
                truncated = True
                break
            text = (page.extract_text() or "")[:max_chars - size]
            pages.append(text)
            size += len(text)
        return {"pages": pages, "truncated": truncated}
    except Exception as e:  # a hostile or broken file: whatever pypdf raises, the page text is lost
        return {"error": f"unreadable:{type(e).__name__}"}


def main() -> None:
    _limit_self()
    import logging
    import warnings

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    max_chars = int(sys.argv[1]) if len(sys.argv) > 1 else 2 << 20
    result = extract(sys.stdin.buffer.read(), max_chars)
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
