"""policy.py: ordered policies, first match wins, explicit default last; decide() is pure.

Invariant: a PolicySet always ends with exactly one default policy (no `when:`), so decide()
returns a Decision for every request.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from urllib.parse import urlsplit

from addons.catalog import is_host_pattern
from addons.model import APP_CATEGORIES
from addons.model import SEVERITY_RANK
from addons.model import Action
from addons.model import Decision
from addons.model import Mode
from addons.model import RequestFacts
from addons.model import Severity
from addons.ruleyaml import ID_RE
from addons.ruleyaml import Field
from addons.ruleyaml import LineDict
from addons.ruleyaml import Problems
from addons.ruleyaml import check_fields
from addons.ruleyaml import items_with_lines
from addons.ruleyaml import key_line
from addons.ruleyaml import record_label

POLICY_FIELDS = {
    "id": Field("str", required=True),
    "name": Field("str"),
    "description": Field("str"),
    "when": Field("map"),
    "action": Field("str", required=True, choices=tuple(a.value for a in Action)),
    "mode": Field("str", choices=tuple(m.value for m in Mode)),
    "redirect": Field("str"),
    "message": Field("str"),
    "headers": Field("map"),
}

WHEN_FIELDS = {
    "apps": Field("str_list"),
    "categories": Field("str_list", choices=APP_CATEGORIES),
    "ai": Field("bool"),
    "sanctioned": Field("bool"),
    "users": Field("str_list"),
    "groups": Field("str_list"),
    "methods": Field("str_list"),
    "hosts": Field("str_list"),
    "mcp": Field("bool"),
    "mcp_approved": Field("bool"),
    "mcp_servers": Field("str_list"),
    "mcp_methods": Field("str_list"),
    "mcp_tools": Field("str_list"),
    "detectors": Field("str_list"),
    "detector_categories": Field("str_list"),
    "min_count": Field("int"),
    "min_confidence": Field("number"),
    "min_severity": Field("str", choices=tuple(s.value for s in Severity)),
    "inspected": Field("bool"),
}

SETTINGS_FIELDS = {
    "sanctioned_apps": Field("str_list"),
    "approved_mcp_portals": Field("str_list"),
    "alternative": Field("map"),
    "contact": Field("str"),
    "tls_passthrough": Field("str_list"),
}


def host_matches(host: str, patterns: tuple[str, ...]) -> bool:
    """Exact names and `*.suffix` (any subdomain of suffix); case-insensitive."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Settings:
    sanctioned_apps: frozenset[str] = frozenset()
    approved_mcp_portals: tuple[str, ...] = ()
    alternative: tuple[str, str] | None = None  # (name, url)
    contact: str | None = None
    tls_passthrough: tuple[str, ...] = ()  # hosts (exact or *.suffix) whose TLS is not intercepted


@dataclass(frozen=True, slots=True)
class When:
    apps: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    ai: bool | None = None
    sanctioned: bool | None = None
    users: frozenset[str] | None = None
    groups: frozenset[str] | None = None
    methods: frozenset[str] | None = None
    hosts: tuple[str, ...] | None = None
    mcp: bool | None = None
    mcp_approved: bool | None = None
    mcp_servers: tuple[str, ...] | None = None
    mcp_methods: frozenset[str] | None = None
    mcp_tools: tuple[str, ...] | None = None
    detectors: frozenset[str] | None = None
    detector_categories: frozenset[str] | None = None
    min_count: int | None = None
    min_confidence: float | None = None
    min_severity: str | None = None
    inspected: bool | None = None

    @property
    def about_findings(self) -> bool:
        return any(
            v is not None
            for v in (self.detectors, self.detector_categories, self.min_count, self.min_confidence, self.min_severity)
        )


@dataclass(frozen=True, slots=True)
class PolicySpec:
    id: str
    name: str
    action: Action
    when: When | None  # None: the default policy
    mode: Mode | None = None
    redirect: str | None = None
    message: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    path: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class PolicySet:
    policies: tuple[PolicySpec, ...]
    settings: Settings = dc_field(default_factory=Settings)

    def decide(self, facts: RequestFacts, *, mode: Mode = Mode.ENFORCE) -> Decision:
        return decide(facts, self, mode=mode)


