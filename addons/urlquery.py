"""urlquery.py: a request URL's query parameters as DLP segments, and their redaction.

Prompts travel in URLs too (`chatgpt.com/?q=…`, search-style AI tools, GET APIs), so each parameter
value is a segment `query:<name>`. A name that could itself carry a value (not label-like, see
`extract.is_label`), or a repeated one, is written by position, `query:[#n]`; names that are not
labels are scanned together in `query:{names}`. Parameters that carry the caller's own credential
for the service (`key`, `access_token`, a signed URL's `sig` / `X-Amz-Signature` …) are not scanned:
Gemini's REST API takes its key as `?key=`, and a policy that blocks secrets would otherwise block
every such call.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl
from urllib.parse import quote
from urllib.parse import urlencode

from addons.extract import is_label
from addons.model import Finding
from addons.model import Segment
from addons.redact import redact_text

NAMES = "query:{names}"
CREDENTIAL_PARAMS = frozenset({
    "key", "api_key", "apikey", "api-key", "access_token", "id_token", "token", "auth", "authorization",
    "sig", "signature", "code", "state", "client_secret", "session", "session_id", "sessionid",
})  # fmt: skip
CREDENTIAL_PREFIXES = ("x-amz-", "x-goog-")  # signed object-store URLs (uploads)


def split_query(path: str) -> str:
    """The query string of a request path (`/a?b=c#d` → `b=c`)."""
    query = path.partition("?")[2]
    return query.partition("#")[0]


def is_credential(name: str) -> bool:
    low = name.lower()
    return low in CREDENTIAL_PARAMS or low.startswith(CREDENTIAL_PREFIXES)


def _pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True, max_num_fields=None)


def _wheres(pairs: list[tuple[str, str]]) -> list[str]:
    """Where each parameter's value is reported: by name when that is unambiguous and loggable."""
    counts: dict[str, int] = {}
    for name, _ in pairs:
        counts[name] = counts.get(name, 0) + 1
    return [f"query:{name}" if counts[name] == 1 and is_label(name) else f"query:[#{n}]"
            for n, (name, _) in enumerate(pairs)]  # fmt: skip


def query_segments(query: str) -> list[Segment]:
    """Segments of a raw query string: values (credentials left out) and the names that are not labels."""
    if not query:
        return []
    pairs = _pairs(query)
    out = [Segment(where, value) for where, (name, value) in zip(_wheres(pairs), pairs, strict=True)
           if value and not is_credential(name)]  # fmt: skip
    odd = list(dict.fromkeys(name for name, _ in pairs if name and not is_label(name)))
    if odd:
        out.append(Segment(NAMES, "\n".join(odd)))
    return out


def is_query_finding(finding: Finding) -> bool:
    return finding.where.startswith("query:")


def redact_query(query: str, findings: Sequence[Finding]) -> str | None:
    """The query with each finding's span replaced by the redaction marker; None when a finding cannot
    be located (a name, or a parameter that is no longer there): the caller then blocks."""
    pairs = _pairs(query)
    index = {where: n for n, where in enumerate(_wheres(pairs))}
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for f in findings:
        n = index.get(f.where)
        if n is None:
            return None
        spans.setdefault(n, []).append((f.start, f.end, f.detector_id))
    out = []
    for n, (name, value) in enumerate(pairs):
        if n in spans:
            new = redact_text(value, spans[n])
            if new is None:
                return None
            value = new
        out.append((name, value))
    return urlencode(out, quote_via=quote)
