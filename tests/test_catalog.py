"""Tests for addons/catalog.py: host index semantics, load-time problems, and the shipped rules/apps."""

from __future__ import annotations

import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from addons.catalog import SHARED_APEXES
from addons.catalog import Catalog
from addons.catalog import build_catalog
from addons.catalog import normalize_host
from addons.catalog import path_segments
from addons.model import APP_CATEGORIES
from addons.ruleyaml import Problems
from addons.ruleyaml import read_rule_files

RULES = Path(__file__).resolve().parent.parent / "rules" / "apps"
_PROBLEMS = Problems()
SHIPPED_FILES = read_rule_files(RULES, "apps", _PROBLEMS, "rules/apps")
SHIPPED = build_catalog(SHIPPED_FILES, _PROBLEMS)
SHIPPED_RECORDS = {r["id"]: r for f in SHIPPED_FILES for r in f.records}


def build(tmp_path: Path, *texts: str) -> tuple[Catalog, list[str]]:
    """Build a catalog from YAML texts written as rules/apps/f0.yaml, f1.yaml …"""
    root = tmp_path / "apps"
    root.mkdir()
    for i, text in enumerate(texts):
        (root / f"f{i}.yaml").write_text(textwrap.dedent(text).lstrip("\n"))
    problems = Problems()
    catalog = build_catalog(read_rule_files(root, "apps", problems, "rules/apps"), problems)
    return catalog, problems.items


def app(app_id: str, hosts: str, match: str, no_match: str = "", paths: str = "") -> str:
    """One app record, 8 lines + 1 per optional line; hosts/paths/match given as flow lists."""
    lines = [
        f"  - id: {app_id}",
        "    name: Test",
        "    vendor: Test",
        "    category: chat-assistant",
        "    surface: [web]",
        "    risk: high",
        f"    hosts: {hosts}",
        *([f"    paths: {paths}"] if paths else []),
        f"    examples: {{match: {match}{', no_match: ' + no_match if no_match else ''}}}",
    ]
    return "\n".join(lines) + "\n"


HEAD = "schema: 1\napps:\n"
F0 = "rules/apps/f0.yaml"
A = "apps[0] 'app-a'"


def where(host: str, path: str = "/", catalog: Catalog = SHIPPED) -> tuple[str, str] | None:
    hit = catalog.match(host, path)
    return (hit.app.id, hit.matched) if hit else None


# --- matching semantics on the shipped catalog ------------------------------------------------


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("chatgpt.com", "/backend-api/f/conversation", ("app-chatgpt", "chatgpt.com")),
        ("claude.ai", "/", ("app-claude", "claude.ai")),
        ("gemini.google.com", "/app", ("app-gemini-app", "gemini.google.com")),
        ("api.openai.com", "/v1/chat/completions", ("app-openai-api", "api.openai.com")),
        ("api.anthropic.com", "/v1/messages", ("app-anthropic-api", "api.anthropic.com")),
        ("generativelanguage.googleapis.com", "/v1beta/models",
         ("app-gemini-api", "generativelanguage.googleapis.com")),
        ("bedrock-runtime.eu-west-1.amazonaws.com", "/model/m/converse",
         ("app-aws-bedrock", "bedrock-runtime.eu-west-1.amazonaws.com")),
        ("example.com", "/", None),
        ("notchatgpt.com", "/", None),
        ("chatgpt.com.example.net", "/", None),
    ],
)  # fmt: skip
def test_exact_hosts(host: str, path: str, expected: tuple[str, str] | None) -> None:
    assert where(host, path) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("files.oaiusercontent.com", ("app-chatgpt", "*.oaiusercontent.com")),
        ("a.b.c.claude.ai", ("app-claude", "*.claude.ai")),
        ("api.githubcopilot.com", ("app-github-copilot", "*.githubcopilot.com")),
        ("api.individual.githubcopilot.com", ("app-github-copilot", "*.individual.githubcopilot.com")),
        ("api.business.githubcopilot.com", ("app-github-copilot", "*.business.githubcopilot.com")),
        ("contoso.openai.azure.com", ("app-azure-openai", "*.openai.azure.com")),
        ("openai.azure.com", None),  # `*.openai.azure.com` does not cover the bare suffix
        ("azure.com", None),
        ("www.googleapis.com", None),
        ("s3.amazonaws.com", None),
        ("user-app.hf.space", None),  # shared apex: left out of the catalog
    ],
)
def test_wildcard_hosts(host: str, expected: tuple[str, str] | None) -> None:
    assert where(host) == expected


