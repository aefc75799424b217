"""MX delivery: find the recipient domain's mail hosts and hand the message to the first that
takes it.

RFC 5321 §5.1: MX records in preference order, equal preferences in random order; no MX record
means the domain itself is the host (its A/AAAA records); RFC 7505: a lone "0 ." MX says the
domain accepts no mail. STARTTLS whenever offered; with the Require TLS policy never in clear.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable

from openses.delivery.bounce import failed_outcome, outcome_of
from openses.delivery.outcome import Outcome
from openses.delivery.parcel import Parcel
from openses.delivery.pool import SessionPool
from openses.delivery.smtp_client import Endpoint, SessionFailed
from openses.protocol.dns import Resolver


class NoRoute(Exception):
    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


async def mail_hosts(resolver: Resolver, domain: str, rand: Callable[[], float] = random.random) -> list[str]:
    """The hosts to try, best first; NoRoute with the reply to record when there are none."""
    answer = await resolver.lookup(domain, "MX")
    if answer.status == "error":
        raise NoRoute(f"451 4.4.3 DNS lookup of MX records for {domain} failed: {answer.detail}")
    if answer.status == "nxdomain":
        raise NoRoute(f"550 5.1.2 Domain {domain} does not exist")
    if answer.status == "nodata" or not answer.values:
        return [domain]  # RFC 5321 §5.1: the implicit MX
    records = [_mx(v) for v in answer.values]
    if any(host in ("", ".") for _, host in records):
        raise NoRoute(f"556 5.1.10 Domain {domain} accepts no mail (null MX, RFC 7505)")
    records.sort(key=lambda r: (r[0], rand()))
    return list(dict.fromkeys(host for _, host in records))


def _mx(value: str) -> tuple[int, str]:
    preference, _, host = value.partition(" ")
    return int(preference), host.strip().rstrip(".").lower() or "."


async def addresses(resolver: Resolver, host: str) -> tuple[list[str], str | None]:
    """(IP addresses of `host`, why there are none): IPv4 first, then IPv6."""
    try:
        return [str(ipaddress.ip_address(host))], None
    except ValueError:
        pass
    found: list[str] = []
    problem = None
    for rtype in ("A", "AAAA"):
        answer = await resolver.lookup(host, rtype)
        if answer.status == "found":
            found += answer.values
        elif answer.status == "error":
            problem = f"451 4.4.3 DNS lookup of {host} failed: {answer.detail}"
    if not found and problem is None:
        problem = f"451 4.4.4 Mail host {host} has no address"
    return found, problem


class MxTransport:
    needs_data = True

    def __init__(self, resolver: Resolver, pool: SessionPool, *, port: int = 25, require_tls: bool = False,
                 reporting_mta: str, rand: Callable[[], float] = random.random) -> None:
        self._resolver = resolver
        self._pool = pool
        self._port = port
        self._require_tls = require_tls
        self._reporting = reporting_mta
        self._rand = rand

    async def deliver(self, parcel: Parcel) -> Outcome:
        try:
            hosts = await mail_hosts(self._resolver, parcel.domain, self._rand)
        except NoRoute as e:
            return failed_outcome(e.reply, reporting_mta=self._reporting)
        last = f"451 4.4.0 No mail host of {parcel.domain} could be reached"
        for host in hosts:
            ips, problem = await addresses(self._resolver, host)
            last = problem or last
            for ip in ips:
                endpoint = Endpoint(host, ip, self._port, "starttls", self._require_tls or parcel.require_tls)
                try:
                    result = await self._pool.send(endpoint, parcel.mail_from, parcel.recipients, parcel.data)
                except SessionFailed as e:
                    last = e.reply  # RFC 5321 §5.1: on to the next address, then the next host
                    continue
                return outcome_of(result.replies, reporting_mta=self._reporting, remote_mta=host)
        return failed_outcome(last, reporting_mta=self._reporting)

    async def close(self) -> None:
        await self._pool.close()
