"""URL query parameters as DLP segments: which are scanned, how they are named, how they are redacted."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl
from urllib.parse import quote

import pytest

from addons.model import Finding
from addons.params import names_where
from addons.urlquery import query_segments
from addons.urlquery import redact_query
from addons.urlquery import split_query


def fake_token(rng: random.Random, n: int = 32) -> str:
    return "".join(rng.choice("ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _ in range(n))


def finding(where: str, start: int, end: int, detector: str = "fin-card-number") -> Finding:
    return Finding(detector, "financial", "high", 0.9, where, start, end, 1, "raw", "••••", "0" * 64)


def test_split_query_drops_path_and_fragment():
    assert split_query("/search?q=a+b&x=1#frag") == "q=a+b&x=1"
    assert split_query("/plain") == ""


def test_values_become_segments_named_by_parameter():
    segs = query_segments("q=charge+my+card&model=gpt-4o&empty=&api-version=2024-02-01")
    assert [(s.where, s.text) for s in segs] == [
        ("query:q", "charge my card"), ("query:model", "gpt-4o"), ("query:api-version", "2024-02-01"),
    ]


def test_percent_encoding_is_decoded_before_scanning():
    [seg] = query_segments("prompt=" + quote("Karte: 12 34 / für Müller", safe=""))
    assert seg.text == "Karte: 12 34 / für Müller"


@pytest.mark.parametrize("name", ["key", "API_KEY", "access_token", "sig", "X-Amz-Signature", "x-goog-credential",
                                  "sessionId"])
def test_credential_parameters_are_not_scanned(name):
    token = fake_token(random.Random(1))
    assert query_segments(f"{name}={token}&q=hello") == query_segments("q=hello")


def test_names_that_could_be_values_are_positional_and_scanned():
    token = fake_token(random.Random(2))
    segs = query_segments(f"q=hi&{token}=1&q2=x")
    assert [(s.where, s.text) for s in segs] == [("query:q", "hi"), ("query:[#1]", "1"), ("query:q2", "x"),
                                                 (names_where("query"), token)]
    assert all(token not in s.where for s in segs)


def test_repeated_names_are_positional():
    segs = query_segments("tag=a&tag=b")
    assert [s.where for s in segs] == ["query:[#0]", "query:[#1]"]


def test_redaction_replaces_the_span_and_keeps_the_other_parameters():
    value = "pay 4111 card now"
    query = "model=x&q=" + quote(value, safe="")
    out = redact_query(query, [finding("query:q", 4, 13)])
    assert out is not None
    assert parse_qsl(out) == [("model", "x"), ("q", "pay [REDACTED:fin-card-number] now")]


def test_redaction_by_position_and_refusal_when_unlocatable():
    assert parse_qsl(redact_query("tag=a1&tag=b2", [finding("query:[#1]", 0, 2)]) or "") == [
        ("tag", "a1"), ("tag", "[REDACTED:fin-card-number]")]
    assert redact_query("q=abc", [finding(names_where("query"), 0, 3)]) is None  # a name cannot be redacted: block
    assert redact_query("q=abc", [finding("query:gone", 0, 3)]) is None
    assert redact_query("q=abc", [finding("query:q", 2, 9)]) is None  # span out of range
