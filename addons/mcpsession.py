"""mcpsession.py: McpSessions addon: MCP beyond one request: SSE taps, tool inventories, legacy HTTP+SSE.

Streams are never buffered: a tap forwards every SSE event as soon as it is complete (only the
unfinished tail of a legacy HTTP+SSE stream waits, bounded, so a blocked call's result can be
replaced). A blocked legacy `tools/call` goes upstream as a `ping` with the same id and its
`{"result":{}}` event becomes the JSON-RPC error (mcp-wire.md §4). Thin over addons.mcp/jsonrpc.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import replace

from mitmproxy import http

from addons.auditlog import AuditLog
from addons.classify import lower_headers
from addons.enforce import Enforcer
from addons.events import FlowRecord
from addons.events import api_activity
from addons.flowstate import FlowState
from addons.flowstate import get_state
from addons.jsonrpc import MAX_BODY
from addons.jsonrpc import JsonRpcInfo
from addons.jsonrpc import parse_sse_events
from addons.mcp import LegacySessions
from addons.model import Decision
from addons.model import McpMatch
from addons.respond import jsonrpc_error_event
from addons.rulestore import RuleStore

log = logging.getLogger(__name__)

MAX_TOOLS = 128  # tool names kept per tools/list result
MAX_PENDING_CALLS = 16384  # legacy calls waiting for their result, over all sessions
RESULT_METHODS = frozenset({"tools/list", "tools/call"})  # legacy results that get their own 6003 line
_EOL = re.compile(rb"\r\n|\r|\n")


def split_events(data: bytes, final: bool = False) -> tuple[list[bytes], bytes]:
    """(complete raw SSE event blocks, each ending in its blank line; the unfinished rest). A CR at the
    very end may be half of a CRLF, so it stays in the rest unless `final`. Linear in len(data)."""
    end = len(data) if final or not data.endswith(b"\r") else len(data) - 1
    blocks: list[bytes] = []
    start = line = 0
    for m in _EOL.finditer(data, 0, end):
        if m.start() == line:  # an empty line ends the event
            blocks.append(data[start : m.end()])
            start = m.end()
        line = m.end()
    return blocks, data[start:]


def tool_names(data: bytes | str) -> tuple[str, ...]:
    """The tool names of a `tools/list` result (JSON-RPC response body or SSE data), bounded."""
    if len(data) > MAX_BODY:
        return ()
    try:
        msg = json.loads(data)
    except ValueError:
        return ()
    result = msg.get("result") if isinstance(msg, dict) else None
    tools = result.get("tools") if isinstance(result, dict) else None
    if not isinstance(tools, list):
        return ()
    names = (t.get("name") for t in tools[:MAX_TOOLS] if isinstance(t, dict))
    return tuple(dict.fromkeys(n[:128] for n in names if isinstance(n, str) and n))


def _wants_tools(m: McpMatch | None) -> bool:
    return m is not None and "tools/list" in (m.methods or (m.method,))


@dataclass(frozen=True, slots=True)
class PendingCall:
    """A legacy HTTP+SSE call whose result will arrive on the session's GET stream."""

    record: FlowRecord  # of the POST, as decided
    blocked: Decision | None  # set when the POST was rewritten to a ping