def _matching_findings(when: When, facts: RequestFacts) -> list:
    findings = list(facts.report.findings)
    if when.detectors is not None or when.detector_categories is not None:
        findings = [
            f
            for f in findings
            if (when.detectors is not None and f.detector_id in when.detectors)
            or (when.detector_categories is not None and f.category in when.detector_categories)
        ]
    if when.min_confidence is not None:
        findings = [f for f in findings if f.confidence >= when.min_confidence]
    if when.min_severity is not None:
        floor = SEVERITY_RANK[Severity(when.min_severity)]
        findings = [f for f in findings if SEVERITY_RANK.get(Severity(f.severity), 0) >= floor]
    return findings


def matches(when: When, facts: RequestFacts, settings: Settings) -> tuple[bool, tuple[str, ...]]:
    """Whether every condition holds; second item: detector ids that made it match."""
    app = facts.app
    checks: list[Callable[[], bool]] = []
    if when.ai is not None:
        checks.append(lambda: (app is not None) == when.ai)
    if when.apps is not None:
        checks.append(lambda: app is not None and app.app.id in when.apps)
    if when.categories is not None:
        checks.append(lambda: app is not None and app.app.category in when.categories)
    if when.sanctioned is not None:
        checks.append(lambda: app is not None and app.sanctioned == when.sanctioned)
    if when.users is not None:
        checks.append(lambda: facts.identity.user is not None and facts.identity.user in when.users)
    if when.groups is not None:
        checks.append(lambda: bool(when.groups.intersection(facts.identity.groups)))
    if when.methods is not None:
        checks.append(lambda: facts.method.upper() in when.methods)
    if when.hosts is not None:
        checks.append(lambda: host_matches(facts.host, when.hosts))
    if when.inspected is not None:
        checks.append(lambda: (not facts.report.truncated and not facts.report.not_inspected) == when.inspected)
    mcp = facts.mcp if facts.mcp is not None and facts.mcp.is_mcp else None
    if when.mcp is not None:
        checks.append(lambda: (mcp is not None) == when.mcp)
    if when.mcp_approved is not None:
        checks.append(
            lambda: mcp is not None and host_matches(facts.host, settings.approved_mcp_portals) == when.mcp_approved
        )
    if when.mcp_servers is not None:
        checks.append(lambda: mcp is not None and host_matches(facts.host, when.mcp_servers))
    if when.mcp_methods is not None:
        checks.append(lambda: mcp is not None and bool(when.mcp_methods.intersection(mcp.methods or (mcp.method,))))
    if when.mcp_tools is not None:
        checks.append(
            lambda: mcp is not None
            and mcp.tool is not None
            and any(fnmatch.fnmatchcase(mcp.tool, p) for p in when.mcp_tools)
        )
    if not all(check() for check in checks):
        return False, ()
    if not when.about_findings:
        return True, ()
    hits = _matching_findings(when, facts)
    total = sum(f.count for f in hits)
    if total < (when.min_count or 1):
        return False, ()
    return True, tuple(dict.fromkeys(f.detector_id for f in hits))


def decide(facts: RequestFacts, policies: PolicySet, *, mode: Mode = Mode.ENFORCE) -> Decision:
    for policy in policies.policies:
        if policy.when is None:
            ok, detectors = True, ()
        else:
            ok, detectors = matches(policy.when, facts, policies.settings)
        if not ok:
            continue
        effective_mode = Mode.MONITOR if Mode.MONITOR in (mode, policy.mode) else Mode.ENFORCE
        return Decision(
            action=policy.action,
            policy_id=policy.id,
            policy_name=policy.name,
            reason=policy.message or policy.name,
            mode=effective_mode,
            redirect_url=policy.redirect,
            message=policy.message,
            headers=policy.headers,
            detectors=detectors,
        )
    raise AssertionError("a PolicySet always ends with a default policy")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Parsing


def _freeze(value: list[str] | None, *, lower: bool = False, upper: bool = False) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(v.lower() if lower else v.upper() if upper else v for v in value)


