"""Tests for addons/events.py: every builder validates against OCSF 1.8.0 and never carries values."""

from __future__ import annotations

import base64
import dataclasses
import json
import urllib.parse
import uuid

import pytest

from addons import events
from addons.events import BODYLESS_OPERATIONS
from addons.events import FlowRecord
from addons.events import api_activity
from addons.events import config_event
from addons.events import finding_event
from addons.events import finding_events
from addons.events import http_activity
from addons.events import new_event_id
from addons.events import to_line
from addons.model import Action
from addons.model import AppMatch
from addons.model import AppSpec
from addons.model import Decision
from addons.model import Finding
from addons.model import Identity
from addons.model import McpMatch
from addons.model import McpSignal
from addons.model import Mode
from addons.model import RequestFacts
from addons.model import ScanReport
from tests.ocsf import assert_valid
from tests.ocsf import problems

CANARY = "AKIAQ7CANARY4LEAK9ZZ"  # a "secret" that must never reach a log line
QUERY_CANARY = "hunter2-query-value"
HOST = "sg-test-01"
APP = AppMatch(
    AppSpec(
        id="app-deepseek-chat",
        name="DeepSeek Chat",
        vendor="DeepSeek",
        category="chat-assistant",
        surface=("web",),
        hosts=("chat.deepseek.com",),
        risk="high",
    ),
    matched="chat.deepseek.com",
)


def finding(
    detector: str = "secret-aws-access-key",
    category: str = "secret",
    *,
    fp: str = "ab" * 16,
    severity: str = "high",
    count: int = 1,
    where: str = "json:$.messages[0].content",
) -> Finding:
    return Finding(
        detector_id=detector,
        category=category,
        severity=severity,
        confidence=0.95,
        where=where,
        start=10,
        end=30,
        count=count,
        view="raw",
        preview="AKIA****************",
        fingerprint=fp,
        name=detector.replace("-", " "),
    )


MCP = McpMatch(
    is_mcp=True,
    score=90,
    signals=(McpSignal("mcp-header-session", 40), McpSignal("mcp-jsonrpc", 50)),
    generation="legacy-streamable",
    protocol_version="2025-06-18",
    method="tools/call",
    methods=("tools/call",),
    tool="run_shell",
    request_id=42,
    session_id="sess-9a1f",
    client_name="claude-code",
    client_version="1.2.3",
    server="mcp.unknown-vendor.io",
)


def record(
    action: Action = Action.ALLOW,
    *,
    mode: Mode = Mode.ENFORCE,
    user: str | None = "alice@example.com",
    findings: tuple[Finding, ...] = (),
    mcp: McpMatch | None = None,
    method: str = "POST",
    app: AppMatch | None = APP,
    **kw,
) -> FlowRecord:
    facts = RequestFacts(
        method=method,
        scheme="https",
        host=((mcp.server or "mcp.example.com") if mcp else "chat.deepseek.com"),
        port=443,
        path="/api/chat?q=" + QUERY_CANARY,
        identity=Identity(user, ("eng", "contractors") if user else (), "proxy-auth"),
        client_ip="10.0.0.5",
        app=app,
        mcp=mcp,
        report=ScanReport(findings=findings, scanned_bytes=4096),
    )
    decision = Decision(
        action=action,
        policy_id="block-secrets",
        policy_name="Block secrets to AI",
        reason="secrets must not go to unsanctioned AI",
        mode=mode,
        redirect_url="https://ai.internal.example/chat?src=x" if action is Action.REDIRECT else None,
        detectors=tuple(dict.fromkeys(f.detector_id for f in findings)),
    )
    blocked = decision.effective in (Action.BLOCK, Action.REDIRECT)
    base = dict(
        event_id=new_event_id(),
        flow_id="flow-7f3c9a",
        time_ms=1795428902123,
        facts=facts,
        decision=decision,
        http_version="HTTP/2",
        user_agent="Mozilla/5.0",
        request_length=1834,
        response_code=(302 if action is Action.REDIRECT else 403) if blocked else 200,
        response_length=512,
        scheme="https",
        url_path="/api/chat",
        query_keys=("q", "model"),
        src_ip="10.0.0.5",
        src_port=51514,
        dst_ip="104.18.7.192",
        dst_port=443,
        proxy_host="10.0.0.2",
        proxy_port=8080,
        tls_version="TLSv1.3",
        sni=facts.host,
        inspected=True,
    )
    return FlowRecord(**(base | kw))


