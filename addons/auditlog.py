"""auditlog.py: AuditLog addon: one OCSF record set per decided flow, plus rules load/reload events.

Reads only what the other addons decided (flow state) and the flow's connection facts; writes
through EventLog, which never blocks the event loop. Never writes header values, query values
or bodies.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import replace

from mitmproxy import ctx
from mitmproxy import exceptions
from mitmproxy import http
from mitmproxy.utils import human

from addons.enforce import Enforcer
from addons.eventlog import EventLog
from addons.events import FlowRecord
from addons.events import api_activity
from addons.events import config_event
from addons.events import dropped_events
from addons.events import error_event
from addons.events import finding_events
from addons.events import finding_uid
from addons.events import http_activity
from addons.flowstate import FlowState
from addons.flowstate import drop_state
from addons.flowstate import get_state
from addons.model import Action
from addons.model import Segment
from addons.rulestore import RuleStore
from addons.rulestore import parse_seconds
from addons.urlsafe import safe_path

log = logging.getLogger(__name__)

LOG_OPTIONS = {"sg_log_file", "sg_log_max_bytes", "sg_log_backups", "sg_log_flush"}


def _addr(address: tuple | None) -> tuple[str | None, int | None]:
    if not address:
        return None, None
    return str(address[0]), int(address[1])


class AuditLog:
    def __init__(self, store: RuleStore, enforcer: Enforcer) -> None:
        self.store = store
        self.enforcer = enforcer
        self.writer: EventLog | None = None
        self.pending: list[dict] = []  # config events raised before the log file is open
        self.hostname = socket.gethostname()
        store.listeners.append(self.config_event)

    def load(self, loader) -> None:
        loader.add_option("sg_log_file", str, "logs/events.jsonl", "OCSF JSONL event log (one line per event).")
        loader.add_option("sg_log_max_bytes", str, "256m", "Rotate the event log (by renaming) at this size.")
        loader.add_option("sg_log_backups", int, 10, "Rotated event logs to keep (events.jsonl.1 …).")
        loader.add_option("sg_log_flush", str, "0.5", "Seconds between fdatasync of the event log (e.g. 0.2).")
        loader.add_option("sg_log_scope", str, "all",
                          "Which flows get an HTTP Activity line: 'all' decided flows, or only 'ai' "
                          "(AI apps, MCP, findings, and anything not allowed).", choices=["all", "ai"])

    def configure(self, updated: set[str]) -> None:
        if not LOG_OPTIONS & updated and self.writer is not None:
            return
        try:
            max_bytes = human.parse_size(ctx.options.sg_log_max_bytes) or 0
            new = EventLog(ctx.options.sg_log_file, max_bytes=max_bytes, backups=ctx.options.sg_log_backups,
                           flush_interval=parse_seconds("sg_log_flush", ctx.options.sg_log_flush) or 0.5,
                           on_drops=lambda n: dropped_events(n, hostname=self.hostname))
        except (ValueError, OSError) as e:
            raise exceptions.OptionsError(f"Cannot open the event log {ctx.options.sg_log_file}: {e}") from e
        if self.writer is not None:
            self.writer.close()
        self.writer = new
        for event in self.pending:
            new.write(event)
        self.pending.clear()

    def done(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def config_event(self, ok: bool, directory: str, problems: list[str], counts: dict[str, int], what: str) -> None:
        self._write(config_event(ok=ok, rules_dir=directory, problems=problems, counts=counts, activity=what,
                                 hostname=self.hostname))

    # --- flows ----------------------------------------------------------------------------------

    def response(self, flow: http.HTTPFlow) -> None:
        self._record(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._record(flow)

    def _record(self, flow: http.HTTPFlow) -> None:
        state = get_state(flow)
        if state is None or state.logged or state.decision is None:
            return
        state.logged = True
        try:
            if self._in_scope(state):
                self._write_flow(flow, state)
        except Exception:  # logging must never break traffic; the error itself is reported
            log.exception("shadowgate: could not write the audit record for flow %s", flow.id)
        finally:
            drop_state(flow)

    def _in_scope(self, state: FlowState) -> bool:
        if ctx.options.sg_log_scope == "all":
            return True
        facts = state.facts
        return bool(
            facts.app or (facts.mcp and facts.mcp.is_mcp) or facts.report.findings
            or state.decision is None or state.decision.effective is not Action.ALLOW
        )

    def _write_flow(self, flow: http.HTTPFlow, state: FlowState) -> None:
        rec = self.flow_record(flow, state)
        self._write_record(rec)
        if state.facts.mcp is not None and state.facts.mcp.is_mcp:
            self._write(api_activity(rec, hostname=self.hostname))
        if state.error == "internal-error":  # the flow line says what was decided; this says something broke
            mode = state.decision.policy_id if state.decision else "fail-closed"
            self._write(error_event(code="E_ENFORCEMENT", flow_id=flow.id, hostname=self.hostname,
                                    message=f"enforcement failed for a flow; {mode} applied (see the proxy's log)",
                                    extra={"event_id": state.event_id}))  # fmt: skip
        assert state.decision is not None
        flow.metadata.setdefault("sg", {}).update(
            {
                "decision": state.decision.effective.value,
                "policy": state.decision.policy_id,
                "detectors": sorted({f.detector_id for f in state.facts.report.findings}),
                "redacted": state.redacted,
            }
        )

    def _write_record(self, rec: FlowRecord) -> None:
        """The HTTP Activity line of a record and its finding lines."""
        findings = finding_events(rec, hostname=self.hostname, fingerprint_key_id=self._key_id())
        uids = list(dict.fromkeys(finding_uid(rec.flow_id, f.detector_id) for f in rec.facts.report.findings))
        self._write(http_activity(rec, hostname=self.hostname, finding_uids=uids))
        for event in findings:
            self._write(event)

    def write_websocket_message(self, flow: http.HTTPFlow, state: FlowState, index: int) -> None:
        """The lines of one WebSocket message (its own state: event id, findings, decision): the upgrade
        request's fields, with its own flow id `<upgrade flow id>:ws<index>`."""
        try:
            rec = replace(self.flow_record(flow, state), flow_id=f"{flow.id}:ws{index}",
                          websocket={"upgrade_flow_id": flow.id, "message": index})  # fmt: skip
            self._write_record(rec)
        except Exception:  # logging must never break traffic
            log.exception("shadowgate: could not write the audit record for a WebSocket message of %s", flow.id)

    def flow_record(self, flow: http.HTTPFlow, state: FlowState) -> FlowRecord:
        request, response = flow.request, flow.response
        assert state.decision is not None
        src_ip, src_port = _addr(flow.client_conn.peername)
        proxy_ip, proxy_port = _addr(flow.client_conn.sockname)
        dst_ip, _ = _addr(flow.server_conn.peername if flow.server_conn else None)
        request_length = len(request.raw_content) if request.raw_content is not None else None
        response_length = len(response.raw_content) if response and response.raw_content is not None else None
        report = state.facts.report
        not_inspected = tuple(dict.fromkeys((*report.not_inspected, *state.notes,
                                             *((state.error,) if state.error else ()))))
        return FlowRecord(
            event_id=state.event_id,
            flow_id=flow.id,
            time_ms=int((request.timestamp_start or time.time()) * 1000),
            facts=state.facts,
            decision=state.decision,
            http_version=request.http_version,
            request_length=request_length,
            response_code=response.status_code if response else None,
            response_length=response_length,
            scheme=request.scheme,
            url_path=self._loggable_path(request.path.split("?", 1)[0] or "/"),
            query_keys=tuple(dict.fromkeys(request.query.keys())),
            src_ip=src_ip,
            src_port=src_port,
            dst_ip=dst_ip,
            dst_port=request.port,
            proxy_host=proxy_ip,
            proxy_port=proxy_port,
            tls_version=flow.client_conn.tls_version,
            sni=flow.client_conn.sni,
            inspected=state.inspect and not report.not_inspected and not report.truncated,
            not_inspected=not_inspected,
            redirect_url=state.decision.redirect_url if state.decision.effective is Action.REDIRECT else None,
            mcp_tools=state.mcp_tools,
        )

    def write_event(self, event: dict) -> None:
        """Append one ready-built OCSF event (e.g. an MCP result that arrived after its flow was logged)."""
        self._write(event)

    def _loggable_path(self, path: str) -> str:
        ruleset, fingerprinter = self.store.ruleset, self.enforcer.fingerprinter
        findings: tuple = ()
        if ruleset is not None and fingerprinter is not None and len(path) > 16:
            segment = Segment(where="url.path", text=path)
            findings = ruleset.scanner.scan([segment], fingerprinter=fingerprinter).findings
        return safe_path(path, findings)

    def _key_id(self) -> str:
        fingerprinter = self.enforcer.fingerprinter
        return fingerprinter.key_id if fingerprinter is not None else ""

    def _write(self, event: dict) -> None:
        if self.writer is None:
            self.pending.append(event)
        else:
            self.writer.write(event)
