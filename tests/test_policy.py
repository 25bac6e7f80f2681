"""Policy parsing, order (first match wins), conditions and monitor mode."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from addons.model import Action
from addons.model import AppMatch
from addons.model import AppSpec
from addons.model import Finding
from addons.model import Identity
from addons.model import McpMatch
from addons.model import Mode
from addons.model import RequestFacts
from addons.model import ScanReport
from addons.policy import PolicySet
from addons.policy import build_policies
from addons.policy import cross_check
from addons.policy import host_matches
from addons.ruleyaml import Problems
from addons.ruleyaml import read_yaml

CHAT = AppSpec("app-chatgpt", "ChatGPT", "OpenAI", "chat-assistant", ("web",), ("chatgpt.com",))
API = AppSpec("app-openai-api", "OpenAI API", "OpenAI", "llm-api", ("api",), ("api.openai.com",))


def load(tmp_path: Path, text: str) -> tuple[PolicySet, Problems]:
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(text))
    problems = Problems()
    doc = read_yaml(path, problems, "rules/policies/p.yaml")
    policies = build_policies([("rules/policies/p.yaml", doc)], problems)
    return policies, problems


def facts(
    app: AppSpec | None = None,
    *,
    sanctioned: bool = False,
    user: str | None = None,
    groups: tuple[str, ...] = (),
    method: str = "GET",
    host: str = "example.org",
    findings: tuple[Finding, ...] = (),
    mcp: McpMatch | None = None,
    truncated: bool = False,
) -> RequestFacts:
    return RequestFacts(
        method=method,
        scheme="https",
        host=host,
        port=443,
        path="/",
        identity=Identity(user=user, groups=groups, source="proxy-auth" if user else "none"),
        app=AppMatch(app, app.hosts[0], sanctioned) if app else None,
        mcp=mcp,
        report=ScanReport(findings=findings, truncated=truncated),
    )


def finding(detector: str, category: str = "secret", *, count: int = 1, confidence: float = 0.9,
            severity: str = "high") -> Finding:
    return Finding(detector, category, severity, confidence, "json:$.x", 0, 4, count, "raw", "••••", "ab" * 32)


ORDERED = """
schema: 1
policies:
  - id: allow-alice
    when: {users: [alice]}
    action: allow
  - id: block-chat
    when: {categories: [chat-assistant], sanctioned: false}
    action: block
    message: Use the approved assistant.
  - id: log-ai
    when: {ai: true}
    action: log
  - id: default
    action: allow
"""


@pytest.mark.parametrize(
    ("request_facts", "policy_id", "action"),
    [
        (facts(CHAT), "block-chat", Action.BLOCK),
        (facts(CHAT, user="alice"), "allow-alice", Action.ALLOW),  # earlier policy wins
        (facts(CHAT, sanctioned=True), "log-ai", Action.LOG),
        (facts(API), "log-ai", Action.LOG),
        (facts(None), "default", Action.ALLOW),
    ],
)
def test_first_match_wins(tmp_path, request_facts, policy_id, action):
    policies, problems = load(tmp_path, ORDERED)
    assert not problems, problems.items
    decision = policies.decide(request_facts)
    assert (decision.policy_id, decision.action) == (policy_id, action)


def test_block_decision_carries_message_and_monitor_mode(tmp_path):
    policies, _ = load(tmp_path, ORDERED)
    decision = policies.decide(facts(CHAT), mode=Mode.MONITOR)
    assert decision.reason == "Use the approved assistant."
    assert decision.action is Action.BLOCK
    assert decision.effective is Action.LOG


def test_policy_level_monitor_mode(tmp_path):
    policies, problems = load(tmp_path, """
        schema: 1
        policies:
          - {id: trial, when: {ai: true}, action: block, mode: monitor}
          - {id: default, action: allow}
    """)
    assert not problems
    decision = policies.decide(facts(API))
    assert (decision.mode, decision.effective) == (Mode.MONITOR, Action.LOG)


GROUPS_METHODS_HOSTS = """
schema: 1
policies:
  - {id: eng-post, when: {groups: [eng], methods: [post]}, action: log}
  - {id: corp-hosts, when: {hosts: ["*.corp.example", api.example.org]}, action: block}
  - {id: default, action: allow}
