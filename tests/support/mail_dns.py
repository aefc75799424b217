"""The test zones for delivery: recipient domains whose MX points at a local Postfix, a sender
domain publishing DKIM keys, and a dkimpy DNS function that asks the loopback DNS server."""

from __future__ import annotations

from collections.abc import Callable

import dns.resolver

from tests.support.dns_server import DnsServer

RECIPIENT_DOMAIN = "example.org"
SENDER_DOMAIN = "example.com"
ZONES = [RECIPIENT_DOMAIN, SENDER_DOMAIN, "example.net", "nomx.test"]


def point_mx(server: DnsServer, domain: str = RECIPIENT_DOMAIN, address: str = "127.0.0.1") -> None:
    """`domain`'s MX is mx.<domain>, which has `address`."""
    server.set_records(domain, "MX", [f"10 mx.{domain}."])
    server.set_records(f"mx.{domain}", "A", [address])


def dkim_dns(server: DnsServer) -> Callable[..., bytes | None]:
    """dkimpy's dnsfunc: TXT records from the loopback server, over the wire."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [server.host]
    resolver.port = server.port

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        try:
            answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        except dns.resolver.NXDOMAIN:
            return None
        return b"".join(b"".join(r.strings) for r in answer)

    return lookup
