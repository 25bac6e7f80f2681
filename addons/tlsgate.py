"""tlsgate.py: TlsGate addon: TLS connections no HTTP line will describe.

Passes through (does not intercept) the hosts in `settings.tls_passthrough`, and logs the
connections the proxy could not inspect: passed through, or refused by the client (a pinned app, a
device without the proxy CA). One line per client address and host per LOG_EVERY seconds, so a
client retrying in a loop does not flood the log.
"""

from __future__ import annotations

import time

from mitmproxy import tls

from addons.auditlog import AuditLog
from addons.events import tls_event
from addons.policy import host_matches
from addons.rulestore import RuleStore

LOG_EVERY = 300.0
MAX_REMEMBERED = 65536


class TlsGate:
    def __init__(self, store: RuleStore, audit: AuditLog) -> None:
        self.store = store
        self.audit = audit
        self._last: dict[tuple[str, str, str], float] = {}

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        ruleset = self.store.ruleset
        sni = data.client_hello.sni
        if ruleset is None or not sni or not host_matches(sni, ruleset.policies.settings.tls_passthrough):
            return
        data.ignore_connection = True
        self._log("tls-passthrough", data.context, sni)

    def tls_failed_client(self, data: tls.TlsData) -> None:
        if data.conn is data.context.client:
            self._log("client-rejected-certificate", data.context, data.context.client.sni)

    def _log(self, reason: str, context, sni: str | None) -> None:
        client = context.client
        ip, port = (client.peername or (None, None))[:2]
        key = (reason, str(ip), (sni or "").lower())
        now = time.monotonic()
        if now - self._last.get(key, -LOG_EVERY) < LOG_EVERY:
            return
        if len(self._last) >= MAX_REMEMBERED:
            self._last.clear()
        self._last[key] = now
        server = context.server.address
        ruleset = self.store.ruleset
        app = ruleset.catalog.match(sni) if ruleset is not None and sni else None
        self.audit.write_event(tls_event(reason=reason, sni=sni, client_ip=ip, client_port=port,
                                         server_port=server[1] if server else None, app=app,
                                         hostname=self.audit.hostname))  # fmt: skip