"""


@pytest.mark.parametrize(
    ("request_facts", "policy_id"),
    [
        (facts(user="bob", groups=("eng",), method="POST"), "eng-post"),
        (facts(user="bob", groups=("eng",), method="GET"), "default"),
        (facts(user="bob", groups=("sales",), method="POST"), "default"),
        (facts(host="a.corp.example"), "corp-hosts"),
        (facts(host="corp.example"), "default"),  # *.suffix is subdomains only
        (facts(host="API.example.org"), "corp-hosts"),
    ],
)
def test_groups_methods_hosts(tmp_path, request_facts, policy_id):
    policies, problems = load(tmp_path, GROUPS_METHODS_HOSTS)
    assert not problems, problems.items
    assert policies.decide(request_facts).policy_id == policy_id


DLP = """
schema: 1
policies:
  - id: block-secrets
    when: {ai: true, detector_categories: [secret]}
    action: block
  - id: block-many-emails
    when: {detectors: [contact-email], min_count: 3}
    action: block
  - id: log-confident
    when: {min_confidence: 0.8}
    action: log
  - {id: default, action: allow}
"""


@pytest.mark.parametrize(
    ("findings", "policy_id", "detectors"),
    [
        ((finding("secret-aws"),), "block-secrets", ("secret-aws",)),
        ((finding("contact-email", "contact", count=3),), "block-many-emails", ("contact-email",)),
        ((finding("contact-email", "contact", count=2),), "log-confident", ("contact-email",)),
        ((finding("contact-email", "contact", count=2, confidence=0.5),), "default", ()),
        ((), "default", ()),
    ],
)
def test_finding_conditions(tmp_path, findings, policy_id, detectors):
    policies, problems = load(tmp_path, DLP)
    assert not problems, problems.items
    decision = policies.decide(facts(API, findings=findings))
    assert (decision.policy_id, decision.detectors) == (policy_id, detectors)


def test_secret_to_non_ai_host_is_not_blocked_by_ai_policy(tmp_path):
    policies, _ = load(tmp_path, DLP)
    assert policies.decide(facts(None, findings=(finding("secret-aws"),))).policy_id != "block-secrets"


MCP = """
schema: 1
settings:
  approved_mcp_portals: [mcp.portal.example]
policies:
  - {id: mcp-approved, when: {mcp: true, mcp_approved: true}, action: allow}
  - id: mcp-block-calls
    when: {mcp: true, mcp_methods: [tools/call], mcp_tools: ["delete_*", "lookup_*"]}
    action: block
  - {id: mcp-log, when: {mcp: true}, action: log}
  - {id: default, action: allow}
