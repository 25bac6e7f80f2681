"""catalog.py: the AI-app catalog, compiled from rules/apps/*.yaml into a host index.

Invariant: `Catalog.match` never loops over apps. It looks the host and each parent suffix up in
dicts (path rules, then exact hosts, then `*.suffix`, longest suffix first), so it costs O(labels);
and every app in a built catalog has passed its own examples through that same `match`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote
from urllib.parse import urlsplit

from addons.model import APP_CATEGORIES
from addons.model import APP_SURFACES
from addons.model import RISK_LEVELS
from addons.model import AppMatch
from addons.model import AppSpec
from addons.ruleyaml import Field
from addons.ruleyaml import LineDict
from addons.ruleyaml import Problems
from addons.ruleyaml import RuleFile
from addons.ruleyaml import check_fields
from addons.ruleyaml import check_unique_ids
from addons.ruleyaml import items_with_lines
from addons.ruleyaml import key_line
from addons.ruleyaml import record_label

# Apexes shared by unrelated traffic (clouds, CDNs, suites, user-hosted apps, third-party SaaS that
# vendor rule sets list): neither `apex` nor `*.apex` may be an app host; use `paths:` or a
# dedicated subdomain (generativelanguage.googleapis.com) instead.
SHARED_APEXES = frozenset("""
    googleapis.com google.com clients6.google.com gstatic.com googleusercontent.com withgoogle.com
    appspot.com run.app web.app firebaseapp.com youtube.com bing.com microsoft.com office.com
    office365.com live.com msn.com cloud.microsoft microsoftonline.com sharepoint.com azure.com
    windows.net blob.core.windows.net azureedge.net azurefd.net azurewebsites.net github.com
    githubusercontent.com github.io vsassets.io amazonaws.com s3.amazonaws.com api.aws amazon.com
    cloudfront.net cloudflare.com cloudflare.net cloudflareinsights.com workers.dev pages.dev
    vercel.app vercel.sh netlify.app herokuapp.com fastly.net akamaized.net hf.space apple.com
    adobe.com notion.so canva.com duck.com x.com meta.com facebook.com tencent.com qq.com baidu.com
    aliyun.com aliyuncs.com yandex.ru yandex.net snowflakecomputing.com cloudinary.com livekit.cloud
    auth0.com stripe.com sentry.io intercom.io intercomcdn.com segment.io launchdarkly.com
    statsig.com featuregates.org algolia.net identrust.com datadoghq.com arkoselabs.com
    usefathom.com liveperson.net lpsnmedia.net envato.com themeforest.net envatousercontent.com
