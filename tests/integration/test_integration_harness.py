"""The harness itself: the loopback guard, and a bare mitmdump (no shadowgate addons) through it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time

import httpx
import pytest
from mitmproxy import connection
from mitmproxy.proxy import server_hooks
from mitmproxy.test import taddons

from tests.integration.clients import tls_context
from tests.integration.proxy import LOOPBACK_SCRIPT
from tests.integration.proxy import VENV_BIN
from tests.integration.proxy import child_env
from tests.integration.proxy import free_port
from tests.integration.proxy import port_open
from tests.integration.upstream import Reply

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("proxy-harness")]


def load_script():
    spec = importlib.util.spec_from_file_location("sg_loopback_upstream", LOOPBACK_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def connect(addon, host: str, port: int = 443) -> connection.Server:
    client = connection.Client(peername=("127.0.0.1", 50000), sockname=("127.0.0.1", 8080))
    server = connection.Server(address=(host, port))
    addon.server_connect(server_hooks.ServerConnectionHookData(server=server, client=client))
    return server


@pytest.mark.parametrize("spec", ["nohost", "a=1.2.3.4", "a=127.0.0.1:x", "=127.0.0.1:1"])
def test_loopback_map_rejects_bad_items(spec):
    with pytest.raises(ValueError, match="expected host=ip:port"):
        load_script().parse_map(spec)


def test_loopback_guard_maps_names_and_kills_everything_else(tmp_path):
    script = load_script()
    addon = script.LoopbackUpstream()
    log = tmp_path / "connects.txt"
    with taddons.context(addon) as tctx:
        tctx.configure(addon, sg_test_upstream="Api.OpenAI.com=127.0.0.1:4443", sg_test_connect_log=str(log))
        mapped = connect(addon, "api.openai.com.")
        assert mapped.address == ("127.0.0.1", 4443) and mapped.error is None
        assert connect(addon, "localhost", 8000).error is None
        assert connect(addon, "::1", 8000).error is None
        for host in ("chatgpt.com", "10.0.0.1", "192.0.2.7", "127.0.0.1.nip.io"):
            assert "refusing to leave loopback" in (connect(addon, host).error or ""), host
    lines = log.read_text().splitlines()
    assert lines[0] == "api.openai.com.:443 -> 127.0.0.1:4443 ok"
    assert lines[-1] == "127.0.0.1.nip.io:443 -> 127.0.0.1.nip.io:443 killed"


def test_bare_mitmdump_reaches_the_local_upstream_through_the_guard(tmp_path, pki, upstream):
    """Checks the harness without the product: mapping, upstream TLS trust, exact bytes."""
    port = free_port()
    confdir = tmp_path / "confdir"
    argv = [str(VENV_BIN / "mitmdump"), "-q", "--listen-host", "127.0.0.1", "--listen-port", str(port),
            "--set", f"confdir={confdir}", "--set", "connection_strategy=lazy",
            "-s", str(LOOPBACK_SCRIPT), "--set", f"sg_test_upstream=upstream.test=127.0.0.1:{upstream.port}",
            "--set", f"ssl_verify_upstream_trusted_ca={pki.ca_cert}"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=child_env())
    try:
        deadline = time.monotonic() + 30
        while not port_open(port) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert port_open(port), process.stderr.read().decode() if process.poll() is not None else "timeout"
        sent, answer = os.urandom(2048), os.urandom(2048)
        upstream.responder = lambda req: Reply(200, (("content-type", "application/octet-stream"),), answer)
        trust = tls_context(confdir / "mitmproxy-ca-cert.pem")
        proxy_url = f"http://127.0.0.1:{port}"
        with httpx.Client(proxy=proxy_url, verify=trust, trust_env=False, timeout=20) as client:
            response = client.post("https://upstream.test/x", content=sent)
            refused = client.get("https://0.0.0.0:9/")  # not loopback: refused (and local even if not)
        assert response.content == answer
        assert [r.body for r in upstream.requests_to("upstream.test")] == [sent]
        assert refused.status_code == 502
    finally:
        process.terminate()
        process.wait(10)
