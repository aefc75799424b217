"""DNS look-ups: the one module that imports dnspython.

A `Resolver` answers one question (name, type) with an `Answer`: the records found, or why none
were (the name does not exist, it has no record of that type, or the look-up failed). dnspython's
exceptions are translated here and nowhere else. `FakeResolver` answers from a dict for unit tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

Status = Literal["found", "nxdomain", "nodata", "error"]


@dataclass(frozen=True)
class Answer:
    """What DNS holds for one (name, type).

    values: TXT strings joined (RFC 7208 §3.3: the character-strings of one record are
    concatenated), MX as "preference host", CNAME and others as presentation text; host names
    lower-case without the trailing dot.
    """

    status: Status
    values: tuple[str, ...] = ()
    detail: str = ""


class Resolver(Protocol):
    async def lookup(self, name: str, rtype: str) -> Answer: ...


def _text(rdata: object, rtype: str) -> str:
    if rtype == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")  # type: ignore[attr-defined]
    if rtype == "MX":
        host = rdata.exchange.to_text(omit_final_dot=True).lower()  # type: ignore[attr-defined]
        return f"{rdata.preference} {host}"  # type: ignore[attr-defined]
    if rtype == "CNAME":
        return rdata.target.to_text(omit_final_dot=True).lower()  # type: ignore[attr-defined]
    return rdata.to_text()  # type: ignore[attr-defined]


def _nameserver(spec: str) -> dns.nameserver.Nameserver:
    """host, host:port, [v6]:port or a bare IPv6 address."""
    host, port = spec, 53
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port = int(rest.lstrip(":") or 53)
    elif spec.count(":") == 1:
        host, _, p = spec.partition(":")
        port = int(p)
    return dns.nameserver.Do53Nameserver(host, port)


class DnsResolver:
    """Real look-ups with dnspython: the given nameservers, or the system's configuration."""

    def __init__(self, nameservers: Sequence[str] = (), *, timeout: float = 5.0) -> None:
        self._resolver = dns.asyncresolver.Resolver(configure=not nameservers)
        if nameservers:
            self._resolver.nameservers = [_nameserver(s) for s in nameservers]
        self._resolver.lifetime = timeout
        self._resolver.timeout = min(timeout, 2.0)

    async def lookup(self, name: str, rtype: str) -> Answer:
        try:
            answer = await self._resolver.resolve(name, rtype, search=False)
        except dns.resolver.NXDOMAIN:
            return Answer("nxdomain", detail=f"{name} does not exist")
        except dns.resolver.NoAnswer:
            return Answer("nodata", detail=f"{name} has no {rtype} record")
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as e:
            return Answer("error", detail=str(e) or type(e).__name__)
        except dns.exception.DNSException as e:
            return Answer("error", detail=str(e) or type(e).__name__)
        rdtype = dns.rdatatype.from_text(rtype)
        # Only records of the asked type: a CNAME chain's own records are not the answer.
        values = tuple(_text(r, rtype) for rrset in answer.response.answer if rrset.rdtype == rdtype
                       for r in rrset)
        return Answer("found", values)


class FakeResolver:
    """Answers from `records[(name, type)]`; names listed in `failing` answer an error."""

    def __init__(self, records: dict[tuple[str, str], Iterable[str]] | None = None) -> None:
        self.records: dict[tuple[str, str], list[str]] = {
            (n.lower().rstrip("."), t.upper()): list(v) for (n, t), v in (records or {}).items()}
        self.failing: set[str] = set()
        self.asked: list[tuple[str, str]] = []

    def set(self, name: str, rtype: str, values: Iterable[str]) -> None:
        self.records[(name.lower().rstrip("."), rtype.upper())] = list(values)

    def remove(self, name: str, rtype: str) -> None:
        self.records.pop((name.lower().rstrip("."), rtype.upper()), None)

    async def lookup(self, name: str, rtype: str) -> Answer:
        key = (name.lower().rstrip("."), rtype.upper())
        self.asked.append(key)
        if key[0] in self.failing:
            return Answer("error", detail="SERVFAIL")
        if key in self.records and self.records[key]:
            return Answer("found", tuple(self.records[key]))
        if any(n == key[0] for n, _ in self.records):
            return Answer("nodata", detail=f"{name} has no {rtype} record")
        return Answer("nxdomain", detail=f"{name} does not exist")
