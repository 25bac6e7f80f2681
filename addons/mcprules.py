"""mcprules.py: `rules/mcp/*.yaml` records -> compiled SignalSpecs, plus the example notation.

Invariant: never raises on bad rules; every problem is recorded as `file:line: message`.
The record format and the example notation are documented at the top of rules/mcp/settings.yaml.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

from addons.ruleyaml import ID_RE
from addons.ruleyaml import Field
from addons.ruleyaml import LineDict
from addons.ruleyaml import LineList
from addons.ruleyaml import Problems
from addons.ruleyaml import RuleFile
from addons.ruleyaml import check_fields
from addons.ruleyaml import check_unique_ids
from addons.ruleyaml import key_line
from addons.ruleyaml import record_label

REVISIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")
MODERN_FROM = "2026-07-28"  # this revision and later are "modern" (stateless, no handshake)
GENERATIONS = ("legacy", "legacy-sse", "legacy-streamable", "modern")
REQUEST_SHAPES = ("jsonrpc-envelope", "initialize-params", "modern-meta", "call-params")
RESPONSE_SHAPES = ("server-info", "result-type", "sse-jsonrpc")
NEGATIVE_SHAPES = (
    "lsp-initialize",
    "lsp-framing",
    "array-params",
    "a2a-message",
    "foreign-method-name",
    "llm-request",
)
POSITIVE_KINDS = (
    "request-header", "response-header", "jsonrpc-method", "jsonrpc-shape", "accept", "path",
    "host-label", "known-server", "sse-endpoint", "oauth-challenge",
)  # fmt: skip
NEGATIVE_KINDS = ("negative-method", "negative-shape", "negative-path", "negative-sse")
KINDS = POSITIVE_KINDS + NEGATIVE_KINDS
DEFAULT_THRESHOLD = 50
HOST_RE = re.compile(r"^(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*]\)(?:[+*]|\{[0-9]*,\})")  # (a+)+ (a*)* (a+){2,

COMMON = {
    "id": Field("str", required=True),
    "name": Field("str", required=True),
    "kind": Field("str", required=True, choices=KINDS),
    "weight": Field("int"),
    "veto": Field("bool"),
    "generation": Field("str", choices=GENERATIONS),
    "http_methods": Field("str_list"),
    "description": Field("str"),
    "examples": Field("map", required=True),
}
_HEADER = {
    "headers": Field("str_list", required=True),
    "value_pattern": Field("str"),
    "show_value": Field("bool"),
}
_SSE = {"events": Field("str_list"), "data_pattern": Field("str"), "first_event_not_mcp": Field("bool")}
KIND_FIELDS: dict[str, dict[str, Field]] = {
    "request-header": _HEADER,
    "response-header": _HEADER,
    "jsonrpc-method": {
        "methods": Field("str_list", required=True),
        "revisions": Field("list", required=True),
    },
    "jsonrpc-shape": {"shape": Field("str", required=True, choices=REQUEST_SHAPES + RESPONSE_SHAPES)},
    "accept": {"accept": Field("str_list", required=True)},
    "path": {"pattern": Field("str", required=True)},
    "host-label": {"pattern": Field("str", required=True)},
    "known-server": {"servers": Field("list", required=True)},
    "sse-endpoint": {"data_pattern": Field("str")},
    "oauth-challenge": {"requires": Field("str_list", required=True), "statuses": Field("list")},
    "negative-method": {"methods": Field("str_list"), "prefixes": Field("str_list")},
    "negative-shape": {"shape": Field("str", required=True, choices=NEGATIVE_SHAPES)},
    "negative-path": {"pattern": Field("str", required=True)},
    "negative-sse": _SSE,
}
_ALL_KIND_FIELDS = {k: Field("any") for fields in KIND_FIELDS.values() for k in fields}
SERVER_FIELDS = {
    "host": Field("str", required=True),
    "path": Field("str"),
    "vendor": Field("str", required=True),
    "name": Field("str", required=True),
    "shared_host": Field("bool"),
    "transport": Field("str", choices=("streamable-http", "sse", "unknown")),
}
TOP_FIELDS = ("schema", "signals", "threshold", "examples")


@dataclass(frozen=True, slots=True)
class KnownServer:
    host: str  # exact, or `*.suffix`
    path: str  # documented endpoint path; a prefix that must match when shared_host
    vendor: str
    name: str
    shared_host: bool = False  # the host also serves non-MCP traffic: only host + path identifies MCP


@dataclass(frozen=True, slots=True)
class SignalSpec:
    """One compiled signal record."""

    id: str
    kind: str
    weight: int
    veto: bool = False
    hint: str | None = None  # generation this signal points to
    http_methods: frozenset[str] = frozenset()
    headers: tuple[str, ...] = ()
    value_re: re.Pattern[str] | None = None
    show_value: bool = False
    accept: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    methods: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    shape: str | None = None
    events: frozenset[str] = frozenset()
    first_event_not_mcp: bool = False
    requires: frozenset[str] = frozenset()
    statuses: frozenset[int] = frozenset({401})
    servers: tuple[KnownServer, ...] = ()


@dataclass(frozen=True, slots=True)
class ExampleCheck:
    """One example to run through the matcher: `signal` must fire (or not); or, with signal None,
    the verdict must be `is_mcp == expect`."""

    path: str
    line: int
    label: str
    signal: str | None
    expect: bool
    text: str


@dataclass
class CompiledRules:
    signals: list[SignalSpec] = field(default_factory=list)
    threshold: int = DEFAULT_THRESHOLD
    examples: list[ExampleCheck] = field(default_factory=list)


def _regex(text: str, problems: Problems, path: str, line: int, label: str) -> re.Pattern[str] | None:
    if _NESTED_QUANTIFIER.search(text):
        problems.add(
            path, line, f"{label}: nested quantifier in {text!r} can take exponential time; rewrite it"
        )
        return None
    try:
        return re.compile(text)
    except re.error as e:
        problems.add(path, line, f"{label}: bad regular expression {text!r}: {e.msg} at position {e.pos}")
        return None


def compile_rules(files: list[RuleFile], problems: Problems) -> CompiledRules:
    out = CompiledRules()
    threshold_at: str | None = None
    ids: list[tuple[str, int, str]] = []
    requires: list[tuple[str, int, str, str]] = []
    for rf in files:
        for key in rf.top:
            if key not in TOP_FIELDS:
                close = difflib.get_close_matches(key, TOP_FIELDS, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(TOP_FIELDS)})"
                problems.add(rf.path, rf.top.key_lines[key], f"unknown top-level key '{key}'{hint}")
        if "threshold" in rf.top:
            line = rf.top.key_lines["threshold"]
            value = rf.top["threshold"]
            if threshold_at:
                problems.add(rf.path, line, f"'threshold' is set twice (first at {threshold_at})")
            elif not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
                problems.add(rf.path, line, f"'threshold' must be an integer from 1 to 1000, got {value!r}")
            else:
                out.threshold, threshold_at = value, f"{rf.path}:{line}"
        if "examples" in rf.top:
            _verdict_examples(rf, out, problems)
        listed = rf.top.get("signals")
        listed = listed if isinstance(listed, list) else []
        for record in rf.records:
            # the index in the file (read_rule_files drops non-mapping items from rf.records)
            index = next((i for i, item in enumerate(listed) if item is record), 0)
            label = record_label("signals", index, record)
            spec = _compile_record(record, rf.path, label, problems)
            if isinstance(record.get("id"), str):
                ids.append((record["id"], record.line, rf.path))
            if spec is None:
                continue
            out.signals.append(spec)
            requires += [(r, key_line(record, "requires"), rf.path, label) for r in sorted(spec.requires)]
            _record_examples(record, spec.id, rf.path, label, out, problems)
    check_unique_ids(ids, problems, "signal")
    known = {rid for rid, _, _ in ids}
    for rid, line, path, label in requires:
        if rid not in known:
            close = difflib.get_close_matches(rid, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.add(path, line, f"{label}: 'requires' names signal '{rid}', which does not exist{hint}")
    return out


def _compile_record(record: LineDict, path: str, label: str, problems: Problems) -> SignalSpec | None:
    kind = record.get("kind")
    # An unknown kind is reported once (with a suggestion); its other fields are not second-guessed.
    fields = COMMON | (
        KIND_FIELDS[kind] if isinstance(kind, str) and kind in KIND_FIELDS else _ALL_KIND_FIELDS
    )
    if not check_fields(record, fields, problems, path, label):
        return None
    rid: str = record["id"]
    if not (rid.startswith("mcp-") and ID_RE.match(rid)):
        problems.add(path, key_line(record, "id"), f"{label}: id must be kebab-case and start with 'mcp-'")
        return None
    negative = kind in NEGATIVE_KINDS
    weight, veto = record.get("weight"), record.get("veto", False)
    line = key_line(record, "weight")
    if negative and ((weight or 0) > 0 or (not veto and (weight is None or weight >= 0))):
        problems.add(path, line, f"{label}: negative evidence needs a negative 'weight' or 'veto: true'")
        return None
    if not negative and (veto or weight is None or weight <= 0):
        problems.add(path, line, f"{label}: kind '{kind}' needs a positive 'weight' (and no 'veto')")
        return None
    spec: dict = {
        "id": rid,
        "kind": kind,
        "weight": weight or 0,
        "veto": veto,
        "hint": record.get("generation"),
        "http_methods": frozenset(m.upper() for m in record.get("http_methods", ())),
    }
    ok = True

    def rx(key: str) -> re.Pattern[str] | None:
        nonlocal ok
        if key not in record:
            return None
        compiled = _regex(record[key], problems, path, key_line(record, key), label)
        ok = ok and compiled is not None
        return compiled

    if kind in ("request-header", "response-header"):
        spec |= {
            "headers": tuple(h.lower() for h in record["headers"]),
            "show_value": record.get("show_value", False),
        }
        spec["value_re"] = rx("value_pattern")
    elif kind == "accept":
        spec["accept"] = tuple(a.lower() for a in record["accept"])
    elif kind in ("path", "host-label", "negative-path"):
        spec["pattern"] = rx("pattern")
    elif kind in ("jsonrpc-method", "negative-method"):
        spec["methods"] = frozenset(record.get("methods", ()))
        spec["prefixes"] = tuple(record.get("prefixes", ()))
        revisions = _revisions(record, path, label, problems)
        ok = revisions is not None
        if kind == "jsonrpc-method" and revisions and not spec["hint"]:
            modern = {r >= MODERN_FROM for r in revisions}
            spec["hint"] = None if len(modern) > 1 else ("modern" if modern == {True} else "legacy")
        if not spec["methods"] and not spec["prefixes"]:
            problems.add(path, record.line, f"{label}: needs 'methods' or 'prefixes'")
            ok = False
    elif kind in ("jsonrpc-shape", "negative-shape"):
        spec["shape"] = record["shape"]
    elif kind in ("sse-endpoint", "negative-sse"):
        spec["pattern"] = rx("data_pattern")
        spec["events"] = frozenset(record.get("events", ()))
        spec["first_event_not_mcp"] = record.get("first_event_not_mcp", False)
        if kind == "negative-sse" and not (spec["events"] or spec["pattern"] or spec["first_event_not_mcp"]):
            problems.add(
                path, record.line, f"{label}: needs 'events', 'data_pattern' or 'first_event_not_mcp'"
            )
            ok = False
    elif kind == "oauth-challenge":
        spec["requires"] = frozenset(record["requires"])
        statuses = record.get("statuses", [401])
        if not all(isinstance(s, int) and 100 <= s <= 599 for s in statuses):
            problems.add(
                path, key_line(record, "statuses"), f"{label}: 'statuses' must list HTTP status codes"
            )
            ok = False
        spec["statuses"] = frozenset(s for s in statuses if isinstance(s, int))
    elif kind == "known-server":
        spec["servers"] = _servers(record, path, label, problems)
        ok = ok and bool(spec["servers"])
    return SignalSpec(**spec) if ok else None


def _revisions(record: LineDict, path: str, label: str, problems: Problems) -> list[str] | None:
    """Spec revisions; unquoted YAML dates (2025-11-25 reads as a date) are accepted as written."""
    out: list[str] = []
    for value in record.get("revisions", ()):
        text = value.isoformat() if isinstance(value, datetime.date) else value
        if text not in REVISIONS:
            close = difflib.get_close_matches(str(text), REVISIONS, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(REVISIONS)})"
            problems.add(
                path, key_line(record, "revisions"), f"{label}: unknown spec revision {text!r}{hint}"
            )
            return None
        out.append(text)
    return out


def _servers(record: LineDict, path: str, label: str, problems: Problems) -> tuple[KnownServer, ...]:
    items = record["servers"]
    lines = items.item_lines if isinstance(items, LineList) else [record.line] * len(items)
    out: list[KnownServer] = []
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(items):
        where = f"{label}: servers[{i}]"
        if not isinstance(item, LineDict):
            problems.add(path, lines[i], f"{where} must be a mapping with host, vendor and name")
            continue
        if not check_fields(item, SERVER_FIELDS, problems, path, where):
            continue
        host, srv_path = item["host"].lower().rstrip("."), item.get("path", "/")
        if not HOST_RE.match(host):
            problems.add(path, key_line(item, "host"), f"{where}: '{host}' is not a host name (or *.suffix)")
            continue
        if not srv_path.startswith("/"):
            problems.add(path, key_line(item, "path"), f"{where}: path must start with '/'")
            continue
        if (host, srv_path) in seen:
            problems.add(
                path,
                lines[i],
                f"{where}: duplicate server {host}{srv_path} (first at line {seen[host, srv_path]})",
            )
            continue
        seen[host, srv_path] = lines[i]
        out.append(KnownServer(host, srv_path, item["vendor"], item["name"], item.get("shared_host", False)))
    return tuple(out)


def _example_lists(holder: LineDict, keys: tuple[str, str], path: str, label: str, problems: Problems):
    examples = holder.get("examples")
    if not isinstance(examples, LineDict):
        problems.add(path, key_line(holder, "examples"), f"{label}: 'examples' must be a mapping")
        return
    for key in examples:
        if key not in keys:
            problems.add(
                path,
                examples.key_lines[key],
                f"{label}: examples: unknown key '{key}' (use {' / '.join(keys)})",
            )
    for key in keys:
        items = examples.get(key)
        if not isinstance(items, LineList) or not items or not all(isinstance(t, str) for t in items):
            problems.add(
                path,
                examples.key_lines.get(key, examples.line),
                f"{label}: examples.{key} must be a non-empty list of strings",
            )
            continue
        for i, text in enumerate(items):
            yield key, i, items.item_lines[i], text


def _record_examples(
    record: LineDict, rid: str, path: str, label: str, out: CompiledRules, problems: Problems
) -> None:
    for key, i, line, text in _example_lists(record, ("match", "no_match"), path, label, problems):
        out.examples.append(
            ExampleCheck(path, line, f"{label}: example {key}[{i}]", rid, key == "match", text)
        )


def _verdict_examples(rf: RuleFile, out: CompiledRules, problems: Problems) -> None:
    for key, i, line, text in _example_lists(rf.top, ("mcp", "not_mcp"), rf.path, "verdict", problems):
        out.examples.append(
            ExampleCheck(rf.path, line, f"verdict example {key}[{i}]", None, key == "mcp", text)
        )


# ---------------------------------------------------------------------------------------------
# Example notation:  "METHOD URL | Header: value | … | body  =>  STATUS | Header: value | … | body"

_HEADER_PART = re.compile(r"([A-Za-z0-9-]+): ?([^\r\n]*)")


@dataclass(frozen=True, slots=True)
class Exchange:
    method: str
    host: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    status: int | None = None  # None: no response part
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes | None = None


def _split(parts: list[str]) -> tuple[dict[str, str], bytes | None]:
    headers: dict[str, str] = {}
    for i, part in enumerate(parts):
        m = _HEADER_PART.fullmatch(part)
        if not m:
            return headers, " | ".join(parts[i:]).encode()
        headers[m.group(1).lower()] = m.group(2)
    return headers, None


def parse_exchange(text: str) -> Exchange:
    """Parse the example notation; raises ValueError with a message naming what is wrong."""
    request, sep, response = text.partition(" => ")
    parts = request.split(" | ")
    method, _, url = parts[0].strip().partition(" ")
    split = urlsplit(url.strip())
    if not method.isalpha() or not split.scheme or not split.hostname:
        raise ValueError(f"expected 'METHOD https://host/path' first, got {parts[0][:60]!r}")
    path = (split.path or "/") + (f"?{split.query}" if split.query else "")
    headers, body = _split(parts[1:])
    if not sep:
        return Exchange(method.upper(), split.hostname, path, headers, body)
    rparts = response.split(" | ")
    if not rparts[0].strip().isdigit():
        raise ValueError(f"expected a status code after ' => ', got {rparts[0][:40]!r}")
    rheaders, rbody = _split(rparts[1:])
    return Exchange(method.upper(), split.hostname, path, headers, body, int(rparts[0]), rheaders, rbody)


def run_examples(signatures: Any, examples: Sequence[ExampleCheck], problems: Problems) -> None:
    """Run every rule example through the real matcher; a failing one is a file:line problem."""
    for ex in examples:
        snippet = repr(ex.text if len(ex.text) <= 90 else ex.text[:90] + "…")
        try:
            x = parse_exchange(ex.text)
        except ValueError as e:
            problems.add(ex.path, ex.line, f"{ex.label}: cannot parse: {e}")
            continue
        m = signatures.match_request(
            method=x.method, host=x.host, path=x.path, headers=x.headers, body=x.body
        )
        if x.status is not None:
            m = signatures.match_response(
                request=m, status=x.status, headers=x.response_headers, first_bytes=x.response_body
            )
        fired = ", ".join(s.id for s in m.signals) or "none"
        if ex.signal is None:
            if m.is_mcp != ex.expect:
                want = "MCP" if ex.expect else "not MCP"
                problems.add(
                    ex.path, ex.line,
                    f"{ex.label}: expected {want}, got score {m.score} (threshold {signatures.threshold}; "
                    f"signals: {fired}): {snippet}",
                )  # fmt: skip
            continue
        hit = next((s for s in m.signals if s.id == ex.signal), None)
        if hit is None and ex.expect:
            problems.add(
                ex.path, ex.line, f"{ex.label}: '{ex.signal}' did not fire (signals: {fired}): {snippet}"
            )
        elif hit is not None and not ex.expect:
            problems.add(
                ex.path, ex.line, f"{ex.label}: '{ex.signal}' fired ({hit.detail}) but must not: {snippet}"
            )
