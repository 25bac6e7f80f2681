"""report.py: the shadow-AI report, built from shadowgate's OCSF JSONL event logs; pure.

What a security team asks in the first week: which AI apps are used, by whom, how much of it was
blocked; which detectors fire; which MCP servers are reached directly; what could not be inspected;
whether the proxy itself had trouble. Reads HTTP Activity (4002), findings (2006), MCP (6003),
TLS (4001), lifecycle (6002) and error (6008) lines; never raises on a bad line (counted as skipped).
"""

from __future__ import annotations

import json
from collections import Counter
from collections import defaultdict
from collections.abc import Iterable

from addons.inventory import iso


def _who(event: dict) -> str:
    user = ((event.get("actor") or {}).get("user") or {}).get("name")
    if user and user != "unknown":
        return user
    return (event.get("src_endpoint") or {}).get("ip") or "unknown"


class Report:
    def __init__(self) -> None:
        self.lines = self.skipped = 0
        self.first: int | None = None
        self.last: int | None = None
        self.flows = Counter()  # total, ai, blocked, would_block, redacted, redirected
        self.apps: dict[str, dict] = {}
        self.app_users: dict[str, set[str]] = defaultdict(set)
        self.users: Counter[str] = Counter()
        self.detectors: dict[str, Counter] = defaultdict(Counter)
        self.mcp_hosts: dict[str, Counter] = defaultdict(Counter)
        self.not_inspected: Counter[str] = Counter()
        self.tls: dict[tuple[str, str], int] = Counter()
        self.health: Counter[str] = Counter()

    def add_lines(self, lines: Iterable[str | bytes]) -> None:
        for raw in lines:
            self.lines += 1
            try:
                event = json.loads(raw)
                self._add(event)
            except (ValueError, TypeError, KeyError, AttributeError):
                self.skipped += 1

    def _add(self, ev: dict) -> None:
        kind, when = ev["class_uid"], int(ev["time"])
        if kind not in (4002, 2006, 6003, 4001, 6002, 6008):
            raise ValueError(f"not a shadowgate event class: {kind}")
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)
        sg = (ev.get("unmapped") or {}).get("shadowgate") or {}
        if kind == 4002:
            self._flow(ev, sg)
        elif kind == 2006:
            self.detectors[ev["finding_info"]["analytic"]["uid"]]["findings"] += 1
        elif kind == 6003:
            host = (ev.get("dst_endpoint") or {}).get("hostname") or "unknown"
            self.mcp_hosts[host]["calls"] += 1
            self.mcp_hosts[host]["blocked"] += ev.get("status_id") == 2
        elif kind == 4001:
            for reason in sg.get("not_inspected") or ():
                self.tls[(reason, sg.get("sni") or "unknown")] += 1
        elif kind in (6002, 6008):
            self.health[ev.get("status_code") or f"{kind}:{ev.get('status', 'ok')}"] += ev.get("status_id") == 2

    def _flow(self, ev: dict, sg: dict) -> None:
        blocked = ev.get("status_id") == 2
        decision = sg.get("decision")
        would_block = sg.get("mode") == "monitor" and sg.get("policy_action") in ("block", "redirect")
        self.flows["total"] += 1
        self.flows["blocked"] += blocked
        self.flows["would_block"] += would_block
        self.flows["redacted"] += decision == "redact"
        self.flows["redirected"] += decision == "redirect"
        who = _who(ev)
        app = sg.get("app")
        if app:
            self.flows["ai"] += 1
            self.users[who] += 1
            entry = self.apps.setdefault(app["id"], {"id": app["id"], "name": app.get("name"),
                                                     "category": app.get("category"),
                                                     "sanctioned": app.get("sanctioned"), "requests": 0,
                                                     "blocked": 0, "would_block": 0})  # fmt: skip
            entry["requests"] += 1
            entry["blocked"] += blocked
            entry["would_block"] += would_block
            self.app_users[app["id"]].add(who)
        dlp = sg.get("dlp") or {}
        for detector in dlp.get("detectors") or ():
            self.detectors[detector]["flows"] += 1
            self.detectors[detector]["blocked_flows"] += blocked
        for reason in dlp.get("not_inspected") or ():
            self.not_inspected[reason] += 1

    def to_dict(self, files: list[str], top: int = 20) -> dict:
        apps = sorted(self.apps.values(), key=lambda a: (-a["requests"], a["id"]))
        for a in apps:
            a["users"] = len(self.app_users[a["id"]])
        return {
            "files": files, "lines": self.lines, "skipped": self.skipped,
            "from": iso(self.first), "to": iso(self.last),
            "flows": {k: self.flows[k] for k in ("total", "ai", "blocked", "would_block", "redirected", "redacted")},
            "apps": apps,
            "top_users": [{"user": u, "ai_requests": n} for u, n in self.users.most_common(top)],
            "detectors": sorted(({"id": d, "findings": c["findings"], "flows": c["flows"],
                                  "blocked_flows": c["blocked_flows"]} for d, c in self.detectors.items()),
                                key=lambda d: (-d["flows"], -d["findings"], d["id"])),
            "mcp_servers": sorted(({"host": h, "calls": c["calls"], "blocked": c["blocked"]}
                                   for h, c in self.mcp_hosts.items()), key=lambda m: (-m["calls"], m["host"])),
            "not_inspected": dict(self.not_inspected.most_common()),
            "tls": [{"reason": r, "host": h, "lines": n}
                    for (r, h), n in sorted(self.tls.items(), key=lambda x: (-x[1], x[0]))],
            "health_failures": {k: v for k, v in self.health.items() if v},
        }  # fmt: skip


