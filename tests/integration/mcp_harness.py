"""mcp_harness.py: real MCP SDK servers and clients (tests/mcp_sdk/) around a real shadowgate proxy.

The server runs the official `mcp` SDK on loopback over HTTPS with the test PKI's certificate; the
proxy maps `mcp.tools.test` to it (loopback_upstream.py). Clients run in a child process with only
`HTTPS_PROXY` and `SSL_CERT_FILE` (the proxy CA) set: lower-case proxy variables and NO_PROXY removed.
"""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.pki import Pki
from tests.integration.proxy import ROOT
from tests.integration.proxy import Proxy
from tests.integration.proxy import child_env
from tests.integration.proxy import start_proxy

MCP_HOST = "mcp.tools.test"
OTHER_HOSTS = ("upstream.test", "api.openai.com", "api.anthropic.com", "localhost")  # -> the recording origin
SDK_DIR = ROOT / "tests" / "mcp_sdk"
PYTHON_V2 = ROOT / ".venv" / "bin" / "python"
PYTHON_V1 = ROOT / ".venv-mcp1" / "bin" / "python"
START_TIMEOUT = 30.0
STEP_TIMEOUT = 10.0


def has_v1() -> bool:
    if not PYTHON_V1.exists():
        return False
    done = subprocess.run([str(PYTHON_V1), "-c", "import mcp, uvicorn"], capture_output=True, timeout=60)
    return done.returncode == 0


@dataclass
class McpServer:
    port: int
    sdk: str
    process: subprocess.Popen
    stderr: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_mcp_server(python: Path, pki: Pki, stderr: Path, *, json_response: bool = False) -> McpServer:
    """tests/mcp_sdk/server_app.py on a free loopback port, HTTPS with the test PKI's leaf certificate;
    its stderr goes to the file `stderr`."""
    argv = [str(python), str(SDK_DIR / "server_app.py"), "--port", "0",
            "--certfile", str(pki.server_cert), "--keyfile", str(pki.server_key)]
    if json_response:
        argv.append("--json-response")
    with open(stderr, "wb") as err:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT,
                                   env=child_env())
    assert process.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(process.stdout, selectors.EVENT_READ)
        ready = sel.select(START_TIMEOUT)
    line = process.stdout.readline() if ready else b""
    try:
        info = json.loads(line)
    except ValueError:
        process.kill()
        process.wait(10)
        raise AssertionError(f"MCP server did not start ({' '.join(argv)}): {line!r}\n"
                             f"{stderr.read_text(errors='replace')[-3000:]}") from None
    assert info["ready"] and info["scheme"] == "https", info
    return McpServer(info["port"], info["sdk"], process, stderr)


def start_mcp_proxy(launcher: Any, server: McpServer, rules_dir: Path | None = None) -> Proxy:
    """A proxy like conftest's ProxyLauncher.start(), but with mcp.tools.test sent to the MCP server;
    the launcher's teardown stops it and validates every line of its log."""
    mapping = [f"{h}=127.0.0.1:{launcher.upstream.port}" for h in OTHER_HOSTS]
    mapping.append(f"{MCP_HOST}=127.0.0.1:{server.port}")
    proxy = start_proxy(launcher.factory.mktemp(f"{launcher.name}-mcp-proxy"), rules_dir=rules_dir or launcher.rules(),
                        certs_dir=launcher.certs, upstream_map=",".join(mapping), test_ca=launcher.pki.ca_cert)
    launcher.started.append(proxy)
    return proxy


def approve_mcp_host(rules_dir: Path, host: str = MCP_HOST) -> Path:
    settings = rules_dir / "policies" / "settings.yaml"
    text = settings.read_text(encoding="utf-8")
    assert "approved_mcp_portals: []" in text
    settings.write_text(text.replace("approved_mcp_portals: []", f"approved_mcp_portals: [{host}]"), encoding="utf-8")
    return rules_dir


def client_env(proxy: Proxy) -> dict[str, str]:
    """What a user's shell would hold: the proxy and its CA, nothing that bypasses them."""
    env = child_env()  # drops every *proxy* variable (NO_PROXY, no_proxy, http_proxy …)
    for name in ("SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        env.pop(name, None)
    env["HTTPS_PROXY"] = proxy.url
    env["SSL_CERT_FILE"] = str(proxy.ca)
    return env


@dataclass
class ClientRun:
    argv: list[str]
    returncode: int
    steps: list[dict]
    stderr: str
    seconds: float

    def step(self, name: str, index: int = 0) -> dict:
        found = [s for s in self.steps if s["step"] == name]
        assert len(found) > index, f"no step {name!r} #{index} in {self.steps}\n{self.stderr[-3000:]}"
        return found[index]


def run_client(python: Path, proxy: Proxy, url: str, *, transport: str = "streamable", mode: str = "auto",
               tool: str = "add", args: str = '{"a": 2, "b": 3}', extra: Sequence[str] = ()) -> ClientRun:
    """tests/mcp_sdk/client_run.py: connect, tools/list, tools/call, tools/list, close."""
    argv = [str(python), str(SDK_DIR / "client_run.py"), url, "--transport", transport, "--tool", tool,
            "--args", args, "--timeout", str(STEP_TIMEOUT), *extra]
    if python == PYTHON_V2:
        argv += ["--mode", mode]
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=STEP_TIMEOUT * 6, cwd=ROOT,
                          env=client_env(proxy))
    steps = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return ClientRun(argv, done.returncode, steps, done.stderr, time.monotonic() - start)
