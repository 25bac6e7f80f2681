"""enforce.py: Enforcer addon: extract → scan → decide → act, once per flow, failure mode explicit.

Decides at header time when the body will not be inspected (streamed or absent), otherwise when
the whole body is in. Any exception inside is caught here and turned into the configured failure
mode; mitmproxy's own safecall would otherwise forward the request unscanned.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from mitmproxy import ctx
from mitmproxy import exceptions
from mitmproxy import http
from mitmproxy.utils import human

from addons.classify import declared_length
from addons.classify import expects_body
from addons.classify import lower_headers
from addons.fingerprint import DEFAULT_KEY_FILE
from addons.fingerprint import Fingerprinter
from addons.fingerprint import load_or_create_key
from addons.flowstate import FlowState
from addons.flowstate import get_state
from addons.model import Action
from addons.model import Decision
from addons.model import Mode
from addons.model import ScanReport
from addons.redact import redact_body
from addons.respond import BlockResponse
from addons.respond import build_block
from addons.respond import build_redirect
from addons.respond import client_kind
from addons.rules import RuleSet
from addons.rulestore import RuleStore
from addons.scanjob import ScanJob
from addons.urlquery import is_query_finding
from addons.urlquery import query_segments
from addons.urlquery import redact_query
from addons.urlquery import split_query

log = logging.getLogger(__name__)

MCP_BODY_LIMIT = 1 << 20


type McpBlocker = Callable[[http.HTTPFlow, FlowState, Decision], bool]


def respond_with(flow: http.HTTPFlow, reply: BlockResponse) -> None:
    """Answer the flow with a built response (gRPC statuses go in HTTP/2 trailers)."""
    flow.response = http.Response.make(reply.status, reply.body, dict(reply.headers))
    if reply.trailers:
        flow.response.trailers = http.Headers([(k.encode(), v.encode()) for k, v in reply.trailers])


class Enforcer:
    def __init__(self, store: RuleStore) -> None:
        self.store = store
        self.fingerprinter: Fingerprinter | None = None
        self.template: str | None = None
        self.max_scan = 2 << 20
        self.max_buffer = 32 << 20
        self.max_decompressed = 16 << 20
        self.thread_min: int | None = None  # sg_scan_thread_min: None scans every body on the event loop
        self.reuse = True
        self.mcp_blocker: McpBlocker | None = None  # set by the MCP session addon for legacy SSE

    def load(self, loader) -> None:
        loader.add_option("sg_mode", str, "enforce", "enforce: act on decisions; monitor: only log what would happen.",
                          choices=["enforce", "monitor"])
        loader.add_option("sg_fail_mode", str, "closed",
                          "What to do when a flow cannot be checked (no rules, internal error): "
                          "closed blocks it, open lets it through; both are logged.",
                          choices=["closed", "open"])
        loader.add_option("sg_max_scan", str, "2m",
                          "Bytes of a request body the DLP engine scans; the rest is logged as truncated.")
        loader.add_option("sg_max_buffer", str, "32m",
                          "Request bodies larger than this are streamed without inspection (logged as such).")
        loader.add_option("sg_max_decompressed", str, "16m",
                          "Upper bound for a decompressed request body (gzip/deflate/br/zstd bombs stop here).")
        loader.add_option("sg_scan_thread_min", str, "off",
                          "Scan request bodies from this size (e.g. 1m) in a worker thread: better latency for "
                          "other flows during large scans, lower upload throughput (the GIL; see BENCHMARKS.md). "
                          "'off' scans every body on the event loop.")
        loader.add_option("sg_scan_reuse", bool, True,
                          "Reuse what was found in a body segment already scanned (a chat API resends the "
                          "conversation every turn): the same findings, scanned once.")
        loader.add_option("sg_block_template", str, "",
                          "HTML template for the browser block page; empty uses the built-in one.")
        loader.add_option("sg_fingerprint_key", str, "",
                          "File with the HMAC key for finding fingerprints; created (mode 0600) if missing. "
                          "Default: <confdir>/shadowgate-fingerprint.key.")

    def configure(self, updated: set[str]) -> None:
        for name, attr in (("sg_max_scan", "max_scan"), ("sg_max_buffer", "max_buffer"),
                           ("sg_max_decompressed", "max_decompressed")):
            if name in updated:
                try:
                    value = human.parse_size(getattr(ctx.options, name))
                except ValueError as e:
                    raise exceptions.OptionsError(f"Cannot parse {name}: {e}") from e
                if value is None or value <= 0:
                    raise exceptions.OptionsError(f"{name} must be a positive size such as 2m")
                setattr(self, attr, value)
        if "sg_scan_reuse" in updated:
            self.reuse = ctx.options.sg_scan_reuse
        if "sg_scan_thread_min" in updated:
            text = ctx.options.sg_scan_thread_min.strip().lower()
            try:
                self.thread_min = None if text == "off" else human.parse_size(text)
            except ValueError as e:
                msg = f"Cannot parse sg_scan_thread_min (a size such as 64k, or off): {e}"
                raise exceptions.OptionsError(msg) from e
        if "sg_block_template" in updated:
            path = ctx.options.sg_block_template
            try:
                self.template = Path(path).read_text(encoding="utf-8") if path else None
            except OSError as e:
                raise exceptions.OptionsError(f"Cannot read sg_block_template {path}: {e}") from e
        if "sg_fingerprint_key" in updated or "confdir" in updated or self.fingerprinter is None:
            key = ctx.options.sg_fingerprint_key or os.path.join(
                os.path.expanduser(ctx.options.confdir), DEFAULT_KEY_FILE
            )
            try:
                self.fingerprinter = load_or_create_key(Path(key))
            except OSError as e:
                raise exceptions.OptionsError(f"Cannot read or create the fingerprint key {key}: {e}") from e

    # --- hooks -----------------------------------------------------------------------------

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        state = get_state(flow)
        if flow.response or flow.error or not flow.live or state is None:
            return
        try:
            ruleset = self._live_rules(flow, state)
            if ruleset is None:
                return
            length = declared_length(flow.request)
            if state.inspect and (length is None or length <= self.max_buffer):
                return  # decide in request(), with the body
            unseen: tuple[str, ...] = ()
            if expects_body(flow.request):
                unseen = ("body-too-large" if length and length > self.max_buffer else "not-scanned",)
            job = self._scan_job(flow, state, ruleset, body=False)
            report = replace(job, not_inspected=unseen)() if job is not None else ScanReport(not_inspected=unseen)
            if job is not None or unseen:
                state.update(report=report)
            decision = self._decide(ruleset, state)
            self._act(flow, state, decision, ruleset)
            if flow.response is None and expects_body(flow.request):
                flow.request.stream = True
        except Exception:
            log.exception("shadowgate: enforcement failed at header time for flow %s", flow.id)
            self._fail(flow, state, "internal-error")

    def request(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        """Inspect, decide, act. A body that may hold a PDF is read in a child process, and with
        sg_scan_thread_min set a body that large or larger is scanned in a worker thread: both through
        the returned awaitable, which mitmproxy awaits while other flows move on."""
        state = get_state(flow)
        if flow.response or flow.error or not flow.live or state is None or state.decision is not None:
            return None
        try:
            ruleset = self._live_rules(flow, state)
            if ruleset is None:
                return None
            job = self._scan_job(flow, state, ruleset)
            if job is not None and job.may_hold_pdf:
                return self._conclude_after(job.with_pdfs(), flow, state, ruleset)
            if job is not None and self.thread_min is not None and job.size >= self.thread_min:
                return self._conclude_after(asyncio.to_thread(job), flow, state, ruleset)
            if job is not None:
                state.update(report=job())
            self._conclude(flow, state, ruleset)
        except Exception:
            log.exception("shadowgate: enforcement failed for flow %s", flow.id)
            self._fail(flow, state, "internal-error")
        return None

    async def _conclude_after(self, scan: Awaitable[ScanReport], flow: http.HTTPFlow, state: FlowState,
                              ruleset: RuleSet) -> None:  # fmt: skip
        try:
            state.update(report=await scan)
            self._conclude(flow, state, ruleset)
        except Exception:  # mitmproxy's safecall would forward the request unscanned
            log.exception("shadowgate: enforcement failed for flow %s", flow.id)
            self._fail(flow, state, "internal-error")

    def _conclude(self, flow: http.HTTPFlow, state: FlowState, ruleset: RuleSet) -> None:
        decision = self._decide(ruleset, state)
        self._act(flow, state, decision, ruleset)

    def redecide(self, flow: http.HTTPFlow, state: FlowState) -> None:
        """Decide again when the response revealed what the request did not (an MCP stream).

        A response not yet sent is replaced by the block answer; a stream already flowing is cut.
        """
        ruleset = self.store.ruleset
        if ruleset is None or state.decision is None:
            return
        previous = state.decision
        decision = self._decide(ruleset, state)
        if decision.effective not in (Action.BLOCK, Action.REDIRECT) or previous.effective is Action.BLOCK:
            return
        state.notes.append("decided-on-response")
        if flow.response is not None and flow.response.stream:
            flow.kill()
            return
        self._block(flow, state, decision, ruleset)

    # --- steps -----------------------------------------------------------------------------

    def _live_rules(self, flow: http.HTTPFlow, state: FlowState) -> RuleSet | None:
        """The live rules, or None after applying the failure mode (no valid rules were ever loaded)."""
        ruleset = self.store.ruleset
        if ruleset is None:
            self._fail(flow, state, "no-valid-rules")
        return ruleset

    def _scan_job(self, flow: http.HTTPFlow, state: FlowState, ruleset: RuleSet, *,
                  body: bool = True) -> ScanJob | None:  # fmt: skip
        """What the request needs: None when nothing is scanned, else the (thread-safe) extract-and-scan job
        for its query parameters and (`body`) its body."""
        request = flow.request
        content = (request.raw_content or b"") if body else b""
        headers = lower_headers(request.headers)
        encoding = headers.get("content-encoding")
        facts = state.facts
        if facts.mcp is not None and not encoding and content:
            mcp = ruleset.mcp.match_request(
                method=facts.method, host=facts.host, path=request.path, headers=headers,
                body=content[:MCP_BODY_LIMIT],
            )
            state.update(mcp=mcp)
            facts = state.facts
        scan_it = facts.app is not None or (facts.mcp is not None and facts.mcp.is_mcp) or (
            ctx.options.sg_inspect_scope == "all"
        )
        query = tuple(query_segments(split_query(request.path))) if scan_it else ()
        if not scan_it or not content and not query:
            return None
        assert self.fingerprinter is not None
        return ScanJob(content, headers.get("content-type"), encoding, ruleset, self.fingerprinter, self.max_scan,
                       self.max_decompressed, self.reuse, query)  # fmt: skip

    def _decide(self, ruleset: RuleSet, state: FlowState) -> Decision:
        decision = ruleset.policies.decide(state.facts, mode=Mode(ctx.options.sg_mode))
        state.decision = decision
        return decision

    def _act(self, flow: http.HTTPFlow, state: FlowState, decision: Decision, ruleset: RuleSet) -> None:
        for name, value in decision.headers:  # tenant restriction: replace any client copy
            flow.request.headers.pop(name, None)
            flow.request.headers[name] = value
        action = decision.effective
        if action is Action.REDACT:
            if self._redact(flow, state):
                return
            action = Action.BLOCK  # could not redact safely: never forward the unredacted body
            state.notes.append("redaction-failed")
        if action is Action.REDIRECT and self._kind(flow, state) == "browser" and decision.redirect_url:
            reply = build_redirect(decision.redirect_url, state.event_id)
            respond_with(flow, reply)
            return
        if action in (Action.BLOCK, Action.REDIRECT):
            self._block(flow, state, decision, ruleset)

    def _redact(self, flow: http.HTTPFlow, state: FlowState) -> bool:
        """Rewrite the query and the body with every finding redacted; False (nothing changed) when
        some finding cannot be redacted safely."""
        request = flow.request
        findings = state.facts.report.findings
        in_query = [f for f in findings if is_query_finding(f)]
        in_body = [f for f in findings if not is_query_finding(f)]
        path = request.path
        if in_query:
            query = redact_query(split_query(path), in_query)
            if query is None:
                return False
            path = path.partition("?")[0] + "?" + query
        body = None
        if in_body:
            body = redact_body(request.get_content(strict=False) or b"",
                               content_type=request.headers.get("content-type"), findings=in_body)  # fmt: skip
            if body is None:
                return False
        request.path = path
        if body is not None:
            request.content = body  # re-encodes and fixes Content-Length
        state.redacted = bool(findings)
        return True

    def _kind(self, flow: http.HTTPFlow, state: FlowState) -> str:
        facts = state.facts
        return client_kind(
            facts.method, facts.path, facts.host, lower_headers(flow.request.headers), facts.app, facts.mcp
        )

    def _block(self, flow: http.HTTPFlow, state: FlowState, decision: Decision, ruleset: RuleSet) -> None:
        facts = state.facts
        kind = self._kind(flow, state)
        if kind == "mcp" and self.mcp_blocker is not None and self.mcp_blocker(flow, state, decision):
            return
        settings = ruleset.policies.settings
        portal = settings.approved_mcp_portals[0] if settings.approved_mcp_portals else None
        mcp = facts.mcp
        reply = build_block(
            decision,
            kind=kind,
            event_id=state.event_id,
            host=facts.host,
            app_name=facts.app.app.name if facts.app else None,
            alternative=settings.alternative,
            contact=settings.contact,
            jsonrpc_id=mcp.request_id if mcp else None,
            template=self.template,
            mcp_portal=portal,
            modern=bool(mcp and mcp.generation == "modern"),
        )
        respond_with(flow, reply)

    def _fail(self, flow: http.HTTPFlow, state: FlowState, reason: str) -> None:
        """Apply sg_fail_mode to a flow that could not be checked."""
        state.error = reason
        closed = ctx.options.sg_fail_mode == "closed"
        state.decision = Decision(
            action=Action.BLOCK if closed else Action.ALLOW,
            policy_id=f"fail-{ctx.options.sg_fail_mode}",
            policy_name=f"fail {ctx.options.sg_fail_mode}",
            reason=f"the request could not be checked ({reason})",
        )
        if closed and flow.response is None:
            ruleset = self.store.ruleset
            kind = self._kind(flow, state) if ruleset else "plain"
            reply = build_block(
                state.decision, kind=kind, event_id=state.event_id, host=state.facts.host, app_name=None,
                alternative=None, contact=None, jsonrpc_id=None, template=self.template, mcp_portal=None,
            )
            respond_with(flow, reply)
