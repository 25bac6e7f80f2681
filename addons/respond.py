"""respond.py: one decision rendered for the client that asked (HTML, provider JSON, JSON-RPC, SSE, text).

Invariant: a response names the policy, the reason, detector ids and the event id, never a matched
value; every inserted value is HTML-escaped in pages, and pages load nothing from anywhere.
"""

from __future__ import annotations

import html
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote
from urllib.parse import urlsplit

from addons.model import AppMatch
from addons.model import Decision
from addons.model import McpMatch

KINDS = ("mcp", "browser", "anthropic", "gemini", "openai", "sse", "grpc", "grpc-web", "connect", "connect-unary",
         "plain")
GRPC_PERMISSION_DENIED = 7
MCP_BLOCKED_CODE = -31001  # outside -32768..-32000, as 2026-07-28 asks of non-spec codes
DEFAULT_TEMPLATE = Path(__file__).with_name("templates") / "block.html"
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'"

_OPENAI_PATH = re.compile(
    r"/(chat/completions|completions|responses|embeddings|moderations|images/(generations|edits|variations)"
    r"|audio/(speech|transcriptions|translations)|assistants|threads|realtime)(/|$)")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_ANTHROPIC_PATH = re.compile(r"/v1/(messages|complete)(/|$)")
_GEMINI_PATH = re.compile(r":(stream)?generatecontent|:counttokens|:embedcontent|:batchembedcontents")


@dataclass(frozen=True, slots=True)
class BlockResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    trailers: tuple[tuple[str, str], ...] = ()  # gRPC: the status travels in HTTP/2 trailers

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def _shape(app: AppMatch | None) -> str:
    return (app.app.prompt or "").lower().replace("_", "-") if app else ""


def client_kind(method: str, path: str, host: str, headers: Mapping[str, str], app: AppMatch | None,
                mcp: McpMatch | None) -> str:
    """Which response family this client understands; headers have lower-case keys."""
    path = path.split("?", 1)[0].lower()
    host = host.lower().rstrip(".")
    accept = headers.get("accept", "").lower()
    shape = _shape(app)
    if mcp is not None and mcp.is_mcp:
        return "mcp"
    rpc = _rpc_kind(headers.get("content-type", "").lower(), headers)
    if rpc:
        return rpc
    if headers.get("sec-fetch-mode", "").lower() == "navigate" or "text/html" in accept:
        return "browser"
    if shape.endswith("-web"):
        return "sse" if "text/event-stream" in accept else "plain"
    if "anthropic" in shape or "anthropic-version" in headers or _ANTHROPIC_PATH.search(path):
        return "anthropic"
    gemini_host = host == "generativelanguage.googleapis.com" or host.endswith("aiplatform.googleapis.com")
    if shape.startswith(("gemini", "vertex")) or gemini_host or _GEMINI_PATH.search(path):
        return "gemini"
    if "openai" in shape or _OPENAI_PATH.search(path):
        return "openai"
    if "text/event-stream" in accept:
        return "sse"
    return "plain"


def _rpc_kind(ctype: str, headers: Mapping[str, str]) -> str | None:
    """gRPC, gRPC-web and Connect clients read errors in their protocol's own form, not as HTTP status."""
    if ctype.startswith("application/grpc-web"):
        return "grpc-web"
    if ctype.startswith("application/grpc"):
        return "grpc"
    if ctype.startswith("application/connect+"):
        return "connect"
    if ctype.startswith("application/proto") and "connect-protocol-version" in headers:
        return "connect-unary"
    return None


_GRPC_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def _grpc_message(text: str) -> str:
    """grpc-message: UTF-8, percent-encoded outside printable ASCII (and `%` itself), per the gRPC spec."""
    return quote(text, safe=_GRPC_SAFE)


def _why(d: Decision) -> str:
    return d.message or d.reason or "blocked by policy"


def _explain(d: Decision, event_id: str, host: str, app_name: str | None, alternative: tuple[str, str] | None,
             contact: str | None, portal: str | None = None) -> str:
    """The one-paragraph explanation used by every non-HTML kind."""
    target = f"{app_name} ({host})" if app_name else host
    why = _why(d).rstrip()
    parts = [f"Request to {target} blocked by policy '{d.policy_name or d.policy_id}': {why}"
             + ("" if why.endswith((".", "!", "?")) else ".")]
    if d.detectors:
        parts.append(f"Detected: {', '.join(d.detectors)}.")
    if portal:
        parts.append(f"Use the approved MCP portal: {portal}.")
    if alternative:
        parts.append(f"Approved alternative: {alternative[0]} <{alternative[1]}>.")
    if contact:
        parts.append(f"Questions: {contact}.")
    parts.append(f"shadowgate event {event_id}")
    return " ".join(parts)


