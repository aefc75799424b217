"""The DKIM zone (cname mode) and Easy DKIM key rotation end to end: a real server whose `dns`
role serves the zone on loopback, the user's zone on the loopback test DNS server holding the
CNAMEs, mail relayed to a local SMTP sink and verified with dkimpy following the CNAME chain."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import dkim
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest
from aiosmtpd.controller import Controller

from tests.support.dns_server import DnsServer
from tests.support.ports import free_port
from tests.support.polling import eventually

ZONE = "dkim.openses.test"


class Sink:
    """An SMTP server on loopback keeping what it receives (the relay mode's smarthost)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content)
        return "250 OK"


@pytest.fixture
def user_dns() -> Iterator[DnsServer]:
    server = DnsServer()
    server.start(["example.com"])
    yield server
    server.stop()


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler, port = Sink(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _env(user_dns: DnsServer, zone_port: int, relay_port: int, mode: str) -> dict[str, str]:
    return {"OPENSES_DNS_NAMESERVERS": user_dns.address, "OPENSES_DNS_CHECK_INTERVAL": "0.2",
            "OPENSES_MAIL_HOST": "mail.openses.test", "OPENSES_DKIM_MODE": mode, "OPENSES_DKIM_ZONE": ZONE,
            "OPENSES_DNS_PORT": str(zone_port), "OPENSES_DKIM_ZONE_SERVER": f"127.0.0.1:{zone_port}",
            "OPENSES_DKIM_ZONE_NAMESERVER": "ns1.openses.test", "OPENSES_DELIVERY_MODE": "relay",
            "OPENSES_RELAY_HOST": "127.0.0.1", "OPENSES_RELAY_PORT": str(relay_port), "OPENSES_RELAY_TLS": "none"}


@pytest.fixture
def zone_port() -> int:
    return free_port()


@pytest.fixture
def cname_server(server_factory, user_dns, zone_port, sink):  # type: ignore[no-untyped-def]
    return server_factory(**_env(user_dns, zone_port, sink[1], "cname")).start()


def ask(port: int, name: str, rdtype: str, *, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    deadline = time.monotonic() + 10
    while True:  # the dns role may still be starting
        try:
            return (dns.query.tcp if tcp else dns.query.udp)(query, "127.0.0.1", timeout=2, port=port)
        except (OSError, dns.exception.Timeout):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def publish(user_dns: DnsServer, server: Any, domain: str = "example.com") -> list[dict[str, Any]]:
    records = server.cli_json("dns", "records", "acme", domain)
    for record in records:
        if record["required"]:  # zone-file rdata: a CNAME's target absolute, with its final dot
            value = record["value"] + ("." if record["type"] == "CNAME" else "")
            user_dns.set_records(record["name"], record["type"], [value])
    return records


def following_cnames(user_dns: DnsServer, zone_port: int) -> Callable[..., bytes | None]:
    """dkimpy's dnsfunc doing what a recursive resolver does for a delegated DKIM zone: the
    CNAME from the user's DNS, then the TXT at its target from openses's responder."""
    user = dns.resolver.Resolver(configure=False)
    user.nameservers, user.port = ["127.0.0.1"], user_dns.port
    zone = dns.resolver.Resolver(configure=False)
    zone.nameservers, zone.port = ["127.0.0.1"], zone_port

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        try:
            target = user.resolve(name.decode().rstrip("."), "CNAME")[0].target.to_text()
            answer = zone.resolve(target, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(b"".join(r.strings) for r in answer)

    return lookup


def dkim_status(v2: Any) -> tuple[str, str]:
    d = v2.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]
    return d["Status"], d.get("CurrentSigningKeyLength", "")


def send_and_receive(v2: Any, sink: Sink) -> bytes:
    before = len(sink.messages)
    v2.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": ["bob@example.net"]},
                  Content={"Simple": {"Subject": {"Data": "hello"}, "Body": {"Text": {"Data": "signed\n"}}}})
    eventually(lambda: len(sink.messages) > before, True)
    return sink.messages[-1].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def selector_of(raw: bytes) -> str:
    """The s= tag of the message's DKIM-Signature (RFC 6376 §3.5)."""
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    line = next(h for h in head.split(b"\r\n") if h.lower().startswith(b"dkim-signature:"))
    tags = dict(t.strip().split(b"=", 1) for t in line.split(b":", 1)[1].split(b";") if b"=" in t)
    return tags[b"s"].strip().decode()


def test_cname_records_point_into_the_zone_the_responder_serves_and_the_domain_verifies_through_it(
        cname_server, user_dns, zone_port):
    creds = cname_server.new_account("acme", verify=())
    v2 = cname_server.client("sesv2", creds)
    out = v2.create_email_identity(EmailIdentity="example.com")
    tokens = out["DkimAttributes"]["Tokens"]
    assert len(tokens) == 3 and out["DkimAttributes"]["SigningHostedZone"] == ZONE
    lines = cname_server.cli("dns", "records", "acme", "example.com").stdout
    for token in tokens:
        assert f"{token}._domainkey.example.com. 3600 IN CNAME {token}.{ZONE}." in lines
    ses = cname_server.client("ses", creds)
    assert ses.get_identity_dkim_attributes(Identities=["example.com"])["DkimAttributes"]["example.com"][
        "DkimTokens"] == tokens

    for tcp in (False, True):
        reply = ask(zone_port, f"{tokens[0].upper()}.{ZONE}", "TXT", tcp=tcp)
        assert reply.flags & dns.flags.AA and not reply.flags & dns.flags.RA
        assert b"".join(reply.answer[0][0].strings).startswith(b"v=DKIM1; k=rsa; p=MII")
    assert ask(zone_port, ZONE, "SOA").answer[0][0].mname.to_text() == "ns1.openses.test."
    assert ask(zone_port, ZONE, "NS").answer[0][0].target.to_text() == "ns1.openses.test."
    assert ask(zone_port, f"unknown.{ZONE}", "TXT").rcode() == dns.rcode.NXDOMAIN
    assert ask(zone_port, "example.com", "TXT").rcode() == dns.rcode.REFUSED

    assert dkim_status(v2)[0] == "PENDING"
    publish(user_dns, cname_server)
    eventually(lambda: dkim_status(v2)[0], "SUCCESS")
    assert v2.get_email_identity(EmailIdentity="example.com")["VerifiedForSendingStatus"] is True
    audit = cname_server.cli_json("dns", "audit", "acme", "example.com")
    assert all(a["verdict"] == "ok" for a in audit if a["purpose"] == "dkim")


def test_relayed_mail_verifies_with_dkimpy_and_a_rotation_switches_keys_without_touching_dns(
        cname_server, user_dns, zone_port, sink):
    creds = cname_server.new_account("acme", verify=())
    v2 = cname_server.client("sesv2", creds)
    tokens = v2.create_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Tokens"]
    publish(user_dns, cname_server)
    eventually(lambda: dkim_status(v2), ("SUCCESS", "RSA_2048_BIT"))
    lookup = following_cnames(user_dns, zone_port)
    first = send_and_receive(v2, sink[0])
    assert dkim.verify(first, dnsfunc=lookup) and selector_of(first) == tokens[0]

    generated = v2.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]["LastKeyGenerationTimestamp"]
    out = v2.put_email_identity_dkim_signing_attributes(
        EmailIdentity="example.com", SigningAttributesOrigin="AWS_SES",
        SigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"})
    assert out["DkimTokens"] == tokens  # the CNAMEs stay as they are
    attrs = v2.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]
    assert attrs["NextSigningKeyLength"] == "RSA_1024_BIT" and attrs["LastKeyGenerationTimestamp"] > generated
    eventually(lambda: dkim_status(v2), ("SUCCESS", "RSA_1024_BIT"))
    second = send_and_receive(v2, sink[0])
    assert selector_of(second) == tokens[1] and dkim.verify(second, dnsfunc=lookup)
    assert dkim.verify(first, dnsfunc=lookup)  # the old key is still served: its grace period


def test_txt_mode_rotation_by_the_operator_waits_for_the_new_record_before_switching(
        server_factory, user_dns, zone_port, sink):
    server = server_factory(**_env(user_dns, zone_port, sink[1], "txt")).start()
    creds = server.new_account("acme", verify=())
    v2 = server.client("sesv2", creds)
    tokens = v2.create_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Tokens"]
    publish(user_dns, server)
    eventually(lambda: dkim_status(v2)[0], "SUCCESS")
    assert "DKIM zone" not in server.log()  # txt mode: the dns role serves nothing

    rotated = server.cli_json("admin", "identity", "rotate-dkim", "acme", "example.com")
    new = rotated["NextToken"]
    assert new not in tokens and rotated["Switched"] is False
    assert new in v2.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Tokens"]
    assert f"{new}._domainkey.example.com. 3600 IN TXT" in server.cli("dns", "records", "acme", "example.com").stdout
    txt_lookup = _txt_lookup(user_dns)
    mail = send_and_receive(v2, sink[0])
    assert selector_of(mail) == tokens[0] and dkim.verify(mail, dnsfunc=txt_lookup)  # old key until published
    assert dkim_status(v2)[0] == "SUCCESS"

    publish(user_dns, server)

    def signs_with() -> str:
        return selector_of(send_and_receive(v2, sink[0]))

    eventually(signs_with, new)
    assert dkim.verify(sink[0].messages[-1].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), dnsfunc=txt_lookup)


def _txt_lookup(user_dns: DnsServer) -> Callable[..., bytes | None]:
    user = dns.resolver.Resolver(configure=False)
    user.nameservers, user.port = ["127.0.0.1"], user_dns.port

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        try:
            answer = user.resolve(name.decode().rstrip("."), "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(b"".join(r.strings) for r in answer)

    return lookup
