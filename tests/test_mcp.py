"""Tests for addons/mcp.py, addons/mcprules.py and addons/jsonrpc.py (shadow-MCP detection).

Captured SDK exchanges live in tests/data/mcp/*.json (trimmed copies of the reference captures).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from addons.jsonrpc import MAX_BODY
from addons.jsonrpc import SseBuffer
from addons.jsonrpc import analyze_body
from addons.jsonrpc import parse_jsonrpc
from addons.jsonrpc import parse_sse_events
from addons.mcp import LegacySessions
from addons.mcp import McpSignatures
from addons.mcp import build_mcp
from addons.mcp import describe
from addons.mcprules import parse_exchange
from addons.model import McpMatch
from addons.ruleyaml import Problems
from addons.ruleyaml import read_rule_files

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "mcp"
DATA = Path(__file__).resolve().parent / "data" / "mcp"


def load_rules(directory: Path = RULES) -> tuple[McpSignatures, list[str]]:
    problems = Problems()
    files = read_rule_files(directory, "signals", problems, "rules/mcp")
    return build_mcp(files, problems), problems.items


@pytest.fixture(scope="module")
def sig() -> McpSignatures:
    signatures, problems = load_rules()
    assert problems == []
    return signatures


def scenario(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text())["exchanges"]


def run(sig: McpSignatures, ex: dict) -> tuple[McpMatch, McpMatch, McpMatch]:
    """(header time, with body, after the response) for one captured exchange."""
    r, p = ex["request"], ex["response"]
    kw = dict(method=r["method"], host=r["host"], path=r["path"], headers=r["headers"])
    head = sig.match_request(**kw, body=None)
    body = sig.match_request(**kw, body=r["body"].encode())
    resp = sig.match_response(
        request=body, status=p["status"], headers=p["headers"], first_bytes=p["body"].encode()
    )
    return head, body, resp


def ids(m: McpMatch) -> set[str]:
    return {s.id for s in m.signals}


# --- shipped rules ---------------------------------------------------------------------------


def test_shipped_rules_load_and_examples_pass(sig):
    assert sig.threshold == 50
    assert len(sig.signals) >= 30
    servers = {(s.host, s.path) for spec in sig.signals for s in spec.servers}
    assert len(servers) >= 100


def _record_examples():
    for path in sorted(RULES.glob("*.yaml")):
        problems = Problems()
        for rf in read_rule_files(RULES, "signals", problems, "rules/mcp"):
            if not rf.path.endswith(path.name):
                continue
            for record in rf.records:
                for key in ("match", "no_match"):
                    for i, text in enumerate(record["examples"][key]):
                        yield pytest.param(record["id"], key == "match", text, id=f"{record['id']}-{key}-{i}")


@pytest.mark.parametrize(("signal", "fires", "text"), list(_record_examples()))
def test_each_signal_on_and_off(sig, signal, fires, text):
    x = parse_exchange(text)
    m = sig.match_request(method=x.method, host=x.host, path=x.path, headers=x.headers, body=x.body)
    if x.status is not None:
        m = sig.match_response(
            request=m, status=x.status, headers=x.response_headers, first_bytes=x.response_body
        )
    assert (signal in ids(m)) is fires


def test_every_kind_is_used(sig):
    from addons.mcprules import KINDS

    assert {s.kind for s in sig.signals} == set(KINDS)


# --- captured SDK exchanges, per protocol generation -------------------------------------------


def test_modern_2026_07_28_classifies_at_header_time(sig):
    exchanges = scenario("modern_streamable.json")
    for ex in exchanges:
        head, body, resp = run(sig, ex)
        assert head.is_mcp and body.is_mcp and resp.is_mcp
        assert head.generation == body.generation == resp.generation == "modern"
        assert head.protocol_version == "2026-07-28"
        assert head.session_id is None
        assert {"mcp-header-protocol-version", "mcp-header-method"} <= ids(head)
        assert {"mcp-jsonrpc-modern-meta", "mcp-jsonrpc-envelope"} <= ids(body)
        assert {"mcp-result-type", "mcp-result-server-info"} <= ids(resp)
        assert body.client_name == "capture-client-v2" and resp.server_name == "demo-server-v2"
    discover = run(sig, exchanges[0])
    assert discover[0].method == "server/discover" and "mcp-jsonrpc-modern-methods" in ids(discover[1])
    head, body, _ = run(sig, exchanges[3])
    assert head.method == "tools/call" and head.tool == "lookup_customer"  # from Mcp-Method / Mcp-Name
    assert body.request_id == 4 and body.tool == "lookup_customer"


@pytest.mark.parametrize(
    "name", ["legacy_streamable_v1.json", "legacy_streamable_v1_json.json", "legacy_streamable_v2.json"]
)
def test_legacy_streamable_handshake_session_get_and_delete(sig, name):
    exchanges = scenario(name)
    head, body, resp = run(sig, exchanges[0])  # initialize: no MCP header yet, so the body decides
    assert not head.is_mcp and body.is_mcp
    assert body.method == "initialize" and body.protocol_version == "2025-11-25"
    assert "mcp-jsonrpc-initialize-params" in ids(body)
    assert resp.session_id == exchanges[0]["response"]["headers"]["mcp-session-id"]
    assert {"mcp-response-session-id", "mcp-result-server-info"} <= ids(resp)
    assert resp.server_name and resp.generation == "legacy-streamable"
    for ex in exchanges[1:]:
        head, body, resp = run(sig, ex)
        assert head.is_mcp, ex["request"]["method"]  # MCP headers: classified before any body
        assert head.session_id == ex["request"]["headers"]["mcp-session-id"]
        assert head.generation == body.generation == "legacy-streamable"
    methods = [e["request"]["method"] for e in exchanges]
    assert "GET" in methods and methods[-1] == "DELETE"


def test_v1_key_order_and_id_zero(sig):
    ex = scenario("legacy_streamable_v1.json")[0]
    assert ex["request"]["body"].startswith('{"method":"initialize"')
    _, body, _ = run(sig, ex)
    assert body.request_id == 0 and body.client_name == "capture-client-v1"


@pytest.mark.parametrize("name", ["legacy_sse_v1.json", "legacy_sse_ts.json"])
def test_legacy_http_sse_stream_and_posts_share_the_session(sig, name):
    exchanges = scenario(name)
    stream = exchanges[0]
    head, _, resp = run(sig, stream)
    assert stream["request"]["method"] == "GET" and not head.is_mcp  # unknown host: wait for the stream
    assert resp.is_mcp and resp.generation == "legacy-sse" and "mcp-sse-endpoint" in ids(resp)
    session = resp.session_id
    assert session and stream["request"]["path"] == "/sse"
    for ex in exchanges[1:]:
        _, body, post = run(sig, ex)
        assert body.is_mcp and body.generation == "legacy-sse" and body.session_id == session
        assert ex["response"]["status"] == 202 and post.is_mcp


def test_legacy_sse_results_on_the_stream_are_attributed(sig):
    exchanges = scenario("legacy_sse_v1.json")
    sessions = LegacySessions()
    stream = run(sig, exchanges[0])[2]
    for ex in exchanges[1:]:
        sessions.note_call(run(sig, ex)[1])
    attributed = []
    for event, data in parse_sse_events(exchanges[0]["response"]["body"].encode()):
        if event == "message" and (hit := sessions.attribute(stream.session_id, data)):
            call, result = hit
            attributed.append((call.method, call.tool, result.tool_error))
    assert ("tools/call", "lookup_customer", False) in attributed
    assert ("tools/call", "no_such_tool", True) in attributed
    assert ("initialize", None, False) in attributed
    assert sessions.attribute("other-session", '{"jsonrpc":"2.0","id":2,"result":{}}') is None


def test_ts_sdk_sends_protocol_version_on_legacy_sse_posts(sig):
    post = scenario("legacy_sse_ts.json")[2]
    head, _, _ = run(sig, post)
    assert head.is_mcp and head.generation == "legacy-sse" and head.protocol_version == "2025-11-25"


def test_modern_probe_rejected_by_legacy_server_then_fallback(sig):
    exchanges = scenario("fallback_probe.json")
    _, body, resp = run(sig, exchanges[0])
    assert exchanges[0]["response"]["status"] == 400 and body.is_mcp and resp.is_mcp
    _, body, resp = run(sig, exchanges[1])
    assert body.method == "initialize" and resp.generation == "legacy-streamable"


def test_oauth_challenge_needs_mcp_evidence(sig):
    exchanges = scenario("oauth_401.json")
    _, _, resp = run(sig, exchanges[0])
    assert exchanges[0]["response"]["status"] == 401 and "mcp-oauth-challenge" in ids(resp)
    detail = next(s.detail for s in resp.signals if s.id == "mcp-oauth-challenge")
    assert "127.0.0.1" not in detail
    prm = run(sig, exchanges[1])[2]
    assert not prm.is_mcp
    generic = sig.match_response(
        request=sig.match_request(
            method="GET", host="api.corp.example", path="/v2/users", headers={}, body=None
        ),
        status=401,
        headers={"www-authenticate": 'Bearer resource_metadata="https://api.corp.example/.well-known/x"'},
        first_bytes=b"",
    )
    assert "mcp-oauth-challenge" not in ids(generic)


# --- request shapes ------------------------------------------------------------------------------


def test_body_less_get_and_delete_with_session_header(sig):
    for method in ("GET", "DELETE"):
        for body in (None, b""):
            m = sig.match_request(
                method=method, host="10.1.2.3", path="/mcp", headers={"mcp-session-id": "abc123"}, body=body
            )
            assert m.is_mcp and m.session_id == "abc123" and m.generation == "legacy-streamable"


def test_get_sse_on_known_server_classifies_without_body(sig):
    m = sig.match_request(
        method="GET", host="mcp.linear.app", path="/sse", headers={"accept": "text/event-stream"}, body=None
    )
    assert m.is_mcp and "mcp-known-server" in ids(m)
    browser = sig.match_request(
        method="GET", host="mcp.linear.app", path="/", headers={"accept": "text/html"}, body=None
    )
    assert not browser.is_mcp


def test_modern_meta_version_without_any_header(sig):
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    params = {"name": "add", "arguments": {}, "_meta": meta}
    body = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": params}).encode()
    m = sig.match_request(method="POST", host="internal.example", path="/rpc", headers={}, body=body)
    assert m.is_mcp and m.generation == "modern" and m.protocol_version == "2026-07-28" and m.tool == "add"


def test_server_discover_alone_is_modern(sig):
    body = b'{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}'
    m = sig.match_request(method="POST", host="h.example", path="/mcp", headers={}, body=body)
    assert m.is_mcp and m.generation == "modern" and m.method == "server/discover"


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc":"2.0","id":0,"method":"tools/list"}',
        b'{"method":"tools/list","id":0,"jsonrpc":"2.0"}',
        b'{"id":0,"jsonrpc":"2.0","method":"tools/list"}',
        b'\xef\xbb\xbf \r\n {"id":0,"jsonrpc":"2.0","method":"tools/list"}\n',
    ],
)
def test_key_order_bom_and_whitespace_do_not_matter(sig, body):
    m = sig.match_request(method="POST", host="h.example", path="/mcp", headers={}, body=body)
    assert m.request_id == 0 and m.method == "tools/list" and m.is_mcp


def test_batches(sig):
    body = b'[{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-03-26",' \
           b'"capabilities":{}}},{"jsonrpc":"2.0","method":"notifications/initialized"}]'  # fmt: skip
    m = sig.match_request(method="POST", host="h.example", path="/rpc", headers={}, body=body)
    assert m.is_mcp and m.methods == ("initialize", "notifications/initialized") and m.request_id == 0
    assert m.protocol_version == "2025-03-26" and m.generation == "legacy-streamable"


def test_mcp_name_base64_form_is_decoded(sig):
    headers = {
        "mcp-method": "tools/call",
        "mcp-name": "=?base64?w6lsw6h2ZQ==?=",
        "mcp-protocol-version": "2026-07-28",
    }
    m = sig.match_request(method="POST", host="h.example", path="/mcp", headers=headers, body=None)
    assert m.tool == "élève"


def test_details_never_hold_header_values_or_tokens(sig):
    headers = {
        "authorization": "Bearer sk-secret-token",
        "mcp-session-id": "sess-SECRET-1",
        "mcp-name": "SECRET_TOOL",
        "mcp-method": "tools/call",
        "mcp-protocol-version": "2026-07-28",
        "accept": "application/json, text/event-stream",
        "x-mcp-toolsets": "SECRET_TOOLSET",
        "cookie": "sid=SECRET",
    }
    m = sig.match_request(
        method="POST", host="mcp.example", path="/mcp?key=SECRETKEY", headers=headers, body=None
    )
    challenge = 'Bearer resource_metadata="https://x/SECRETPRM"'
    headers = {"www-authenticate": challenge, "mcp-session-id": "SECRET2"}
    m = sig.match_response(request=m, status=401, first_bytes=b"", headers=headers)
    details = " ".join(s.detail for s in m.signals)
    assert "SECRET" not in details and "sk-secret" not in details
    assert "mcp-protocol-version: 2026-07-28" in details and "mcp-method: tools/call" in details
    assert m.session_id == "sess-SECRET-1"  # the opaque session id is kept (capped), outside details


def test_session_id_is_capped(sig):
    m = sig.match_request(
        method="DELETE", host="h", path="/mcp", headers={"mcp-session-id": "a" * 300}, body=None
    )
    assert m.session_id == "a" * 128


def test_known_servers(sig):
    assert sig.is_known_server("mcp.linear.app") and sig.is_known_server("MCP.Linear.App.")
    assert sig.is_known_server("docs.mcp.cloudflare.com")  # *.mcp.cloudflare.com
    assert not sig.is_known_server("api.githubcopilot.com")  # shared API host: path needed
    assert sig.known_server("api.githubcopilot.com", "/mcp/x/repos").vendor == "GitHub"
    assert sig.known_server("api.githubcopilot.com", "/chat/completions") is None
    assert sig.known_server("mcp.stripe.com").name == "Stripe"
    assert not sig.is_known_server("example.com")


def test_describe_is_json(sig):
    m = run(sig, scenario("modern_streamable.json")[3])[2]
    out = json.loads(json.dumps(describe(m)))
    assert out["tool"] == "lookup_customer" and out["server"]["name"] == "demo-server-v2"
    assert {"id", "weight", "detail"} == set(out["signals"][0])


# --- look-alikes -------------------------------------------------------------------------------------

LOOKALIKES = json.loads((DATA / "lookalikes.json").read_text())["cases"]


@pytest.mark.parametrize("case", LOOKALIKES, ids=[c["name"] for c in LOOKALIKES])
def test_lookalikes_are_not_mcp(sig, case):
    r = case["request"]
    kw = dict(method=r["method"], host=r["host"], path=r["path"], headers=r["headers"])
    head = sig.match_request(**kw, body=None)
    body = sig.match_request(**kw, body=r["body"].encode())
    assert head.is_mcp is case.get("header_time_mcp", False)  # only deliberately ambiguous headers
    assert not body.is_mcp
    if "response" in case:
        p = case["response"]
        resp = sig.match_response(
            request=body, status=p["status"], headers=p["headers"], first_bytes=p["body"].encode()
        )
        assert not resp.is_mcp, [(s.id, s.weight) for s in resp.signals]


@pytest.mark.parametrize(
    ("name", "negative"),
    [
        ("ethereum-batch", "mcp-neg-ethereum-methods"),
        ("ethereum-single-on-mcp-like-path", "mcp-neg-ethereum-methods"),
        ("zabbix", "mcp-neg-foreign-method"),
        ("lsp-initialize", "mcp-neg-lsp-initialize"),
        ("lsp-text-document", "mcp-neg-lsp-methods"),
        ("lsp-framed", "mcp-neg-lsp-framing"),
        ("a2a-message-stream", "mcp-neg-a2a-methods"),
        ("a2a-agent-card", "mcp-neg-a2a-agent-card"),
        ("anthropic-messages-stream", "mcp-neg-llm-request"),
        ("anthropic-messages-stream", "mcp-neg-llm-stream"),
        ("openai-chat-stream", "mcp-neg-llm-stream"),
        ("mercure-feed", "mcp-neg-generic-sse"),
        ("sse-feed-on-sse-path", "mcp-neg-generic-sse"),
    ],
)
def test_negative_evidence_names_the_lookalike(sig, name, negative):
    case = next(c for c in LOOKALIKES if c["name"] == name)
    r = case["request"]
    m = sig.match_request(
        method=r["method"], host=r["host"], path=r["path"], headers=r["headers"], body=r["body"].encode()
    )
    if "response" in case:
        p = case["response"]
        m = sig.match_response(
            request=m, status=p["status"], headers=p["headers"], first_bytes=p["body"].encode()
        )
    assert negative in ids(m)


def test_veto_beats_a_high_score(sig):
    headers = {"mcp-protocol-version": "2026-07-28", "accept": "application/json, text/event-stream"}
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
    m = sig.match_request(method="POST", host="mcp.chain.example", path="/mcp", headers=headers, body=body)
    assert m.score >= sig.threshold and not m.is_mcp and m.generation is None


# --- parsing ---------------------------------------------------------------------------------------


def test_parse_jsonrpc_basics():
    info = parse_jsonrpc(b'{"jsonrpc":"2.0","id":"a","result":{"isError":true,"content":[]}}')
    assert info.responses == 1 and info.ids == ("a",) and info.tool_error and not info.methods
    err = parse_jsonrpc(b'{"jsonrpc":"2.0","id":"server-error","error":{"code":-32600,"message":"x"}}')
    assert err.error_code == -32600
    assert parse_jsonrpc(b'{"method":"tools/list","id":1}') is None  # no jsonrpc: "2.0"
    assert parse_jsonrpc(b"[]") is None and parse_jsonrpc(b"Accepted") is None and parse_jsonrpc(b"") is None
    assert parse_jsonrpc(b'{"jsonrpc":"2.0","id":true,"method":"a/b"}').ids == ()  # bool is not an id


def test_parse_jsonrpc_truncated_and_oversized_bodies():
    cut = b'{"method":"tools/call","params":{"name":"lookup","arguments":{"q":"abc'  # v1 order, cut early
    info = parse_jsonrpc(cut)
    assert info.truncated and info.methods == ("tools/call",) and info.tool == "lookup"
    big = (
        b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{"blob":"'
        + (b"A" * (MAX_BODY + 10))
        + b'"}}}'
    )
    info = parse_jsonrpc(big)
    assert info.truncated and info.ids == (7,) and info.tool == "x"


def test_parse_jsonrpc_depth_is_bounded():
    deep = b'{"jsonrpc":"2.0","id":1,"method":"a/b","params":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001
    info = parse_jsonrpc(deep)
    assert info.methods == ("a/b",) and info.truncated
    assert parse_jsonrpc(b"[" * 100_000) is None


def test_analyze_body_other_shapes():
    assert analyze_body(b'{"model":"m","messages":[]}') == (None, frozenset({"llm-request"}))
    info, shapes = analyze_body(b'Content-Length: 30\r\n\r\n{"jsonrpc":"2.0","method":"x"}')
    assert shapes == {"lsp-framing"} and info.methods == ("x",)


@pytest.mark.parametrize("sep", ["\r\n", "\n", "\r"])
def test_parse_sse_events_line_endings(sep):
    text = sep.join(
        [
            "event: endpoint",
            "data: /messages/?session_id=ab",
            "",
            ": comment",
            "data: a",
            "data:b",
            "",
            "data: open",
        ]
    )
    assert parse_sse_events(text.encode()) == [("endpoint", "/messages/?session_id=ab"), ("message", "a\nb")]


def test_sse_buffer_across_chunks_and_limits():
    buf = SseBuffer(max_event=20)
    chunks = [
        b"\xef\xbb\xbfevent: endpoint\r",
        b"\ndata: /m\r\n",
        b"\r",
        b"\ndata: " + b"x" * 50 + b"\n\n",
        b"data: \xc3",
        b"\xa9\n\n",
    ]
    out = [event for chunk in chunks for event in buf.feed(chunk)]
    assert out == [("endpoint", "/m"), ("message", "é")] and buf.dropped == 1


# --- loader errors ---------------------------------------------------------------------------------

GOOD = """\
schema: 1
signals:
  - id: mcp-test-path
    name: test
    kind: path
    pattern: '/mcp$'
    weight: 60
    examples:
      match: ['POST https://a.example/mcp']
      no_match: ['POST https://a.example/other']
