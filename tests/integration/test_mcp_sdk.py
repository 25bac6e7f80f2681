"""Issue "shadow MCP": the official `mcp` SDK (2.3.0 in .venv, 1.30.0 in .venv-mcp1) through a real proxy.

A real MCP server (tests/mcp_sdk/server_app.py, mcp 2.x: dual-era, Streamable HTTP + legacy HTTP+SSE)
listens on loopback over HTTPS and is reached as https://mcp.tools.test; real SDK clients connect
through the proxy with only HTTPS_PROXY and SSL_CERT_FILE. Every log line is checked against OCSF.
False positives: JSON-RPC look-alikes and other SSE streams sent through the same proxy.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.integration.clients import anthropic_client
from tests.integration.clients import event_id_in_text
from tests.integration.clients import http_client
from tests.integration.mcp_harness import MCP_HOST
from tests.integration.mcp_harness import PYTHON_V1
from tests.integration.mcp_harness import PYTHON_V2
from tests.integration.mcp_harness import STEP_TIMEOUT
from tests.integration.mcp_harness import ClientRun
from tests.integration.mcp_harness import McpServer
from tests.integration.mcp_harness import approve_mcp_host
from tests.integration.mcp_harness import has_v1
from tests.integration.mcp_harness import run_client
from tests.integration.mcp_harness import start_mcp_proxy
from tests.integration.mcp_harness import start_mcp_server
from tests.integration.proxy import SHADOWGATE
from tests.integration.proxy import Proxy
from tests.integration.upstream import Received
from tests.integration.upstream import Reply
from tests.integration.upstream import json_reply
from tests.ocsf import problems

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("mcp-sdk")]

TOOLS = ["add", "lookup_customer"]
MCP_POLICIES = ("policy-log-shadow-mcp", "policy-allow-approved-mcp-portals")
V1_MISSING = "mcp 1.x client needs .venv-mcp1 (scripts/test creates it: sg_ensure_mcp1_venv in scripts/_env.sh)"
HAVE_V1 = has_v1()

# (id, client python, transport, mcp 2.x mode, URL path, the generation shadowgate must log)
CLIENTS = [
    pytest.param(PYTHON_V2, "streamable", "auto", "/mcp", "modern", id="mcp2-streamable-modern"),
    pytest.param(PYTHON_V2, "streamable", "legacy", "/mcp", "legacy-streamable", id="mcp2-streamable-legacy"),
    pytest.param(PYTHON_V2, "sse", "legacy", "/sse", "legacy-sse", id="mcp2-sse"),
    pytest.param(PYTHON_V1, "streamable", "auto", "/mcp", "legacy-streamable", id="mcp1-streamable",
                 marks=pytest.mark.skipif(not HAVE_V1, reason=V1_MISSING)),
    pytest.param(PYTHON_V1, "sse", "auto", "/sse", "legacy-sse", id="mcp1-sse",
                 marks=pytest.mark.skipif(not HAVE_V1, reason=V1_MISSING)),
]


@pytest.fixture(scope="module")
def mcp_server(pki, tmp_path_factory) -> Iterator[McpServer]:
    server = start_mcp_server(PYTHON_V2, pki, tmp_path_factory.mktemp("mcp-server") / "stderr.txt")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mcp_proxy(module_launch, mcp_server) -> Proxy:
    """The shipped rules: mcp.tools.test is not an approved MCP portal."""
    return start_mcp_proxy(module_launch, mcp_server)


@pytest.fixture(scope="module")
def approved_proxy(module_launch, mcp_server) -> Proxy:
    """The shipped rules with mcp.tools.test on settings.yaml's approved_mcp_portals."""
    return start_mcp_proxy(module_launch, mcp_server, approve_mcp_host(module_launch.rules()))


# --- helpers ---------------------------------------------------------------------------------------


def sg(event: dict) -> dict:
    return event["unmapped"]["shadowgate"]


def new_events(proxy: Proxy, since: int) -> list[dict]:
    events = proxy.events()[since:]
    for event in events:
        assert problems(event) == [], (problems(event), event)
    return events


