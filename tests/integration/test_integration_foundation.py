"""Issue "foundation": a real proxy process, real clients (curl, openai, anthropic, httpx), the event log."""

from __future__ import annotations

import json
import os
import secrets
import time

import anthropic
import openai
import pytest

from tests.integration.clients import anthropic_client
from tests.integration.clients import curl
from tests.integration.clients import event_id_in_text
from tests.integration.clients import event_ids_in_page
from tests.integration.clients import http_client
from tests.integration.clients import openai_client
from tests.integration.proxy import add_first_policy
from tests.integration.upstream import Reply

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("proxy-foundation")]

BLOCK_LLM_APIS = """\
  - id: test-block-openai-api
    when: {apps: [app-openai-api]}
    action: block
  - id: test-block-anthropic-api
    when: {apps: [app-anthropic-api]}
    action: block
"""


def shadowgate(event: dict) -> dict:
    return event["unmapped"]["shadowgate"]


def assert_blocked(event: dict, *, app: str, policy: str) -> None:
    assert event["class_uid"] == 4002
    assert (event["status_id"], event["action_id"], event["disposition_id"]) == (2, 2, 2)
    assert shadowgate(event)["decision"] == "block"
    assert shadowgate(event)["app"]["id"] == app
    assert event["policy"]["uid"] == policy
    assert event["http_response"]["code"] == 403


@pytest.fixture(scope="module")
def api_block_proxy(module_launch):
    """A proxy whose rules block the OpenAI and Anthropic APIs outright."""
    rules = module_launch.rules()
    add_first_policy(rules, BLOCK_LLM_APIS)
    return module_launch.start(rules)


def test_run_prints_the_banner_then_ready_once_the_port_is_open(proxy):
    deadline = time.monotonic() + 10
    while "shadowgate: ready" not in proxy.stdout and time.monotonic() < deadline:
        time.sleep(0.05)
    out = proxy.stdout
    banner = out.index(f"shadowgate: starting on http://127.0.0.1:{proxy.port}")
    assert out.index(f"shadowgate: ready, listening on 127.0.0.1:{proxy.port}\n") > banner


# --- 1. curl gets the block page ---------------------------------------------------------------


def test_curl_gets_block_page_for_chatgpt_with_the_logged_event_id(proxy, upstream):
    result = curl(proxy, "https://chatgpt.com/?q=secret-ish", "-H", "Accept: text/html")

    assert result.returncode == 0, result.stderr
    assert result.status == 403
    assert result.headers["content-type"].split(";")[0].strip() == "text/html"
    page = result.body.decode("utf-8")
    element_id, attr_id = event_ids_in_page(page)
    assert element_id == attr_id == result.headers["x-shadowgate-event-id"]
    assert "ChatGPT" in page and "secret-ish" not in page

    event = proxy.flow_event(element_id)
    assert_blocked(event, app="app-chatgpt", policy="policy-block-unsanctioned-ai-chat")
    assert event["metadata"]["uid"] == shadowgate(event)["event_id"] == element_id
    assert event["http_request"]["url"]["hostname"] == "chatgpt.com"
    assert event["http_request"]["url"]["url_string"] == "https://chatgpt.com/?q=<redacted>"
    assert b"secret-ish" not in proxy.raw_log()
    # Blocked at the proxy: no upstream connection was even attempted (connection_strategy=lazy).
    assert not [c for c in proxy.connects() if c.startswith("chatgpt.com:")]
    assert upstream.requests_to("chatgpt.com") == []


# --- 2. provider SDKs get their own error shape ---------------------------------------------------


def test_openai_sdk_gets_permission_denied_naming_the_event(api_block_proxy, upstream):
    client = openai_client(api_block_proxy)
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])

    error = info.value
    assert error.status_code == 403
    event_id = event_id_in_text(error.message)
    assert error.request_id == event_id
    assert error.code == "blocked_by_policy"
    event = api_block_proxy.flow_event(event_id)
    assert_blocked(event, app="app-openai-api", policy="test-block-openai-api")
    assert event["http_request"]["url"]["url_string"] == "https://api.openai.com/v1/chat/completions"
    assert upstream.requests_to("api.openai.com") == []
    assert len(api_block_proxy.http_events("api.openai.com")) == 1  # a 403 is not retried


