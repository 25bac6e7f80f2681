"""Tests for addons/inventory.py and `shadowgate mcp-inventory`: logs built with the real event builders."""

from __future__ import annotations

import gzip
import json

import pytest

from addons import cli
from addons.events import FlowRecord
from addons.events import api_activity
from addons.events import http_activity
from addons.events import to_line
from addons.inventory import Inventory
from addons.inventory import build_inventory
from addons.inventory import format_table
from addons.model import Action
from addons.model import Decision
from addons.model import Identity
from addons.model import McpMatch
from addons.model import RequestFacts

T0 = 1795428902000  # ms


def line(method: str, *, host: str = "mcp.tools.test", tool: str | None = None, user: str | None = None,
         ip: str = "10.0.0.5", action: Action = Action.LOG, at: int = 0, tools: tuple[str, ...] = (),
         generation: str = "modern", version: str | None = "2026-07-28", path: str = "/mcp",
         server_name: str | None = None, result: dict | None = None) -> bytes:
    mcp = McpMatch(is_mcp=True, score=90, generation=generation, protocol_version=version, method=method,
                   methods=(method,), tool=tool, request_id=1, server=host, client_name="sg-client",
                   server_name=server_name)
    facts = RequestFacts(method="POST", scheme="https", host=host, port=443, path=path,
                         identity=Identity(user, (), "proxy-auth" if user else None), client_ip=ip, mcp=mcp)
    decision = Decision(action=action, policy_id="p", policy_name="p", reason="r")
    rec = FlowRecord(event_id=f"e{at}", flow_id=f"f{at}", time_ms=T0 + at * 1000, facts=facts, decision=decision,
                     url_path=path, src_ip=ip, mcp_tools=tools)
    ev = api_activity(rec, hostname="gw")
    if result is not None:
        ev["unmapped"]["shadowgate"]["mcp"]["result"] = result
    return to_line(ev)


def sample() -> list[bytes]:
    return [
        line("server/discover", at=0, server_name="sg-test-server-v2"),
        to_line(http_activity(FlowRecord(event_id="x", flow_id="x", time_ms=T0, decision=Decision(
            action=Action.ALLOW, policy_id="d", policy_name="d", reason="r"), facts=RequestFacts(
            method="GET", scheme="https", host="example.com", port=443, path="/")), hostname="gw",
            finding_uids=[])),  # not MCP: ignored
        line("tools/list", at=1, tools=("add", "lookup_customer")),
        line("tools/call", tool="add", at=2, action=Action.BLOCK),
        line("tools/call", tool="add", at=3, user="alice@example.com"),
        line("tools/call", tool="unlisted", at=4, user="alice@example.com"),
        # legacy HTTP+SSE session on another server: the POST line, then the result from the GET stream
        line("tools/list", host="mcp.other.test", generation="legacy-sse", version="2025-11-25",
             path="/messages/", at=5, ip="10.0.0.9"),
        line("tools/list", host="mcp.other.test", generation="legacy-sse", version="2025-11-25",
             path="/messages/", at=6, ip="10.0.0.9", tools=("search",), result={"is_error": False}),
        b"not json\n",
        b"\n",
        json.dumps({"class_uid": 6003, "time": "soon"}).encode() + b"\n",
    ]


def test_inventory_of_servers_tools_and_users():
    inv = build_inventory([("events.jsonl", sample())])
    assert (inv["lines"], inv["mcp_events"], inv["skipped"]) == (10, 7, 2)
    first, second = inv["servers"]
    assert first["host"] == "mcp.tools.test" and second["host"] == "mcp.other.test"
    assert first["requests"] == 5 and first["blocked"] == 1
    assert first["generations"] == ["modern"] and first["protocol_versions"] == ["2026-07-28"]
    assert first["paths"] == ["/mcp"] and first["server_names"] == ["sg-test-server-v2"]
    assert first["clients"] == ["sg-client"]
    assert first["methods"] == {"server/discover": 1, "tools/call": 3, "tools/list": 1}
    assert first["first_seen"] == "2026-11-23T10:15:02Z" and first["last_seen"] == "2026-11-23T10:15:06Z"
    tools = {t["name"]: t for t in first["tools"]}
    assert set(tools) == {"add", "lookup_customer", "unlisted"}
    assert (tools["add"]["offered"], tools["add"]["calls"], tools["add"]["blocked"]) == (True, 2, 1)
    assert (tools["lookup_customer"]["offered"], tools["lookup_customer"]["calls"]) == (True, 0)
    assert (tools["unlisted"]["offered"], tools["unlisted"]["calls"]) == (False, 1)
    users = {u["who"]: u for u in first["users"]}
    assert users["10.0.0.5"]["kind"] == "ip" and users["10.0.0.5"]["requests"] == 3
    assert users["10.0.0.5"]["blocked"] == 1 and users["10.0.0.5"]["tools"] == {"add": 1}
    assert users["alice@example.com"] == {
        "who": "alice@example.com", "kind": "user", "requests": 2, "blocked": 0,
        "methods": {"tools/call": 2}, "tools": {"add": 1, "unlisted": 1},
        "first_seen": "2026-11-23T10:15:05Z", "last_seen": "2026-11-23T10:15:06Z"}
    # the legacy result line adds the offered tools but is not a second request
    assert second["requests"] == 1 and second["methods"] == {"tools/list": 1}
    assert [t["name"] for t in second["tools"] if t["offered"]] == ["search"]
    assert second["generations"] == ["legacy-sse"] and second["paths"] == ["/messages/"]
    json.dumps(inv)


def test_empty_and_bounded():
    assert build_inventory([]) == {"files": [], "lines": 0, "mcp_events": 0, "skipped": 0, "servers": []}
    inv = Inventory()
    inv.add_lines(line("tools/call", tool=f"t{i}", ip=f"10.0.{i // 250}.{i % 250}", at=i) for i in range(300))
    (srv,) = inv.to_dict()["servers"]
    assert srv["requests"] == 300 and len(srv["tools"]) == 256 and len(srv["users"]) == 256


def test_table_format():
    text = format_table(build_inventory([("a", sample())]))
    assert text.startswith("MCP servers: 2  (1 file(s), 10 lines, 7 MCP events, 2 skipped)")
    assert "mcp.tools.test  requests 5 (1 blocked)" in text
    assert "  add " in text and "alice@example.com" in text and "tools/call×2" in text


def test_cli(tmp_path, capsys):
    plain = tmp_path / "events.jsonl"
    plain.write_bytes(b"".join(sample()[:4]))
    rotated = tmp_path / "events.jsonl.1.gz"
    with gzip.open(rotated, "wb") as f:
        f.write(b"".join(sample()[4:]))
    assert cli.main(["mcp-inventory", str(plain), str(rotated)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["files"] == [str(plain), str(rotated)] and out["mcp_events"] == 7
    assert cli.main(["mcp-inventory", "--format", "table", str(plain)]) == 0
    assert capsys.readouterr().out.startswith("MCP servers: 1")
    assert cli.main(["mcp-inventory", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("who", [{"actor": {"user": {"name": "unknown", "type_id": 0}}}, {}])
def test_unknown_actor_falls_back_to_ip_or_unknown(who):
    ev = json.loads(line("ping", at=1))
    ev.pop("actor", None)
    ev.pop("src_endpoint", None)
    ev |= who
    inv = Inventory()
    inv.add_event(ev)
    assert inv.to_dict()["servers"][0]["users"][0]["kind"] == "unknown"