class SseTap:
    """`response.stream` callable for one SSE response. legacy=True (an HTTP+SSE GET stream candidate):
    complete events are forwarded one by one and may be rewritten; else chunks pass untouched and the
    events are read on the side."""

    def __init__(self, owner: McpSessions, flow: http.HTTPFlow, state: FlowState, legacy: bool) -> None:
        self.owner, self.flow, self.state = owner, flow, state
        self.hold = legacy and "content-length" not in flow.response.headers  # type: ignore[union-attr]
        self.legacy = legacy
        self.rest = b""  # unfinished event: not yet forwarded when self.hold, else only not yet parsed
        self.first = True
        self.parse = True
        self.session: str | None = None
        self.closed = False

    def __call__(self, chunk: bytes) -> list[bytes]:
        unsent = self.rest + chunk if self.hold else chunk
        try:
            return self._feed(chunk)
        except Exception:  # a tap must never break the stream: forward the original bytes, stop looking
            log.exception("shadowgate: MCP stream tap failed for flow %s", self.flow.id)
            self._stop()
            return [unsent] if unsent else []

    def _stop(self) -> None:
        """Stop looking at this stream; blocked calls of its session are then answered in their POST."""
        self.parse, self.hold, self.rest = False, False, b""
        self.close()

    def _feed(self, chunk: bytes) -> list[bytes]:
        final = chunk == b""
        out = [chunk]
        if self.parse and not final and b"\n" not in chunk and b"\r" not in chunk:
            self.rest += chunk  # no line end: no event can complete (keeps long lines linear)
            if len(self.rest) <= MAX_BODY:
                return [] if self.hold else [chunk]
            out = [self.rest] if self.hold else [chunk]
            self._stop()  # an event too large to look at
            return out
        if self.parse:
            held = self.hold
            blocks, self.rest = split_events(self.rest + chunk, final)
            events = [self._event(block) for block in blocks]  # may end holding (first event) or parsing
            too_big = len(self.rest) > MAX_BODY  # an event too large to look at: stop parsing this stream
            if held:
                out = events + ([self.rest] if final or too_big or not self.hold else [])
            if too_big or not self.parse:
                self._stop()
        if final:
            self.close()
        return [c for c in out if c]

    def _event(self, block: bytes) -> bytes:
        events = parse_sse_events(block)
        if not events:
            return block
        name, data = events[0]
        if self.first:
            self.first = False
            self._first_event(block, name)
        if not self.parse or name != "message":
            return block
        if self.session is not None:
            return self.owner.legacy_result(self.session, data, block)
        if _wants_tools(self.state.facts.mcp) and (names := tool_names(data)):
            self.state.mcp_tools = names
        return block

    def _first_event(self, block: bytes, name: str) -> None:
        state, response = self.state, self.flow.response
        ruleset = self.owner.store.ruleset
        if ruleset is None or state.facts.mcp is None or response is None:
            return
        refined = ruleset.mcp.match_response(
            request=state.facts.mcp, status=response.status_code, headers=lower_headers(response.headers),
            first_bytes=block,
        )
        was_mcp = state.facts.mcp.is_mcp
        state.update(mcp=refined)
        if refined.is_mcp and not was_mcp:
            self.owner.enforcer.redecide(self.flow, state)
        if self.legacy and name == "endpoint" and refined.is_mcp and refined.session_id:
            self.session = refined.session_id
            self.owner.open_stream(self.session, self)
        elif self.hold:  # not an HTTP+SSE stream: stop holding anything back
            self.hold = False
            self.parse = refined.is_mcp

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.session is not None:
                self.owner.close_stream(self.session, self)


