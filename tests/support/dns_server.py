"""A small authoritative DNS server on loopback (UDP and TCP), serving zones the tests edit.

    dns = DnsServer()
    host, port = dns.start(["example.com"])
    dns.set_records("_amazonses.example.com", "TXT", ["token"])
    dns.set_records("example.com", "MX", ["10 mx.example.com."])
    dns.remove("_amazonses.example.com", "TXT")
    dns.fail("broken.example.com")      # answer SERVFAIL for this name
    dns.stop()

Values are zone-file rdata; a TXT value that is not already quoted is quoted and split into
255-octet character-strings (RFC 1035 §3.3.14). Answers are authoritative (AA set): a name with
records of another type gets NOERROR/NODATA with the zone's SOA; an unknown name in a zone
NXDOMAIN; a CNAME is returned (and followed inside the served zones) for other types; names
outside every zone are REFUSED. Changes are seen by the next query (TTL 0, no caching).
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Records = dict[tuple[str, str], list[str]]


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


def _txt(value: str) -> str:
    if value.startswith('"'):
        return value
    raw = value.encode()
    chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    return " ".join('"' + c.decode().replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


class _Zones:
    def __init__(self, zones: list[str]) -> None:
        self.zones = [_norm(z) for z in zones]
        self.records: Records = {}
        self.failing: set[str] = set()
        self.lock = threading.Lock()
        self.queries = 0

    def zone_of(self, name: str) -> str | None:
        matches = [z for z in self.zones if name == z or name.endswith("." + z)]
        return max(matches, key=len) if matches else None

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        with self.lock:
            self.queries += 1
            self._fill(response, query.question[0])
        return response.to_wire()

    def _fill(self, response: dns.message.Message, question: Any) -> None:
        name, rdtype = _norm(question.name.to_text()), dns.rdatatype.to_text(question.rdtype)
        zone = self.zone_of(name)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            response.flags &= ~dns.flags.AA
            return
        if name in self.failing:
            response.set_rcode(dns.rcode.SERVFAIL)
            return
        for _ in range(8):  # follow CNAMEs inside our zones
            cname = self.records.get((name, "CNAME"))
            if cname and rdtype != "CNAME":
                response.answer.append(self._rrset(name, "CNAME", cname))
                name = _norm(cname[0])
                if self.zone_of(name) is None:
                    return
                continue
            values = self.records.get((name, rdtype))
            if values:
                response.answer.append(self._rrset(name, rdtype, values))
            elif not response.answer:
                self._negative(response, name, self.zone_of(name) or zone)
            return

    def _negative(self, response: dns.message.Message, name: str, zone: str) -> None:
        exists = name == zone or any(n == name or n.endswith("." + name) for n, _ in self.records)
        if not exists:
            response.set_rcode(dns.rcode.NXDOMAIN)
        soa = f"ns.{zone}. hostmaster.{zone}. 1 60 60 60 0"
        response.authority.append(dns.rrset.from_text_list(zone + ".", 0, "IN", "SOA", [soa]))

    @staticmethod
    def _rrset(name: str, rdtype: str, values: list[str]) -> dns.rrset.RRset:
        texts = [_txt(v) for v in values] if rdtype == "TXT" else values
        return dns.rrset.from_text_list(name + ".", 0, "IN", rdtype, texts)


class _UdpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        try:
            reply = self.server.zones.answer(data)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a malformed query gets no answer, as from a real server
            return
        sock.sendto(reply, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:  # RFC 1035 §4.2.2: two-octet length prefix
        conn: socket.socket = self.request
        while True:
            head = conn.recv(2, socket.MSG_WAITALL)
            if len(head) < 2:
                return
            (size,) = struct.unpack("!H", head)
            reply = self.server.zones.answer(conn.recv(size, socket.MSG_WAITALL))  # type: ignore[attr-defined]
            conn.sendall(struct.pack("!H", len(reply)) + reply)


class _Udp(socketserver.ThreadingUDPServer):
    daemon_threads = True


class _Tcp(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class DnsServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._zones = _Zones([])
        self._servers: list[socketserver.BaseServer] = []

    @property
    def address(self) -> str:
        """host:port, the form OPENSES_DNS_NAMESERVERS takes."""
        return f"{self.host}:{self.port}"

    def start(self, zones: list[str]) -> tuple[str, int]:
        self._zones = _Zones(zones)
        for _ in range(20):  # UDP and TCP on one port: retry if TCP's is taken
            udp = _Udp((self.host, 0), _UdpHandler)
            try:
                tcp = _Tcp((self.host, udp.server_address[1]), _TcpHandler)
            except OSError:
                udp.server_close()
                continue
            break
        else:  # pragma: no cover
            raise RuntimeError("no free port for UDP and TCP")
        for server in (udp, tcp):
            server.zones = self._zones  # type: ignore[attr-defined]
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True).start()
            self._servers.append(server)
        self.port = udp.server_address[1]
        return self.host, self.port

    def set_records(self, name: str, rtype: str, values: list[str]) -> None:
        """Replace the (name, type) record set."""
        with self._zones.lock:
            self._zones.records[(_norm(name), rtype.upper())] = list(values)

    def remove(self, name: str, rtype: str | None = None) -> None:
        """Remove one record set, or every record of `name`."""
        with self._zones.lock:
            for key in [k for k in self._zones.records if k[0] == _norm(name)]:
                if rtype is None or key[1] == rtype.upper():
                    del self._zones.records[key]

    def fail(self, name: str, failing: bool = True) -> None:
        """Answer SERVFAIL for `name` (a broken DNS server), or stop doing so."""
        with self._zones.lock:
            (self._zones.failing.add if failing else self._zones.failing.discard)(_norm(name))

    @property
    def queries(self) -> int:
        return self._zones.queries

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
