"""mcp.py: shadow-MCP detection: weighted signals over request and response facts -> McpMatch.

Pure (no mitmproxy), compiled once by `build_mcp`, bounded (body 1 MiB, path 2 KiB, header values
256 chars, 16 SSE events), never raises on input. Details never hold header values other than a
protocol version or method name, and never tokens.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import OrderedDict
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import replace

from addons.jsonrpc import MAX_BODY
from addons.jsonrpc import JsonRpcInfo
from addons.jsonrpc import analyze_body
from addons.jsonrpc import parse_jsonrpc
from addons.jsonrpc import parse_sse_events
from addons.mcprules import DEFAULT_THRESHOLD
from addons.mcprules import MODERN_FROM
from addons.mcprules import REQUEST_SHAPES
from addons.mcprules import KnownServer
from addons.mcprules import SignalSpec
from addons.mcprules import compile_rules
from addons.mcprules import run_examples
from addons.model import McpMatch
from addons.model import McpSignal
from addons.ruleyaml import Problems
from addons.ruleyaml import RuleFile

__all__ = [
    "JsonRpcInfo",
    "LegacySessions",
    "McpSignatures",
    "build_mcp",
    "describe",
    "parse_jsonrpc",
    "parse_sse_events",
]

MAX_PATH = 2048
MAX_VALUE = 256
MAX_ID = 128
MAX_SSE_EVENTS = 16
_REVISION = re.compile(r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}$")
_SAFE = re.compile(r"^[A-Za-z0-9_./:$-]{1,128}$")  # method / tool names we may echo in details
_SESSION_QUERY = re.compile(r"[?&](?:session_id|sessionId)=([^&#\s]{1,128})")
_BASE64_WORD = re.compile(r"^=\?base64\?([A-Za-z0-9+/=]{1,512})\?=$")
_REQUEST_KINDS = {"request-header", "accept", "path", "host-label", "known-server", "jsonrpc-method",
                  "negative-method", "negative-path", "negative-shape"}  # fmt: skip
_RESPONSE_KINDS = {"response-header", "sse-endpoint", "oauth-challenge", "negative-sse", "jsonrpc-method"}


def _side_request(s: SignalSpec) -> bool:
    return s.kind in _REQUEST_KINDS or (s.kind == "jsonrpc-shape" and s.shape in REQUEST_SHAPES)


def _side_response(s: SignalSpec) -> bool:
    return s.kind in _RESPONSE_KINDS or (s.kind == "jsonrpc-shape" and s.shape not in REQUEST_SHAPES)


def _cap(value: str | None) -> str | None:
    return value[:MAX_ID] if value else None


def _decode_name(value: str | None) -> str | None:
    """An `Mcp-Name` header, with the `=?base64?…?=` form for non-ASCII names decoded."""
    if not value:
        return None
    m = _BASE64_WORD.match(value)
    if m:
        try:
            value = base64.b64decode(m.group(1), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    return value[:MAX_ID]


def _under(path: str, prefix: str) -> bool:
    base = prefix.rstrip("/")
    return not base or path == base or path.startswith(base + "/")


class McpSignatures:
    """The compiled MCP signal set; `threshold` is the score at which traffic counts as MCP."""

    def __init__(self, signals: Sequence[SignalSpec] = (), threshold: int = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        self.signals = tuple(signals)
        self._veto = {s.id for s in signals if s.veto}
        self._hint = {s.id: s.hint for s in signals if s.hint}
        self._request = [s for s in signals if _side_request(s)]
        self._response = [s for s in signals if _side_response(s)]
        self._exact: dict[str, dict[str, list[KnownServer]]] = {}
        self._suffix: dict[str, list[KnownServer]] = {}
        for s in signals:
            for srv in s.servers:
                if srv.host.startswith("*."):
                    self._suffix.setdefault(s.id, []).append(srv)
                else:
                    self._exact.setdefault(s.id, {}).setdefault(srv.host, []).append(srv)

    # --- known servers ------------------------------------------------------------------------

    def _lookup(self, sid: str, host: str, path: str) -> KnownServer | None:
        candidates = self._exact.get(sid, {}).get(host, []) + [
            srv for srv in self._suffix.get(sid, ()) if host.endswith(srv.host[1:])
        ]
        path = path.split("?", 1)[0]
        return next((srv for srv in candidates if not srv.shared_host or _under(path, srv.path)), None)

    def known_server(self, host: str, path: str = "/") -> KnownServer | None:
        """The listed public MCP server at host (+ path, for shared API hosts), if any."""
        host = host.lower().rstrip(".")
        return next(filter(None, (self._lookup(s.id, host, path) for s in self.signals if s.servers)), None)

    def is_known_server(self, host: str) -> bool:
        """True when the host itself is a listed MCP server (shared API hosts need a path: not here)."""
        srv = self.known_server(host)
        return srv is not None and not srv.shared_host

    # --- matching -----------------------------------------------------------------------------

    def match_request(
        self, *, method: str, host: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> McpMatch:
        """Classify one request; `body` None (header time) or b"" (GET/DELETE) uses headers, path and
        host only. `path` should include the query: legacy HTTP+SSE carries `?session_id=` there."""
        host, method, path = host.lower().rstrip("."), method.upper(), (path or "/")[:MAX_PATH]
        info, other = analyze_body(body[:MAX_BODY] if body else None)
        shapes = (info.shapes if info else frozenset()) | other
        methods = info.methods if info else ()
        fired = [
            McpSignal(s.id, s.weight, detail)
            for s in self._request
            if not (s.http_methods and method not in s.http_methods)
            and (detail := self._test_request(s, host, path, headers, methods, shapes)) is not None
        ]
        header_method = headers.get("mcp-method", "")
        if not methods and _SAFE.match(header_method):
            methods = (header_method,)
        tool = info.tool if info and info.tool else None
        if tool is None and methods[:1] == ("tools/call",):
            tool = _decode_name(headers.get("mcp-name"))
        version = headers.get("mcp-protocol-version", "")
        session = _cap(headers.get("mcp-session-id")) or _session_from(path)
        return self._verdict(
            fired,
            version if _REVISION.match(version) else (info.protocol_version if info else None),
            legacy_body=bool(info and info.requests and not info.truncated and "modern-meta" not in shapes),
            method=methods[0] if methods else None,
            methods=methods,
            tool=tool,
            request_id=info.ids[0] if info and info.ids else None,
            session_id=session,
            client_name=info.client_name if info else None,
            client_version=info.client_version if info else None,
            server=host or None,
        )

    def match_response(
        self, *, request: McpMatch, status: int, headers: Mapping[str, str], first_bytes: bytes | None
    ) -> McpMatch:
        """Refine a request's verdict with its response: headers at `responseheaders` (first_bytes
        None), the body or the first SSE chunk when available."""
        content_type = headers.get("content-type", "").lower()
        events: list[tuple[str, str]] = []
        infos: list[JsonRpcInfo] = []
        if first_bytes:
            if "text/event-stream" in content_type:
                events = parse_sse_events(first_bytes[:MAX_BODY])[:MAX_SSE_EVENTS]
                infos = [i for _, data in events if (i := parse_jsonrpc(data.encode()))]
            elif "json" in content_type or first_bytes.lstrip()[:1] in (b"{", b"["):
                infos = [i for i in (parse_jsonrpc(first_bytes[:MAX_BODY]),) if i]
        shapes = {shape for i in infos for shape in i.shapes} | (
            {"sse-jsonrpc"} if events and infos else set()
        )
        methods = tuple(m for i in infos for m in i.methods)
        have = {s.id for s in request.signals}
        fired = list(request.signals) + [
            McpSignal(s.id, s.weight, detail)
            for s in self._response
            if s.id not in have
            and (
                detail := self._test_response(s, status, headers, events, bool(infos), shapes, methods, have)
            )
            is not None
        ]
        version = next((i.protocol_version for i in infos if i.version_source == "initialize-result"), None)
        endpoint = _session_from(events[0][1]) if events and events[0][0] == "endpoint" else None
        server = next((i for i in infos if i.server_name), None)
        session = request.session_id or _cap(headers.get("mcp-session-id")) or endpoint
        m = self._verdict(fired, version or request.protocol_version, False, base=request, session_id=session)
        if server is not None:
            m = replace(m, server_name=server.server_name, server_version=server.server_version)
        return replace(m, generation=request.generation) if m.is_mcp and not m.generation else m

    def _verdict(
        self,
        fired: list[McpSignal],
        version: str | None,
        legacy_body: bool,
        base: McpMatch | None = None,
        **fields,
    ) -> McpMatch:
        score = sum(s.weight for s in fired)
        is_mcp = score >= self.threshold and not any(s.id in self._veto for s in fired)
        hints = {self._hint.get(s.id) for s in fired}
        generation = _generation(hints, version, legacy_body) if is_mcp else None
        verdict = dict(
            is_mcp=is_mcp, score=score, signals=tuple(fired), generation=generation, protocol_version=version
        )
        return replace(base, **verdict, **fields) if base else McpMatch(**verdict, **fields)

    def _test_request(
        self,
        s: SignalSpec,
        host: str,
        path: str,
        headers: Mapping[str, str],
        methods: tuple[str, ...],
        shapes: frozenset[str],
    ) -> str | None:
        kind = s.kind
        if kind == "request-header":
            return _header(s, headers)
        if kind == "accept":
            accepted = {
                part.split(";", 1)[0].strip().lower()
                for part in headers.get("accept", "")[:MAX_VALUE].split(",")
            }
            return f"accept has {' and '.join(s.accept)}" if all(a in accepted for a in s.accept) else None
        if kind in ("path", "negative-path"):
            m = s.pattern.search(path) if s.pattern else None
            return f"path {m.group(0)[:64]}" if m else None
        if kind == "host-label":
            if not s.pattern or not host or host.replace(".", "").isdigit() or ":" in host:
                return None
            label = next((lb for lb in host.split(".") if s.pattern.fullmatch(lb)), None)
            return f"host label '{label}'" if label else None
        if kind == "known-server":
            srv = self._lookup(s.id, host, path)
            return f"known server {srv.vendor} / {srv.name} ({srv.host}{srv.path})" if srv else None
        if kind in ("jsonrpc-method", "negative-method"):
            return _method(s, methods)
        return f"body shape {s.shape}" if s.shape in shapes else None  # jsonrpc-shape, negative-shape

    def _test_response(
        self, s: SignalSpec, status: int, headers: Mapping[str, str], events: list[tuple[str, str]],
        rpc: bool, shapes: set[str], methods: tuple[str, ...], have: set[str],
    ) -> str | None:  # fmt: skip
        kind = s.kind
        first = events[0] if events else None
        if kind == "response-header":
            return _header(s, headers)
        if kind == "sse-endpoint":
            ok = first and first[0] == "endpoint" and (not s.pattern or s.pattern.search(first[1][:MAX_PATH]))
            return "first SSE event is 'endpoint'" if ok else None
        if kind == "oauth-challenge":
            challenge = headers.get("www-authenticate", "")[:1024].lower()
            ok = status in s.statuses and challenge.startswith("bearer") and "resource_metadata=" in challenge
            return f"{status} Bearer challenge with resource_metadata" if ok and s.requires & have else None
        if kind == "jsonrpc-method":
            return _method(s, methods)
        if kind == "jsonrpc-shape":
            return f"response shape {s.shape}" if s.shape in shapes else None
        if first is None:  # negative-sse
            return None
        name = first[0][:32] if _SAFE.match(first[0][:32]) else "?"
        if first[0] in s.events:
            return f"first SSE event '{name}'"
        if s.pattern and any(s.pattern.search(data[:MAX_PATH]) for _, data in events[:4]):
            return "SSE data matches a non-MCP stream"
        if s.first_event_not_mcp and first[0] != "endpoint" and not rpc:
            return f"SSE stream without MCP events (first event '{name}')"
        return None


def _generation(hints: set[str | None], version: str | None, legacy_body: bool) -> str | None:
    """A version decides the era (its transport from the hints); without one, the hints do."""
    if version and version >= MODERN_FROM:
        return "modern"
    if "legacy-sse" in hints:
        return "legacy-sse"
    if not version and "modern" in hints:
        return "modern"
    return "legacy-streamable" if version or legacy_body or hints & {"legacy", "legacy-streamable"} else None


def _header(s: SignalSpec, headers: Mapping[str, str]) -> str | None:
    for name in s.headers:
        value = headers.get(name)
        if value is None:
            continue
        value = value[:MAX_VALUE]
        if s.value_re and not s.value_re.search(value):
            continue
        return f"{name}: {value}" if s.show_value and _SAFE.match(value) else f"header {name}"
    return None


def _method(s: SignalSpec, methods: tuple[str, ...]) -> str | None:
    hit = next((m for m in methods if m in s.methods or m.startswith(s.prefixes or ("\0",))), None)
    if hit is None:
        return None
    return f"method {hit}" if _SAFE.match(hit) else "method (unprintable)"


def _session_from(url: str) -> str | None:
    m = _SESSION_QUERY.search(url[:MAX_PATH])
    return m.group(1) if m else None


def describe(m: McpMatch) -> dict:
    """JSON primitives for logs, flow metadata and `shadowgate classify`."""
    return {
        "is_mcp": m.is_mcp,
        "score": m.score,
        "generation": m.generation,
        "protocol_version": m.protocol_version,
        "method": m.method,
        "methods": list(m.methods),
        "tool": m.tool,
        "request_id": m.request_id,
        "session_id": m.session_id,
        "client": {"name": m.client_name, "version": m.client_version},
        "server": {"host": m.server, "name": m.server_name, "version": m.server_version},
        "signals": [{"id": s.id, "weight": s.weight, "detail": s.detail} for s in m.signals],
    }


class LegacySessions:
    """HTTP+SSE attribution: a call POSTed to `…/messages/?session_id=X` is answered on the GET
    stream whose `endpoint` event named X. Per-process and bounded (oldest forgotten first)."""

    def __init__(self, max_sessions: int = 4096, max_pending: int = 256) -> None:
        self._calls: OrderedDict[str, OrderedDict[str | int, McpMatch]] = OrderedDict()
        self.max_sessions, self.max_pending = max_sessions, max_pending

    def note_call(self, call: McpMatch) -> None:
        """Remember a legacy-SSE request (after match_request with its body) until its result."""
        if call.generation != "legacy-sse" or not call.session_id or call.request_id is None:
            return
        calls = self._calls.setdefault(call.session_id, OrderedDict())
        self._calls.move_to_end(call.session_id)
        calls[call.request_id] = call
        while len(calls) > self.max_pending:
            calls.popitem(last=False)
        while len(self._calls) > self.max_sessions:
            self._calls.popitem(last=False)

    def attribute(self, session_id: str | None, data: str) -> tuple[McpMatch, JsonRpcInfo] | None:
        """For one `message` event's data on the GET stream: the call it answers and the result."""
        info = parse_jsonrpc(data.encode())
        calls = self._calls.get(session_id or "")
        if info is None or not info.responses or not info.ids or calls is None:
            return None
        call = calls.pop(info.ids[0], None)
        return (call, info) if call is not None else None

    def end(self, session_id: str | None) -> None:
        self._calls.pop(session_id or "", None)


def build_mcp(files: list[RuleFile], problems: Problems) -> McpSignatures:
    """Compile `rules/mcp` files and run every example; never raises, records file:line problems."""
    compiled = compile_rules(files, problems)
    signatures = McpSignatures(compiled.signals, compiled.threshold)
    run_examples(signatures, compiled.examples, problems)
    return signatures
