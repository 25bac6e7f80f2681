"""inventory.py: the shadow-MCP inventory, built from shadowgate's OCSF JSONL event logs; pure.

Reads API Activity (6003) lines only: which MCP servers were reached (host, paths, transports,
protocol versions, self-reported names), the tools each offered (tools/list results) and who (the
proxy user, else the source IP) used which method and tool, with counts and first/last seen.
Never raises on a bad line: it is counted as skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime

MAX_NAMES = 256  # per set kept for one server (paths, versions, tools, users)


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Usage:
    count: int = 0
    blocked: int = 0
    first: int | None = None
    last: int | None = None

    def add(self, when: int, blocked: bool, count: bool = True) -> None:
        self.count += count
        self.blocked += count and blocked
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)

    def times(self) -> dict:
        return {"first_seen": iso(self.first), "last_seen": iso(self.last)}


@dataclass
class Who:
    kind: str  # user | ip | unknown
    usage: Usage = field(default_factory=Usage)
    methods: dict[str, int] = field(default_factory=dict)
    tools: dict[str, int] = field(default_factory=dict)


@dataclass
class Server:
    host: str
    usage: Usage = field(default_factory=Usage)
    paths: set[str] = field(default_factory=set)
    generations: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    clients: set[str] = field(default_factory=set)
    offered: dict[str, Usage] = field(default_factory=dict)  # tool -> when it was listed
    called: dict[str, Usage] = field(default_factory=dict)  # tool -> calls
    methods: dict[str, int] = field(default_factory=dict)
    users: dict[str, Who] = field(default_factory=dict)


def _add(values: set[str], value: object) -> None:
    if isinstance(value, str) and value and len(values) < MAX_NAMES:
        values.add(value[:256])


def _who(ev: dict) -> tuple[str, str]:
    user = (ev.get("actor") or {}).get("user") or {}
    if user.get("name") and user.get("type_id") != 0:
        return str(user["name"]), "user"
    ip = (ev.get("src_endpoint") or {}).get("ip")
    return (str(ip), "ip") if ip else ("unknown", "unknown")


class Inventory:
    def __init__(self) -> None:
        self.servers: dict[str, Server] = {}
        self.lines = self.events = self.skipped = 0

    def add_lines(self, lines: Iterable[str | bytes]) -> None:
        for line in lines:
            if not line.strip():
                continue
            self.lines += 1
            try:
                event = json.loads(line)
            except ValueError:
                self.skipped += 1
                continue
            if isinstance(event, dict) and event.get("class_uid") == 6003:
                try:
                    self.add_event(event)
                except (TypeError, ValueError, AttributeError):
                    self.skipped += 1

    def add_event(self, ev: dict) -> None:
        """One API Activity line; a `result` line (a legacy HTTP+SSE result) adds tools, not a call."""
        sg = ev.get("unmapped", {}).get("shadowgate", {})
        mcp = sg.get("mcp") or {}
        api = ev.get("api") or {}
        host = str(mcp.get("server") or (api.get("service") or {}).get("name") or "unknown").lower()
        when = int(ev["time"])
        blocked = (mcp.get("decision") or sg.get("decision")) in ("block", "redirect")
        call = "result" not in mcp
        self.events += 1
        srv = self.servers.setdefault(host, Server(host))
        srv.usage.add(when, blocked, call)
        _add(srv.paths, mcp.get("path"))
        _add(srv.generations, mcp.get("transport"))
        _add(srv.versions, mcp.get("protocol_version") or api.get("version"))
        _add(srv.names, mcp.get("server_name"))
        _add(srv.clients, mcp.get("client"))
        for tool in mcp.get("tools") or ():
            if isinstance(tool, str) and (tool in srv.offered or len(srv.offered) < MAX_NAMES):
                srv.offered.setdefault(tool, Usage()).add(when, False)
        if not call:
            return
        method = str(api.get("operation") or mcp.get("method") or "unknown")
        tool = mcp.get("tool") if isinstance(mcp.get("tool"), str) else None
        srv.methods[method] = srv.methods.get(method, 0) + 1
        if tool and (tool in srv.called or len(srv.called) < MAX_NAMES):
            srv.called.setdefault(tool, Usage()).add(when, blocked)
        name, kind = _who(ev)
        if name not in srv.users and len(srv.users) >= MAX_NAMES:
            return
        who = srv.users.setdefault(name, Who(kind))
        who.usage.add(when, blocked)
        who.methods[method] = who.methods.get(method, 0) + 1
        if tool:
            who.tools[tool] = who.tools.get(tool, 0) + 1

    def to_dict(self, files: Iterable[str] = ()) -> dict:
        servers = []
        for srv in sorted(self.servers.values(), key=lambda s: (-s.usage.count, s.host)):
            tools = []
            for name in sorted(set(srv.offered) | set(srv.called)):
                calls = srv.called.get(name, Usage())
                seen = srv.offered.get(name, calls)
                tools.append({"name": name, "offered": name in srv.offered, "calls": calls.count,
                              "blocked": calls.blocked, "first_seen": iso(min(filter(None, (seen.first, calls.first)))),
                              "last_seen": iso(max(filter(None, (seen.last, calls.last))))})
            users = [{"who": name, "kind": w.kind, "requests": w.usage.count, "blocked": w.usage.blocked,
                      "methods": dict(sorted(w.methods.items())), "tools": dict(sorted(w.tools.items())),
                      **w.usage.times()}
                     for name, w in sorted(srv.users.items(), key=lambda kv: (-kv[1].usage.count, kv[0]))]
            servers.append({"host": srv.host, "paths": sorted(srv.paths), "generations": sorted(srv.generations),
                            "protocol_versions": sorted(srv.versions), "server_names": sorted(srv.names),
                            "clients": sorted(srv.clients), "requests": srv.usage.count,
                            "blocked": srv.usage.blocked, **srv.usage.times(),
                            "methods": dict(sorted(srv.methods.items())), "tools": tools, "users": users})
        return {"files": list(files), "lines": self.lines, "mcp_events": self.events, "skipped": self.skipped,
                "servers": servers}


def build_inventory(sources: Iterable[tuple[str, Iterable[str | bytes]]]) -> dict:
    """(name, lines) per log file -> the inventory as JSON primitives."""
    inv, names = Inventory(), []
    for name, lines in sources:
        names.append(name)
        inv.add_lines(lines)
    return inv.to_dict(names)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}×{v}" for k, v in counts.items()) or "-"


def format_table(inv: dict) -> str:
    """A human-readable rendering of build_inventory's result."""
    out = [f"MCP servers: {len(inv['servers'])}  ({len(inv['files'])} file(s), {inv['lines']} lines, "
           f"{inv['mcp_events']} MCP events, {inv['skipped']} skipped)"]
    for s in inv["servers"]:
        out += ["", f"{s['host']}  requests {s['requests']} ({s['blocked']} blocked)  "
                    f"first {s['first_seen']}  last {s['last_seen']}"]
        for label, key in (("transport", "generations"), ("versions", "protocol_versions"), ("paths", "paths"),
                           ("server", "server_names"), ("clients", "clients")):
            if s[key]:
                out.append(f"  {label:<10} {', '.join(s[key])}")
        out.append(f"  {'methods':<10} {_counts(s['methods'])}")
        if s["tools"]:
            out.append(f"  {'TOOL':<32} {'OFFERED':>7} {'CALLS':>6} {'BLOCKED':>7}  LAST SEEN")
            for t in s["tools"]:
                out.append(f"  {t['name'][:32]:<32} {'yes' if t['offered'] else 'no':>7} {t['calls']:>6} "
                           f"{t['blocked']:>7}  {t['last_seen']}")
        if s["users"]:
            out.append(f"  {'WHO':<32} {'KIND':>7} {'REQS':>6} {'BLOCKED':>7}  METHODS · TOOLS")
            for u in s["users"]:
                out.append(f"  {u['who'][:32]:<32} {u['kind']:>7} {u['requests']:>6} {u['blocked']:>7}  "
                           f"{_counts(u['methods'])} · {_counts(u['tools'])}")
    return "\n".join(out)
