"""Which addresses a webhook may reach: public ones only, unless an operator opens a network.

Every resolution is checked, at submit and again at every attempt, because DNS answers change
(a name that was public at submit may point at 127.0.0.1 an hour later).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
"""Resolves (host, port) to IP address strings; a fake stands in for DNS in tests."""

# IPv6 prefixes that carry an IPv4 address in their low 32 bits (NAT64, RFC 6052 and 8215).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
# IPv6 forms whose low 32 bits an OS or a translator may take for an IPv4 destination, and that
# no public host uses: IPv4-compatible (::a.b.c.d, deprecated by RFC 4291) and IPv4-translated
# (::ffff:0:a.b.c.d, RFC 2765). Refused whatever IPv4 address they carry.
_IPV4_IN_LOW_BITS = (ipaddress.IPv6Network("::/96"), ipaddress.IPv6Network("::ffff:0:0:0/96"))
# Global unicast is 2000::/3 (RFC 4291): anything outside it (site-local fec0::/10, SRv6 SIDs
# 5f00::/16, ...) is not a public host, whatever the Python version's tables say. Inside it,
# ranges newer than some Python versions' tables: documentation 3fff::/20 (RFC 9637).
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NOT_GLOBAL_V6 = (ipaddress.IPv6Network("3fff::/20"),)


class AddressRefused(Exception):
    """The host resolves, wholly or partly, to an address webhooks may not reach."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries: mapped, 6to4, Teredo (client) or NAT64."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """Globally routable unicast: not loopback, private, link-local, CGNAT, multicast, reserved,
    unspecified, and not an IPv6 form of such an IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_public(inner)
        if any(ip in net for net in _IPV4_IN_LOW_BITS):
            return False
        if ip not in _GLOBAL_UNICAST or any(ip in net for net in _NOT_GLOBAL_V6):
            return False
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class AddressPolicy:
    allow_networks: Sequence[IPNetwork] = ()
    resolver: Resolver = field(default=system_resolver)

    def allowed(self, ip: IPAddress) -> bool:
        return is_public(ip) or any(ip in net for net in self.allow_networks)

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """All addresses of host, or AddressRefused if any of them may not be reached."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
            found: list[IPAddress] = [literal]
        except ValueError:
            try:
                found = [ipaddress.ip_address(a.split("%")[0]) for a in self.resolver(host, port)]
            except OSError as exc:
                raise AddressRefused(f"the host {host!r} does not resolve ({exc})") from exc
        if not found:
            raise AddressRefused(f"the host {host!r} does not resolve")
        for ip in found:
            if not self.allowed(ip):
                raise AddressRefused(
                    f"the host {host!r} resolves to {ip}, which is not a public address"
                )
        return found


def parse_networks(text: str) -> list[IPNetwork]:
    """OUTFRAME_WEBHOOK_ALLOW_NETWORKS: comma-separated CIDRs."""
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    ]