SCENARIOS = {
    "allow": record(),
    "allow-anonymous": record(user=None, src_ip=None, proxy_host="proxy.corp", tls_version=None),
    "log": record(Action.LOG, findings=(finding(),)),
    "block-app": record(Action.BLOCK),
    "block-dlp": record(
        Action.BLOCK, findings=(finding(), finding("pii-email", "contact", severity="medium"))
    ),
    "redirect": record(Action.REDIRECT),
    "redact": record(Action.REDACT, findings=(finding(),)),
    "monitor-would-block": record(Action.BLOCK, mode=Mode.MONITOR, findings=(finding(),)),
    "monitor-no-findings": record(Action.BLOCK, mode=Mode.MONITOR),
    "mcp-block": record(Action.BLOCK, mcp=MCP, app=None),
    "other-method": record(method="PROPFIND", response_code=None, response_length=None),
    "ipv6-mapped": record(src_ip="::ffff:10.1.2.3", dst_ip="2606:4700::6810:7c0", http_version=None),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_http_activity_validates(name):
    rec = SCENARIOS[name]
    ev = http_activity(
        rec, hostname=HOST, finding_uids=[f"{rec.flow_id}:{d}" for d in rec.decision.detectors]
    )
    assert problems(ev) == []
    line = to_line(ev)
    assert_valid(line)
    assert list(ev["metadata"])[0] == "uid" and ev["metadata"]["uid"] == rec.event_id
    assert ev["metadata"]["correlation_uid"] == rec.flow_id
    assert ev["unmapped"]["shadowgate"]["event_id"] == rec.event_id
    assert len(ev["message"]) <= 256
    assert QUERY_CANARY.encode() not in line and CANARY.encode() not in line


@pytest.mark.parametrize(
    ("name", "action_id", "disposition_id", "status_id", "decision"),
    [
        ("allow", 1, 1, 1, "allow"),
        ("log", 1, 17, 1, "log"),
        ("block-app", 2, 2, 2, "block"),
        ("redirect", 2, 99, 2, "redirect"),
        ("redact", 4, 99, 1, "redact"),
        ("monitor-would-block", 1, 15, 1, "log"),
        ("monitor-no-findings", 1, 17, 1, "log"),
    ],
)
def test_http_outcome_table(name, action_id, disposition_id, status_id, decision):
    ev = http_activity(SCENARIOS[name], hostname=HOST, finding_uids=[])
    assert (ev["action_id"], ev["disposition_id"], ev["status_id"]) == (action_id, disposition_id, status_id)
    sg = ev["unmapped"]["shadowgate"]
    assert sg["decision"] == decision
    assert ("would" in sg) == name.startswith("monitor")
    if name.startswith("monitor"):
        assert sg["would"] == "block" and sg["policy_action"] == "block" and sg["mode"] == "monitor"


def test_http_activity_fields():
    rec = SCENARIOS["block-dlp"]
    ev = http_activity(rec, hostname=HOST, finding_uids=["flow-7f3c9a:secret-aws-access-key"])
    assert (ev["class_uid"], ev["activity_id"], ev["type_uid"]) == (4002, 6, 400206)
    assert ev["severity_id"] == 4 and ev["is_alert"] is True
    assert ev["actor"]["user"] == {
        "uid": "alice@example.com",
        "name": "alice@example.com",
        "groups": [{"name": "eng"}, {"name": "contractors"}],
    }
    url = ev["http_request"]["url"]
    assert url["url_string"] == "https://chat.deepseek.com/api/chat?q=<redacted>&model=<redacted>"
    assert url["category_ids"] == [99] and url["categories"] == ["Generative AI"]
    assert ev["dst_endpoint"] == {"hostname": "chat.deepseek.com", "ip": "104.18.7.192", "port": 443}
    assert ev["proxy_endpoint"] == {"ip": "10.0.0.2", "port": 8080}
    assert ev["metadata"]["reporter"] == {"hostname": HOST}
    dlp = ev["unmapped"]["shadowgate"]["dlp"]
    assert dlp["detectors"] == ["secret-aws-access-key", "pii-email"]
    assert (dlp["finding_count"], dlp["match_count"]) == (2, 2)
    assert ev["unmapped"]["shadowgate"]["app"]["sanctioned"] is False


def test_http_activity_without_user_or_app_has_no_actor_or_category():
    ev = http_activity(record(user=None, app=None), hostname=HOST, finding_uids=[])
    assert "actor" not in ev and "app_name" not in ev
    assert "category_ids" not in ev["http_request"]["url"]
    assert problems(ev) == []


def test_other_method_and_ipv6():
    ev = http_activity(SCENARIOS["other-method"], hostname=HOST, finding_uids=[])
    assert (ev["activity_id"], ev["activity_name"]) == (99, "Other")
    assert "http_method" not in ev["http_request"] and "http_response" not in ev
    ev = http_activity(SCENARIOS["ipv6-mapped"], hostname=HOST, finding_uids=[])
    assert ev["src_endpoint"]["ip"] == "10.1.2.3"


def test_redirect_url_logged_without_query():
    ev = http_activity(SCENARIOS["redirect"], hostname=HOST, finding_uids=[])
    assert ev["unmapped"]["shadowgate"]["redirect_url"] == "https://ai.internal.example/chat"
    assert ev["disposition"] == "Redirected"


@pytest.mark.parametrize(
    ("key", "kept"),
    [
        ("q", True),
        ("api-version", True),
        ("page_token", True),
        ("includedeleted", True),
        (CANARY, False),
        ("ghp1234567890", False),
        ("a b", False),
        ("x" * 40, False),
    ],
)
def test_query_keys_that_look_like_values_are_redacted(key, kept):
    ev = http_activity(record(query_keys=(key,)), hostname=HOST, finding_uids=[])
    assert (key in ev["http_request"]["url"]["url_string"]) == kept


def test_mcp_summary_on_http_line():
    ev = http_activity(SCENARIOS["mcp-block"], hostname=HOST, finding_uids=[])
    mcp = ev["unmapped"]["shadowgate"]["mcp"]
    assert (
        mcp["tool"] == "run_shell" and mcp["jsonrpc_id"] == "42" and mcp["signals"][0] == "mcp-header-session"
    )
    assert ev["severity_id"] == 4


@pytest.mark.parametrize("name", ["log", "block-dlp", "redact", "monitor-would-block"])
def test_finding_events_validate(name):
    rec = SCENARIOS[name]
    evs = finding_events(rec, hostname=HOST, fingerprint_key_id="k2026-11")
    assert [e["finding_info"]["uid"] for e in evs] == [f"flow-7f3c9a:{d}" for d in rec.decision.detectors]
    for ev in evs:
        assert_valid(to_line(ev))
        assert ev["metadata"]["correlation_uid"] == rec.flow_id
        assert ev["metadata"]["uid"] != rec.event_id
        assert ev["unmapped"]["shadowgate"]["event_id"] == rec.event_id
        assert "pattern_match" not in ev["data_security"]


def test_finding_event_aggregates_one_detector():
    group = [finding(fp=f"{i:032x}", count=2, where=f"json:$.m[{i}]") for i in range(7)] + [
        finding(fp="0" * 32)
    ]
    ev = finding_event(SCENARIOS["block-dlp"], group, hostname=HOST, fingerprint_key_id="k1")
    assert problems(ev) == []
    ds = ev["data_security"]
    assert ds["total"] == 15 and ds["detection_pattern"] == "secret-aws-access-key"
    assert (ds["category_id"], ds["data_lifecycle_state_id"], ds["detection_system_id"]) == (6, 2, 2)
    matches = ev["unmapped"]["shadowgate"]["dlp"]["matches"]
    assert len(matches) == 5 and matches[0]["fingerprint"] == "hs256:k1:" + "0" * 32
    assert [o["type_id"] for o in ev["observables"]] == [8] * 5
    assert ev["observables"][1]["value"] == matches[1]["fingerprint"]


def test_finding_event_rejects_mixed_detectors():
    with pytest.raises(ValueError, match="exactly one detector"):
        finding_event(
            SCENARIOS["log"], [finding(), finding("pii-email")], hostname=HOST, fingerprint_key_id="k"
        )


@pytest.mark.parametrize(
    ("category", "cat_id", "analytic"),
    [
        ("secret", 6, 8),
        ("financial", 3, 8),
        ("pii", 1, 8),
        ("pii-us", 1, 8),
        ("contact", 1, 8),
        ("health", 1, 8),
        ("national-id", 2, 8),
        ("source-code", 4, 8),
        ("classification", 4, 8),
        ("custom", 4, 7),
        ("edm", 4, 9),
        ("weird", 99, 8),
    ],
)
def test_finding_category_mapping(category, cat_id, analytic):
    ev = finding_event(SCENARIOS["log"], finding("d-x", category), hostname=HOST, fingerprint_key_id="k")
    assert ev["data_security"]["category_id"] == cat_id
    assert ev["finding_info"]["analytic"]["type_id"] == analytic
    assert problems(ev) == []


@pytest.mark.parametrize(
    "mcp",
    [
        MCP,
        dataclasses.replace(
            MCP, tool=None, method="tools/list", request_id="abc", client_name=None, session_id=None
        ),
        dataclasses.replace(
            MCP, method=None, request_id=None, protocol_version=None, generation="modern", server=None
        ),
    ],
)
@pytest.mark.parametrize("user", ["alice@example.com", None])
@pytest.mark.parametrize("action", [Action.BLOCK, Action.ALLOW])
def test_api_activity_validates(mcp, user, action):
    rec = record(action, user=user, mcp=mcp, app=None, src_ip=None if user is None else "10.0.0.5")
    ev = api_activity(rec, hostname=HOST)
    assert_valid(to_line(ev))
    assert ev["class_uid"] == 6003 and ev["activity_id"] == 99
    bodyless = BODYLESS_OPERATIONS.get(rec.facts.method, f"http/{rec.facts.method.lower()}")
    assert ev["api"]["operation"] == (mcp.method or bodyless)
    assert "actor" in ev and "src_endpoint" in ev
    if mcp.tool:
        server = mcp.server or "mcp.example.com"
        assert ev["resources"] == [{"type": "MCP Tool", "name": "run_shell", "uid": f"{server}/run_shell"}]
    else:
        assert "resources" not in ev
    if mcp.request_id is not None:
        assert ev["api"]["request"] == {"uid": str(mcp.request_id)}
    assert ev["message_context"]["ai_role_id"] == 3
    assert ev["unmapped"]["shadowgate"]["mcp"]["server"] == (mcp.server or "mcp.example.com")
    assert ev["api"]["service"] == {"name": mcp.server or "mcp.example.com"}


def test_api_activity_lists_offered_tools():
    listing = dataclasses.replace(MCP, tool=None, method="tools/list")
    rec = record(Action.LOG, mcp=listing, app=None, mcp_tools=("add", "lookup_customer", "x" * 300))
    ev = assert_valid(to_line(api_activity(rec, hostname=HOST)))
    assert ev["unmapped"]["shadowgate"]["mcp"]["tools"] == ["add", "lookup_customer", "x" * 127 + "…"]
    many = record(Action.LOG, mcp=listing, app=None, mcp_tools=tuple(f"tool_{i:03d}_" + "y" * 100 for i in range(128)))
    line = to_line(api_activity(many, hostname=HOST))
    ev = assert_valid(line)
    assert len(line) < 8192 and 0 < len(ev["unmapped"]["shadowgate"]["mcp"]["tools"]) < 128
    plain = api_activity(record(Action.LOG, mcp=listing, app=None), hostname=HOST)
    assert "tools" not in plain["unmapped"]["shadowgate"]["mcp"]


def test_api_activity_needs_mcp():
    with pytest.raises(ValueError):
        api_activity(SCENARIOS["allow"], hostname=HOST)


@pytest.mark.parametrize("ok", [True, False])
@pytest.mark.parametrize("activity", ["load", "reload"])
def test_config_event(ok, activity):
    problems_ = [f"rules/detectors/x.yaml:{i}: detectors[0] 'x': unknown field 'keyword'" for i in range(9)]
    ev = config_event(
        ok=ok,
        rules_dir="/etc/shadowgate/rules",
        problems=[] if ok else problems_,
        counts={"apps": 302, "detectors": 80},
        activity=activity,
        hostname=HOST,
    )
    assert_valid(to_line(ev))
    assert ev["class_uid"] == 6002 and ev["app"]["name"] == "shadowgate"
    if ok:
        assert ev["status_id"] == 1 and "status_code" not in ev
    else:
        assert ev["status_id"] == 2 and ev["status_code"] == "E_RULES_INVALID"
        assert "(+4 more)" in ev["status_detail"] and ev["severity_id"] == 4


def test_config_event_rejects_unknown_activity():
    with pytest.raises(ValueError):
        config_event(ok=True, rules_dir="r", problems=[], counts={}, activity="restart")


def test_to_line_framing():
    ev = {"metadata": {"uid": "x"}, "message": "a\nb\r\u2028", "time": 1}
    line = to_line(ev)
    assert line.startswith(b'{"time":1,') and line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line)["message"] == "a\nb\r\u2028"


