"""TLS connections no HTTP line describes: passed through by settings, or refused by the client."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.integration.clients import curl
from tests.integration.proxy import SHADOWGATE
from tests.integration.proxy import child_env

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("proxy-tls")]


def tls_lines(proxy, reason: str) -> list[dict]:
    return [e for e in proxy.events() if e.get("class_uid") == 4001
            and e["unmapped"]["shadowgate"]["not_inspected"] == [reason]]  # fmt: skip


@pytest.fixture(scope="module")
def passthrough_proxy(module_launch):
    rules = module_launch.rules()
    settings = rules / "policies" / "settings.yaml"
    text = settings.read_text(encoding="utf-8")
    assert "  tls_passthrough: []" in text
    settings.write_text(text.replace("  tls_passthrough: []", "  tls_passthrough: [upstream.test]"), encoding="utf-8")
    return module_launch.start(rules)


def test_a_passthrough_host_is_not_intercepted_and_is_logged_as_not_inspected(passthrough_proxy, upstream, pki):
    # the client sees the origin's own certificate (signed by the test CA), not one from the proxy CA
    result = curl(passthrough_proxy, "https://upstream.test/pinned/ping", "--cacert", str(pki.ca_cert))
    assert (result.returncode, result.status) == (0, 200), result.stderr
    [received] = upstream.requests_to("upstream.test")
    assert received.path == "/pinned/ping"
    passthrough_proxy.wait_event(lambda e: e.get("class_uid") == 4001)
    [line] = tls_lines(passthrough_proxy, "tls-passthrough")
    assert (line["activity_id"], line["status_id"], line["action_id"]) == (1, 1, 1)
    assert line["dst_endpoint"]["hostname"] == line["unmapped"]["shadowgate"]["sni"] == "upstream.test"
    assert not [e for e in passthrough_proxy.http_events("upstream.test")]  # nothing was seen as HTTP


def test_a_client_refusing_the_proxy_certificate_is_logged_once(proxy, upstream, pki):
    for _ in range(2):  # e.g. a pinned app: it trusts only its own CA, never the proxy's
        result = curl(proxy, "https://upstream.test/ping", "--cacert", str(pki.ca_cert))
        assert result.returncode == 60, result.stderr  # SSL certificate problem
    proxy.wait_event(lambda e: e.get("class_uid") == 4001)
    [line] = tls_lines(proxy, "client-rejected-certificate")  # one line per client and host per 5 minutes
    assert (line["activity_id"], line["status_id"], line["disposition_id"]) == (4, 2, 17)
    assert line["unmapped"]["shadowgate"]["sni"] == "upstream.test"
    assert line["src_endpoint"]["ip"] == "127.0.0.1"
    assert upstream.requests_to("upstream.test") == []


def test_report_counts_the_passthrough(passthrough_proxy, upstream, pki):
    result = curl(passthrough_proxy, "https://upstream.test/pinned/again", "--cacert", str(pki.ca_cert))
    assert result.returncode == 0, result.stderr
    passthrough_proxy.wait_event(lambda e: e.get("class_uid") == 4001)
    done = subprocess.run([str(SHADOWGATE), "report", "--format", "json", str(passthrough_proxy.log_path)],
                          capture_output=True, text=True, timeout=60, env=child_env(), check=True)
    report = json.loads(done.stdout)
    assert report["skipped"] == 0
    assert report["tls"] == [{"reason": "tls-passthrough", "host": "upstream.test", "lines": 1}]  # one per 5 min
