"""The authoritative DNS responder of the DKIM zone (cname mode): wire format and sockets.

This is the one module where the responder uses dnspython (look-ups use it in protocol/dns.py).
It knows nothing of keys: a `ZoneData` tells it the zone's apex, its name server and a function
from a label under the apex to the TXT record published there. `respond()` is sans-I/O (bytes in,
bytes out); `DnsResponder` serves it over UDP and TCP with asyncio.

What it answers (RFC 1034 §4.3.2, RFC 1035, RFC 2308 for negative answers):
- `<label>.<zone>` TXT: the record, AA set; other types at that name: NOERROR/NODATA + SOA;
- the apex: SOA and NS; other types: NODATA + SOA;
- any other name in the zone: NXDOMAIN + SOA; names outside the zone: REFUSED (AA clear);
- never recursion (RA clear); an answer too big for UDP is sent truncated (TC) so the client
  asks again over TCP (RFC 7766 §5).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

log = logging.getLogger("openses.dns")
TTL = 300  # keys change only by rotation, which keeps the old key published for a grace period
NEGATIVE_TTL = 60  # RFC 2308 §5: how long resolvers may cache "no such name"
UDP_MAX = 512  # RFC 1035 §4.2.1, when the query carries no EDNS payload size (RFC 6891 §6.2.3)
TCP_IDLE = 30.0


@dataclass(frozen=True)
class ZoneData:
    apex: str  # e.g. dkim.mail.example.com
    nameserver: str  # host name given in NS and SOA
    txt: Callable[[str], str | None]  # lower-case label under the apex → TXT value
    serial: Callable[[], int]


def _soa(zone: ZoneData, origin: dns.name.Name) -> dns.rrset.RRset:
    text = f"{zone.nameserver.rstrip('.')}. hostmaster.{origin.to_text()} {zone.serial() & 0xFFFFFFFF} " \
           f"3600 600 604800 {NEGATIVE_TTL}"
    return dns.rrset.from_text_list(origin, NEGATIVE_TTL, "IN", "SOA", [text])


def _txt(name: dns.name.Name, value: str) -> dns.rrset.RRset:
    raw = value.encode()
    # RFC 1035 §3.3.14: character-strings of at most 255 octets (RFC 6376 §3.6.2.2 joins them)
    chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    rdata = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)
    rrset = dns.rrset.RRset(name, dns.rdataclass.IN, dns.rdatatype.TXT)
    rrset.add(rdata, TTL)
    return rrset


def _fill(response: dns.message.Message, question: dns.rrset.RRset, zone: ZoneData) -> None:
    origin = dns.name.from_text(zone.apex)
    name, rdtype = question.name, question.rdtype
    if question.rdclass != dns.rdataclass.IN or not name.is_subdomain(origin):
        response.set_rcode(dns.rcode.REFUSED)  # not authoritative, and no recursion
        return
    response.flags |= dns.flags.AA
    records = _records_at(name, origin, zone)
    if records is None:
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(_soa(zone, origin))
        return
    wanted = [r for r in records if rdtype in (r.rdtype, dns.rdatatype.ANY)]
    if wanted:
        response.answer.extend(wanted)
    else:
        response.authority.append(_soa(zone, origin))


def _records_at(name: dns.name.Name, origin: dns.name.Name, zone: ZoneData) -> list[dns.rrset.RRset] | None:
    """The record sets at `name`; None when the name does not exist in the zone."""
    if name == origin:
        ns = dns.rrset.from_text_list(origin, TTL, "IN", "NS", [zone.nameserver.rstrip(".") + "."])
        return [_soa(zone, origin), ns]
    labels = name.relativize(origin).labels
    if len(labels) != 1:
        return None
    value = zone.txt(labels[0].decode("ascii", "replace").lower())
    return None if value is None else [_txt(name, value)]


def _wire(response: dns.message.Message, max_size: int) -> bytes:
    try:
        return response.to_wire(max_size=max_size)
    except dns.exception.TooBig:
        response.answer.clear()
        response.authority.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=max_size)


def respond(wire: bytes, zone: ZoneData, *, udp: bool) -> bytes | None:
    """The reply to one query, or None when the bytes are not a DNS query worth answering."""
    try:
        query = dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return None  # cannot even echo an id back: drop it, as authoritative servers do
    if query.flags & dns.flags.QR:
        return None  # a response, not a query: never answer one (no reflection loops)
    response = dns.message.make_response(query)
    response.flags &= ~dns.flags.RA
    if query.opcode() != dns.opcode.QUERY:
        response.set_rcode(dns.rcode.NOTIMP)
    elif len(query.question) != 1:
        response.set_rcode(dns.rcode.FORMERR)
    else:
        _fill(response, query.question[0], zone)
    size = 65535 if not udp else max(UDP_MAX, query.payload if query.edns >= 0 else UDP_MAX)
    return _wire(response, size)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, zone: ZoneData) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = respond(data, self.zone, udp=True)
        except Exception:  # a bug must not stop the responder; the client will retry
            log.exception("answering a DNS query failed")
            return
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class DnsResponder:
    """The zone served over UDP and TCP on one address and port (port 0: any free port)."""

    def __init__(self, zone: ZoneData, host: str, port: int) -> None:
        self.zone = zone
        self.host = host
        self.port = port
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port, reuse_address=True)
        self.port = self._tcp.sockets[0].getsockname()[1]
        self._udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self.zone), local_addr=(self.host, self.port))
        log.info("DKIM zone %s served on %s port %s (UDP and TCP)", self.zone.apex, self.host, self.port)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # RFC 1035 §4.2.2: each message after a two-octet length
                head = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE)
                data = await asyncio.wait_for(reader.readexactly(struct.unpack("!H", head)[0]), TCP_IDLE)
                reply = respond(data, self.zone, udp=False)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
