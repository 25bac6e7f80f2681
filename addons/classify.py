"""classify.py: Classifier addon: at header time, who is asking, which AI app or MCP server, inspect or not.

Only translates between the flow and the engine (catalog, mcp, identity); decides nothing.
"""

from __future__ import annotations

import logging

from mitmproxy import ctx
from mitmproxy import http

from addons.events import new_event_id
from addons.flowstate import FlowState
from addons.flowstate import get_state
from addons.flowstate import set_state
from addons.model import RequestFacts
from addons.rulestore import RuleStore

log = logging.getLogger(__name__)

BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "CONNECT"})


def lower_headers(headers: http.Headers) -> dict[str, str]:
    """First value per lower-cased header name (what the engine matches on)."""
    out: dict[str, str] = {}
    for name, value in headers.items(multi=True):
        out.setdefault(name.lower(), value)
    return out


def declared_length(request: http.Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def expects_body(request: http.Request) -> bool:
    length = declared_length(request)
    if length is not None:
        return length > 0
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        return True
    return request.method.upper() not in BODYLESS_METHODS and request.http_version.startswith("HTTP/2")


class Classifier:
    def __init__(self, store: RuleStore) -> None:
        self.store = store

    def load(self, loader) -> None:
        loader.add_option(
            "sg_inspect_scope",
            str,
            "ai",
            "Which request bodies the DLP engine scans: 'ai' (AI apps and MCP traffic) or 'all'.",
            choices=["ai", "all"],
        )

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        ruleset = self.store.ruleset
        request = flow.request
        host = request.host.lower().rstrip(".")
        path = request.path.split("?", 1)[0] or "/"
        headers = lower_headers(request.headers)
        auth = flow.metadata.get("proxyauth")
        proxy_user = auth[0] if isinstance(auth, tuple | list) and auth and auth[0] else None
        client_ip = flow.client_conn.peername[0] if flow.client_conn.peername else None
        facts = RequestFacts(
            method=request.method.upper(),
            scheme=request.scheme,
            host=host,
            port=request.port,
            path=path,
            client_ip=client_ip,
        )
        state = FlowState(facts=facts, event_id=new_event_id())
        set_state(flow, state)
        if ruleset is None:
            return
        state.ruleset_fingerprint = ruleset.fingerprint
        identity = ruleset.identities.resolve(proxy_user, client_ip)
        app = ruleset.classify_app(host, path)
        sni = (flow.client_conn.sni or "").lower()
        if app is None and sni and sni != host:
            app = ruleset.classify_app(sni, path)
        mcp = ruleset.mcp.match_request(
            method=facts.method, host=host, path=request.path, headers=headers, body=None
        )
        state.update(identity=identity, app=app, mcp=mcp)
        length = declared_length(request)
        interesting = app is not None or mcp.is_mcp or mcp.score > 0 or ctx.options.sg_inspect_scope == "all"
        content_type = headers.get("content-type", "").lower()
        textual = not content_type or any(
            t in content_type for t in ("json", "text", "form", "xml", "javascript", "multipart", "event-stream")
        )
        state.inspect = expects_body(request) and (interesting or ("json" in content_type and textual))
        flow.metadata["sg"] = {
            "event_id": state.event_id,
            "app": app.app.id if app else None,
            "mcp": mcp.is_mcp,
            "user": identity.user,
            "inspect": state.inspect,
            "declared_length": length,
        }

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if response is None:
            return
        content_type = response.headers.get("content-type", "").lower()
        if content_type.startswith("text/event-stream") and not response.stream:
            response.stream = True  # SSE is swallowed unless streamed
        state = get_state(flow)
        ruleset = self.store.ruleset
        if state is None or ruleset is None or state.facts.mcp is None:
            return
        refined = ruleset.mcp.match_response(
            request=state.facts.mcp,
            status=response.status_code,
            headers=lower_headers(response.headers),
            first_bytes=None,
        )
        state.update(mcp=refined)