def test_anthropic_sdk_gets_permission_denied_naming_the_event(api_block_proxy, upstream):
    client = anthropic_client(api_block_proxy)
    with pytest.raises(anthropic.PermissionDeniedError) as info:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=16,
                               messages=[{"role": "user", "content": "hello"}])

    error = info.value
    assert error.status_code == 403
    event_id = event_id_in_text(error.message)
    assert error.request_id == event_id
    assert error.body["error"]["type"] == "permission_error"
    event = api_block_proxy.flow_event(event_id)
    assert_blocked(event, app="app-anthropic-api", policy="test-block-anthropic-api")
    assert upstream.requests_to("api.anthropic.com") == []
    assert len(api_block_proxy.http_events("api.anthropic.com")) == 1


# --- 3. allowed traffic passes through byte for byte ------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/octet-stream", "application/json"])
def test_allowed_request_passes_byte_for_byte(proxy, upstream, content_type):
    token = secrets.token_hex(6)
    sent = os.urandom(3000) + json.dumps({"note": "bytes \u00e9\u2603", "n": 1}).encode() + os.urandom(1000)
    answer = os.urandom(5000) + b"\r\n\x00tail"
    upstream.responder = lambda req: Reply(201, (("content-type", "application/octet-stream"),
                                                 ("x-upstream-marker", token)), answer)
    with http_client(proxy) as client:
        response = client.post(f"https://upstream.test/pass/{token}?a=1&b=2", content=sent,
                               headers={"content-type": content_type})

    assert response.status_code == 201
    assert response.headers["x-upstream-marker"] == token
    assert response.content == answer
    [received] = upstream.requests_to("upstream.test")
    assert (received.method, received.path) == ("POST", f"/pass/{token}?a=1&b=2")
    assert received.body == sent
    assert received.header("content-type") == content_type
    assert int(received.header("content-length")) == len(sent)

    [event] = proxy.wait_events(lambda e: e.get("class_uid") == 4002
                                and e["http_request"]["url"].get("path") == f"/pass/{token}")
    assert (event["status_id"], event["action_id"], event["disposition_id"]) == (1, 1, 1)
    assert shadowgate(event)["decision"] == "allow"
    assert "app" not in shadowgate(event) and "app_name" not in event
    assert event["policy"]["uid"] == "policy-default"
    assert event["http_response"]["code"] == 201
    assert event["http_request"]["url"]["url_string"] == f"https://upstream.test/pass/{token}?a=<redacted>&b=<redacted>"


# --- 6. monitor mode ------------------------------------------------------------------------------


def test_monitor_mode_forwards_chatgpt_and_logs_would_block(launch, upstream):
    proxy = launch.start(mode="monitor", map_hosts=["chatgpt.com"])
    upstream.responder = lambda req: Reply(200, (("content-type", "text/html"),), b"<p>the real chatgpt</p>")

    result = curl(proxy, "https://chatgpt.com/c/abc?q=secret-ish", "-H", "Accept: text/html")

    assert result.returncode == 0, result.stderr
    assert result.status == 200
    assert result.body == b"<p>the real chatgpt</p>"
    [received] = upstream.requests_to("chatgpt.com")
    assert received.path == "/c/abc?q=secret-ish"
    [event] = proxy.wait_events(lambda e: e.get("class_uid") == 4002
                                and e["http_request"]["url"]["hostname"] == "chatgpt.com")
    assert (event["status_id"], event["action_id"]) == (1, 1)
    assert event["disposition_id"] == 17  # Logged: nothing was detected, the app alone would be blocked
    assert shadowgate(event)["decision"] == "log"
    assert shadowgate(event)["would"] == "block"
    assert shadowgate(event)["mode"] == "monitor"
    assert shadowgate(event)["app"]["id"] == "app-chatgpt"
    assert event["policy"]["uid"] == "policy-block-unsanctioned-ai-chat"
    assert event["message"].startswith("monitor: would block")
    assert event["http_response"]["code"] == 200
    assert b"secret-ish" not in proxy.raw_log()