""".split())
PROMPT_SHAPES = tuple(
    "openai-chat openai-responses anthropic-messages gemini chatgpt-web claude-web gemini-web".split()
)
TENANT_HEADERS = tuple(  # only names a vendor documents (reference/ai-apps.md §3)
    """ChatGPT-Allowed-Workspace-Id OpenAI-Allowed-Organization-Ids anthropic-allowed-org-ids
    sec-GitHub-allowed-enterprise X-GeminiCodeAssist-Allowed-Domains X-GoogApps-Allowed-Domains
    Restrict-Access-To-Tenants sec-Restrict-Tenant-Access-Policy X-Slack-Allowed-Workspaces
    X-Dropbox-allowed-Team-Ids""".split()
)
APP_FIELDS = {
    "id": Field("str", required=True),
    "name": Field("str", required=True),
    "vendor": Field("str", required=True),
    "category": Field("str", required=True, choices=APP_CATEGORIES),
    "surface": Field("str_list", required=True, choices=APP_SURFACES),
    "hosts": Field("str_list"),
    "paths": Field("list"),
    "risk": Field("str", required=True, choices=RISK_LEVELS),
    "prompt": Field("str", choices=PROMPT_SHAPES),
    "tenant_header": Field("str", choices=TENANT_HEADERS),
    "examples": Field("map", required=True),
    "notes": Field("str"),
    "sources": Field("str_list"),
    "confidence": Field("str", choices=("high", "medium")),
}
PATH_FIELDS = {"host": Field("str", required=True), "prefix": Field("str", required=True)}
EXAMPLE_FIELDS = {"match": Field("str_list", required=True), "no_match": Field("str_list")}

_ID_RE = re.compile(r"^app-[a-z0-9]+(?:-[a-z0-9]+)*$")
_HOST_RE = re.compile(r"^(?:\*\.)?(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_URL_RE = re.compile(r"^(?:https?|wss?)://[^/?#]")


def is_host_pattern(host: str) -> bool:
    """A host name or `*.suffix` (no scheme, path or port)."""
    return bool(_HOST_RE.match(host.lower()))


def normalize_host(host: str) -> str:
    """Lower-case; drop a port, IPv6 brackets and a trailing dot."""
    h = host.strip().lower()
    if h.startswith("["):
        return h[1 : h.find("]")] if "]" in h else h
    if h.count(":") == 1:
        h = h.partition(":")[0]
    return h.rstrip(".")


def path_segments(path: str) -> tuple[str, ...]:
    """Decoded, lower-cased path segments without query, fragment, empty and dot segments."""
    out: list[str] = []
    for raw in path.partition("?")[0].partition("#")[0].split("/"):
        seg = (unquote(raw) if "%" in raw else raw).lower()
        if seg == "..":
            del out[-1:]
        elif seg not in ("", "."):
            out.append(seg)
    return tuple(out)


def _parents(host: str) -> list[str]:
    """Parent suffixes of `host`, longest first: a.b.c -> [b.c, c]."""
    out, i = [], host.find(".")
    while i != -1:
        out.append(host[i + 1 :])
        i = host.find(".", i + 1)
    return out


@dataclass(frozen=True, slots=True)
class _PathRule:
    segments: tuple[str, ...]
    hit: AppMatch

    def accepts(self, segs: tuple[str, ...]) -> bool:
        if len(segs) < len(self.segments):
            return False
        return all(p in ("*", s) for p, s in zip(self.segments, segs, strict=False))


class Catalog:
    """Host and path index over app specs; the first claim wins (build_catalog reports conflicts)."""

    def __init__(self, apps: Iterable[AppSpec] = ()) -> None:
        self.apps: tuple[AppSpec, ...] = tuple(apps)
        self._by_id = {a.id: a for a in self.apps}
        self.ids = frozenset(self._by_id)
        self.categories = frozenset(a.category for a in self.apps)
        self._exact: dict[str, AppMatch] = {}
        self._wild: dict[str, AppMatch] = {}  # key: the suffix after "*."
        self._path_exact: dict[str, list[_PathRule]] = {}
        self._path_wild: dict[str, list[_PathRule]] = {}
        for app in self.apps:
            for host in app.hosts:
                wild = host.startswith("*.")
                (self._wild if wild else self._exact).setdefault(host.removeprefix("*."), AppMatch(app, host))
            for host, prefix in app.paths:
                table = self._path_wild if host.startswith("*.") else self._path_exact
                rule = _PathRule(path_segments(prefix), AppMatch(app, host + prefix))
                table.setdefault(host.removeprefix("*."), []).append(rule)
        for rules in (*self._path_exact.values(), *self._path_wild.values()):
            rules.sort(key=lambda r: -len(r.segments))  # longest prefix first; stable for ties

    def __len__(self) -> int:
        return len(self.apps)

    def get(self, app_id: str) -> AppSpec | None:
        return self._by_id.get(app_id)

    def match(self, host: str, path: str = "/") -> AppMatch | None:
        h = normalize_host(host)
        parents = _parents(h)
        segs: tuple[str, ...] | None = None
        for rules in (self._path_exact.get(h), *map(self._path_wild.get, parents)):
            for rule in rules or ():
                segs = path_segments(path) if segs is None else segs
                if rule.accepts(segs):
                    return rule.hit
        if hit := self._exact.get(h):
            return hit
        for parent in parents:
            if hit := self._wild.get(parent):
                return hit
        return None


# Building: parse each record, reject ambiguous claims, then run every example through `match`.


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a record sits, to report its problems."""

    path: str
    label: str
    problems: Problems

    def add(self, line: int, message: str) -> bool:
        self.problems.add(self.path, line, f"{self.label}: {message}")
        return False


@dataclass(frozen=True, slots=True)
class _Draft:
    spec: AppSpec
    place: _Place
    record: LineDict


def _host_ok(host: str, line: int, at: _Place, shared_ok: bool = False) -> bool:
    if not is_host_pattern(host):
        return at.add(line, f"host '{host}' is not a host name or '*.suffix' (no scheme, path or port)")
    if not shared_ok and host.removeprefix("*.") in SHARED_APEXES:
        return at.add(line, f"shared host '{host}': match it by path, see paths:")
    return True


def _parse_paths(record: LineDict, at: _Place) -> tuple[tuple[str, str], ...] | None:
    out: list[tuple[str, str]] = []
    for i, (item, line) in enumerate(items_with_lines(record, "paths")):
        sub = _Place(at.path, f"{at.label} paths[{i}]", at.problems)
        if not isinstance(item, LineDict):
            sub.add(line, "must be a mapping with 'host' and 'prefix'")
        elif check_fields(item, PATH_FIELDS, at.problems, at.path, sub.label):
            host, prefix, segs = item["host"].lower(), item["prefix"], path_segments(item["prefix"])
            partial_star = any("*" in seg and seg != "*" for seg in segs)
            if not prefix.startswith("/") or not segs or "?" in prefix or "#" in prefix or partial_star:
                sub.add(key_line(item, "prefix"), f"prefix '{prefix}' must start with '/' and name a segment"
                        " ('*' stands for one whole segment)")  # fmt: skip
            elif _host_ok(host, key_line(item, "host"), sub, shared_ok=True):
                out.append((host, prefix.rstrip("/")))
    return tuple(out) if len(out) == len(record.get("paths") or []) else None