def settle(proxy: Proxy, since: int, transport: str, timeout: float = 5.0) -> list[dict]:
    """The lines of one client session once complete: an SSE session's GET stream is logged when it ends."""
    deadline = time.monotonic() + timeout
    while True:
        events = new_events(proxy, since)
        streams = [e for e in events if e["class_uid"] == 4002 and e["http_request"]["url"]["path"] == "/sse"]
        if transport != "sse" or streams or time.monotonic() > deadline:
            return events
        time.sleep(0.05)


def wait_new(proxy: Proxy, since: int, predicate, timeout: float = 5.0) -> dict:
    """The one line written after `since` that matches."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in new_events(proxy, since) if predicate(e)]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, f"expected one matching line, found {len(found)}: {found}"
            return found[0]
        time.sleep(0.05)


def session_ok(run: ClientRun, call_ok: bool) -> None:
    """connect, tools/list, tools/call (ok or refused), tools/list again on the same session, close."""
    assert run.step("connect")["ok"], run.steps
    assert run.step("connect")["server"] == "sg-test-server-v2"
    for index in (0, 1):
        listing = run.step("list", index)
        assert listing == {"step": "list", "ok": True, "tools": TOOLS}, (listing, run.stderr[-2000:])
    assert run.step("call")["ok"] is call_ok, run.steps
    assert run.step("close")["ok"], run.steps
    assert run.seconds < STEP_TIMEOUT, f"the session took {run.seconds:.1f}s: a step waited for its timeout"


def mcp_lines(events: list[dict], operation: str) -> list[dict]:
    return [e for e in events if e["class_uid"] == 6003 and e["api"]["operation"] == operation]


def check_session_lines(events: list[dict], generation: str, decision: str) -> None:
    """Detected from its first request; both tools/list calls logged with the tool names."""
    flows = sorted((e for e in events if e["class_uid"] == 4002), key=lambda e: e["time"])
    assert flows and all(e["http_request"]["url"]["hostname"] == MCP_HOST for e in flows)
    assert all("mcp" in sg(e) for e in flows), [e["http_request"]["url"]["path"] for e in flows if "mcp" not in sg(e)]
    first = sg(flows[0])["mcp"]
    assert first["transport"] == generation, first
    if generation == "legacy-sse":  # GET /sse, recognised by its `endpoint` event; then POSTs to /messages/
        assert flows[0]["http_request"]["http_method"] == "GET" and first["session_id"]
        flows = flows[1:]
    opening = sg(flows[0])["mcp"]
    assert opening["method"] == ("server/discover" if generation == "modern" else "initialize"), opening
    assert flows[0]["policy"]["uid"] in MCP_POLICIES, "the first request was not decided as MCP"
    listed = [e for e in mcp_lines(events, "tools/list") if sg(e)["mcp"].get("tools")]
    assert len(listed) == 2, json.dumps(mcp_lines(events, "tools/list"), indent=1)[:3000]
    for event in listed:
        assert sg(event)["mcp"]["tools"] == TOOLS
        assert sg(event)["mcp"]["transport"] == generation
        assert sg(event)["decision"] == decision and event["status_id"] == 1
        assert event["api"]["service"] == {"name": MCP_HOST}
        # legacy HTTP+SSE: the names arrive on the GET stream after the POST was answered (202)
        assert ("result" in sg(event)["mcp"]) is (generation == "legacy-sse")


# --- the acceptance ------------------------------------------------------------------------------


@pytest.mark.parametrize(("python", "transport", "mode", "path", "generation"), CLIENTS)
def test_unapproved_server_tool_call_is_blocked_and_the_session_goes_on(mcp_proxy, python, transport, mode, path,
                                                                       generation):
    since = len(mcp_proxy.events())
    run = run_client(python, mcp_proxy, f"https://{MCP_HOST}{path}", transport=transport, mode=mode)
    session_ok(run, call_ok=False)
    error = run.step("call")["error"]
    assert run.step("call")["error_type"] in ("McpError", "MCPError"), run.step("call")
    assert "This MCP server is not approved" in error
    event_id = event_id_in_text(error)

    blocked = mcp_proxy.flow_event(event_id)
    assert problems(blocked) == []
    assert (blocked["status_id"], blocked["action_id"], blocked["disposition_id"]) == (2, 2, 2)
    assert blocked["policy"]["uid"] == "policy-block-shadow-mcp-tool-calls"
    assert blocked["http_request"]["url"]["hostname"] == MCP_HOST
    mcp = sg(blocked)["mcp"]
    assert (mcp["method"], mcp["tool"], mcp["transport"], mcp["decision"]) == ("tools/call", "add", generation, "block")
    if generation == "legacy-sse":  # the tool never ran: the POST went upstream as a ping, answered 202
        assert blocked["http_response"]["code"] == 202
        assert blocked["http_request"]["length"] == len(json.dumps({"jsonrpc": "2.0", "id": int(mcp["jsonrpc_id"]),
                                                                    "method": "ping"}))

    events = settle(mcp_proxy, since, transport)
    (call,) = [e for e in mcp_lines(events, "tools/call") if sg(e)["event_id"] == event_id]
    assert call["resources"] == [{"type": "MCP Tool", "name": "add", "uid": f"{MCP_HOST}/add"}]
    assert (call["status_id"], call["action_id"], call["disposition_id"]) == (2, 2, 2)
    assert sg(call)["mcp"]["decision"] == "block" and call["policy"]["uid"] == blocked["policy"]["uid"]
    assert len(mcp_lines(events, "tools/call")) == 1  # no result line for a blocked legacy call
    check_session_lines(events, generation, "log")


@pytest.mark.parametrize(("python", "transport", "mode", "path", "generation"), CLIENTS)
def test_approved_server_tool_call_succeeds_and_is_logged(approved_proxy, python, transport, mode, path,
                                                          generation):
    since = len(approved_proxy.events())
    run = run_client(python, approved_proxy, f"https://{MCP_HOST}{path}", transport=transport, mode=mode)
    session_ok(run, call_ok=True)
    assert run.step("call") == {"step": "call", "ok": True, "tool": "add", "is_error": False, "text": "5"}
    events = settle(approved_proxy, since, transport)
    assert all(e["status_id"] == 1 for e in events if e["class_uid"] in (4002, 6003))
    calls = mcp_lines(events, "tools/call")
    assert len(calls) == (2 if generation == "legacy-sse" else 1)  # legacy: + the result from the stream
    for call in calls:
        assert call["resources"] == [{"type": "MCP Tool", "name": "add", "uid": f"{MCP_HOST}/add"}]
        assert sg(call)["mcp"]["decision"] == "log" and call["policy"]["uid"] == "policy-allow-approved-mcp-portals"
    if generation == "legacy-sse":
        assert [sg(c)["mcp"].get("result") for c in calls].count({"is_error": False}) == 1
    check_session_lines(events, generation, "log")


def test_inventory_from_the_proxy_log(mcp_proxy):
    """`shadowgate mcp-inventory` over what the sessions above logged."""
    done = subprocess.run([str(SHADOWGATE), "mcp-inventory", str(mcp_proxy.log_path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    inventory = json.loads(done.stdout)
    servers = {s["host"]: s for s in inventory["servers"]}
    if MCP_HOST not in servers:
        pytest.skip("no MCP session ran on this proxy (tests deselected)")
    server = servers[MCP_HOST]
    calls = [e for e in mcp_proxy.events() if e["class_uid"] == 6003 and e["api"]["operation"] == "tools/call"]
    tools = {t["name"]: t for t in server["tools"]}
    assert tools["lookup_customer"]["offered"] and tools["add"]["offered"]
    assert tools["add"]["calls"] == tools["add"]["blocked"] == len(calls) > 0
    assert "sg-test-server-v2" in server["server_names"]
    assert {"127.0.0.1"} == {u["who"] for u in server["users"]}
    assert server["paths"] and set(server["generations"]) <= {"modern", "legacy-streamable", "legacy-sse"}


# --- false positives -------------------------------------------------------------------------------

ETH = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
LSP = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
       "params": {"processId": 4242, "rootUri": "file:///src/app", "clientInfo": {"name": "vscode", "version": "1.99"},
                  "capabilities": {"textDocument": {"hover": {}}, "workspace": {"workspaceFolders": True}},
                  "trace": "off", "workspaceFolders": [{"uri": "file:///src/app", "name": "app"}]}}
A2A = {"jsonrpc": "2.0", "id": "t1", "method": "tasks/get", "params": {"id": "task-42", "historyLength": 10}}
FEED = b": stream of prices\n\n" + b"".join(b'id: %d\nevent: price\ndata: {"price": %d,\ndata:  "unit": "EUR"}\n\n'
                                             % (i, 40 + i) for i in range(5))
ANTHROPIC_STREAM = [
    ("message_start", {"type": "message_start", "message": {
        "id": "msg_sgtest0001", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-6",
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0,
                             "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "Hello from "}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "the stream."}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                       "usage": {"output_tokens": 7}}),
    ("message_stop", {"type": "message_stop"}),
]


def lookalike_responder(req: Received) -> Reply:
    path = req.path.split("?", 1)[0]
    if path == "/v1/messages":
        body = b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in ANTHROPIC_STREAM)
        return Reply(200, (("content-type", "text/event-stream"),), body)
    if path == "/sse":
        return Reply(200, (("content-type", "text/event-stream"), ("cache-control", "no-cache")), FEED)
    request = req.json()
    results = {"eth_blockNumber": "0x13a5f2c",
               "initialize": {"capabilities": {"hoverProvider": True}, "serverInfo": {"name": "pyright"}},
               "tasks/get": {"id": "task-42", "contextId": "c1", "kind": "task", "status": {"state": "completed"}}}
    return json_reply({"jsonrpc": "2.0", "id": request["id"], "result": results[request["method"]]})


def post_json(proxy: Proxy, url: str, body: dict) -> bytes:
    with http_client(proxy) as client:
        reply = client.post(url, json=body, headers={"accept": "application/json"})
    assert reply.status_code == 200, reply.text
    return reply.content


def get_feed(proxy: Proxy, url: str) -> bytes:
    with http_client(proxy) as client, client.stream("GET", url, headers={"accept": "text/event-stream"}) as reply:
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
        return b"".join(reply.iter_raw())


def anthropic_stream(proxy: Proxy, url: str) -> bytes:
    with anthropic_client(proxy) as client:
        stream = client.messages.create(model="claude-sonnet-4-6", max_tokens=64, stream=True,
                                        messages=[{"role": "user", "content": "Say hello."}])
        text = "".join(e.delta.text for e in stream if e.type == "content_block_delta")
    assert text == "Hello from the stream."
    return text.encode()


LOOKALIKES = [
    pytest.param("https://upstream.test/v3/sgtest", lambda p, u: post_json(p, u, ETH), id="ethereum-json-rpc"),
    pytest.param("https://upstream.test/lsp", lambda p, u: post_json(p, u, LSP), id="lsp-initialize"),
    pytest.param("https://upstream.test/a2a", lambda p, u: post_json(p, u, A2A), id="a2a-tasks-get"),
    pytest.param("https://upstream.test/sse", get_feed, id="generic-sse-feed"),
    pytest.param("https://api.anthropic.com/v1/messages", anthropic_stream, id="anthropic-streaming"),
]


@pytest.mark.parametrize(("url", "send"), LOOKALIKES)
def test_lookalikes_are_not_classified_as_mcp(mcp_proxy, upstream, url, send):
    upstream.responder = lookalike_responder
    since = len(mcp_proxy.events())
    received = send(mcp_proxy, url)
    if send is get_feed:
        assert received == FEED  # streamed through untouched
    host, path = url.split("/")[2], "/" + url.split("/", 3)[3]
    line = wait_new(mcp_proxy, since, lambda e: e["class_uid"] == 4002 and e["http_request"]["url"]["hostname"] == host
                    and e["http_request"]["url"]["path"] == path)
    assert problems(line) == []
    assert "mcp" not in sg(line), sg(line).get("mcp")
    assert line["status_id"] == 1 and sg(line)["decision"] in ("allow", "log")
    assert [e for e in new_events(mcp_proxy, since) if e["class_uid"] == 6003] == []
    assert len(upstream.requests_to(host)) == 1