def test_wildcard_does_not_cover_its_bare_suffix(tmp_path: Path) -> None:
    catalog, problems = build(tmp_path, HEAD + app("app-a", "['*.only.example']", "[https://x.only.example/]"))
    assert problems == []
    assert where("x.only.example", catalog=catalog) == ("app-a", "*.only.example")
    assert where("deep.x.only.example", catalog=catalog) == ("app-a", "*.only.example")
    assert where("only.example", catalog=catalog) is None
    assert where("xonly.example", catalog=catalog) is None


GEMINI_UPLOAD = ("app-gemini-app", "content-push.googleapis.com/upload")
COPILOT_WWW = ("app-microsoft-copilot", "www.bing.com/chat")
WORKERS_AI = ("app-cloudflare-workers-ai", "api.cloudflare.com/client/v4/accounts/*/ai")
VERTEX = ("app-vertex-ai", "*.googleapis.com/v1/projects/*/locations/*/publishers")


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("content-push.googleapis.com", "/upload", GEMINI_UPLOAD),
        ("content-push.googleapis.com", "/upload/", GEMINI_UPLOAD),
        ("content-push.googleapis.com", "/upload?upload_id=1", GEMINI_UPLOAD),
        ("content-push.googleapis.com", "/upload/x/y", GEMINI_UPLOAD),
        ("content-push.googleapis.com", "/UPLOAD", GEMINI_UPLOAD),
        ("content-push.googleapis.com", "/uploads", None),
        ("content-push.googleapis.com", "/", None),
        ("content-push.googleapis.com", "/x/upload", None),
        ("www.bing.com", "/chat", COPILOT_WWW),
        ("www.bing.com", "/chat?q=hi", COPILOT_WWW),
        ("www.bing.com", "/chat/x", COPILOT_WWW),
        ("www.bing.com", "/%63hat", COPILOT_WWW),
        ("www.bing.com", "//x/../chat", COPILOT_WWW),
        ("bing.com", "/chat", ("app-microsoft-copilot", "bing.com/chat")),
        ("www.bing.com", "/chatter", None),
        ("www.bing.com", "/search?q=chat", None),
        ("www.bing.com", "/", None),
        ("sydney.bing.com", "/", ("app-microsoft-copilot", "sydney.bing.com")),
        ("api.cloudflare.com", "/client/v4/accounts/abc/ai/run/@cf/m", WORKERS_AI),
        ("api.cloudflare.com", "/client/v4/accounts/abc/dns_records", None),
        ("api.cloudflare.com", "/client/v4/accounts/ai", None),
        ("us-central1-aiplatform.googleapis.com", "/v1/projects/p/locations/l/publishers/google/models/m",
         VERTEX),
        ("us-central1-aiplatform.googleapis.com", "/v1/projects/p/locations/l/endpoints/e:predict", None),
        ("www.googleapis.com", "/drive/v3/files", None),
        ("github.com", "/copilot", ("app-github-copilot", "github.com/copilot")),
        ("github.com", "/copilotkit/copilotkit", None),
        ("github.com", "/", None),
        ("graph.microsoft.com", "/beta/copilot/conversations",
         ("app-m365-copilot", "graph.microsoft.com/beta/copilot")),
        ("graph.microsoft.com", "/v1.0/me/messages", None),
        ("substrate.office.com", "/M365COPILOT/Chathub/x",
         ("app-m365-copilot", "substrate.office.com/m365Copilot")),
        ("substrate.office.com", "/owa/", None),
    ],
)  # fmt: skip
def test_path_rules_on_shared_hosts(host: str, path: str, expected: tuple[str, str] | None) -> None:
    assert where(host, path) == expected


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("api.openai.com", "/", ("app-openai-api", "api.openai.com")),
        ("cdn.openai.com", "/", ("app-openai-api", "*.openai.com")),
        ("chat.openai.com", "/", ("app-chatgpt", "chat.openai.com")),
        ("sora.chatgpt.com", "/", ("app-sora", "sora.chatgpt.com")),
        ("www.chatgpt.com", "/", ("app-chatgpt", "*.chatgpt.com")),
        ("api.deepseek.com", "/chat/completions", ("app-deepseek-api", "api.deepseek.com")),
        ("chat.deepseek.com", "/", ("app-deepseek-chat", "chat.deepseek.com")),
        ("api.x.ai", "/v1/responses", ("app-xai-api", "api.x.ai")),
        ("console.x.ai", "/", ("app-grok", "*.x.ai")),
        ("api.kimi.com", "/coding/v1/messages", ("app-kimi-for-coding", "api.kimi.com/coding")),
        ("api.kimi.com", "/other", ("app-kimi", "*.kimi.com")),
        ("ollama.com", "/v1/chat/completions", ("app-ollama", "ollama.com/v1")),
        ("ollama.com", "/library", ("app-ollama", "ollama.com")),
    ],
)
def test_precedence_path_then_exact_then_longest_suffix(
    host: str, path: str, expected: tuple[str, str] | None
) -> None:
    assert where(host, path) == expected


