"""urlsafe.py: make a URL path safe to log: secrets some services carry in paths are masked.

Telegram bot tokens, per-user MCP URLs (Firecrawl keys, Supermemory ids) and webhook secrets live
in the path, and query values are never logged at all. Two layers: spans the DLP engine found in
the path, and any long random-looking segment (a heuristic that needs no rule).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from addons import entropy
from addons.model import Finding

TOKENISH = re.compile(r"[A-Za-z0-9_\-]{24,}")
MIN_ENTROPY = 3.5  # bits per character; dictionary words and UUID-free slugs stay below


def _random_looking(segment: str) -> bool:
    has_digit = any(c.isdigit() for c in segment)
    has_alpha = any(c.isalpha() for c in segment)
    floor = MIN_ENTROPY if len(segment) < 32 else MIN_ENTROPY - 0.5  # long hex keys top out near 4 bits
    return has_digit and has_alpha and entropy.at_least(segment, floor)


def safe_path(path: str, findings: Iterable[Finding] = ()) -> str:
    """The path with DLP finding spans and random-looking tokens replaced by `<redacted>`."""
    spans = sorted((f.start, f.end) for f in findings if 0 <= f.start < f.end <= len(path))
    out: list[str] = []
    cursor = 0
    for start, end in spans:
        if start < cursor:
            start = cursor
        if start >= end:
            continue
        out.append(path[cursor:start])
        out.append("<redacted>")
        cursor = end
    out.append(path[cursor:])
    masked = "".join(out)
    return TOKENISH.sub(lambda m: "<redacted>" if _random_looking(m.group()) else m.group(), masked)
