"""The shadow-AI report over event log lines (addons/report.py)."""

import json

from addons.cli import main
from addons.events import config_event
from addons.events import dropped_events
from addons.events import tls_event
from addons.events import to_line
from addons.report import build_report
from addons.report import format_report

T = 1795428902123


def flow(user=None, ip="10.0.0.7", app=None, blocked=False, detectors=(), mode="enforce", policy_action=None,
         decision=None, not_inspected=()) -> bytes:
    sg = {"decision": decision or ("block" if blocked else "allow"), "mode": mode,
          "policy_action": policy_action or ("block" if blocked else "allow"),
          "dlp": {"detectors": list(detectors), "not_inspected": list(not_inspected)}}
    if app:
        sg["app"] = {"id": app, "name": app.title(), "category": "chat-assistant", "sanctioned": False}
    ev = {"time": T, "class_uid": 4002, "status_id": 2 if blocked else 1, "src_endpoint": {"ip": ip},
          "unmapped": {"shadowgate": sg}}
    if user:
        ev["actor"] = {"user": {"name": user}}
    return json.dumps(ev).encode()


def finding(detector: str) -> bytes:
    return json.dumps({"time": T, "class_uid": 2006, "finding_info": {"analytic": {"uid": detector}}}).encode()


def mcp(host: str, blocked: bool) -> bytes:
    return json.dumps({"time": T + 5, "class_uid": 6003, "status_id": 2 if blocked else 1,
                       "dst_endpoint": {"hostname": host}}).encode()


LINES = [
    flow("alice", app="app-chatgpt", blocked=True, detectors=["fin-card-number"]), finding("fin-card-number"),
    flow("alice", app="app-chatgpt"), flow(None, ip="10.0.0.9", app="app-chatgpt"),
    flow("bob", app="app-claude", mode="monitor", policy_action="block", decision="log"),
    flow("bob", app="app-claude", decision="redact", detectors=["contact-email"]), finding("contact-email"),
    flow("carol", not_inspected=["body-too-large"]),
    mcp("mcp.tools.example", False), mcp("mcp.tools.example", True),
    to_line(tls_event(reason="client-rejected-certificate", sni="pinned.example", client_ip="10.0.0.9",
                      client_port=5000, server_port=443, app=None)),
    to_line(config_event(ok=False, rules_dir="rules", problems=["x.yaml:1: bad"], counts={}, activity="reload")),
    to_line(dropped_events(3)),
    b"not json", b'{"time": 1, "n": 2}',
]


def test_counts_apps_users_detectors_mcp_gaps_and_health():
    r = build_report([("events.jsonl", LINES)])
    assert (r["lines"], r["skipped"]) == (len(LINES), 2)
    assert r["flows"] == {"total": 6, "ai": 5, "blocked": 1, "would_block": 1, "redirected": 0, "redacted": 1}
    assert [(a["id"], a["requests"], a["blocked"], a["would_block"], a["users"]) for a in r["apps"]] == [
        ("app-chatgpt", 3, 1, 0, 2), ("app-claude", 2, 0, 1, 1)]
    assert r["top_users"] == [{"user": "alice", "ai_requests": 2}, {"user": "bob", "ai_requests": 2},
                              {"user": "10.0.0.9", "ai_requests": 1}]
    assert r["detectors"] == [{"id": "contact-email", "findings": 1, "flows": 1, "blocked_flows": 0},
                              {"id": "fin-card-number", "findings": 1, "flows": 1, "blocked_flows": 1}]
    assert r["mcp_servers"] == [{"host": "mcp.tools.example", "calls": 2, "blocked": 1}]
    assert r["not_inspected"] == {"body-too-large": 1}
    assert r["tls"] == [{"reason": "client-rejected-certificate", "host": "pinned.example", "lines": 1}]
    assert r["health_failures"] == {"E_RULES_INVALID": 1, "E_EVENTS_DROPPED": 1}
    text = format_report(r)
    assert "App-Chatgpt" in text and "mcp.tools.example" in text and "E_EVENTS_DROPPED" in text


def test_cli_reads_files_and_reports_unreadable_ones(tmp_path, capsys):
    log = tmp_path / "events.jsonl"
    log.write_bytes(b"\n".join(LINES) + b"\n")
    assert main(["report", str(log), "--format", "json", "--top", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["files"] == [str(log)] and len(out["top_users"]) == 1
    assert main(["report", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
