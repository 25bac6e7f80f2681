"""Integration harness: a test PKI, a recording local HTTPS origin and real `shadowgate run` processes.

Fixtures:
  pki              session: test CA + leaf for the upstream names (tests/integration/pki.py)
  upstream         the local HTTPS origin (reset per test): .port, .received, .responder
  proxy_certs      session: the proxy's CA directory, created once with `shadowgate ca`
  launch           function: ProxyLauncher; .rules() copies rules/, .start(...) runs a proxy
  module_launch    the same, module scope (one proxy shared by a module's tests)
  proxy            module: a proxy on a copy of the shipped rules

Proxies run on copies of rules/ ($SG_TEST_RULES_SOURCE overrides the source, e.g. a known-good
snapshot while rules/ is being edited). Every proxy started through a launcher is stopped at
teardown, and every line of its event log is then checked with tests/ocsf.py (framing + OCSF 1.8.0
schema); a bad line fails the teardown.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.integration.pki import Pki
from tests.integration.pki import make_pki
from tests.integration.proxy import ROOT
from tests.integration.proxy import SHADOWGATE
from tests.integration.proxy import Proxy
from tests.integration.proxy import child_env
from tests.integration.proxy import copy_rules
from tests.integration.proxy import start_proxy
from tests.integration.upstream import Upstream
from tests.integration.upstream import start_upstream

# Upstream names every proxy sends to the local origin; anything else is refused by loopback_upstream.py.
MAPPED_HOSTS = ("upstream.test", "mcp.tools.test", "api.openai.com", "api.anthropic.com", "api2.cursor.sh", "localhost")


def pytest_configure(config: pytest.Config) -> None:
    # declared by pytest-xdist; repeated so `-p no:xdist` runs do not warn about an unknown mark
    config.addinivalue_line("markers", "xdist_group(name): run the tests of one group on one xdist worker")


class ProxyLauncher:
    def __init__(self, factory: pytest.TempPathFactory, name: str, certs: Path, pki: Pki,
                 upstream: Upstream) -> None:
        self.factory, self.name = factory, name
        self.certs, self.pki, self.upstream = certs, pki, upstream
        self.started: list[Proxy] = []

    def rules(self) -> Path:
        """A fresh, editable copy of the shipped rules/."""
        return copy_rules(self.factory.mktemp(f"{self.name}-rules") / "rules")

    def start(self, rules_dir: Path | None = None, *, mode: str = "enforce", map_hosts: Sequence[str] = (),
              extra_set: Sequence[str] = ()) -> Proxy:
        hosts = dict.fromkeys((*MAPPED_HOSTS, *map_hosts))
        mapping = ",".join(f"{h}=127.0.0.1:{self.upstream.port}" for h in hosts)
        proxy = start_proxy(self.factory.mktemp(f"{self.name}-proxy"), rules_dir=rules_dir or self.rules(),
                            certs_dir=self.certs, upstream_map=mapping, test_ca=self.pki.ca_cert, mode=mode,
                            extra_set=extra_set)
        self.started.append(proxy)
        return proxy

    def close(self) -> list[str]:
        """Stop every proxy; return the OCSF problems of their logs."""
        found: list[str] = []
        for proxy in self.started:
            proxy.stop()
            found += [f"{proxy.log_path}: {p}" for p in proxy.log_problems()]
        self.started.clear()
        return found


def _launcher(factory: pytest.TempPathFactory, name: str, certs: Path, pki: Pki,
              upstream: Upstream) -> Iterator[ProxyLauncher]:
    launcher = ProxyLauncher(factory, name, certs, pki, upstream)
    try:
        yield launcher
    finally:
        found = launcher.close()
    if found:
        pytest.fail("event log lines are not valid OCSF:\n" + "\n".join(found[:40]), pytrace=False)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def upstream_server(pki: Pki) -> Iterator[Upstream]:
    server = start_upstream(pki)
    yield server
    server.stop()


@pytest.fixture
def upstream(upstream_server: Upstream) -> Iterator[Upstream]:
    upstream_server.reset()
    yield upstream_server
    upstream_server.reset()


@pytest.fixture(scope="session")
def proxy_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The proxy CA directory, created once per session by `shadowgate ca --path`."""
    certs = tmp_path_factory.mktemp("proxy-certs")
    done = subprocess.run([str(SHADOWGATE), "ca", "--path", "--certs", str(certs)], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, env=child_env())
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == certs / "mitmproxy-ca-cert.pem"
    assert (certs / "mitmproxy-ca-cert.pem").exists()
    return certs


@pytest.fixture
def launch(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, proxy_certs: Path,
           pki: Pki, upstream_server: Upstream) -> Iterator[ProxyLauncher]:
    name = re.sub(r"\W+", "_", request.node.name)[:40]
    yield from _launcher(tmp_path_factory, name, proxy_certs, pki, upstream_server)


@pytest.fixture(scope="module")
def module_launch(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, proxy_certs: Path,
                  pki: Pki, upstream_server: Upstream) -> Iterator[ProxyLauncher]:
    yield from _launcher(tmp_path_factory, request.module.__name__.rsplit(".", 1)[-1], proxy_certs, pki,
                         upstream_server)


@pytest.fixture(scope="module")
def proxy(module_launch: ProxyLauncher) -> Proxy:
    """A proxy on a copy of the shipped rules, shared by the tests of one module."""
    return module_launch.start()