def test_precedence_in_a_small_catalog(tmp_path: Path) -> None:
    text = HEAD + "".join([
        app("app-a", "['*.example.org']", "[https://x.example.org/]"),
        app("app-b", "['*.b.example.org']", "[https://x.b.example.org/]"),
        app("app-c", "[api.example.org]", "[https://api.example.org/]", "[https://api.example.org/ai/x]"),
        app("app-d", "[]", "[https://api.example.org/ai/x]", "[https://api.example.org/]",
            paths="[{host: api.example.org, prefix: /ai}]"),
    ])  # fmt: skip
    catalog, problems = build(tmp_path, text)
    assert problems == []
    assert where("x.b.example.org", catalog=catalog) == ("app-b", "*.b.example.org")
    assert where("x.c.example.org", catalog=catalog) == ("app-a", "*.example.org")
    assert where("api.example.org", "/ai/x", catalog) == ("app-d", "api.example.org/ai")
    assert where("api.example.org", "/aix", catalog) == ("app-c", "api.example.org")


@pytest.mark.parametrize(
    "host", ["ChatGPT.COM", "chatgpt.com.", "chatgpt.com:443", "CHATGPT.com.:8443", " chatgpt.com "]
)
def test_host_normalisation(host: str) -> None:
    assert where(host) == ("app-chatgpt", "chatgpt.com")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("A.Example.COM.", "a.example.com"), ("a.example.com:8080", "a.example.com"), ("[::1]:443", "::1"),
     ("::1", "::1"), ("", "")],
)  # fmt: skip
def test_normalize_host(raw: str, expected: str) -> None:
    assert normalize_host(raw) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/", ()), ("/a/b?c=/d#e", ("a", "b")), ("//A/./b/../C/", ("a", "c")), ("/%41%2Fb", ("a/b",)), ("", ())],
)
def test_path_segments(path: str, expected: tuple[str, ...]) -> None:
    assert path_segments(path) == expected


def test_match_unknown_and_empty_hosts() -> None:
    assert SHIPPED.match("") is None
    assert SHIPPED.match("localhost") is None
    assert SHIPPED.match("10.0.0.1:8080") is None


# --- load-time problems -----------------------------------------------------------------------


def test_same_exact_host_in_two_apps_is_ambiguous(tmp_path: Path) -> None:
    text = HEAD + app("app-a", "[foo.example]", "[https://foo.example/]") + app(
        "app-b", "[bar.example, foo.example]", "[https://bar.example/]"
    )
    catalog, problems = build(tmp_path, text)
    assert problems == [
        f"{F0}:17: apps[1] 'app-b': host 'foo.example' is already claimed by 'app-a' "
        "at rules/apps/f0.yaml:9"
    ]
    assert catalog.ids == frozenset({"app-a"})


def test_same_wildcard_in_two_files_is_ambiguous(tmp_path: Path) -> None:
    catalog, problems = build(
        tmp_path,
        HEAD + app("app-a", "['*.foo.example']", "[https://x.foo.example/]"),
        HEAD + app("app-b", "['*.foo.example']", "[https://x.foo.example/]"),
    )
    assert problems == [
        "rules/apps/f1.yaml:9: apps[0] 'app-b': host '*.foo.example' is already claimed by 'app-a' "
        "at rules/apps/f0.yaml:9"
    ]
    assert len(catalog) == 1


