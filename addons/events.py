"""events.py: OCSF 1.8.0 records for the SIEM, built as plain dicts from what a flow decided.

Invariant: no builder copies a body, a header value (User-Agent aside), a query value or a matched
value into an event; findings carry detector ids, counts, masked previews and keyed fingerprints
only. `to_line` makes any event one UTF-8 JSON line, `time` first, strictly under 8 KiB.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from importlib import metadata

from addons.model import Action
from addons.model import AppMatch
from addons.model import Decision
from addons.model import Finding
from addons.model import Identity
from addons.model import Mode
from addons.model import RequestFacts

OCSF_VERSION = "1.8.0"
MAX_LINE_BYTES = 8192  # a line, newline included, is always shorter than this
HTTP_PROFILES = ("security_control", "network_proxy", "host", "datetime")
FINDING_PROFILES = ("security_control", "host", "datetime")
MCP_PROFILES = ("security_control", "ai_operation", "host", "datetime")


def _product_version() -> str:
    try:
        return metadata.version("shadowgate")
    except metadata.PackageNotFoundError:
        return "0.0.0"


PRODUCT = {"name": "shadowgate", "vendor_name": "shadowgate project", "version": _product_version()}

_HTTP_ACTIVITY = {"CONNECT": 1, "DELETE": 2, "GET": 3, "HEAD": 4, "OPTIONS": 5, "POST": 6, "PUT": 7,
                  "TRACE": 8, "PATCH": 9}
_SEVERITY = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
_SEVERITY_NAME = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
_DATA_CATEGORY = {"secret": 6, "financial": 3, "pii": 1, "contact": 1, "health": 1, "national-id": 2,
                  "classification": 4, "source-code": 4, "custom": 4, "edm": 4}
_DATA_CATEGORY_NAME = {1: "Personal", 2: "Governmental", 3: "Financial", 4: "Business", 6: "Security",
                       99: "Other"}
_ANALYTIC = {"edm": (9, "Exact Data Match", "edm"), "custom": (7, "Keyword Match", "keyword")}
_SAFE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.\-\[\]]{0,31}")

_id_lock = threading.Lock()
_id_state = [0, 0]  # last millisecond, counter within it


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix ms, a 12-bit per-process counter, 62 random bits."""
    with _id_lock:
        ms, counter = time.time_ns() // 1_000_000, 0
        if ms <= _id_state[0]:
            ms, counter = _id_state[0], _id_state[1] + 1
            if counter > 0xFFF:
                ms, counter = ms + 1, 0
        _id_state[:] = [ms, counter]
    rand = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
    return str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand))


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """What the audit addon knows about one decided flow (plain data, no values)."""

    event_id: str
    flow_id: str
    time_ms: int
    facts: RequestFacts
    decision: Decision
    http_version: str | None = None
    user_agent: str | None = None
    request_length: int | None = None
    response_code: int | None = None
    response_length: int | None = None
    scheme: str = "https"
    url_path: str = "/"
    query_keys: tuple[str, ...] = ()
    src_ip: str | None = None
    src_port: int | None = None
    dst_ip: str | None = None
    dst_port: int | None = None
    proxy_host: str | None = None
    proxy_port: int | None = None
    tls_version: str | None = None
    sni: str | None = None
    inspected: bool = False
    not_inspected: tuple[str, ...] = ()
    redirect_url: str | None = None
    mcp_tools: tuple[str, ...] = ()  # tool names a tools/list result offered
    websocket: dict | None = None  # a WebSocket message's line: {"upgrade_flow_id", "message"} (its own flow_id)


# ---------------------------------------------------------------- shared pieces


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _ip(value: str | None) -> str | None:
    try:
        addr = ipaddress.ip_address((value or "").split("%")[0])
    except ValueError:
        return None
    mapped = getattr(addr, "ipv4_mapped", None)
    return str(mapped or addr)


def _port(value: int | None) -> int | None:
    return value if isinstance(value, int) and 0 <= value <= 65535 else None


