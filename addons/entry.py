"""entry.py: the only `mitmdump -s` target; builds the addon chain and holds no logic."""

from addons.auditlog import AuditLog
from addons.classify import Classifier
from addons.enforce import Enforcer
from addons.mcpsession import McpSessions
from addons.rulestore import RuleStore
from addons.tlsgate import TlsGate
from addons.wsgate import WsGate

store = RuleStore()
enforcer = Enforcer(store)
audit = AuditLog(store, enforcer)
addons = [
    store, TlsGate(store, audit), Classifier(store), enforcer, McpSessions(store, enforcer, audit),
    WsGate(store, enforcer, audit), audit,
]
