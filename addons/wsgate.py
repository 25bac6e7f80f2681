"""wsgate.py: WsGate addon: DLP for the WebSocket messages a client sends to an AI app or MCP server.

Chat apps that talk over a WebSocket send their prompts as client→server text messages, which the
HTTP hooks never see. Each such message is extracted (JSON; records separated by 0x1E as SignalR
sends them; plain text), scanned, and decided by the same policies with the message's findings. A
message the policies block (or would redact: a frame is not rewritten) is dropped and
answered with an `error` message (the shape realtime chat APIs use: a page cannot be shown inside a
socket, and mitmproxy cannot close a socket in transit). A message with findings, or not wholly
inspected (over sg_max_scan, undecodable), gets its own HTTP Activity line (the upgrade request's
fields, flow id `<upgrade flow>:ws<n>`) and finding lines, and its decision.
Binary messages are not inspected; the first one of a connection is noted in its next line.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import replace

from mitmproxy import ctx
from mitmproxy import http

from addons.auditlog import AuditLog
from addons.enforce import Enforcer
from addons.events import error_event
from addons.events import new_event_id
from addons.extract import extract_segments
from addons.flowstate import FlowState
from addons.flowstate import get_state
from addons.model import Action
from addons.model import Mode
from addons.model import Segment
from addons.respond import websocket_error
from addons.rulestore import RuleStore

log = logging.getLogger(__name__)

RECORD_SEPARATOR = "\x1e"


def message_segments(text: str, max_bytes: int) -> tuple[list[Segment], tuple[str, ...], bool]:
    """Segments of one text message (JSON records and text), what could not be inspected, and whether
    the message was cut at `max_bytes`."""
    segments: list[Segment] = []
    notes: list[str] = []
    truncated = False
    for record in filter(None, (r.strip() for r in text.split(RECORD_SEPARATOR))):
        ctype = "application/json" if record[:1] in "{[" else "text/plain; charset=utf-8"
        data = record.encode("utf-8", "surrogatepass")
        extraction = extract_segments(data, content_type=ctype, content_encoding=None, max_bytes=max_bytes,
                                      max_decompressed=max_bytes)  # fmt: skip
        segments += extraction.segments
        notes += extraction.not_inspected
        truncated |= extraction.truncated
    return segments, tuple(dict.fromkeys(notes)), truncated


class WsGate:
    def __init__(self, store: RuleStore, enforcer: Enforcer, audit: AuditLog) -> None:
        self.store, self.enforcer, self.audit = store, enforcer, audit
        # the upgrade's state, kept past its HTTP line (AuditLog forgets it once that is written)
        self._upgrades: weakref.WeakKeyDictionary[http.HTTPFlow, FlowState] = weakref.WeakKeyDictionary()

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        state = get_state(flow)
        if state is not None and flow.response is not None and flow.response.status_code == 101:
            self._upgrades[flow] = state

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        upgrade = self._upgrades.get(flow)
        ruleset = self.store.ruleset
        if upgrade is None or ruleset is None or flow.websocket is None or self.enforcer.fingerprinter is None:
            return
        message = flow.websocket.messages[-1]
        facts = upgrade.facts
        wanted = facts.app is not None or (facts.mcp is not None and facts.mcp.is_mcp)
        if not message.from_client or not (wanted or ctx.options.sg_inspect_scope == "all"):
            return
        if not message.is_text:
            if "websocket-binary-not-inspected" not in upgrade.notes:
                upgrade.notes.append("websocket-binary-not-inspected")
            return
        index = len(flow.websocket.messages) - 1
        try:
            segments, notes, cut = message_segments(message.text, self.enforcer.max_scan)
            report = ruleset.scanner.scan(segments, fingerprinter=self.enforcer.fingerprinter,
                                          max_bytes=self.enforcer.max_scan, reuse=self.enforcer.reuse)  # fmt: skip
        except Exception:  # an unscannable message is treated as the failure mode says, and reported
            log.exception("shadowgate: could not scan a WebSocket message of flow %s", flow.id)
            if ctx.options.sg_fail_mode == "closed":
                message.drop()
            self.audit.write_event(error_event(
                code="E_ENFORCEMENT", flow_id=f"{flow.id}:ws{index}", hostname=self.audit.hostname,
                message=f"a WebSocket message could not be scanned; fail-{ctx.options.sg_fail_mode} applied",
                extra={"upgrade_flow_id": flow.id, "message": index}))  # fmt: skip
            return
        report = replace(report, truncated=report.truncated or cut,
                         not_inspected=tuple(dict.fromkeys((*notes, *report.not_inspected))))
        if not report.findings and not report.truncated and not report.not_inspected:
            return  # a clean message: the upgrade's line already says this connection was allowed
        state = FlowState(facts=replace(facts, report=report), event_id=new_event_id(), inspect=True,
                          notes=list(upgrade.notes))  # fmt: skip
        state.decision = ruleset.policies.decide(state.facts, mode=Mode(ctx.options.sg_mode))
        if state.decision.effective in (Action.BLOCK, Action.REDIRECT, Action.REDACT):
            message.drop()
            self._tell_client(flow, state, ruleset, records=RECORD_SEPARATOR in message.text)
        self.audit.write_websocket_message(flow, state, index)

    @staticmethod
    def _tell_client(flow: http.HTTPFlow, state: FlowState, ruleset, *, records: bool) -> None:
        """An error message in place of the dropped one (mitmproxy cannot close a socket in transit)."""
        assert state.decision is not None
        settings = ruleset.policies.settings
        app = state.facts.app
        reply = websocket_error(state.decision, event_id=state.event_id, host=state.facts.host,
                                app_name=app.app.name if app else None, alternative=settings.alternative,
                                contact=settings.contact, records=records)  # fmt: skip
        ctx.master.commands.call("inject.websocket", flow, True, reply, True)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        self._upgrades.pop(flow, None)