def _examples_ok(record: LineDict, at: _Place) -> bool:
    examples = record["examples"]
    label = f"{at.label} examples"
    if not check_fields(examples, EXAMPLE_FIELDS, at.problems, at.path, label):
        return False
    sub, ok = _Place(at.path, label, at.problems), True
    if not examples["match"]:
        ok = sub.add(key_line(examples, "match"), "'match' needs at least one URL")
    if record.get("paths") and not examples.get("no_match"):
        ok = sub.add(key_line(record, "examples"), "'no_match' is required for apps with paths:")
    for url, line in items_with_lines(examples, "match") + items_with_lines(examples, "no_match"):
        if not _URL_RE.match(url):
            ok = sub.add(line, f"'{url}' is not an http(s) or ws(s) URL")
    return ok


def _parse_app(record: LineDict, path: str, index: int, problems: Problems) -> _Draft | None:
    """One record -> a draft app, or None with its problems recorded."""
    at = _Place(path, record_label("apps", index, record), problems)
    if not check_fields(record, APP_FIELDS, problems, path, at.label):
        return None
    ok = True
    if not _ID_RE.match(record["id"]):
        ok = at.add(key_line(record, "id"), "id must be kebab-case and start with 'app-'")
    if not record["surface"]:
        ok = at.add(key_line(record, "surface"), "'surface' needs at least one value")
    for url, line in items_with_lines(record, "sources"):
        if not url.startswith(("https://", "http://")):
            ok = at.add(line, f"source '{url}' is not an http(s) URL")
    hosts = tuple(h.lower() for h in record.get("hosts") or [])
    for host, (_, line) in zip(hosts, items_with_lines(record, "hosts"), strict=True):
        ok = _host_ok(host, line, at) and ok
    paths = _parse_paths(record, at)
    if not record.get("hosts") and not record.get("paths"):
        ok = at.add(record.line, "needs at least one entry in 'hosts:' or 'paths:'")
    ok = _examples_ok(record, at) and ok
    if not ok or paths is None:
        return None
    spec = AppSpec(
        id=record["id"], name=record["name"], vendor=record["vendor"], category=record["category"],
        surface=tuple(record["surface"]), hosts=hosts, paths=paths, risk=record["risk"],
        prompt=record.get("prompt"), tenant_header=record.get("tenant_header"),
    )  # fmt: skip
    return _Draft(spec, at, record)


def _unambiguous(drafts: list[_Draft]) -> list[_Draft]:
    """Keep the apps whose hosts and path rules no earlier app claimed; report the others."""
    owner: dict[str, tuple[_Draft, int]] = {}
    kept: list[_Draft] = []
    for d in drafts:
        hosts, paths = items_with_lines(d.record, "hosts"), items_with_lines(d.record, "paths")
        claims = [("host", h, n) for h, (_, n) in zip(d.spec.hosts, hosts, strict=True)]
        claims += [("path rule", h + "/" + "/".join(path_segments(p)), n)
                   for (h, p), (_, n) in zip(d.spec.paths, paths, strict=True)]
        ok = True
        for kind, key, line in claims:
            first, first_line = owner.setdefault(key, (d, line))
            if (first, first_line) != (d, line):
                where = f"{first.place.path}:{first_line}"
                ok = d.place.add(line, f"{kind} '{key}' is already claimed by '{first.spec.id}' at {where}")
        if ok:
            kept.append(d)
    return kept


def _target(url: str) -> tuple[str, str]:
    """(host[:port], path?query) of an example URL, as a proxy sees them."""
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2], url[len(f"{parts.scheme}://{parts.netloc}") :] or "/"


def _examples_pass(d: _Draft, catalog: Catalog) -> bool:
    """Run the app's example URLs through the real `match`."""
    ok, app_id = True, d.spec.id
    for kind in ("match", "no_match"):
        for url, line in items_with_lines(d.record["examples"], kind):
            hit = catalog.match(*_target(url))
            if kind == "match" and (hit is None or hit.app.id != app_id):
                got = f"'{hit.app.id}' (via '{hit.matched}')" if hit else "nothing"
                ok = d.place.add(line, f"example '{url}' should match '{app_id}' but matched {got}")
            elif kind == "no_match" and hit is not None and hit.app.id == app_id:
                via = f"matched via '{hit.matched}'"
                ok = d.place.add(line, f"example '{url}' should not match '{app_id}' ({via})")
    return ok


def build_catalog(files: list[RuleFile], problems: Problems) -> Catalog:
    """Validate, cross-check and self-test every app; skip the bad ones and record their problems."""
    drafts = [d for f in files for i, r in enumerate(f.records) if (d := _parse_app(r, f.path, i, problems))]
    check_unique_ids(((d.spec.id, d.record.line, d.place.path) for d in drafts), problems, "app")
    first: dict[str, _Draft] = {}
    for d in drafts:
        first.setdefault(d.spec.id, d)  # a duplicate id is reported above and skipped here
    drafts = _unambiguous(list(first.values()))
    catalog = Catalog(d.spec for d in drafts)
    passed = [d for d in drafts if _examples_pass(d, catalog)]
    return catalog if len(passed) == len(drafts) else Catalog(d.spec for d in passed)