def test_to_line_sanitises_lone_surrogates():
    line = to_line({"time": 1, "message": "bad \ud800 surrogate"})
    assert json.loads(line)["message"] == "bad ? surrogate"


def test_to_line_rejects_nan():
    with pytest.raises(ValueError):
        to_line({"time": 1, "x": float("nan")})


def test_to_line_caps_size_and_stays_valid():
    rec = record(
        Action.BLOCK,
        user_agent="U" * 600,
        url_path="/" + "p" * 3000,
        query_keys=tuple(f"k{i}" for i in range(400)),
    )
    ev = http_activity(rec, hostname=HOST, finding_uids=[f"flow-7f3c9a:det-{i}" for i in range(300)])
    full = len(json.dumps(ev, separators=(",", ":"), ensure_ascii=False).encode()) + 1
    assert full > events.MAX_LINE_BYTES
    line = to_line(ev)
    assert len(line) < events.MAX_LINE_BYTES
    out = assert_valid(line)
    assert out["metadata"]["is_truncated"] is True and out["metadata"]["untruncated_size"] == full
    assert out["metadata"]["profiles"] == list(events.HTTP_PROFILES)
    assert "is_truncated" not in ev["metadata"]  # the caller's event is untouched


def test_new_event_id_is_sortable_uuid7():
    ids = [new_event_id() for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    u = uuid.UUID(ids[0])
    assert u.version == 7 and u.variant == uuid.RFC_4122


def test_no_value_leaks_in_any_line():
    """logging.md §3 leak test: the canary in none of its encodings appears in any line."""
    forms = {
        CANARY,
        CANARY.lower(),
        urllib.parse.quote(CANARY),
        base64.b64encode(CANARY.encode()).decode(),
        json.dumps(CANARY)[1:-1],
        CANARY[: len(CANARY) // 2],
        QUERY_CANARY,
    }
    rec = record(Action.BLOCK, findings=(finding(),), mcp=MCP, query_keys=("q",))
    lines = [
        to_line(http_activity(rec, hostname=HOST, finding_uids=[])),
        to_line(api_activity(rec, hostname=HOST)),
    ]
    lines += [to_line(e) for e in finding_events(rec, hostname=HOST, fingerprint_key_id="k")]
    for line in lines:
        text = line.decode()
        assert not [f for f in forms if f in text]