def _parse_when(raw: LineDict, problems: Problems, path: str, label: str) -> When | None:
    if not check_fields(raw, WHEN_FIELDS, problems, path, f"{label} when"):
        return None
    if not raw:
        problems.add(path, raw.line, f"{label}: empty 'when:' (remove it only on the default policy)")
        return None
    hosts = raw.get("hosts")
    servers = raw.get("mcp_servers")
    return When(
        apps=_freeze(raw.get("apps")),
        categories=_freeze(raw.get("categories")),
        ai=raw.get("ai"),
        sanctioned=raw.get("sanctioned"),
        users=_freeze(raw.get("users")),
        groups=_freeze(raw.get("groups")),
        methods=_freeze(raw.get("methods"), upper=True),
        hosts=tuple(h.lower() for h in hosts) if hosts is not None else None,
        mcp=raw.get("mcp"),
        mcp_approved=raw.get("mcp_approved"),
        mcp_servers=tuple(h.lower() for h in servers) if servers is not None else None,
        mcp_methods=_freeze(raw.get("mcp_methods")),
        mcp_tools=tuple(raw["mcp_tools"]) if "mcp_tools" in raw else None,
        detectors=_freeze(raw.get("detectors")),
        detector_categories=_freeze(raw.get("detector_categories")),
        min_count=raw.get("min_count"),
        min_confidence=raw.get("min_confidence"),
        min_severity=raw.get("min_severity"),
        inspected=raw.get("inspected"),
    )


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_policy(raw: LineDict, index: int, problems: Problems, path: str) -> PolicySpec | None:
    label = record_label("policies", index, raw)
    before = len(problems)
    check_fields(raw, POLICY_FIELDS, problems, path, label)
    if len(problems) > before:
        return None
    pid = raw["id"]
    if not ID_RE.match(pid):
        problems.add(path, key_line(raw, "id"), f"{label}: id must be kebab-case (a-z, 0-9, '-')")
    when = None
    if "when" in raw:
        when = _parse_when(raw["when"], problems, path, label)
        if when is None:
            return None
    action = Action(raw["action"])
    redirect = raw.get("redirect")
    if action is Action.REDIRECT and not redirect:
        problems.add(path, key_line(raw, "action"), f"{label}: action 'redirect' needs 'redirect: <URL>'")
    if redirect is not None and action is not Action.REDIRECT:
        problems.add(path, key_line(raw, "redirect"), f"{label}: 'redirect' is only used with action 'redirect'")
    if redirect and not _valid_url(redirect):
        problems.add(path, key_line(raw, "redirect"), f"{label}: redirect '{redirect}' is not an http(s) URL")
    headers: list[tuple[str, str]] = []
    for name, value in (raw.get("headers") or {}).items():
        if not isinstance(value, str):
            problems.add(
                path,
                raw["headers"].key_lines.get(name, raw.line),
                f"{label}: header '{name}' value must be a string (quote it)",
            )
            continue
        headers.append((name, value))
    return PolicySpec(
        id=pid,
        name=raw.get("name") or pid,
        action=action,
        when=when,
        mode=Mode(raw["mode"]) if "mode" in raw else None,
        redirect=redirect,
        message=raw.get("message"),
        headers=tuple(headers),
        path=path,
        line=raw.line,
    )


def parse_settings(raw: LineDict, problems: Problems, path: str) -> Settings:
    if not check_fields(raw, SETTINGS_FIELDS, problems, path, "settings"):
        return Settings()
    for key in ("approved_mcp_portals", "tls_passthrough"):
        for host, line in items_with_lines(raw, key):
            if not is_host_pattern(host.rstrip(".")):
                problems.add(path, line, f"settings: {key}: '{host}' is not a host name or '*.suffix' "
                                         "(no scheme, path or port)")  # fmt: skip
    alternative = None
    alt = raw.get("alternative")
    if alt is not None:
        name, url = alt.get("name"), alt.get("url")
        if not isinstance(name, str) or not isinstance(url, str) or not _valid_url(url):
            problems.add(
                path,
                key_line(raw, "alternative"),
                "settings: alternative needs 'name: <text>' and 'url: <http(s) URL>'",
            )
        else:
            alternative = (name, url)
    return Settings(
        sanctioned_apps=frozenset(raw.get("sanctioned_apps") or ()),
        approved_mcp_portals=tuple(h.lower() for h in raw.get("approved_mcp_portals") or ()),
        alternative=alternative,
        contact=raw.get("contact"),
        tls_passthrough=tuple(h.lower().rstrip(".") for h in raw.get("tls_passthrough") or ()),
    )


