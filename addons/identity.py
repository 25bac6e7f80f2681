"""identity.py: who sent a request: the proxy-auth user, else the source-IP map; groups from the same file."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from addons.model import Identity
from addons.ruleyaml import Field
from addons.ruleyaml import Problems
from addons.ruleyaml import RuleFile
from addons.ruleyaml import check_fields
from addons.ruleyaml import key_line

IDENTITY_FIELDS = {
    "user": Field("str", required=True),
    "sources": Field("str_list"),
    "groups": Field("str_list"),
}

type Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class IdentityMap:
    networks: tuple[tuple[Network, str], ...] = ()  # most specific first
    groups: dict[str, tuple[str, ...]] | None = None

    def resolve(self, proxy_user: str | None, client_ip: str | None) -> Identity:
        user, source = proxy_user, "proxy-auth"
        if not user and client_ip:
            user, source = self._user_for_ip(client_ip), "ip-map"
        if not user:
            return Identity()
        return Identity(user=user, groups=(self.groups or {}).get(user, ()), source=source)

    def _user_for_ip(self, client_ip: str) -> str | None:
        try:
            addr = ipaddress.ip_address(client_ip.split("%")[0])
        except ValueError:
            return None
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        for network, user in self.networks:
            if addr.version == network.version and addr in network:
                return user
        return None


def build_identities(files: list[RuleFile], problems: Problems) -> IdentityMap:
    networks: list[tuple[Network, str]] = []
    groups: dict[str, tuple[str, ...]] = {}
    owners: dict[Network, tuple[str, str, int]] = {}
    for rule_file in files:
        for index, rec in enumerate(rule_file.records):
            label = f"identities[{index}]"
            if not check_fields(rec, IDENTITY_FIELDS, problems, rule_file.path, label):
                continue
            user = rec["user"]
            if user in groups:
                problems.add(rule_file.path, rec.line, f"{label}: user '{user}' is listed twice")
            groups[user] = tuple(rec.get("groups") or ())
            for source in rec.get("sources") or ():
                try:
                    network = ipaddress.ip_network(source, strict=False)
                except ValueError:
                    problems.add(
                        rule_file.path, key_line(rec, "sources"), f"{label}: '{source}' is not an IP or CIDR"
                    )
                    continue
                if network in owners and owners[network][0] != user:
                    other, path, line = owners[network]
                    problems.add(
                        rule_file.path,
                        key_line(rec, "sources"),
                        f"{label}: source {network} already belongs to '{other}' ({path}:{line})",
                    )
                    continue
                owners[network] = (user, rule_file.path, rec.line)
                networks.append((network, user))
    networks.sort(key=lambda item: item[0].prefixlen, reverse=True)
    return IdentityMap(tuple(networks), groups)
