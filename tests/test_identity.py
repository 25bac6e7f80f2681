"""Identity: proxy-auth user first, then the source-IP map; groups from the identities file."""

from __future__ import annotations

import textwrap

import pytest

from addons.identity import build_identities
from addons.model import Identity
from addons.ruleyaml import Problems
from addons.ruleyaml import read_rule_files

IDENTITIES = """
schema: 1
identities:
  - user: alice@example.com
    sources: [10.0.0.5, "2001:db8::5"]
    groups: [eng, ai-pilot]
  - user: lab-machines
    sources: [10.0.0.0/24]
    groups: [lab]
  - user: bob@example.com
    groups: [sales]
"""


@pytest.fixture
def identities(tmp_path):
    (tmp_path / "identities").mkdir()
    (tmp_path / "identities" / "people.yaml").write_text(textwrap.dedent(IDENTITIES))
    problems = Problems()
    result = build_identities(read_rule_files(tmp_path / "identities", "identities", problems, "rules/identities"),
                              problems)
    assert not problems, problems.items
    return result


@pytest.mark.parametrize(
    ("proxy_user", "client_ip", "expected"),
    [
        ("bob@example.com", "10.0.0.5", Identity("bob@example.com", ("sales",), "proxy-auth")),
        (None, "10.0.0.5", Identity("alice@example.com", ("eng", "ai-pilot"), "ip-map")),  # /32 beats /24
        (None, "10.0.0.77", Identity("lab-machines", ("lab",), "ip-map")),
        (None, "::ffff:10.0.0.5", Identity("alice@example.com", ("eng", "ai-pilot"), "ip-map")),
        (None, "2001:db8::5", Identity("alice@example.com", ("eng", "ai-pilot"), "ip-map")),
        (None, "192.168.1.1", Identity()),
        ("carol", None, Identity("carol", (), "proxy-auth")),
        (None, "not-an-ip", Identity()),
    ],
)
def test_resolve(identities, proxy_user, client_ip, expected):
    assert identities.resolve(proxy_user, client_ip) == expected


def test_bad_source_and_conflict_are_reported(tmp_path):
    (tmp_path / "identities").mkdir()
    (tmp_path / "identities" / "x.yaml").write_text(
        "schema: 1\nidentities:\n  - user: a\n    sources: [10.0.0.300]\n"
        "  - user: b\n    sources: [10.0.1.0/24]\n  - user: c\n    sources: [10.0.1.0/24]\n"
    )
    problems = Problems()
    build_identities(read_rule_files(tmp_path / "identities", "identities", problems, "rules/identities"), problems)
    assert problems.items == [
        "rules/identities/x.yaml:4: identities[0]: '10.0.0.300' is not an IP or CIDR",
        "rules/identities/x.yaml:8: identities[2]: source 10.0.1.0/24 already belongs to 'b' "
        "(rules/identities/x.yaml:5)",
    ]
