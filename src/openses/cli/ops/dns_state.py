"""What DNS says about a sending domain (SPF, DMARC, DKIM, MX), as findings with a fix.

The record matching is openses.core.dns_check's (read-only use); the look-ups go through
openses.protocol.dns (dnspython), with the profile's `dns_nameservers` or the system's resolver.
"""

from __future__ import annotations

import asyncio

from openses.cli.ops.verdicts import FAIL, OK, UNKNOWN, WARN, Finding
from openses.core import dns_check
from openses.core.dns_check import Expected
from openses.protocol.dns import DnsResolver, Resolver


def resolver_for(nameservers: tuple[str, ...]) -> Resolver:
    return DnsResolver(nameservers, timeout=3.0)


async def spf(resolver: Resolver, domain: str) -> Finding:
    """RFC 7208 §4.5: exactly one `v=spf1` record; more than one is a permanent error."""
    answer = await resolver.lookup(domain, "TXT")
    item = f"SPF {domain}"
    if answer.status == "error":
        return Finding(item, UNKNOWN, answer.detail)
    records = [v for v in answer.values if v.lower().startswith("v=spf1")]
    if not records:
        return Finding(item, WARN, "no SPF record",
                       f'publish TXT at {domain}: "v=spf1 include:amazonses.com ~all" (plus your other senders)')
    if len(records) > 1:
        return Finding(item, FAIL, f"{len(records)} SPF records (RFC 7208 §4.5: permerror)",
                       "merge them into one v=spf1 record")
    return Finding(item, OK, records[0])


async def dmarc(resolver: Resolver, domain: str) -> Finding:
    expected = Expected("dmarc", f"_dmarc.{domain}", "TXT", f"v=DMARC1; p=none; rua=mailto:dmarc@{domain}", False)
    check = await dns_check.check(resolver, expected)
    item = f"DMARC {domain}"
    fix = f'publish TXT at _dmarc.{domain}: "v=DMARC1; p=none; rua=mailto:dmarc@{domain}", then tighten p='
    if check.verdict == dns_check.ERROR:
        return Finding(item, UNKNOWN, check.note)
    if check.verdict != dns_check.OK:
        return Finding(item, WARN, "no DMARC record (RFC 7489 §6.1)", fix)
    return Finding(item, OK, check.note or check.found[0])


async def dkim_token(resolver: Resolver, domain: str, token: str, zone: str) -> Finding:
    """A token is published as SES's CNAME into the DKIM zone, or (openses txt mode) as the key itself."""
    item = f"DKIM {token}._domainkey.{domain}"
    cname = await dns_check.check(resolver, Expected("dkim", f"{token}._domainkey.{domain}", "CNAME",
                                                     f"{token}.{zone}"))
    if cname.verdict == dns_check.OK:
        return Finding(item, OK, f"CNAME {cname.found[0]}")
    txt = await resolver.lookup(f"{token}._domainkey.{domain}", "TXT")
    if txt.status == "found" and any("p=" in v for v in txt.values):
        return Finding(item, OK, "TXT key record")
    if cname.verdict == dns_check.ERROR and txt.status == "error":
        return Finding(item, UNKNOWN, cname.note)
    found = f" (found CNAME {cname.found[0]})" if cname.found else ""
    return Finding(item, FAIL, f"not published{found}",
                   f"publish CNAME {token}._domainkey.{domain} → {token}.{zone}")


async def mx(resolver: Resolver, domain: str) -> Finding:
    answer = await resolver.lookup(domain, "MX")
    item = f"MX {domain}"
    if answer.status == "error":
        return Finding(item, UNKNOWN, answer.detail)
    if answer.status != "found":
        a = await resolver.lookup(domain, "A")
        if a.status == "found":  # RFC 5321 §5.1: no MX, the A record is the implicit MX
            return Finding(item, OK, "no MX; mail goes to its A record (RFC 5321 §5.1)")
        return Finding(item, FAIL, answer.detail or "no MX and no address",
                       "the domain cannot receive mail: check the address for typos")
    return Finding(item, OK, ", ".join(answer.values))


def run(coroutines: list) -> list[Finding]:  # type: ignore[type-arg]
    async def gather() -> list[Finding]:
        return list(await asyncio.gather(*coroutines))

    return asyncio.run(gather()) if coroutines else []