def test_same_path_rule_in_two_apps_is_ambiguous(tmp_path: Path) -> None:
    urls = ("[https://www.bing.com/chat]", "[https://www.bing.com/]")
    text = (
        HEAD
        + app("app-a", "[]", *urls, "[{host: www.bing.com, prefix: /chat/}]")
        + app("app-b", "[]", *urls, "[{host: www.bing.com, prefix: /chat}]")
    )
    catalog, problems = build(tmp_path, text)
    assert problems == [
        f"{F0}:19: apps[1] 'app-b': path rule 'www.bing.com/chat' is already claimed by 'app-a' "
        "at rules/apps/f0.yaml:10"
    ]
    assert catalog.ids == frozenset({"app-a"})


@pytest.mark.parametrize(
    "host", ["bing.com", "*.googleapis.com", "googleapis.com", "*.amazonaws.com", "hf.space"]
)
def test_shared_apex_host_is_refused(tmp_path: Path, host: str) -> None:
    text = HEAD + app("app-a", f"[ok.example, '{host}']", "[https://ok.example/]")
    catalog, problems = build(tmp_path, text)
    assert problems == [f"{F0}:9: {A}: shared host '{host}': match it by path, see paths:"]
    assert len(catalog) == 0


def test_specific_subdomain_of_shared_apex_is_fine(tmp_path: Path) -> None:
    text = HEAD + app("app-a", "[generativelanguage.googleapis.com]", "[https://generativelanguage.googleapis.com/]")
    catalog, problems = build(tmp_path, text)
    assert problems == []
    host = "generativelanguage.googleapis.com"
    assert where(host, catalog=catalog) == ("app-a", host)
    assert where("www.googleapis.com", catalog=catalog) is None


def test_shared_apexes_constant_holds_the_reference_list() -> None:
    reference = """googleapis.com google.com gstatic.com bing.com microsoft.com office.com github.com
        amazonaws.com api.aws azure.com windows.net azureedge.net azurefd.net cloudflare.com workers.dev
        hf.space live.com apple.com amazon.com adobe.com notion.so canva.com"""
    assert set(reference.split()) <= SHARED_APEXES


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("    host: [x.example]\n",
         f"{F0}:11: {A}: unknown field 'host' (did you mean 'hosts'?)"),
        ("    tenant_headers: ChatGPT-Allowed-Workspace-Id\n",
         f"{F0}:11: {A}: unknown field 'tenant_headers' (did you mean 'tenant_header'?)"),
        ("    prompt: openai_chat\n",
         f"{F0}:11: {A}: field 'prompt' has 'openai_chat', expected one of: "
         "openai-chat, openai-responses, anthropic-messages, gemini, chatgpt-web, claude-web, gemini-web "
         "(did you mean 'openai-chat'?)"),
        ("    tenant_header: X-OpenAI-Allowed-Orgs\n",
         f"{F0}:11: {A}: field 'tenant_header' has 'X-OpenAI-Allowed-Orgs', expected one of: "
         "ChatGPT-Allowed-Workspace-Id, OpenAI-Allowed-Organization-Ids, anthropic-allowed-org-ids, "
         "sec-GitHub-allowed-enterprise, X-GeminiCodeAssist-Allowed-Domains, X-GoogApps-Allowed-Domains, "
         "Restrict-Access-To-Tenants, sec-Restrict-Tenant-Access-Policy, X-Slack-Allowed-Workspaces, "
         "X-Dropbox-allowed-Team-Ids (did you mean 'OpenAI-Allowed-Organization-Ids'?)"),
    ],
)  # fmt: skip
def test_bad_field_is_reported_with_a_suggestion(tmp_path: Path, line: str, expected: str) -> None:
    catalog, problems = build(tmp_path, HEAD + app("app-a", "[ok.example]", "[https://ok.example/]") + line)
    assert problems == [expected]
    assert len(catalog) == 0


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("id: app-a", "id: chatgpt",
         f"{F0}:3: apps[0] 'chatgpt': id must be kebab-case and start with 'app-'"),
        ("category: chat-assistant", "category: chat_assistant",
         f"{F0}:6: {A}: field 'category' has 'chat_assistant', expected one of: "
         + ", ".join(APP_CATEGORIES) + " (did you mean 'chat-assistant'?)"),
        ("surface: [web]", "surface: []", f"{F0}:7: {A}: 'surface' needs at least one value"),
        ("hosts: [ok.example]", "hosts: ['https://ok.example/x']",
         f"{F0}:9: {A}: host 'https://ok.example/x' is not a host name or '*.suffix' "
         "(no scheme, path or port)"),
        ("hosts: [ok.example]", "hosts: ['*.ai']",
         f"{F0}:9: {A}: host '*.ai' is not a host name or '*.suffix' "
         "(no scheme, path or port)"),
        ("hosts: [ok.example]", "hosts: []",
         f"{F0}:3: {A}: needs at least one entry in 'hosts:' or 'paths:'"),
        ("risk: high", "risk: severe",
         f"{F0}:8: {A}: field 'risk' has 'severe', expected one of: low, medium, high"),
        ("examples: {match: [https://ok.example/]}", "examples: {match: []}",
         f"{F0}:10: {A} examples: 'match' needs at least one URL"),
        ("examples: {match: [https://ok.example/]}", "examples: {match: [ok.example]}",
         f"{F0}:10: {A} examples: 'ok.example' is not an http(s) or ws(s) URL"),
        ("examples: {match: [https://ok.example/]}", "examples: {match: [https://ok.example/], nomatch: []}",
         f"{F0}:10: {A} examples: unknown field 'nomatch' (did you mean 'no_match'?)"),
    ],
)  # fmt: skip
def test_bad_record_is_reported(tmp_path: Path, replace: str, by: str, expected: str) -> None:
    text = HEAD + app("app-a", "[ok.example]", "[https://ok.example/]")
    assert replace in text
    catalog, problems = build(tmp_path, text.replace(replace, by))
    assert problems == [expected]
    assert len(catalog) == 0


