"""urlquery.py: a request URL's query parameters as DLP segments, and their redaction.

Prompts travel in URLs too (`chatgpt.com/?q=…`, search-style AI tools, GET APIs), so each parameter
value is a segment `query:<name>`. A name that could itself carry a value (not label-like, see
`params.is_label`), or a repeated one, is written by position, `query:[#n]`; names that are not
labels are scanned together in `query:{names}`. Parameters that carry the caller's own credential
for the service (`key`, `access_token`, a signed URL's `sig` / `X-Amz-Signature` …) are not scanned:
Gemini's REST API takes its key as `?key=`, and a policy that blocks secrets would otherwise block
every such call.
"""

from __future__ import annotations

from collections.abc import Sequence

from addons.model import Finding
from addons.model import Segment
from addons.params import param_segments
from addons.params import parse_params
from addons.redact import redact_params

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


def query_segments(query: str) -> list[Segment]:
    """Segments of a raw query string: values (credentials left out) and the names that are not labels."""
    return param_segments(parse_params(query), "query", skip=is_credential) if query else []


def is_query_finding(finding: Finding) -> bool:
    return finding.where.startswith("query:")


def redact_query(query: str, findings: Sequence[Finding]) -> str | None:
    """The query with each finding's span redacted; None when one cannot be located (the caller blocks)."""
    return redact_params(query, findings, "query")
