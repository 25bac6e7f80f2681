"""Bad input through the real proxy: bombs, huge uploads, broken JSON and invalid UTF-8 never crash it
or slip through silently; what was not inspected is logged as such."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from tests.integration import fakes
from tests.integration.clients import http_client

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("proxy-bad-input")]

CHAT = "https://api.openai.com/v1/chat/completions"


@pytest.fixture(scope="module")
def small_proxy(module_launch):
    """Shipped rules, with small limits so the tests stay quick."""
    return module_launch.start(extra_set=["sg_max_buffer=1m", "sg_max_decompressed=2m", "sg_max_scan=256k"])


def last_flow(proxy, predicate):
    return proxy.wait_events(lambda e: e.get("class_uid") == 4002 and predicate(e))[-1]


def test_gzip_bomb_is_bounded_logged_and_the_proxy_keeps_serving(small_proxy, upstream):
    prompt = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * (64 << 20)}]}).encode()
    bomb = gzip.compress(prompt, compresslevel=9)
    assert len(bomb) < 1 << 20 < len(prompt)  # small on the wire, 64 MiB inflated
    with http_client(small_proxy) as client:
        reply = client.post(CHAT, content=bomb,
                            headers={"content-type": "application/json", "content-encoding": "gzip"})
        assert reply.status_code == 200
        flow = last_flow(small_proxy, lambda e: e["http_request"]["url"]["hostname"] == "api.openai.com")
        assert any("decompress" in reason for reason in flow["unmapped"]["shadowgate"]["dlp"]["not_inspected"])
        assert client.post(CHAT, json={"model": "m", "messages": []}).status_code == 200  # still serving


def test_upload_over_the_buffer_limit_streams_through_and_is_logged_not_inspected(small_proxy, upstream):
    body = os.urandom(3 << 20)
    with http_client(small_proxy) as client:
        reply = client.post("https://api.openai.com/v1/files", content=body,
                            headers={"content-type": "application/octet-stream"})
    assert reply.status_code == 200
    received = upstream.requests_to("api.openai.com")[-1]
    assert received.body == body
    flow = last_flow(small_proxy, lambda e: e["http_request"]["url"]["path"] == "/v1/files")
    assert "body-too-large" in flow["unmapped"]["shadowgate"]["dlp"]["not_inspected"]
    assert flow["unmapped"]["shadowgate"]["dlp"]["scanned"] is False


@pytest.mark.parametrize("shape", ["broken-json", "invalid-utf8"])
def test_card_in_malformed_body_is_still_blocked(small_proxy, upstream, shape):
    number = fakes.grouped(fakes.visa_number())
    text = f'{{"model": "m", "messages": [{{"role": "user", "content": "charge {number} now"'  # no closing
    body = text.encode() if shape == "broken-json" else b"\xff\xfe" + text.encode() + b"\xc3\x28 }]}"
    before = len(upstream.requests_to("api.openai.com"))
    with http_client(small_proxy) as client:
        reply = client.post(CHAT, content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 403
    assert "fin-card-number" in reply.text and number not in reply.text
    assert len(upstream.requests_to("api.openai.com")) == before  # nothing forwarded
