"""McpSessions through mitmproxy's taddons/tflow: SSE taps, tool inventories, legacy HTTP+SSE blocking.

Flows are rebuilt from the captured SDK exchanges in tests/data/mcp/, moved to a realistic MCP host.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.test import taddons
from mitmproxy.test import tflow
from mitmproxy.test import tutils

from addons import rulestore
from addons.auditlog import AuditLog
from addons.classify import Classifier
from addons.enforce import Enforcer
from addons.flowstate import get_state
from addons.jsonrpc import MAX_BODY
from addons.mcpsession import McpSessions
from addons.mcpsession import SseTap
from addons.mcpsession import split_events
from addons.mcpsession import tool_names
from addons.rules import RuleSet
from addons.rules import load_ruleset
from addons.rules import rules_fingerprint
from addons.rulestore import RuleStore
from tests.ocsf import problems as ocsf_problems

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "mcp"
HOST = "mcp.tools.test"
TOOLS = ["add", "lookup_customer"]


def scenario(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text())["exchanges"]


@pytest.fixture(scope="module")
def rules_copy(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(ROOT / "rules", target)
    return target


class Chain:
    def __init__(self, tctx, store, classifier, enforcer, sessions, audit, log_path: Path) -> None:
        self.tctx, self.store, self.classifier, self.enforcer = tctx, store, classifier, enforcer
        self.sessions, self.audit, self.log_path = sessions, audit, log_path

    def send(self, ex: dict, *, host: str = HOST, path: str | None = None) -> http.HTTPFlow:
        """Request phase of one captured exchange: classify, enforce, McpSessions.request."""
        r = ex["request"]
        body = r["body"].encode()
        request = tutils.treq(host=host, port=443, scheme=b"https", method=r["method"].encode(),
                              path=(path or r["path"]).encode(), content=body)
        request.headers.clear()
        request.headers["host"] = host
        for name, value in r["headers"].items():
            request.headers[name] = value
        if body:
            request.headers["content-length"] = str(len(body))
        flow = tflow.tflow(req=request)
        self.classifier.requestheaders(flow)
        self.enforcer.requestheaders(flow)
        if flow.response is None:
            self.enforcer.request(flow)
        self.sessions.request(flow)
        return flow

    def headers(self, flow: http.HTTPFlow, ex: dict, *, sse: bool | None = None) -> None:
        p = ex["response"]
        headers = dict(p["headers"])
        if sse or (sse is None and "event-stream" in headers.get("content-type", "")):
            headers["transfer-encoding"] = "chunked"
            flow.response = http.Response.make(p["status"], b"", headers)
            flow.response.headers.pop("content-length", None)
        else:
            flow.response = http.Response.make(p["status"], p["body"].encode(), headers)
        self.classifier.responseheaders(flow)
        self.sessions.responseheaders(flow)

    def finish(self, flow: http.HTTPFlow) -> None:
        self.sessions.response(flow)
        self.audit.response(flow)

    def exchange(self, ex: dict, **kw) -> tuple[http.HTTPFlow, bytes]:
        """A whole exchange; returns the flow and the response bytes the client received."""
        flow = self.send(ex, **kw)
        sent = b""
        if get_state(flow) is not None and flow.response is None:
            self.headers(flow, ex)
            if callable(flow.response.stream):
                sent = feed(flow, ex["response"]["body"].encode(), b"")
            else:
                sent = flow.response.raw_content or b""
        else:
            sent = flow.response.raw_content or b""
        self.finish(flow)
        return flow, sent

    def events(self) -> list[dict]:
        assert self.audit.writer is not None
        self.audit.writer.flush()
        lines = self.log_path.read_text().splitlines() if self.log_path.exists() else []
        events = [json.loads(line) for line in lines]
        for ev in events:
            assert ocsf_problems(ev) == [], ev
        return events


def feed(flow: http.HTTPFlow, *chunks: bytes) -> bytes:
    """Push chunks through the response tap as mitmproxy does; what the client would receive."""
    out = b""
    for chunk in chunks:
        result = flow.response.stream(chunk)
        assert isinstance(result, list) and b"" not in result  # an empty chunk would end a chunked body
        out += b"".join(result)
    return out


_LOADED: dict[tuple[str, str], RuleSet] = {}


def cached_load_ruleset(directory: str) -> RuleSet:
    """load_ruleset, once per rules content (loading the full shipped rules takes seconds)."""
    key = (str(directory), rules_fingerprint(Path(directory)))
    if key not in _LOADED:
        _LOADED[key] = load_ruleset(directory)
    return _LOADED[key]


@pytest.fixture
def chain(rules_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(rulestore, "load_ruleset", cached_load_ruleset)
    store = RuleStore()
    classifier = Classifier(store)
    enforcer = Enforcer(store)
    audit = AuditLog(store, enforcer)
    sessions = McpSessions(store, enforcer, audit)
    with taddons.context(store, classifier, enforcer, sessions, audit) as tctx:
        tctx.options.confdir = str(tmp_path / "certs")
        tctx.configure(audit, sg_log_file=str(tmp_path / "events.jsonl"), sg_log_flush="0.05")
        tctx.configure(store, sg_rules=str(rules_copy), sg_rules_poll="0")
        tctx.configure(enforcer, sg_fingerprint_key=str(tmp_path / "fp.key"))
        yield Chain(tctx, store, classifier, enforcer, sessions, audit, tmp_path / "events.jsonl")
        audit.done()


def mcp_lines(events: list[dict], operation: str | None = None) -> list[dict]:
    return [e for e in events if e["class_uid"] == 6003 and operation in (None, e["api"]["operation"])]


# --- pure helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "final", "blocks", "rest"),
    [
        (b"event: a\r\ndata: 1\r\n\r\nevent: b\r\nda", False, [b"event: a\r\ndata: 1\r\n\r\n"], b"event: b\r\nda"),
        (b"data: 1\n\ndata: 2\n\n", False, [b"data: 1\n\n", b"data: 2\n\n"], b""),
        (b"data: 1\r\r", False, [], b"data: 1\r\r"),  # the last CR may be half of a CRLF
        (b"data: 1\r\r", True, [b"data: 1\r\r"], b""),
        (b"data: 1\r\n\r", False, [], b"data: 1\r\n\r"),
        (b": keep-alive\r\n\r\n", False, [b": keep-alive\r\n\r\n"], b""),
        (b"", True, [], b""),
    ],
)
def test_split_events(data, final, blocks, rest):
    assert split_events(data, final) == (blocks, rest)


def test_split_events_is_linear_on_long_lines():
    start = time.monotonic()
    blocks, rest = split_events(b"data: " + b"x" * (4 << 20))
    many, _ = split_events(b"data: 1\n\n" * 200_000)
    assert (blocks, len(rest), len(many)) == ([], (4 << 20) + 6, 200_000)
    assert time.monotonic() - start < 2.0


def test_tool_names_are_bounded_and_tolerant():
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "a"}, {"name": "a"}, {"x": 1},
                                                                       "junk", {"name": "b" * 300}]}})
    assert tool_names(body) == ("a", "b" * 128)
    assert tool_names(b'{"result": {"tools": [{"name": "cut') == ()
    assert len(tool_names(json.dumps({"result": {"tools": [{"name": f"t{i}"} for i in range(500)]}}))) == 128
    assert tool_names(b"not json") == () and tool_names(b"[]") == () and tool_names(b'{"result": 1}') == ()


# --- legacy HTTP+SSE ---------------------------------------------------------------------------------


def open_legacy_stream(chain: Chain, name: str = "legacy_sse_v1.json") -> tuple[list[dict], http.HTTPFlow, bytes]:
    exchanges = scenario(name)
    stream = exchanges[0]
    get = chain.send(stream)
    chain.headers(get, stream)
    assert isinstance(get.response.stream, SseTap)
    endpoint = stream["response"]["body"].encode().split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    assert feed(get, endpoint) == endpoint
    m = get_state(get).facts.mcp
    assert m.is_mcp and m.generation == "legacy-sse" and m.session_id in chain.sessions.streams
    return exchanges, get, endpoint


def stream_event(ex: dict, request_id: int) -> bytes:
    """The captured GET-stream event that answers request_id."""
    for block in split_events(ex["response"]["body"].encode())[0]:
        if f'"id":{request_id},' in block.decode():
            return block
    raise AssertionError(request_id)


def test_legacy_sse_results_are_logged_and_a_blocked_call_becomes_an_error_event(chain):
    exchanges, get, _ = open_legacy_stream(chain)
    stream = exchanges[0]
    for ex in exchanges[1:3]:  # initialize, notifications/initialized
        flow, _ = chain.exchange(ex)
        assert flow.response.status_code == 202
    listing, _ = chain.exchange(exchanges[3])  # tools/list: logged, answered on the stream
    call = chain.send(exchanges[4])  # tools/call add: blocked by the shipped policy
    assert call.response is None, "the blocked legacy call must go upstream (as a ping), not be answered"
    assert json.loads(call.request.content) == {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    call.response = http.Response.make(202, b"Accepted", {})
    chain.finish(call)

    listed = stream_event(stream, 1)
    assert feed(get, listed) == listed  # untouched, forwarded at once
    pong = b'event: message\r\ndata: {"jsonrpc":"2.0","id":2,"result":{}}\r\n\r\n'
    replaced = feed(get, pong[:7], pong[7:30], pong[30:-1], pong[-1:])
    event_id = call.metadata["sg"]["event_id"]
    events = chain.events()
    blocked_line = next(e for e in events if e["class_uid"] == 4002 and e["metadata"]["uid"] == event_id)
    assert blocked_line["unmapped"]["shadowgate"]["mcp"]["method"] == "tools/call"
    assert blocked_line["status_id"] == 2 and blocked_line["unmapped"]["shadowgate"]["decision"] == "block"
    name, data = split_events(replaced)[0][0].split(b"\n", 1)
    assert name == b"event: message"
    error = json.loads(data.removeprefix(b"data: "))
    assert error["id"] == 2 and event_id in error["error"]["message"]
    assert error["error"]["data"]["event_id"] == event_id
    assert error["error"]["data"]["policy"] == "policy-block-shadow-mcp-tool-calls"

    results = [e for e in mcp_lines(events, "tools/list") if "result" in e["unmapped"]["shadowgate"]["mcp"]]
    assert len(results) == 1
    result = results[0]
    assert result["unmapped"]["shadowgate"]["mcp"]["tools"] == TOOLS
    assert result["unmapped"]["shadowgate"]["mcp"]["result"] == {"is_error": False}
    assert result["metadata"]["correlation_uid"] == listing.id
    assert result["unmapped"]["shadowgate"]["event_id"] == listing.metadata["sg"]["event_id"]
    call_lines = mcp_lines(events, "tools/call")
    assert [e["resources"][0]["name"] for e in call_lines] == ["add"]
    assert call_lines[0]["unmapped"]["shadowgate"]["mcp"]["decision"] == "block"

    end = feed(get, b"")
    assert end == b""
    chain.finish(get)
    assert get_state(get) is None and not chain.sessions.streams and not chain.sessions.calls
    stream_line = [e for e in chain.events() if e["class_uid"] == 4002 and e["http_request"]["url"]["path"] == "/sse"]
    assert stream_line[0]["unmapped"]["shadowgate"]["mcp"]["transport"] == "legacy-sse"


def test_legacy_sse_allowed_call_result_is_logged_and_bytes_pass_unchanged(chain, tmp_path):
    text = (Path(chain.tctx.options.sg_rules) / "policies" / "settings.yaml").read_text()
    text = text.replace("approved_mcp_portals: []", f"approved_mcp_portals: [{HOST}]")
    copy = tmp_path / "rules"
    shutil.copytree(chain.tctx.options.sg_rules, copy)
    (copy / "policies" / "settings.yaml").write_text(text)
    chain.tctx.configure(chain.store, sg_rules=str(copy))
    exchanges, get, endpoint = open_legacy_stream(chain)
    stream = exchanges[0]
    for ex in exchanges[1:]:
        flow, _ = chain.exchange(ex)
        assert json.loads(flow.request.content)["method"] == json.loads(ex["request"]["body"])["method"]
    rest = stream["response"]["body"].encode()[len(endpoint):]
    cuts = [0, 3, 50, 51, 400, 401, len(rest) - 2, len(rest)]  # across events and inside CRLFs
    sent = feed(get, *(rest[a:b] for a, b in zip(cuts, cuts[1:], strict=False)), b"")
    assert sent == rest
    chain.finish(get)
    calls = [e for e in mcp_lines(chain.events(), "tools/call") if "result" in e["unmapped"]["shadowgate"]["mcp"]]
    assert [(e["resources"][0]["name"], e["unmapped"]["shadowgate"]["mcp"]["result"]["is_error"]) for e in calls] == [
        ("add", False), ("lookup_customer", False), ("no_such_tool", True)]
    assert all(e["unmapped"]["shadowgate"]["decision"] == "log" for e in calls)


def test_blocked_legacy_call_without_a_known_stream_is_answered_in_the_post(chain):
    call = chain.send(scenario("legacy_sse_v1.json")[4])
    assert call.response is not None and call.response.status_code == 200
    body = json.loads(call.response.content)
    assert body["id"] == 2 and body["error"]["data"]["policy"] == "policy-block-shadow-mcp-tool-calls"
    assert json.loads(call.request.content)["method"] == "tools/call"  # nothing rewritten
    chain.finish(call)


def test_monitor_mode_does_not_rewrite(chain):
    chain.tctx.configure(chain.enforcer, sg_mode="monitor")
    exchanges, get, _ = open_legacy_stream(chain)
    call = chain.send(exchanges[4])
    assert call.response is None and json.loads(call.request.content)["method"] == "tools/call"


def test_generic_sse_feed_on_an_mcp_looking_url_passes_untouched(chain):
    ex = {"request": {"method": "GET", "path": "/sse", "headers": {"accept": "text/event-stream"}, "body": ""},
          "response": {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": ""}}
    flow = chain.send(ex)
    chain.headers(flow, ex)
    assert isinstance(flow.response.stream, SseTap)
    first = b"id: 1\ndata: {\"price\":42}\n\n"
    assert feed(flow, first[:5]) == b""  # the first event decides; its bytes wait until it is complete
    assert feed(flow, first[5:] + b"data: {\"pri") == first + b"data: {\"pri"
    assert feed(flow, b"ce\":43}\n\n", b"") == b"ce\":43}\n\n"
    assert not get_state(flow).facts.mcp.is_mcp
    chain.finish(flow)
    assert mcp_lines(chain.events()) == []


def test_tap_failure_forwards_the_original_bytes(chain, monkeypatch):
    exchanges, get, _ = open_legacy_stream(chain)
    monkeypatch.setattr(chain.sessions, "legacy_result", lambda *a: 1 / 0)
    event = stream_event(exchanges[0], 1)
    assert feed(get, event[:10]) == b""
    assert feed(get, event[10:]) == event
    assert feed(get, b"more") == b"more"


# --- Streamable HTTP ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["legacy_streamable_v1.json", "legacy_streamable_v2.json"])
def test_streamable_sse_tools_list_is_logged_with_tool_names_and_streams_untouched(chain, name):
    exchanges = scenario(name)
    init, _ = chain.exchange(exchanges[0])
    assert get_state(init) is None  # logged
    listing = next(ex for ex in exchanges if '"tools/list"' in ex["request"]["body"])
    flow = chain.send(listing)
    chain.headers(flow, listing)
    body = listing["response"]["body"].encode()
    for chunk in (body[:9], body[9:200], body[200:]):  # every chunk is forwarded at once, as it came
        assert flow.response.stream(chunk) == [chunk]
    assert flow.response.stream(b"") == []
    assert get_state(flow).mcp_tools == tuple(TOOLS)
    chain.finish(flow)
    events = chain.events()
    (line,) = mcp_lines(events, "tools/list")
    assert line["unmapped"]["shadowgate"]["mcp"]["tools"] == TOOLS
    (first,) = mcp_lines(events, "initialize")
    assert first["unmapped"]["shadowgate"]["mcp"]["transport"] == "legacy-streamable"


@pytest.mark.parametrize("name", ["legacy_streamable_v1_json.json", "modern_streamable.json"])
def test_json_responses_give_tool_names_and_server_info(chain, name):
    exchanges = scenario(name)
    first, _ = chain.exchange(exchanges[0])
    listing = next(ex for ex in exchanges if '"tools/list"' in ex["request"]["body"])
    flow, sent = chain.exchange(listing)
    assert sent == listing["response"]["body"].encode()
    events = chain.events()
    (line,) = mcp_lines(events, "tools/list")
    assert line["unmapped"]["shadowgate"]["mcp"]["tools"] == TOOLS
    opening = next(e for e in mcp_lines(events) if e["metadata"]["correlation_uid"] == first.id)
    assert "mcp-result-server-info" in opening["unmapped"]["shadowgate"]["mcp"]["signals"]
    blocked, sent = chain.exchange(next(ex for ex in exchanges if '"tools/call"' in ex["request"]["body"]))
    assert json.loads(sent)["error"]["data"]["policy"] == "policy-block-shadow-mcp-tool-calls"
    (call,) = [e for e in chain.events() if e["class_uid"] == 4002 and e["status_id"] == 2]
    assert "tools" not in call["unmapped"]["shadowgate"]["mcp"]


def test_non_mcp_json_is_left_alone(chain):
    ex = {"request": {"method": "POST", "path": "/v3/key", "headers": {"content-type": "application/json"},
                      "body": '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}'},
          "response": {"status": 200, "headers": {"content-type": "application/json"},
                       "body": '{"jsonrpc":"2.0","id":1,"result":"0x10"}'}}
    flow, sent = chain.exchange(ex, host="mainnet.infura.io")
    assert sent == ex["response"]["body"].encode()
    events = chain.events()
    assert mcp_lines(events) == [] and "mcp" not in events[-1]["unmapped"]["shadowgate"]


def test_an_oversized_event_releases_the_stream_and_later_blocks_answer_in_the_post(chain):
    exchanges, get, _ = open_legacy_stream(chain)
    huge = b"event: message\r\ndata: " + b"x" * (MAX_BODY + 10)
    assert feed(get, huge[:100]) == b""
    assert feed(get, huge[100:]) == huge  # released as it came, nothing lost
    assert feed(get, b"\r\n\r\n") == b"\r\n\r\n" and not chain.sessions.streams
    call = chain.send(exchanges[4])
    assert call.response is not None and json.loads(call.response.content)["error"]["data"]["event_id"]


def test_stream_recognised_as_mcp_on_its_first_event_is_decided_again(chain):
    _, get, _ = open_legacy_stream(chain)
    state = get_state(get)
    assert state.decision.policy_id == "policy-log-shadow-mcp"  # not policy-default, as at header time
    assert "decided-on-response" not in state.notes  # a log decision does not cut the stream
    feed(get, b"")
    chain.finish(get)
    line = [e for e in chain.events() if e["class_uid"] == 4002 and e["http_request"]["url"]["path"] == "/sse"][0]
    assert line["policy"]["uid"] == "policy-log-shadow-mcp"
    assert [e["api"]["operation"] for e in mcp_lines(chain.events())] == ["stream/open"]
