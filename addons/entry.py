"""entry.py: the only `mitmdump -s` target; builds the addon chain and holds no logic."""

from addons.auditlog import AuditLog
from addons.classify import Classifier
from addons.enforce import Enforcer
from addons.rulestore import RuleStore

store = RuleStore()
enforcer = Enforcer(store)
addons = [store, Classifier(store), enforcer, AuditLog(store, enforcer)]