def build_policies(docs: list[tuple[str, LineDict]], problems: Problems) -> PolicySet:
    """docs: (shown path, top-level mapping) per policies file, in load order."""
    policies: list[PolicySpec] = []
    settings: Settings | None = None
    for path, top in docs:
        unknown = set(top) - {"schema", "policies", "settings"}
        for key in sorted(unknown):
            problems.add(path, key_line(top, key), f"unknown top-level key '{key}' (expected 'policies' or 'settings')")
        if top.get("schema") != 1:
            problems.add(path, key_line(top, "schema"), "'schema: 1' is required at the top")
        if "settings" in top:
            if settings is not None:
                problems.add(path, key_line(top, "settings"), "'settings' may appear in one policies file only")
            elif isinstance(top["settings"], LineDict):
                settings = parse_settings(top["settings"], problems, path)
            else:
                problems.add(path, key_line(top, "settings"), "'settings' must be a mapping")
        raw_list = top.get("policies", [])
        if not isinstance(raw_list, list):
            problems.add(path, key_line(top, "policies"), "'policies' must be a list")
            continue
        for index, raw in enumerate(raw_list):
            if not isinstance(raw, LineDict):
                problems.add(path, top.line, f"policies[{index}] must be a mapping")
                continue
            spec = parse_policy(raw, index, problems, path)
            if spec is not None:
                policies.append(spec)
    _check_order(policies, problems)
    return PolicySet(tuple(policies), settings or Settings())


def _check_order(policies: list[PolicySpec], problems: Problems) -> None:
    seen: dict[str, PolicySpec] = {}
    for p in policies:
        if p.id in seen:
            first = seen[p.id]
            problems.add(p.path, p.line, f"duplicate policy id '{p.id}' (first at {first.path}:{first.line})")
        seen[p.id] = p
    defaults = [p for p in policies if p.when is None]
    if not defaults:
        where = policies[-1] if policies else None
        problems.add(
            where.path if where else "rules/policies",
            where.line if where else 1,
            "no default policy: end the list with a policy that has no 'when:'",
        )
        return
    for p in defaults[:-1]:
        problems.add(p.path, p.line, f"policy '{p.id}' has no 'when:' but is not last (only the default may)")
    if defaults[-1] is not policies[-1]:
        d = defaults[-1]
        problems.add(d.path, d.line, f"default policy '{d.id}' must be the last policy")


def cross_check(
    policies: PolicySet,
    problems: Problems,
    *,
    app_ids: frozenset[str],
    detector_ids: frozenset[str] | None,
    detector_categories: frozenset[str] | None,
) -> None:
    """Every id a policy names must exist."""
    for p in policies.policies:
        label = f"policy '{p.id}'"
        if p.when is None:
            continue
        for app_id in sorted(p.when.apps or ()):
            if app_id not in app_ids:
                problems.add(p.path, p.line, f"{label}: app '{app_id}' does not exist in rules/apps")
        for det in sorted(p.when.detectors or ()):
            if detector_ids is not None and det not in detector_ids:
                problems.add(p.path, p.line, f"{label}: detector '{det}' does not exist in rules/detectors")
        for cat in sorted(p.when.detector_categories or ()):
            if detector_categories is not None and cat not in detector_categories:
                problems.add(p.path, p.line, f"{label}: no detector has category '{cat}'")
    for app_id in sorted(policies.settings.sanctioned_apps):
        if app_id not in app_ids:
            problems.add("rules/policies", 1, f"settings: sanctioned app '{app_id}' does not exist in rules/apps")
