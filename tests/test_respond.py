"""Tests for addons/respond.py: client recognition and one block response per client kind."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import anthropic
import httpx2
import openai
import pytest

from addons.model import Action
from addons.model import AppMatch
from addons.model import AppSpec
from addons.model import Decision
from addons.model import McpMatch
from addons.respond import MCP_BLOCKED_CODE
from addons.respond import PAGE_CSP
from addons.respond import build_block
from addons.respond import build_redirect
from addons.respond import client_kind
from addons.respond import jsonrpc_error_event

EVENT = "0193f5a0-7c1e-7a11-9d2b-1f0e2a3b4c03"
DECISION = Decision(
    action=Action.BLOCK,
    policy_id="block-secrets",
    policy_name="Block secrets to AI",
    reason="secrets must not leave the company",
    detectors=("secret-aws-access-key", "pii-email"),
)
MCP = McpMatch(is_mcp=True, score=90, method="tools/call", tool="lookup_customer", request_id=7)


def app(prompt: str | None, app_id: str = "app-x") -> AppMatch:
    spec = AppSpec(
        id=app_id, name="X", vendor="X", category="llm-api", surface=("api",), hosts=("x",), prompt=prompt
    )
    return AppMatch(spec, matched="x")


def block(kind: str, **kw):
    args = dict(kind=kind, event_id=EVENT, host="chat.example-ai.com", app_name="Example AI")
    return build_block(DECISION, **(args | kw))


# ------------------------------------------------------------------ client_kind

NAV = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8", "sec-fetch-mode": "navigate"}


@pytest.mark.parametrize(
    ("method", "path", "host", "headers", "app_", "mcp", "kind"),
    [
        ("POST", "/mcp", "mcp.x.io", {"accept": "application/json, text/event-stream"}, None, MCP, "mcp"),
        ("GET", "/", "chat.deepseek.com", NAV, app("deepseek-web"), None, "browser"),
        ("GET", "/c/1", "chatgpt.com", {"accept": "text/html"}, None, None, "browser"),
        (
            "POST",
            "/v1/chat/completions",
            "api.openai.com",
            {"accept": "application/json"},
            None,
            None,
            "openai",
        ),
        ("POST", "/chat/completions", "api.groq.com", {}, None, None, "openai"),
        ("POST", "/openai/v1/responses", "api.groq.com", {}, None, None, "openai"),
        ("POST", "/v1/embeddings?x=1", "llm.internal", {}, None, None, "openai"),
        ("POST", "/api/generate", "x", {}, app("openai-chat"), None, "openai"),
        (
            "POST",
            "/v1/messages",
            "api.anthropic.com",
            {"accept": "application/json"},
            None,
            None,
            "anthropic",
        ),
        ("POST", "/x", "proxy.corp", {"anthropic-version": "2023-06-01"}, None, None, "anthropic"),
        ("POST", "/x", "y", {}, app("anthropic-messages"), None, "anthropic"),
        (
            "POST",
            "/v1beta/models/gemini-2.5-pro:generateContent",
            "generativelanguage.googleapis.com",
            {},
            None,
            None,
            "gemini",
        ),
        (
            "POST",
            "/v1/projects/p/locations/l/publishers/google/models/m:streamGenerateContent",
            "us-central1-aiplatform.googleapis.com",
            {},
            None,
            None,
            "gemini",
        ),
        (
            "POST",
            "/backend-api/conversation",
            "chatgpt.com",
            {"accept": "text/event-stream"},
            app("chatgpt-web"),
            None,
            "sse",
        ),
        (
            "POST",
            "/backend-api/conversation",
            "chatgpt.com",
            {"accept": "*/*"},
            app("chatgpt-web"),
            None,
            "plain",
        ),
        ("GET", "/stream", "x.ai", {"accept": "text/event-stream"}, None, None, "sse"),
        ("POST", "/upload", "x.ai", {"accept": "*/*"}, None, None, "plain"),
        ("POST", "/mcp", "x", {}, None, McpMatch(is_mcp=False, score=10), "plain"),
        ("POST", "/aiserver.v1.ChatService/Chat", "api2.cursor.sh", {"content-type": "application/grpc"}, None, None,
         "grpc"),
        ("POST", "/svc/M", "x.ai", {"content-type": "application/grpc-web+proto"}, None, None, "grpc-web"),
        ("POST", "/svc/M", "x.ai", {"content-type": "application/connect+proto"}, None, None, "connect"),
        ("POST", "/svc/M", "x.ai", {"content-type": "application/proto", "connect-protocol-version": "1"}, None, None,
         "connect-unary"),
    ],
)
def test_client_kind(method, path, host, headers, app_, mcp, kind):
    assert client_kind(method, path, host, headers, app_, mcp) == kind


# ------------------------------------------------------------------ shapes per kind


def test_every_kind_carries_event_id_header():
    for kind in ("browser", "openai", "anthropic", "gemini", "mcp", "sse", "grpc", "grpc-web", "connect",
                 "connect-unary", "plain"):  # fmt: skip
        r = block(kind)
        assert r.header("x-shadowgate-event-id") == EVENT
        assert r.header("cache-control") == "no-store"
        assert r.header("x-content-type-options") == "nosniff"
        assert EVENT.encode() in r.body + b"".join(v.encode() for _, v in r.trailers)


def test_rpc_shapes_carry_permission_denied_in_the_protocols_own_place():
    grpc = block("grpc")
    assert (grpc.status, grpc.header("content-type"), grpc.body) == (200, "application/grpc+proto", b"")
    trailers = dict(grpc.trailers)
    assert trailers["grpc-status"] == "7" and EVENT in trailers["grpc-message"]
    assert all(0x20 <= ord(c) < 0x7F for c in trailers["grpc-message"])  # percent-encoded
    web = block("grpc-web")
    assert web.status == 200 and web.body[:1] == b"\x80"
    frame = web.body[5:5 + int.from_bytes(web.body[1:5], "big")].decode()
    assert "grpc-status:7\r\n" in frame and len(web.body) == 5 + len(frame)
    connect = block("connect")
    assert (connect.status, connect.body[:1]) == (200, b"\x02")
    end = json.loads(connect.body[5:])
    assert end["error"]["code"] == "permission_denied" and EVENT in end["error"]["message"]
    unary = block("connect-unary")
    assert (unary.status, json.loads(unary.body)["code"]) == (403, "permission_denied")


def test_openai_shape():
    r = block("openai")
    assert (r.status, r.header("content-type")) == (403, "application/json")
    err = json.loads(r.body)["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["code"] == "blocked_by_policy" and err["param"] is None and EVENT in err["message"]
    assert "secret-aws-access-key" in err["message"] and "Block secrets to AI" in err["message"]
    assert r.header("x-should-retry") == "false"


def test_anthropic_shape():
    r = block("anthropic")
    body = json.loads(r.body)
    assert r.status == 403 and body["type"] == "error"
    assert body["error"]["type"] == "permission_error" and EVENT in body["error"]["message"]
    assert r.header("request-id") == EVENT


def test_gemini_shape():
    r = block("gemini")
    err = json.loads(r.body)["error"]
    assert r.status == 403 and err["code"] == 403 and err["status"] == "PERMISSION_DENIED"
    assert EVENT in err["message"] and err["details"][0]["metadata"]["event_id"] == EVENT


@pytest.mark.parametrize("jsonrpc_id", [0, 7, "req-1", None])
def test_mcp_jsonrpc_error(jsonrpc_id):
    r = block("mcp", jsonrpc_id=jsonrpc_id, mcp_portal="https://mcp-portal.corp/mcp")
    assert (r.status, r.header("content-type")) == (200, "application/json")
    body = json.loads(r.body)
    assert body["jsonrpc"] == "2.0" and body["id"] == jsonrpc_id and "result" not in body
    err = body["error"]
    assert err["code"] == MCP_BLOCKED_CODE and not -32768 <= err["code"] <= -32000
    assert EVENT in err["message"] and "https://mcp-portal.corp/mcp" in err["message"]
    assert err["data"]["event_id"] == EVENT and err["data"]["portal"] == "https://mcp-portal.corp/mcp"
    assert err["data"]["policy"] == "block-secrets"


@pytest.mark.parametrize("modern", [False, True])
def test_mcp_tool_error(modern):
    r = block("mcp", jsonrpc_id=3, tool_error=True, modern=modern)
    body = json.loads(r.body)
    assert r.status == 200 and body["id"] == 3 and "error" not in body
    result = body["result"]
    assert (
        result["isError"] is True
        and result["content"][0]["type"] == "text"
        and EVENT in result["content"][0]["text"]
    )
    assert ("resultType" in result) == modern and result.get("resultType", "complete") == "complete"


def test_mcp_redirect_names_the_portal():
    d = Decision(
        Action.REDIRECT, "mcp-portal", "Use the portal", "shadow MCP", redirect_url="https://portal.corp/"
    )
    r = build_block(d, kind="mcp", event_id=EVENT, host="mcp.x.io", app_name=None, jsonrpc_id=1)
    assert json.loads(r.body)["error"]["data"]["portal"] == "https://portal.corp/"


def test_jsonrpc_error_event_frame():
    frame = jsonrpc_error_event(
        DECISION, event_id=EVENT, host="mcp.x.io", jsonrpc_id=5, mcp_portal="https://p/"
    )
    assert frame.startswith(b"event: message\ndata: ") and frame.endswith(b"\n\n") and frame.count(b"\n") == 3
    payload = json.loads(frame.split(b"data: ", 1)[1])
    assert payload["id"] == 5 and payload["error"]["data"]["event_id"] == EVENT


def test_sse_error_event():
    r = block("sse")
    assert (r.status, r.header("content-type")) == (403, "text/event-stream")
    assert r.body.startswith(b"event: error\ndata: ") and r.body.endswith(b"\n\n")
    err = json.loads(r.body.split(b"data: ", 1)[1])["error"]
    assert err["event_id"] == EVENT and EVENT in err["message"]


def test_plain_text():
    r = block("plain", contact="security@example.com")
    assert (r.status, r.header("content-type")) == (403, "text/plain; charset=utf-8")
    text = r.body.decode()
    assert EVENT in text and "security@example.com" in text and text.endswith("\n")


def test_unknown_kind():
    with pytest.raises(ValueError):
        block("teapot")


# ------------------------------------------------------------------ the browser page


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.ids: dict[str, str] = {}
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = dict(attrs).get("id")

    def handle_data(self, data):
        if self._in:
            self.ids[self._in] = self.ids.get(self._in, "") + data

    def handle_endtag(self, tag):
        self._in = None


def parse(body: bytes) -> _Page:
    p = _Page()
    p.feed(body.decode("utf-8"))
    return p


def test_browser_page_headers_and_content():
    r = block("browser", alternative=("Corp AI", "https://ai.corp.example/"), contact="security@example.com")
    assert (r.status, r.header("content-type")) == (403, "text/html; charset=utf-8")
    assert r.header("content-security-policy") == PAGE_CSP == "default-src 'none'; style-src 'unsafe-inline'"
    page = parse(r.body)
    assert page.ids["sg-event-id"] == EVENT
    assert any(attrs.get("data-event-id") == EVENT for _, attrs in page.tags)
    text = r.body.decode()
    for expected in (
        "Example AI",
        "chat.example-ai.com",
        "secrets must not leave the company",
        "pii-email",
        "Block secrets to AI",
        "security@example.com",
        'href="https://ai.corp.example/"',
    ):
        assert expected in text


def test_browser_page_loads_nothing():
    r = block("browser", alternative=("Corp AI", "https://ai.corp.example/"))
    page = parse(r.body)
    tags = {t for t, _ in page.tags}
    assert not tags & {"script", "img", "iframe", "link", "object", "embed", "form", "base"}
    urls = re.findall(rb"https?://[^\s\"'<>]+", r.body)
    assert urls == [b"https://ai.corp.example/"]
    assert b"@import" not in r.body and b"url(" not in r.body


HOSTILE = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"


def test_browser_page_escapes_everything():
    d = Decision(
        Action.BLOCK, "p" + HOSTILE, "n" + HOSTILE, "r" + HOSTILE, message=None, detectors=("d" + HOSTILE,)
    )
    r = build_block(
        d,
        kind="browser",
        event_id=EVENT,
        host="h.example",
        app_name="a" + HOSTILE,
        alternative=("alt" + HOSTILE, 'https://ai.corp/"><script>x</script>'),
        contact="c" + HOSTILE,
    )
    body = r.body.decode()
    assert "<script" not in body.lower() and "<img" not in body.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&gt;" in body
    page = parse(r.body)
    hrefs = [a["href"] for t, a in page.tags if t == "a"]
    assert hrefs == ["https://ai.corp/%22%3E%3Cscript%3Ex%3C/script%3E"]


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,x", "//evil", "https://x/\nSet-Cookie: a"]
)
def test_browser_page_drops_non_http_alternative(url):
    r = block("browser", alternative=("Alt", url))
    assert b"<a " not in r.body and b"javascript" not in r.body


def test_custom_template():
    tpl = "<p>$app blocked ($reason) id=<b id='sg-event-id'>$event_id</b> $$5 $unknown</p>"
    r = block("browser", template=tpl)
    assert r.body.decode() == (
        "<p>Example AI blocked (secrets must not leave the company) "
        f"id=<b id='sg-event-id'>{EVENT}</b> $5 $unknown</p>"
    )


def test_values_are_not_re_expanded():
    d = Decision(Action.BLOCK, "p", "n", "reason with $event_id and ${host}")
    r = build_block(d, kind="browser", event_id=EVENT, host="h", app_name=None, template="$reason")
    assert r.body == b"reason with $event_id and ${host}"


# ------------------------------------------------------------------ redirect


def test_redirect():
    r = build_redirect("https://ai.corp.example/chat?from=shadowgate", EVENT)
    assert r.status == 302 and r.header("location") == "https://ai.corp.example/chat?from=shadowgate"
    assert r.header("x-shadowgate-event-id") == EVENT
    assert parse(r.body).ids["sg-event-id"] == EVENT
    assert b"https://ai.corp.example/chat?from=shadowgate" in r.body


def test_redirect_escapes_and_encodes():
    r = build_redirect('https://ai.corp/é"<x>', EVENT)
    assert r.header("location") == "https://ai.corp/%C3%A9%22%3Cx%3E"
    assert b"<x>" not in r.body


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://a/\r\nSet-Cookie: x=1", "ftp://x/"])
def test_redirect_rejects_unsafe_targets(url):
    with pytest.raises(ValueError):
        build_redirect(url, EVENT)


# ------------------------------------------------------------------ real SDKs, no network


def transport_for(reply):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(reply.status, headers=list(reply.headers), content=reply.body)

    return httpx2.MockTransport(handler)


def test_openai_sdk_raises_permission_denied_with_event_id():
    reply = block("openai")
    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://blocked.test/v1",
        max_retries=2,
        http_client=httpx2.Client(transport=transport_for(reply)),
    )
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    err = info.value
    assert err.status_code == 403 and EVENT in str(err) and EVENT in err.message
    assert err.code == "blocked_by_policy" and err.request_id == EVENT


def test_anthropic_sdk_raises_permission_denied_with_event_id():
    reply = block("anthropic")
    client = anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="http://blocked.test",
        max_retries=2,
        http_client=httpx2.Client(transport=transport_for(reply)),
    )
    with pytest.raises(anthropic.PermissionDeniedError) as info:
        client.messages.create(
            model="claude-test-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    err = info.value
    assert err.status_code == 403 and EVENT in str(err) and EVENT in err.message
    assert err.request_id == EVENT


def test_openai_sdk_streaming_call_also_raises():
    reply = block("openai")
    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://blocked.test/v1",
        http_client=httpx2.Client(transport=transport_for(reply)),
    )
    with pytest.raises(openai.PermissionDeniedError, match=EVENT):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )


def test_explanations_end_each_sentence_once():
    for reason in ("secrets must not leave the company", "Remove it and try again."):
        decision = Decision(action=Action.BLOCK, policy_id="p", policy_name="P", reason=reason)
        text = build_block(decision, kind="plain", event_id=EVENT, host="h", app_name=None).body.decode()
        assert ".." not in text and reason.rstrip(".") + "." in text
