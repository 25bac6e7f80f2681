"""rules.py: load every rule kind under one directory into one validated, compiled RuleSet.

Invariant: load_ruleset either returns a complete RuleSet whose every rule passed its own
examples and every cross-reference resolved, or raises RuleError listing every problem.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from addons.catalog import Catalog
from addons.catalog import build_catalog
from addons.detectors import Scanner
from addons.detectors import build_scanner
from addons.identity import IdentityMap
from addons.identity import build_identities
from addons.mcp import McpSignatures
from addons.mcp import build_mcp
from addons.model import AppMatch
from addons.policy import PolicySet
from addons.policy import build_policies
from addons.policy import cross_check
from addons.ruleyaml import LineDict
from addons.ruleyaml import Problems
from addons.ruleyaml import RuleError
from addons.ruleyaml import read_rule_files
from addons.ruleyaml import read_yaml

__all__ = ["RuleError", "RuleSet", "load_ruleset", "rules_fingerprint"]

KINDS = ("apps", "mcp", "detectors", "policies", "identities")


@dataclass(frozen=True)
class RuleSet:
    directory: str
    catalog: Catalog
    policies: PolicySet
    identities: IdentityMap
    scanner: Scanner
    mcp: McpSignatures
    fingerprint: str  # digest of the rule files, to tell versions apart in logs
    loaded_at: float

    def classify_app(self, host: str, path: str) -> AppMatch | None:
        match = self.catalog.match(host, path)
        if match is None:
            return None
        return AppMatch(match.app, match.matched, match.app.id in self.policies.settings.sanctioned_apps)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "apps": len(self.catalog),
            "detectors": len(self.scanner.detector_ids),
            "policies": len(self.policies.policies),
        }


def _rule_paths(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("."))


def rules_fingerprint(directory: Path) -> str:
    """Cheap change detector for hot reload: names, sizes and mtimes of every rule file."""
    digest = hashlib.sha256()
    for path in _rule_paths(directory):
        st = path.stat()
        digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _policy_docs(directory: Path, shown: str, problems: Problems) -> list[tuple[str, LineDict]]:
    docs: list[tuple[str, LineDict]] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        name = f"{shown}/{path.name}"
        data = read_yaml(path, problems, name)
        if isinstance(data, LineDict):
            docs.append((name, data))
        elif data is not None:
            problems.add(name, 1, "expected a mapping with 'schema: 1' and 'policies:'")
    return docs


def load_ruleset(directory: str | Path) -> RuleSet:
    root = Path(directory)
    shown = str(directory).rstrip("/")
    problems = Problems()
    if not root.is_dir():
        raise RuleError([f"{shown}:1: rules directory does not exist"])
    for kind in ("apps", "policies"):
        if not (root / kind).is_dir():
            problems.add(f"{shown}/{kind}", 1, f"missing directory '{kind}/'")
    catalog = build_catalog(read_rule_files(root / "apps", "apps", problems, f"{shown}/apps"), problems)
    scanner = build_scanner(
        read_rule_files(root / "detectors", "detectors", problems, f"{shown}/detectors"),
        problems,
        rules_dir=root,
    )
    mcp = build_mcp(read_rule_files(root / "mcp", "signals", problems, f"{shown}/mcp"), problems)
    identities = build_identities(
        read_rule_files(root / "identities", "identities", problems, f"{shown}/identities"), problems
    )
    policies = build_policies(_policy_docs(root / "policies", f"{shown}/policies", problems), problems)
    cross_check(
        policies,
        problems,
        app_ids=catalog.ids,
        detector_ids=scanner.detector_ids,
        detector_categories=scanner.categories,
    )
    problems.raise_if_any()
    return RuleSet(
        directory=str(root.resolve()),
        catalog=catalog,
        policies=policies,
        identities=identities,
        scanner=scanner,
        mcp=mcp,
        fingerprint=rules_fingerprint(root),
        loaded_at=time.time(),
    )