"""


def load_text(tmp_path: Path, **files: str) -> tuple[McpSignatures, list[str]]:
    directory = tmp_path / "mcp"
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(textwrap.dedent(text))
    return load_rules(directory)


def test_minimal_rules_load(tmp_path):
    signatures, problems = load_text(tmp_path, a=GOOD)
    assert problems == [] and signatures.threshold == 50
    assert signatures.match_request(method="POST", host="x", path="/mcp", headers={}, body=None).is_mcp


A = "rules/mcp/a.yaml"
LABEL = "signals[0] 'mcp-test-path'"
LOADER_ERRORS = [
    ("weight: 60", "wieght: 60", f"{A}:7: {LABEL}: unknown field 'wieght' (did you mean 'weight'?)"),
    ("kind: path", "kind: paths", f"{A}:5: {LABEL}: field 'kind' has 'paths', expected one of"),
    ("weight: 60", "weight: -5", f"{A}:7: {LABEL}: kind 'path' needs a positive 'weight' (and no 'veto')"),
    (
        "kind: path",
        "kind: negative-path",
        f"{A}:7: {LABEL}: negative evidence needs a negative 'weight' or 'veto: true'",
    ),
    (
        "weight: 60",
        "weight: 60\n    veto: true",
        f"{A}:7: {LABEL}: kind 'path' needs a positive 'weight' (and no 'veto')",
    ),
    (
        "kind: path\n    pattern: '/mcp$'\n    weight: 60",
        "kind: negative-path\n    pattern: '/mcp$'\n    weight: 60\n    veto: true",
        f"{A}:7: {LABEL}: negative evidence needs a negative 'weight' or 'veto: true'",
    ),
    (
        "'/mcp$'",
        "'/mcp($'",
        f"{A}:6: {LABEL}: bad regular expression '/mcp($': missing ), unterminated subpattern at position 4",
    ),
    (
        "'/mcp$'",
        "'(a+)+$'",
        f"{A}:6: {LABEL}: nested quantifier in '(a+)+$' can take exponential time; rewrite it",
    ),
    (
        "https://a.example/mcp']",
        "https://a.example/mcpx']",
        f"{A}:9: {LABEL}: example match[0]: 'mcp-test-path' did not fire (signals: none): "
        "'POST https://a.example/mcpx'",
    ),
    (
        "https://a.example/other']",
        "https://b.example/mcp']",
        f"{A}:10: {LABEL}: example no_match[0]: 'mcp-test-path' fired (path /mcp) but must not: "
        "'POST https://b.example/mcp'",
    ),
    (
        "['POST https://a.example/mcp']",
        "['https://a.example/mcp']",
        f"{A}:9: {LABEL}: example match[0]: cannot parse: expected 'METHOD https://host/path' first, "
        "got 'https://a.example/mcp'",
    ),
    (
        "      no_match: ['POST https://a.example/other']\n",
        "",
        f"{A}:9: {LABEL}: examples.no_match must be a non-empty list of strings",
    ),
    (
        "id: mcp-test-path",
        "id: test-path",
        f"{A}:3: signals[0] 'test-path': id must be kebab-case and start with 'mcp-'",
    ),
    (
        "schema: 1\n",
        "schema: 1\nthreshhold: 40\n",
        f"{A}:2: unknown top-level key 'threshhold' (did you mean 'threshold'?)",
    ),
    (
        "schema: 1\n",
        "schema: 1\nthreshold: 0\n",
        f"{A}:2: 'threshold' must be an integer from 1 to 1000, got 0",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), LOADER_ERRORS)
def test_loader_errors_name_file_and_line(tmp_path, old, new, expected):
    assert old in GOOD
    _, problems = load_text(tmp_path, a=GOOD.replace(old, new))
    assert any(p.startswith(expected) for p in problems), problems


def test_loader_cross_file_errors(tmp_path):
    second = GOOD.replace("schema: 1\n", "schema: 1\nthreshold: 40\n")
    third = """\
    schema: 1
    threshold: 45
    signals:
      - id: mcp-test-oauth
        name: oauth
        kind: oauth-challenge
        requires: [mcp-test-pth]
        weight: 10
        examples: {match: ['GET https://a/mcp => 401'], no_match: ['GET https://a/x']}
      - id: mcp-test-methods
        name: methods
        kind: jsonrpc-method
        methods: [tools/list]
        revisions: [2024-11-05, '2025-11-52']
        weight: 10
        examples: {match: ['GET https://a/'], no_match: ['GET https://a/']}
    """
    _, problems = load_text(tmp_path, a=GOOD, b=second, c=third)
    assert "rules/mcp/b.yaml:4: duplicate signal id 'mcp-test-path' (first at rules/mcp/a.yaml:3)" in problems
    assert "rules/mcp/c.yaml:2: 'threshold' is set twice (first at rules/mcp/b.yaml:2)" in problems
    assert (
        "rules/mcp/c.yaml:7: signals[0] 'mcp-test-oauth': 'requires' names signal 'mcp-test-pth', "
        "which does not exist (did you mean 'mcp-test-path'?)" in problems
    )
    assert (
        "rules/mcp/c.yaml:14: signals[1] 'mcp-test-methods': unknown spec revision '2025-11-52' "
        "(did you mean '2025-11-25'?)" in problems
    )


def test_known_server_entry_errors(tmp_path):
    text = """\
    schema: 1
    signals:
      - id: mcp-test-known
        name: known
        kind: known-server
        weight: 60
        examples: {match: ['GET https://mcp.a.example/'], no_match: ['GET https://b.example/']}
        servers:
          - {host: mcp.a.example, vendor: A, name: A}
          - {host: 'not a host', vendor: B, name: B}
          - {host: mcp.a.example, vendor: A, name: A again}
          - {host: c.example, path: mcp, vendor: C, name: C}
          - {host: d.example, vendor: D}
    """
    signatures, problems = load_text(tmp_path, a=text)
    where = "rules/mcp/a.yaml:{}: signals[0] 'mcp-test-known': servers[{}]: {}"
    assert where.format(10, 1, "'not a host' is not a host name (or *.suffix)") in problems
    assert where.format(11, 2, "duplicate server mcp.a.example/ (first at line 9)") in problems
    assert where.format(12, 3, "path must start with '/'") in problems
    assert where.format(13, 4, "missing required field 'name'") in problems
    assert signatures.is_known_server("mcp.a.example")


def test_build_never_raises_on_odd_records(tmp_path):
    text = """\
    schema: 1
    signals:
      - just a string
      - {id: 5, name: [x], kind: {a: 1}, weight: yes, examples: []}
      - {id: mcp-x, name: x, kind: negative-sse, weight: -1,
         examples: {match: ['GET https://a/'], no_match: ['GET https://a/']}}
      - {id: mcp-y, name: y, kind: known-server, weight: 5, servers: [1, 2],
         examples: {match: [1], no_match: []}}
    """
    signatures, problems = load_text(tmp_path, a=text)
    assert problems and isinstance(signatures, McpSignatures)
    assert (
        "rules/mcp/a.yaml:5: signals[2] 'mcp-x': needs 'events', 'data_pattern' or 'first_event_not_mcp'"
        in problems
    )