def _endpoint(ip: str | None, port: int | None, hostname: str | None = None) -> dict | None:
    ep = {"hostname": hostname, "ip": _ip(ip), "port": _port(port)}
    ep = {k: v for k, v in ep.items() if v is not None and v != ""}
    return ep if set(ep) - {"port"} else None


def _actor(identity: Identity) -> dict | None:
    if not identity.user:
        return None
    user: dict = {"uid": identity.user, "name": identity.user}
    if identity.groups:
        user["groups"] = [{"name": g} for g in identity.groups]
    return {"user": user}


def _envelope(rec_time: int, uid: str, flow_id: str | None, cls: tuple[int, str, int],
              activity: tuple[int, str], log_name: str, profiles: Sequence[str], hostname: str) -> dict:
    meta: dict = {"uid": uid}
    if flow_id:
        meta["correlation_uid"] = flow_id
    meta |= {"version": OCSF_VERSION, "log_name": log_name, "product": dict(PRODUCT),
             "profiles": list(profiles), "reporter": {"hostname": hostname or socket.gethostname()}}
    dt = datetime.fromtimestamp(rec_time / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
    return {"time": rec_time, "time_dt": dt, "metadata": meta, "class_uid": cls[0], "class_name": cls[1],
            "category_uid": cls[2], "activity_id": activity[0], "activity_name": activity[1],
            "type_uid": cls[0] * 100 + activity[0]}


def _would(d: Decision) -> str | None:
    return d.action.value if d.mode is Mode.MONITOR and d.effective is not d.action else None


def _matched(rec: FlowRecord) -> bool:
    return bool(rec.decision.detectors or rec.facts.report.findings)


def _outcome(rec: FlowRecord) -> dict:
    """security_control fields and status, per logging.md §2.2."""
    d, eff = rec.decision, rec.decision.effective
    if eff is Action.LOG:
        disp = (15, "Detected") if _would(d) and _matched(rec) else (17, "Logged")
        out = (1, "Allowed", *disp, 1)
    else:
        out = {Action.ALLOW: (1, "Allowed", 1, "Allowed", 1), Action.BLOCK: (2, "Denied", 2, "Blocked", 2),
               Action.REDIRECT: (2, "Denied", 99, "Redirected", 2),
               Action.REDACT: (4, "Modified", 99, "Redacted", 1)}[eff]
    mcp_block = rec.facts.mcp is not None and rec.facts.mcp.is_mcp and d.action is Action.BLOCK
    return {"action_id": out[0], "action": out[1], "disposition_id": out[2], "disposition": out[3],
            "status_id": out[4], "status": "Success" if out[4] == 1 else "Failure",
            "is_alert": d.action is not Action.ALLOW and (_matched(rec) or mcp_block)}


def _severity(rec: FlowRecord, findings: Sequence[Finding] = ()) -> dict:
    d = rec.decision
    sev = 1 if d.action in (Action.ALLOW, Action.LOG) else 2
    if d.action is Action.BLOCK and rec.facts.mcp is not None and rec.facts.mcp.is_mcp:
        sev = 4
    for f in findings or (rec.facts.report.findings if d.action is not Action.ALLOW else ()):
        sev = max(sev, _SEVERITY.get(f.severity, 3))
    return {"severity_id": sev, "severity": _SEVERITY_NAME[sev]}


def _policy(d: Decision) -> dict:
    pol = {"uid": d.policy_id, "name": d.policy_name or d.policy_id}
    return {k: v for k, v in pol.items() if v}


def _safe_key(key: str) -> str:
    """A query key is kept only if it looks like a field name, not like a token passed as a key."""
    wordy = len(key) <= 12 or key.islower() or any(c in key for c in "_.-[")
    ok = _SAFE_KEY.fullmatch(key) and wordy and sum(c.isdigit() for c in key) <= 4
    return key if ok else "<redacted-key>"


def _url(rec: FlowRecord, host: str, *, ai: bool) -> dict:
    f = rec.facts
    path = _clip(rec.url_path.split("?", 1)[0] or "/", 2048)
    default = {"http": 80, "https": 443}.get(rec.scheme)
    netloc = f"[{host}]" if ":" in host else host
    netloc += "" if f.port == default else f":{f.port}"
    query = "&".join(f"{_safe_key(k)}=<redacted>" for k in rec.query_keys)
    url: dict = {"scheme": rec.scheme, "hostname": host, "port": _port(f.port), "path": path}
    if query:
        url["query_string"] = query
    url["url_string"] = f"{rec.scheme}://{netloc}{path}" + (f"?{query}" if query else "")
    if ai:
        url |= {"category_ids": [99], "categories": ["Generative AI"]}
    return {k: v for k, v in url.items() if v is not None}


def _http(rec: FlowRecord, host: str) -> dict:
    f = rec.facts
    req: dict = {"http_method": f.method.upper()} if f.method.upper() in _HTTP_ACTIVITY else {}
    ai = f.app is not None or bool(f.mcp and f.mcp.is_mcp)
    req |= {"version": rec.http_version, "user_agent": _clip(rec.user_agent, 512) if rec.user_agent else None,
            "length": rec.request_length, "url": _url(rec, host, ai=ai)}
    out = {"http_request": {k: v for k, v in req.items() if v is not None}}
    if rec.response_code is not None:
        resp = {"code": rec.response_code, "length": rec.response_length}
        out["http_response"] = {k: v for k, v in resp.items() if v is not None}
    return out


def _parties(rec: FlowRecord, *, required: bool = False) -> dict:
    f = rec.facts
    out: dict = {}
    actor = _actor(f.identity)
    if actor:
        out["actor"] = actor
    elif required:
        out["actor"] = {"user": {"name": "unknown", "type_id": 0}}
    src = _endpoint(rec.src_ip or f.client_ip, rec.src_port)
    if src or required:
        out["src_endpoint"] = src or {"name": "unknown"}
    dst = _endpoint(rec.dst_ip, rec.dst_port or f.port, f.host)
    if dst:
        out["dst_endpoint"] = dst
    return out


def _base_unmapped(rec: FlowRecord) -> dict:
    d = rec.decision
    out = {"event_id": rec.event_id, "flow_id": rec.flow_id, "decision": d.effective.value,
           "policy_action": d.action.value, "mode": d.mode.value, "reason": _clip(d.reason, 256)}
    if w := _would(d):
        out["would"] = w
    return out


def _app(rec: FlowRecord) -> dict | None:
    m = rec.facts.app
    if m is None:
        return None
    return {"id": m.app.id, "name": m.app.name, "category": m.app.category, "sanctioned": m.sanctioned,
            "risk": m.app.risk, "matched": m.matched}


def _mcp(rec: FlowRecord) -> dict | None:
    m = rec.facts.mcp
    if m is None or not m.is_mcp:
        return None
    out = {"server": m.server or rec.facts.host, "path": _clip(rec.url_path, 256), "transport": m.generation,
           "protocol_version": m.protocol_version, "method": m.method,
           "methods": list(m.methods) if len(m.methods) > 1 else None, "tool": m.tool,
           "jsonrpc_id": None if m.request_id is None else str(m.request_id), "session_id": m.session_id,
           "client": m.client_name, "client_version": m.client_version, "server_name": m.server_name,
           "server_version": m.server_version, "score": m.score,
           "signals": [s.id for s in m.signals], "decision": rec.decision.effective.value,
           "tools": [_clip(t, 128) for t in rec.mcp_tools] or None}
    return {k: v for k, v in out.items() if v is not None}


def _dlp(rec: FlowRecord, finding_uids: list[str]) -> dict:
    report = rec.facts.report
    detectors = list(dict.fromkeys(f.detector_id for f in report.findings))
    not_inspected = list(dict.fromkeys(rec.not_inspected + report.not_inspected))
    return {"scanned": rec.inspected, "scanned_bytes": report.scanned_bytes, "finding_count": len(detectors),
            "detectors": detectors, "match_count": sum(max(f.count, 1) for f in report.findings),
            "finding_uids": list(finding_uids), "policy_detectors": list(rec.decision.detectors),
            "truncated": report.truncated, "not_inspected": not_inspected}


# ---------------------------------------------------------------- builders


def http_activity(rec: FlowRecord, *, hostname: str, finding_uids: list[str]) -> dict:
    """HTTP Activity (4002): the one decision line of a flow; metadata.uid is rec.event_id."""
    f, d = rec.facts, rec.decision
    method = f.method.upper()
    activity = (_HTTP_ACTIVITY[method], method.title()) if method in _HTTP_ACTIVITY else (99, "Other")
    ev = _envelope(rec.time_ms, rec.event_id, rec.flow_id, (4002, "HTTP Activity", 4), activity,
                   "shadowgate.decisions", HTTP_PROFILES, hostname)
    outcome = _outcome(rec)
    verb = f"monitor: would {_would(d)}" if _would(d) else d.effective.value
    target = f"{f.app.app.name} ({f.host})" if f.app else f.host
    msg = f"{verb}: {method} {target} by policy '{d.policy_id}'"
    if d.detectors:
        msg += f"; detectors: {', '.join(d.detectors[:3])}" + (" …" if len(d.detectors) > 3 else "")
    ev |= _severity(rec) | outcome | {"message": _clip(msg, 256)}
    if outcome["status_id"] == 2:
        done = "blocked" if d.effective is Action.BLOCK else "redirected"
        ev["status_detail"] = _clip(f"{done} by policy '{d.policy_id}': {d.reason}", 256)
    ev |= _parties(rec)
    proxy = _endpoint(rec.proxy_host, rec.proxy_port, None if _ip(rec.proxy_host) else rec.proxy_host)
    if proxy:
        ev["proxy_endpoint"] = proxy
    if rec.tls_version:
        ev["tls"] = {"version": rec.tls_version} | ({"sni": rec.sni} if rec.sni else {})
    ev |= _http(rec, f.host)
    if f.app:
        ev["app_name"] = f.app.app.name
    if pol := _policy(d):
        ev["policy"] = pol
    sg = _base_unmapped(rec) | {"inspected": rec.inspected}
    if app := _app(rec):
        sg["app"] = app
    sg["dlp"] = _dlp(rec, finding_uids)
    if mcp := _mcp(rec):
        sg["mcp"] = mcp
    if target_url := rec.redirect_url or d.redirect_url:
        sg["redirect_url"] = _clip(re.split(r"[?#]", target_url, maxsplit=1)[0], 512)
    if rec.websocket is not None:
        sg["websocket"] = dict(rec.websocket)
    ev["unmapped"] = {"shadowgate": sg}
    return ev


def finding_uid(flow_id: str, detector_id: str) -> str:
    return f"{flow_id}:{detector_id}"


def _fingerprint(fp: str, key_id: str) -> str:
    return fp if fp.startswith("hs256:") else f"hs256:{key_id}:{fp}"


def finding_event(rec: FlowRecord, finding: Finding | Sequence[Finding], *, hostname: str,
                  fingerprint_key_id: str) -> dict:
    """Data Security Finding (2006) for one detector of one flow; several Findings are aggregated."""
    group = (finding,) if isinstance(finding, Finding) else tuple(finding)
    if not group or len({g.detector_id for g in group}) != 1:
        raise ValueError("finding_event needs the findings of exactly one detector")
    first, det = group[0], group[0].detector_id
    total = sum(max(g.count, 1) for g in group)
    matches: list[dict] = []
    for g in group:
        fp = _fingerprint(g.fingerprint, fingerprint_key_id)
        if len(matches) < 5 and all(m["fingerprint"] != fp for m in matches):
            matches.append({"fingerprint": fp, "preview": _clip(g.preview, 64),
                            "length": max(g.end - g.start, 0), "where": _clip(g.where, 128), "view": g.view})
    cat_id = _DATA_CATEGORY.get(first.category, _DATA_CATEGORY.get(first.category.split("-")[0], 99))
    a_id, a_type, c_type = _ANALYTIC.get(first.category, (8, "Regular Expressions", "regex"))
    name = first.name or det
    target = rec.facts.app.app.name if rec.facts.app else rec.facts.host
    ev = _envelope(rec.time_ms, new_event_id(), rec.flow_id, (2006, "Data Security Finding", 2),
                   (1, "Create"), "shadowgate.dlp", FINDING_PROFILES, hostname)
    outcome = {k: v for k, v in _outcome(rec).items() if not k.startswith("status")}
    ev |= _severity(rec, group) | {"status_id": 1, "status": "New"} | outcome
    ev["message"] = _clip(f"DLP {det}: {total} match(es) in request to {rec.facts.host} "
                          f"({rec.decision.effective.value})", 256)
    ev["finding_info"] = {"uid": finding_uid(rec.flow_id, det),
                          "title": _clip(f"Sensitive data ({name}) sent to {target}", 256),
                          "analytic": {"type_id": a_id, "type": a_type, "uid": det, "name": name},
                          "types": ["dlp", first.category]}
    ev |= _parties(rec)
    ev["data_security"] = {"category_id": cat_id, "category": _DATA_CATEGORY_NAME[cat_id],
                           "data_lifecycle_state_id": 2, "data_lifecycle_state": "Data in-Transit",
                           "detection_system_id": 2, "detection_system": "DLP Gateway",
                           "detection_pattern": det, "total": total,
                           "classifier_details": {"type": c_type, "uid": det, "name": name}}
    if pol := _policy(rec.decision):
        ev["data_security"]["policy"] = pol
    ev["observables"] = [{"type_id": 8, "type": "Hash", "value": m["fingerprint"],
                          "name": f"unmapped.shadowgate.dlp.matches[{i}].fingerprint"}
                         for i, m in enumerate(matches)]
    dlp = {"detector": det, "name": name, "category": first.category, "severity": first.severity,
           "location": first.where, "locations": list(dict.fromkeys(g.where for g in group))[:5],
           "match_count": total, "matches": matches, "key_id": fingerprint_key_id}
    ev["unmapped"] = {"shadowgate": {"event_id": rec.event_id, "flow_id": rec.flow_id, "dlp": dlp}}
    return ev


def finding_events(rec: FlowRecord, *, hostname: str, fingerprint_key_id: str) -> list[dict]:
    """One 2006 per detector in rec.facts.report, in first-seen order."""
    groups: dict[str, list[Finding]] = {}
    for f in rec.facts.report.findings:
        groups.setdefault(f.detector_id, []).append(f)
    return [finding_event(rec, g, hostname=hostname, fingerprint_key_id=fingerprint_key_id)
            for g in groups.values()]


# MCP requests without a JSON-RPC body: what they do at the transport level.
BODYLESS_OPERATIONS = {"GET": "stream/open", "DELETE": "session/delete", "HEAD": "http/head", "OPTIONS": "http/options"}


def api_activity(rec: FlowRecord, *, hostname: str) -> dict:
    """API Activity (6003, ai_operation) for one MCP JSON-RPC call; needs rec.facts.mcp."""
    m, d = rec.facts.mcp, rec.decision
    if m is None:
        raise ValueError("api_activity needs facts.mcp")
    method = _clip(m.method or BODYLESS_OPERATIONS.get(rec.facts.method, f"http/{rec.facts.method.lower()}"), 128)
    server = m.server or rec.facts.host
    ev = _envelope(rec.time_ms, new_event_id(), rec.flow_id, (6003, "API Activity", 6), (99, method),
                   "shadowgate.mcp", MCP_PROFILES, hostname)
    ev |= _severity(rec) | _outcome(rec)
    tool = f" '{_clip(m.tool, 64)}'" if m.tool else ""
    verb = f"monitor: would {_would(d)}" if _would(d) else d.effective.value
    ev["message"] = _clip(f"{verb}: MCP {method}{tool} to {server} by policy '{d.policy_id}'", 256)
    ev |= _parties(rec, required=True)
    if m.client_name:  # the MCP client names the actor when no user is known
        known = _actor(rec.facts.identity)
        ev["actor"] = (known or {}) | {"app_name": _clip(m.client_name, 128)}
    api: dict = {"operation": method, "service": {"name": server}}
    if m.request_id is not None:
        api["request"] = {"uid": str(m.request_id)}
    if m.protocol_version:
        api["version"] = m.protocol_version
    ev["api"] = api
    if m.tool:
        ev["resources"] = [{"type": "MCP Tool", "name": _clip(m.tool, 128),
                            "uid": _clip(f"{server}/{m.tool}", 256)}]
    ctx: dict = {"uid": m.session_id} if m.session_id else {}
    ctx |= {"ai_role_id": 3, "ai_role": "Tool", "service": {"name": server}}
    if m.client_name:
        app = {"name": m.client_name, "version": m.client_version}
        ctx["application"] = {k: v for k, v in app.items() if v}
    ev["message_context"] = ctx
    ev |= _http(rec, rec.facts.host)
    if pol := _policy(d):
        ev["policy"] = pol
    ev["unmapped"] = {"shadowgate": _base_unmapped(rec) | {"mcp": _mcp(rec) or {"server": server}}}
    return ev


def config_event(*, ok: bool, rules_dir: str, problems: list[str], counts: dict, activity: str,
                 hostname: str | None = None, time_ms: int | None = None) -> dict:
    """Application Lifecycle (6002) for a rules load or reload (activity "load" | "reload")."""
    if activity not in ("load", "reload"):
        raise ValueError(f"activity must be 'load' or 'reload', not {activity!r}")
    now = time_ms if time_ms is not None else time.time_ns() // 1_000_000
    ev = _envelope(now, new_event_id(), None, (6002, "Application Lifecycle", 6), (99, activity.title()),
                   "shadowgate.system", ("datetime",), hostname or socket.gethostname())
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    if ok:
        ev |= {"severity_id": 1, "severity": "Informational", "status_id": 1, "status": "Success",
               "message": _clip(f"rules {activity}ed from {rules_dir}: {summary}", 256)}
    else:
        kept = "; last good ruleset kept" if activity == "reload" else ""
        detail = "; ".join(_clip(p, 300) for p in problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        ev |= {"severity_id": 4, "severity": "High", "status_id": 2, "status": "Failure",
               "message": _clip(f"rules {activity} failed with {len(problems)} problem(s){kept}", 256),
               "status_code": "E_RULES_INVALID", "status_detail": _clip(detail + more, 1600)}
    ev["app"] = dict(PRODUCT)
    ev["unmapped"] = {"shadowgate": {"config": {"path": rules_dir, "activity": activity, "ok": ok,
                                                "counts": dict(counts), "problem_count": len(problems)}}}
    return ev


TLS_PROFILES = ("security_control", "datetime")
_TLS_OUTCOMES = {
    # reason → (activity, status, action, disposition, severity, message)
    "tls-passthrough": ((1, "Open"), (1, "Success"), (1, "Allowed"), (1, "Allowed"), (1, "Informational"),
                        "TLS passed through uninspected (settings: tls_passthrough)"),
    "client-rejected-certificate": ((4, "Fail"), (2, "Failure"), (3, "Observed"), (17, "Logged"), (3, "Medium"),
                                    "the client refused the proxy's certificate (a pinned app, or a device "
                                    "without the shadowgate CA): nothing it sends here is inspected"),
}  # fmt: skip


def tls_event(*, reason: str, sni: str | None, client_ip: str | None, client_port: int | None,
              server_port: int | None, app: AppMatch | None, user: str | None = None,
              hostname: str | None = None, time_ms: int | None = None) -> dict:
    """Network Activity (4001) for a TLS connection no HTTP line will describe: passed through by
    settings, or refused by the client (not inspected either way)."""
    activity, status, action, disposition, severity, message = _TLS_OUTCOMES[reason]
    now = time_ms if time_ms is not None else time.time_ns() // 1_000_000
    ev = _envelope(now, new_event_id(), None, (4001, "Network Activity", 4), activity, "shadowgate.decisions",
                   TLS_PROFILES, hostname or socket.gethostname())  # fmt: skip
    ev |= {"severity_id": severity[0], "severity": severity[1], "status_id": status[0], "status": status[1],
           "action_id": action[0], "action": action[1], "disposition_id": disposition[0],
           "disposition": disposition[1], "message": message}  # fmt: skip
    ev["src_endpoint"] = _endpoint(client_ip, client_port) or {"name": "unknown"}
    ev["dst_endpoint"] = _endpoint(None, server_port, sni) or {"name": "unknown"}
    ev["connection_info"] = {"protocol_name": "tcp", "direction_id": 2, "direction": "Outbound"}
    if user:
        ev["src_endpoint"]["name"] = _clip(user, 128)
    sg: dict = {"not_inspected": [reason], "sni": sni}
    if app is not None:
        ev["app_name"] = app.app.name
        sg["app"] = {"id": app.app.id, "category": app.app.category}
    ev["unmapped"] = {"shadowgate": sg}
    return ev


def error_event(*, code: str, message: str, detail: str = "", extra: dict | None = None, flow_id: str | None = None,
                hostname: str | None = None, time_ms: int | None = None) -> dict:
    """Application Error (6008, General Error): a fault the SIEM must see. `flow_id` links it to the flow's
    lines (metadata.correlation_uid)."""
    now = time_ms if time_ms is not None else time.time_ns() // 1_000_000
    ev = _envelope(now, new_event_id(), flow_id, (6008, "Application Error", 6), (1, "General Error"),
                   "shadowgate.system", ("datetime",), hostname or socket.gethostname())
    ev |= {"severity_id": 4, "severity": "High", "status_id": 2, "status": "Failure", "status_code": code,
           "message": _clip(message, 256)}
    if detail:
        ev["status_detail"] = _clip(detail, 1600)
    ev["unmapped"] = {"shadowgate": {"error": {"code": code, **(extra or {})}}}
    return ev


def dropped_events(count: int, *, hostname: str | None = None) -> dict:
    """The 6008 line the event log writes once it has room again after dropping `count` lines."""
    return error_event(code="E_EVENTS_DROPPED", message=f"{count} event line(s) dropped: the event log queue was full",
                       extra={"dropped_events": count}, hostname=hostname)  # fmt: skip


# ---------------------------------------------------------------- serialisation


def _clean(obj: object) -> object:
    if isinstance(obj, str):
        return obj.encode("utf-8", "replace").decode("utf-8")
    if isinstance(obj, dict):
        return {_clean(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _dump(ev: dict) -> bytes:
    text = json.dumps(ev, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return json.dumps(_clean(ev), separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _shrink(node: object) -> bool:
    """Halve the biggest list (longer than 1) or, failing that, the longest string; False if neither."""
    lists: list[tuple[int, list]] = []
    strings: list[tuple[int, object, object]] = []

    def walk(n: object) -> None:
        items = n.items() if isinstance(n, dict) else enumerate(n) if isinstance(n, list) else ()
        for k, v in items:
            if isinstance(v, str) and len(v) > 64 and k not in ("uid", "time_dt"):
                strings.append((len(v), n, k))
            elif isinstance(v, dict | list) and k != "profiles":
                if isinstance(v, list) and len(v) > 1:
                    lists.append((len(json.dumps(v, ensure_ascii=False)), v))
                walk(v)

    walk(node)
    if lists:
        victim = max(lists, key=lambda t: t[0])[1]
        del victim[max(1, len(victim) // 2):]
        return True
    if strings:
        _, parent, key = max(strings, key=lambda t: t[0])
        parent[key] = _clip(parent[key], len(parent[key]) // 2)  # type: ignore[index]
        return True
    return False


def to_line(event: dict) -> bytes:
    """One compact JSON line ending in \\n, `time` first, under MAX_LINE_BYTES (tails trimmed if needed)."""
    ev = {"time": event["time"], **event} if "time" in event else dict(event)
    data = _dump(ev)
    if len(data) < MAX_LINE_BYTES - 1:
        return data + b"\n"
    ev = copy.deepcopy(ev)
    ev["metadata"] = {**ev.get("metadata", {}), "is_truncated": True, "untruncated_size": len(data) + 1}
    while _shrink(ev):
        data = _dump(ev)
        if len(data) < MAX_LINE_BYTES - 1:
            return data + b"\n"
    raise ValueError(f"event cannot be shrunk under {MAX_LINE_BYTES} bytes")
