"""loopback_upstream.py: test-only mitmdump script; keeps every upstream connection on this machine.

Load with `-s tests/integration/loopback_upstream.py --set sg_test_upstream=api.openai.com=127.0.0.1:PORT,…`.
In `server_connect` it rewrites the address of a mapped hostname (SNI and Host stay as the client
sent them, so TLS to the local origin still verifies the real name) and kills every connection that
would leave loopback, so a test can never reach the internet. Self-contained: mitmproxy loads
scripts with only their own directory on sys.path.
"""

from __future__ import annotations

import ipaddress
import logging

from mitmproxy import ctx
from mitmproxy import exceptions
from mitmproxy.proxy import server_hooks

log = logging.getLogger(__name__)


def parse_map(spec: str) -> dict[str, tuple[str, int]]:
    """`host=ip:port,host2=ip:port` → {host: (ip, port)}; raises ValueError on a bad item."""
    out: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        host, sep, target = item.partition("=")
        ip, colon, port = target.rpartition(":")
        if not sep or not colon or not host.strip() or not port.isdigit():
            raise ValueError(f"sg_test_upstream: expected host=ip:port, got {item!r}")
        out[host.strip().lower().rstrip(".")] = (ip.strip("[]"), int(port))
    return out


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LoopbackUpstream:
    def __init__(self) -> None:
        self.mapping: dict[str, tuple[str, int]] = {}
        self._asked: dict[str, tuple[str, int]] = {}  # server connection id → the address it was asked for

    def load(self, loader) -> None:
        loader.add_option("sg_test_upstream", str, "",
                          "Test only: host=ip:port,… upstream addresses to use instead of DNS.")
        loader.add_option("sg_test_connect_log", str, "",
                          "Test only: append one line per upstream connection attempt to this file.")

    def configure(self, updated: set[str]) -> None:
        if "sg_test_upstream" in updated:
            try:
                self.mapping = parse_map(ctx.options.sg_test_upstream)
            except ValueError as e:
                raise exceptions.OptionsError(str(e)) from e

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        server = data.server
        if server.address is None:
            return
        host, port = server.address
        target = self.mapping.get(str(host).lower().rstrip("."))
        if target is not None:
            self._asked[server.id] = server.address
            server.address = target
        verdict = "ok"
        if not is_loopback(str(server.address[0])):
            server.error = f"loopback_upstream: refusing to leave loopback for {host}:{port}"
            verdict = "killed"
            log.warning(server.error)
        if path := ctx.options.sg_test_connect_log:
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"{host}:{port} -> {server.address[0]}:{server.address[1]} {verdict}\n")


    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        # Connected: the connection gets back the address it was asked for, as in production, so mitmproxy
        # reuses it for the next request to that host. With the mapped address it matched no request and a
        # new connection was opened per request; kept-alive clients then stalled on every fifth one.
        # (Server refuses address changes on open connections; the socket no longer needs it.)
        asked = self._asked.pop(data.server.id, None)
        if asked is not None:
            object.__setattr__(data.server, "address", asked)

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        self._asked.pop(data.server.id, None)


addons = [LoopbackUpstream()]