class McpSessions:
    def __init__(self, store: RuleStore, enforcer: Enforcer, audit: AuditLog) -> None:
        self.store, self.audit, self.enforcer = store, audit, enforcer
        self.sessions = LegacySessions()
        self.streams: dict[str, SseTap] = {}  # legacy session id -> its live GET stream tap
        self.calls: OrderedDict[tuple[str, str | int], PendingCall] = OrderedDict()
        self.rewritten: dict[str, Decision] = {}  # flow id -> decision, between block_legacy and request
        self.taps: dict[str, SseTap] = {}  # flow id -> tap, until the flow ends
        enforcer.mcp_blocker = self.block_legacy

    # --- hooks -----------------------------------------------------------------------------------

    def request(self, flow: http.HTTPFlow) -> None:
        blocked = self.rewritten.pop(flow.id, None)
        state = get_state(flow)
        m = state.facts.mcp if state else None
        if (state is None or state.decision is None or flow.response is not None or m is None or not m.is_mcp
                or m.generation != "legacy-sse" or m.request_id is None or m.session_id not in self.streams):
            return
        assert m.session_id is not None
        self.sessions.note_call(m)
        self.calls[(m.session_id, m.request_id)] = PendingCall(self.audit.flow_record(flow, state), blocked)
        while len(self.calls) > MAX_PENDING_CALLS:
            self.calls.popitem(last=False)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response, state = flow.response, get_state(flow)
        if response is None or state is None or response.stream is not True:
            return
        m = state.facts.mcp
        if m is None or not (m.is_mcp or m.score > 0):
            return
        if not response.headers.get("content-type", "").lower().startswith("text/event-stream"):
            return
        legacy = flow.request.method == "GET" and m.generation in (None, "legacy-sse")
        tap = SseTap(self, flow, state, legacy)
        self.taps[flow.id] = tap
        response.stream = tap

    def response(self, flow: http.HTTPFlow) -> None:
        tap = self.taps.pop(flow.id, None)
        state, response, ruleset = get_state(flow), flow.response, self.store.ruleset
        if tap is not None or response is None or response.stream or state is None or ruleset is None:
            return
        m = state.facts.mcp
        if m is None or not (m.is_mcp or m.score > 0) or "x-shadowgate-event-id" in response.headers:
            return
        body = response.raw_content
        if not body or len(body) > MAX_BODY or "json" not in response.headers.get("content-type", "").lower():
            return
        body = response.get_content(strict=False) or b""
        refined = ruleset.mcp.match_response(
            request=m, status=response.status_code, headers=lower_headers(response.headers), first_bytes=body
        )
        was_mcp = m.is_mcp
        state.update(mcp=refined)
        if refined.is_mcp and not was_mcp:
            self.enforcer.redecide(flow, state)
        if _wants_tools(refined):
            state.mcp_tools = tool_names(body)

    def error(self, flow: http.HTTPFlow) -> None:
        self.rewritten.pop(flow.id, None)
        if tap := self.taps.pop(flow.id, None):
            tap.close()

    # --- legacy HTTP+SSE -------------------------------------------------------------------------

    def block_legacy(self, flow: http.HTTPFlow, state: FlowState, decision: Decision) -> bool:
        """Enforcer.mcp_blocker: rewrite a blocked HTTP+SSE call to a `ping` with the same id; the
        GET stream's answer to it becomes the error. False (answer in the POST) when that cannot work."""
        m = state.facts.mcp
        tap = self.streams.get(m.session_id or "") if m else None
        if (m is None or tap is None or not tap.hold or m.request_id is None or len(m.methods) > 1
                or m.method in (None, "ping") or flow.request.method != "POST"):
            return False
        flow.request.content = json.dumps({"jsonrpc": "2.0", "id": m.request_id, "method": "ping"}).encode()
        self.rewritten[flow.id] = decision
        return True

    def open_stream(self, session: str, tap: SseTap) -> None:
        self.streams[session] = tap

    def close_stream(self, session: str, tap: SseTap) -> None:
        if self.streams.get(session) is tap:
            del self.streams[session]
            self.sessions.end(session)
            for key in [k for k in self.calls if k[0] == session]:
                del self.calls[key]

    def legacy_result(self, session: str, data: str, block: bytes) -> bytes:
        """One `message` event on a legacy GET stream: the bytes to forward for it."""
        hit = self.sessions.attribute(session, data)
        if hit is None:
            return block
        call, info = hit
        pending = self.calls.pop((session, call.request_id), None)  # type: ignore[arg-type]
        if pending is None:
            return block
        rec = pending.record
        if pending.blocked is not None:
            ruleset = self.store.ruleset
            portals = ruleset.policies.settings.approved_mcp_portals if ruleset else ()
            return jsonrpc_error_event(pending.blocked, event_id=rec.event_id, host=rec.facts.host,
                                       jsonrpc_id=call.request_id, mcp_portal=portals[0] if portals else None)
        if call.method in RESULT_METHODS:
            tools = tool_names(data) if call.method == "tools/list" else ()
            self._write_result(replace(rec, time_ms=time.time_ns() // 1_000_000, mcp_tools=tools), info)
        return block

    def _write_result(self, rec: FlowRecord, info: JsonRpcInfo) -> None:
        try:
            ev = api_activity(rec, hostname=self.audit.hostname)
            mcp = ev["unmapped"]["shadowgate"]["mcp"]
            failed = info.tool_error or info.error_code is not None
            mcp["result"] = {"is_error": failed, **({"error_code": info.error_code} if info.error_code else {})}
            what = f"{len(rec.mcp_tools)} tool(s)" if rec.facts.mcp and rec.facts.mcp.method == "tools/list" else (
                "error" if failed else "ok")
            ev["message"] = f"{ev['message']}; result on the SSE stream: {what}"[:256]
            self.audit.write_event(ev)
        except Exception:
            log.exception("shadowgate: could not log the MCP result for flow %s", rec.flow_id)


__all__ = ["McpSessions", "PendingCall", "SseTap", "split_events", "tool_names"]