@pytest.mark.parametrize(
    ("paths", "no_match", "expected"),
    [
        ("[{host: www.bing.com, prefix: /chat}]", "",
         f"{F0}:11: {A} examples: 'no_match' is required for apps with paths:"),
        ("[{host: www.bing.com, prefix: /}]", "[https://www.bing.com/x]",
         f"{F0}:10: {A} paths[0]: prefix '/' must start with '/' and name a segment "
         "('*' stands for one whole segment)"),
        ("[{host: www.bing.com, prefix: /chat*}]", "[https://www.bing.com/x]",
         f"{F0}:10: {A} paths[0]: prefix '/chat*' must start with '/' and name a segment "
         "('*' stands for one whole segment)"),
        ("[{host: www.bing.com, prefix: chat}]", "[https://www.bing.com/x]",
         f"{F0}:10: {A} paths[0]: prefix 'chat' must start with '/' and name a segment "
         "('*' stands for one whole segment)"),
        ("[{host: www.bing.com, prefix: /chat, prefx: /x}]", "[https://www.bing.com/x]",
         f"{F0}:10: {A} paths[0]: unknown field 'prefx' (did you mean 'prefix'?)"),
        ("[www.bing.com/chat]", "[https://www.bing.com/x]",
         f"{F0}:10: {A} paths[0]: must be a mapping with 'host' and 'prefix'"),
    ],
)  # fmt: skip
def test_bad_path_rule_is_reported(tmp_path: Path, paths: str, no_match: str, expected: str) -> None:
    text = HEAD + app("app-a", "[ok.example]", "[https://ok.example/]", no_match, paths)
    catalog, problems = build(tmp_path, text)
    assert problems == [expected]
    assert len(catalog) == 0


def test_failing_examples_are_rejected_at_their_line(tmp_path: Path) -> None:
    text = HEAD + textwrap.indent(textwrap.dedent("""\
      - id: app-a
        name: A
        vendor: Test
        category: llm-api
        surface: [api]
        risk: medium
        hosts: ['*.a.example']
        examples:
          match:
            - https://x.a.example/
            - https://a.example/
            - https://x.b.example/
          no_match:
            - https://deep.x.a.example/v1
    """), "  ") + app("app-b", "['*.b.example']", "[https://x.b.example/]")
    catalog, problems = build(tmp_path, text)
    assert problems == [
        f"{F0}:13: {A}: example 'https://a.example/' should match 'app-a' but matched nothing",
        f"{F0}:14: {A}: example 'https://x.b.example/' should match 'app-a' "
        "but matched 'app-b' (via '*.b.example')",
        f"{F0}:16: {A}: example 'https://deep.x.a.example/v1' should not match 'app-a' "
        "(matched via '*.a.example')",
    ]
    assert catalog.ids == frozenset({"app-b"})
    assert where("x.a.example", catalog=catalog) is None


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    catalog, problems = build(
        tmp_path,
        HEAD + app("app-a", "[one.example]", "[https://one.example/]"),
        HEAD + app("app-a", "[two.example]", "[https://two.example/]"),
    )
    assert problems == ["rules/apps/f1.yaml:3: duplicate app id 'app-a' (first at rules/apps/f0.yaml:3)"]
    assert len(catalog) == 1
    assert where("two.example", catalog=catalog) is None