"""


def mcp_match(method: str, tool: str | None = None) -> McpMatch:
    return McpMatch(is_mcp=True, score=10, method=method, methods=(method,), tool=tool)


@pytest.mark.parametrize(
    ("request_facts", "policy_id"),
    [
        (facts(host="mcp.portal.example", mcp=mcp_match("tools/call", "lookup_customer")), "mcp-approved"),
        (facts(host="mcp.other.example", mcp=mcp_match("tools/call", "lookup_customer")), "mcp-block-calls"),
        (facts(host="mcp.other.example", mcp=mcp_match("tools/call", "add")), "mcp-log"),
        (facts(host="mcp.other.example", mcp=mcp_match("tools/list")), "mcp-log"),
        (facts(host="mcp.other.example", mcp=McpMatch(is_mcp=False, score=1)), "default"),
    ],
)
def test_mcp_conditions(tmp_path, request_facts, policy_id):
    policies, problems = load(tmp_path, MCP)
    assert not problems, problems.items
    assert policies.decide(request_facts).policy_id == policy_id


def test_inspected_condition(tmp_path):
    policies, problems = load(tmp_path, """
        schema: 1
        policies:
          - {id: block-uninspected, when: {ai: true, inspected: false}, action: block}
          - {id: default, action: allow}
    """)
    assert not problems
    assert policies.decide(facts(API, truncated=True)).policy_id == "block-uninspected"
    assert policies.decide(facts(API)).policy_id == "default"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "schema: 1\npolicies:\n  - {id: a, when: {ai: true}, action: blok}\n  - {id: d, action: allow}\n",
            "rules/policies/p.yaml:3: policies[0] 'a': field 'action' has 'blok', expected one of: "
            "allow, log, block, redirect, redact (did you mean 'block'?)",
        ),
        (
            "schema: 1\npolicies:\n  - id: a\n    when: {app: [x]}\n    action: log\n  - {id: d, action: allow}\n",
            "rules/policies/p.yaml:4: policies[0] 'a' when: unknown field 'app' (did you mean 'apps'?)",
        ),
        (
            "schema: 1\npolicies:\n  - {id: a, when: {ai: true}, action: log}\n",
            "rules/policies/p.yaml:3: no default policy: end the list with a policy that has no 'when:'",
        ),
        (
            "schema: 1\npolicies:\n  - {id: d, action: allow}\n  - {id: a, when: {ai: true}, action: log}\n",
            "rules/policies/p.yaml:3: default policy 'd' must be the last policy",
        ),
        (
            "schema: 1\npolicies:\n  - {id: a, when: {ai: true}, action: log}\n  - {id: a, action: allow}\n",
            "rules/policies/p.yaml:4: duplicate policy id 'a' (first at rules/policies/p.yaml:3)",
        ),
        (
            "schema: 1\npolicies:\n  - {id: a, when: {users: [no]}, action: log}\n  - {id: d, action: allow}\n",
            "rules/policies/p.yaml:3: policies[0] 'a' when: field 'users' must be a list of strings, got a list "
            "containing false (YAML reads unquoted yes/no/on/off/true/false as booleans: quote the value)",
        ),
        (
            "schema: 1\npolicies:\n  - {id: a, when: {ai: true}, action: redirect}\n  - {id: d, action: allow}\n",
            "rules/policies/p.yaml:3: policies[0] 'a': action 'redirect' needs 'redirect: <URL>'",
        ),
        (
            "schema: 1\npolicies:\n  - id: a\n    id: b\n    action: log\n  - {id: d, action: allow}\n",
            "rules/policies/p.yaml:4: duplicate key 'id' (first at line 3)",
        ),
    ],
)
def test_problems_name_file_and_line(tmp_path, text, message):
    _, problems = load(tmp_path, text)
    assert message in problems.items


def test_cross_check_unknown_app_and_detector(tmp_path):
    policies, problems = load(tmp_path, """
        schema: 1
        policies:
          - {id: a, when: {apps: [app-nope], detectors: [secret-nope]}, action: block}
          - {id: d, action: allow}
    """)
    cross_check(policies, problems, app_ids=frozenset({"app-chatgpt"}), detector_ids=frozenset(),
                detector_categories=frozenset())
    assert "rules/policies/p.yaml:4: policy 'a': app 'app-nope' does not exist in rules/apps" in problems.items
    assert "rules/policies/p.yaml:4: policy 'a': detector 'secret-nope' does not exist in rules/detectors" in (
        problems.items
    )


@pytest.mark.parametrize(
    ("host", "patterns", "expected"),
    [
        ("a.b.example", ("*.example",), True),
        ("example", ("*.example",), False),
        ("Example.org.", ("example.org",), True),
        ("badexample.org", ("*.example.org",), False),
    ],
)
def test_host_matches(host, patterns, expected):
    assert host_matches(host, patterns) is expected


def test_settings_host_lists_must_be_host_names(tmp_path):
    policies, problems = load(tmp_path, """
        schema: 1
        settings:
          approved_mcp_portals: [mcp.portal.example, "https://mcp.example/sse"]
          tls_passthrough:
            - "*.bank.example"
            - pinned.example:443
        policies:
          - {id: default, action: allow}
    """)
    messages = [str(p) for p in problems.items]
    assert len(messages) == 2, messages
    assert "'https://mcp.example/sse' is not a host name" in messages[0] and ":4:" in messages[0]
    assert "tls_passthrough: 'pinned.example:443' is not a host name" in messages[1] and ":7:" in messages[1]


def test_tls_passthrough_setting(tmp_path):
    policies, problems = load(tmp_path, """
        schema: 1
        settings: {tls_passthrough: ["*.Bank.example", pinned.example.]}
        policies:
          - {id: default, action: allow}
    """)
    assert not problems.items
    assert policies.settings.tls_passthrough == ("*.bank.example", "pinned.example")