def build_report(sources: Iterable[tuple[str, Iterable[str | bytes]]], top: int = 20) -> dict:
    """(name, lines) per log file -> the report as JSON primitives."""
    report, names = Report(), []
    for name, lines in sources:
        names.append(name)
        report.add_lines(lines)
    return report.to_dict(names, top)


def format_report(r: dict) -> str:
    """A human-readable rendering of build_report's result."""
    f = r["flows"]
    out = [f"shadowgate report  {r['from']} … {r['to']}  ({len(r['files'])} file(s), {r['lines']} lines, "
           f"{r['skipped']} skipped)",
           f"flows {f['total']}  AI {f['ai']}  blocked {f['blocked']}  would block (monitor) {f['would_block']}  "
           f"redirected {f['redirected']}  redacted {f['redacted']}", ""]  # fmt: skip
    out.append(f"{'AI APP':<40} {'CATEGORY':<20} {'SANCTIONED':>10} {'REQUESTS':>9} {'BLOCKED':>8} {'USERS':>6}")
    for a in r["apps"]:
        out.append(f"{(a['name'] or a['id'])[:40]:<40} {(a['category'] or '-')[:20]:<20} "
                   f"{'yes' if a['sanctioned'] else 'no':>10} {a['requests']:>9} {a['blocked']:>8} {a['users']:>6}")
    sections = [
        ("TOP USERS (AI requests)", [f"{u['user']:<40} {u['ai_requests']:>9}" for u in r["top_users"]]),
        ("DETECTOR                                 FLOWS  BLOCKED  FINDINGS",
         [f"{d['id'][:40]:<40} {d['flows']:>6} {d['blocked_flows']:>8} {d['findings']:>9}" for d in r["detectors"]]),
        ("MCP SERVER (direct)                      CALLS  BLOCKED",
         [f"{m['host'][:40]:<40} {m['calls']:>6} {m['blocked']:>8}" for m in r["mcp_servers"]]),
        ("NOT INSPECTED", [f"{k:<40} {v:>6}" for k, v in r["not_inspected"].items()]
         + [f"{t['reason'] + ' ' + t['host']:<40.40} {t['lines']:>6}" for t in r["tls"]]),
        ("PROXY HEALTH (failures)", [f"{k:<40} {v:>6}" for k, v in r["health_failures"].items()]),
    ]  # fmt: skip
    for title, rows in sections:
        out += ["", title, *(rows or ["-"])]
    return "\n".join(out)