def test_every_problem_is_collected_and_good_apps_still_load(tmp_path: Path) -> None:
    text = HEAD + "".join([
        app("app-bad-host", "[bing.com]", "[https://bing.com/]"),
        app("app-good", "[good.example]", "[https://good.example/]"),
        app("app-bad-example", "[other.example]", "[https://good.example/]"),
    ])  # fmt: skip
    catalog, problems = build(tmp_path, text, "schema: 2\napps: []\n")
    assert problems == [
        "rules/apps/f1.yaml:1: 'schema: 1' is required at the top",
        f"{F0}:9: apps[0] 'app-bad-host': shared host 'bing.com': match it by path, see paths:",
        f"{F0}:26: apps[2] 'app-bad-example': example 'https://good.example/' should match "
        "'app-bad-example' but matched 'app-good' (via 'good.example')",
    ]
    assert catalog.ids == frozenset({"app-good"})


# --- the shipped catalog ----------------------------------------------------------------------


def test_shipped_catalog_loads_cleanly() -> None:
    assert _PROBLEMS.items == []
    assert len(SHIPPED) >= 250
    assert len(SHIPPED) == len(SHIPPED_RECORDS)
    assert SHIPPED.categories == frozenset(APP_CATEGORIES)


@pytest.mark.parametrize(
    ("app_id", "category", "risk", "prompt", "tenant_header"),
    [
        ("app-chatgpt", "chat-assistant", "high", "chatgpt-web", "ChatGPT-Allowed-Workspace-Id"),
        ("app-claude", "chat-assistant", "high", "claude-web", "anthropic-allowed-org-ids"),
        ("app-gemini-app", "chat-assistant", "high", "gemini-web", None),
        ("app-openai-api", "llm-api", "medium", "openai-chat", "OpenAI-Allowed-Organization-Ids"),
        ("app-anthropic-api", "llm-api", "medium", "anthropic-messages", "anthropic-allowed-org-ids"),
        ("app-gemini-api", "llm-api", "medium", "gemini", None),
        ("app-github-copilot", "coding-assistant", "medium", "openai-chat", "sec-GitHub-allowed-enterprise"),
        ("app-otter", "meeting-assistant", "high", None, None),
        ("app-openrouter", "llm-api", "high", "openai-chat", None),
    ],
)
def test_shipped_reference_apps(
    app_id: str, category: str, risk: str, prompt: str | None, tenant_header: str | None
) -> None:
    spec = SHIPPED.get(app_id)
    assert spec is not None
    expected = (category, risk, prompt, tenant_header)
    assert (spec.category, spec.risk, spec.prompt, spec.tenant_header) == expected
    assert app_id in SHIPPED.ids


def test_get_unknown_id() -> None:
    assert SHIPPED.get("app-does-not-exist") is None


@pytest.mark.parametrize("app_id", sorted(SHIPPED_RECORDS))
def test_shipped_app_examples(app_id: str) -> None:
    examples = SHIPPED_RECORDS[app_id]["examples"]
    assert examples["match"], "every app needs at least one match example"
    for url in examples["match"]:
        parts = urlsplit(url)
        hit = SHIPPED.match(parts.netloc, parts.path + (f"?{parts.query}" if parts.query else ""))
        assert hit is not None and hit.app.id == app_id, url
    for url in examples.get("no_match") or []:
        parts = urlsplit(url)
        hit = SHIPPED.match(parts.netloc, parts.path + (f"?{parts.query}" if parts.query else ""))
        assert hit is None or hit.app.id != app_id, url