def _json(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _common(event_id: str, content_type: str) -> list[tuple[str, str]]:
    return [("content-type", content_type), ("cache-control", "no-store"),
            ("x-content-type-options", "nosniff"), ("x-shadowgate-event-id", event_id)]


def _safe_url(url: str) -> str | None:
    """An http(s) URL fit for href/Location (ASCII, no control characters), else None."""
    url = url.strip()
    if urlsplit(url).scheme.lower() not in ("http", "https") or _CONTROL.search(url):
        return None
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~")


def _mcp_payload(d: Decision, *, event_id: str, jsonrpc_id: str | int | None, text: str, portal: str | None,
                 tool_error: bool, modern: bool) -> dict:
    if tool_error:
        result: dict = {"content": [{"type": "text", "text": text}], "isError": True}
        if modern:
            result["resultType"] = "complete"
        return {"jsonrpc": "2.0", "id": jsonrpc_id, "result": result}
    data = {"event_id": event_id, "policy": d.policy_id, "reason": _why(d), "detectors": list(d.detectors)}
    if portal:
        data["portal"] = portal
    error = {"code": MCP_BLOCKED_CODE, "message": text, "data": data}
    return {"jsonrpc": "2.0", "id": jsonrpc_id, "error": error}


def jsonrpc_error_event(d: Decision, *, event_id: str, host: str, jsonrpc_id: str | int | None,
                        mcp_portal: str | None = None, tool_error: bool = False,
                        modern: bool = False) -> bytes:
    """The same JSON-RPC answer as one SSE `message` event, for legacy HTTP+SSE GET streams."""
    portal = mcp_portal or d.redirect_url
    text = _explain(d, event_id, host, None, None, None, portal)
    payload = _mcp_payload(d, event_id=event_id, jsonrpc_id=jsonrpc_id, text=text, portal=portal,
                           tool_error=tool_error, modern=modern)
    return b"event: message\ndata: " + _json(payload) + b"\n\n"


def websocket_error(d: Decision, *, event_id: str, host: str, app_name: str | None,
                    alternative: tuple[str, str] | None, contact: str | None, records: bool = False) -> bytes:
    """The text message sent back in place of a blocked WebSocket message: an `error` event in the shape
    realtime chat APIs use ({"type": "error", "error": {…}}); `records` ends it with 0x1E (SignalR)."""
    text = _explain(d, event_id, host, app_name, alternative, contact)
    error = {"type": "policy_violation", "code": "shadowgate_blocked", "message": text, "event_id": event_id,
             "policy": d.policy_id, "detectors": list(d.detectors)}  # fmt: skip
    return _json({"type": "error", "error": error}) + (b"\x1e" if records else b"")


@cache
def default_template() -> str:
    """The shipped block-page template (read once)."""
    return DEFAULT_TEMPLATE.read_text(encoding="utf-8")


def render_page(d: Decision, *, event_id: str, host: str, app_name: str | None,
                alternative: tuple[str, str] | None, contact: str | None, template: str | None) -> str:
    """Fill the block-page template; every value is escaped, optional blocks are built from escaped parts."""
    e = lambda s: html.escape(str(s), quote=True)  # noqa: E731
    detectors = "".join(f"<li><code>{e(x)}</code></li>" for x in d.detectors)
    alt_html = ""
    if alternative and (href := _safe_url(alternative[1])):
        alt_html = (f'<p class="alt">Use the approved alternative instead: '
                    f'<a href="{e(href)}">{e(alternative[0])}</a></p>')
    values = {
        "title": "Blocked by your organisation's AI use policy",
        "app": e(app_name or host), "host": e(host), "reason": e(_why(d)),
        "policy": e(d.policy_name or d.policy_id), "policy_id": e(d.policy_id), "event_id": e(event_id),
        "detectors_html": f'<ul class="detectors">{detectors}</ul>' if detectors else "",
        "alternative_html": alt_html,
        "contact_html": f'<p class="contact">Questions or need an exception? Contact {e(contact)}.</p>'
        if contact else "",
    }
    return string.Template(template if template is not None else default_template()).safe_substitute(values)


def build_block(decision: Decision, *, kind: str, event_id: str, host: str, app_name: str | None,
                alternative: tuple[str, str] | None = None, contact: str | None = None,
                jsonrpc_id: str | int | None = None, template: str | None = None,
                mcp_portal: str | None = None, tool_error: bool = False,
                modern: bool = False) -> BlockResponse:
    """The block response for a client kind (see client_kind)."""
    if kind not in KINDS:
        raise ValueError(f"unknown client kind {kind!r}")
    portal = (mcp_portal or decision.redirect_url) if kind == "mcp" else None
    text = _explain(decision, event_id, host, app_name, alternative, contact, portal)
    status, ctype = 403, "application/json"
    extra: list[tuple[str, str]] = []
    if kind == "browser":
        page = render_page(decision, event_id=event_id, host=host, app_name=app_name, alternative=alternative,
                           contact=contact, template=template)
        ctype, body = "text/html; charset=utf-8", page.encode("utf-8")
        extra = [("content-security-policy", PAGE_CSP), ("referrer-policy", "no-referrer")]
    elif kind == "openai":
        body = _json({"error": {"message": text, "type": "permission_error", "param": None,
                                "code": "blocked_by_policy"}})
        extra = [("x-request-id", event_id), ("x-should-retry", "false")]
    elif kind == "anthropic":
        body = _json({"type": "error", "error": {"type": "permission_error", "message": text},
                      "request_id": event_id})
        extra = [("request-id", event_id), ("x-should-retry", "false")]
    elif kind == "gemini":
        info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BLOCKED_BY_POLICY",
                "domain": "shadowgate", "metadata": {"event_id": event_id, "policy": decision.policy_id}}
        err = {"code": 403, "message": text, "status": "PERMISSION_DENIED", "details": [info]}
        body = _json({"error": err})
    elif kind == "mcp":
        status = 200  # a non-2xx kills legacy SDK sessions (mcp-wire.md §4)
        body = _json(_mcp_payload(decision, event_id=event_id, jsonrpc_id=jsonrpc_id, text=text,
                                  portal=portal, tool_error=tool_error, modern=modern))
    elif kind in ("grpc", "grpc-web"):
        status, ctype, body = 200, f"application/{kind}+proto", b""
        status_fields = (("grpc-status", str(GRPC_PERMISSION_DENIED)), ("grpc-message", _grpc_message(text)))
        if kind == "grpc":
            return BlockResponse(status, tuple(_common(event_id, ctype)), body, status_fields)
        trailer = "".join(f"{k}:{v}\r\n" for k, v in status_fields).encode()
        body = b"\x80" + len(trailer).to_bytes(4, "big") + trailer  # gRPC-web: trailers as the last frame
        extra = list(status_fields)
    elif kind == "connect":
        status, ctype = 200, "application/connect+proto"
        end = _json({"error": {"code": "permission_denied", "message": text}})
        body = b"\x02" + len(end).to_bytes(4, "big") + end  # the end-of-stream frame carries the error
    elif kind == "connect-unary":
        body = _json({"code": "permission_denied", "message": text})
    elif kind == "sse":
        ctype = "text/event-stream"
        err = {"error": {"message": text, "type": "permission_error", "code": "blocked_by_policy",
                         "event_id": event_id}}
        body = b"event: error\ndata: " + _json(err) + b"\n\n"
    else:
        ctype, body = "text/plain; charset=utf-8", (text + "\n").encode("utf-8")
    return BlockResponse(status, tuple(_common(event_id, ctype) + extra), body)


def build_redirect(url: str, event_id: str) -> BlockResponse:
    """302 to the approved alternative; raises ValueError unless url is a plain http(s) URL."""
    target = _safe_url(url)
    if target is None:
        raise ValueError(f"redirect target must be an http(s) URL without control characters: {url!r}")
    link = html.escape(target, quote=True)
    body = (f'<!doctype html><meta charset="utf-8"><title>Redirecting</title>'
            f'<p>This AI service is not approved. Continue to <a href="{link}">{link}</a>.</p>'
            f'<p>Event <code id="sg-event-id">{html.escape(event_id)}</code></p>\n')
    headers = _common(event_id, "text/html; charset=utf-8") + [("location", target),
                                                                ("content-security-policy", PAGE_CSP)]
    return BlockResponse(302, tuple(headers), body.encode("utf-8"))
