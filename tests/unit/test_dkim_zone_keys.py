"""The DKIM zone (cname mode) and Easy DKIM key rotation, without sockets: the responder's answers
as bytes, the CNAME chain the verifier follows, rotation over an SQLite store and a fake DNS."""

from __future__ import annotations

import os

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from openses.core import dkim_keys, dns_check
from openses.core.dkim_keys import RSA_1024, PublicKey, rotation_slot, signing_keys, switch_signing
from openses.core.dkim_zone import ZoneKeys, ZoneRouter
from openses.core.dns_check import Publishing
from openses.core.dns_verifier import DnsVerifier
from openses.core.identities import IdentityService
from openses.core.secrets import SecretBox
from openses.protocol.dns import FakeResolver
from openses.protocol.dns_responder import ZoneData, respond
from openses.store.store import Store

ZONE = "dkim.openses.test"
ACCOUNT = "111111111111"
LONG_KEY = "v=DKIM1; k=rsa; p=" + "A" * 736  # the size of a 4096-bit key record: over 512 octets


def _zone(records: dict[str, str] | None = None) -> ZoneData:
    records = records if records is not None else {"tok": "v=DKIM1; k=rsa; p=QUJD"}
    return ZoneData(ZONE, "ns1.openses.test", records.get, lambda: 7)


def _ask(name: str, rdtype: str, zone: ZoneData | None = None, *, udp: bool = True,
         payload: int | None = None) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, use_edns=payload is not None, payload=payload or 512)
    wire = respond(query.to_wire(), zone or _zone(), udp=udp)
    assert wire is not None
    return dns.message.from_wire(wire)


def test_a_token_in_the_zone_answers_its_key_authoritatively_without_recursion():
    reply = _ask("tok.dkim.openses.test", "TXT")
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.flags & dns.flags.AA and not reply.flags & dns.flags.RA
    [rrset] = reply.answer
    assert b"".join(rrset[0].strings) == b"v=DKIM1; k=rsa; p=QUJD"


def test_names_are_matched_whatever_their_case():
    assert _ask("TOK.Dkim.OpenSES.test", "TXT").answer


def test_an_unknown_token_is_nxdomain_with_the_zone_soa():
    reply = _ask("nope.dkim.openses.test", "TXT")
    assert reply.rcode() == dns.rcode.NXDOMAIN and reply.flags & dns.flags.AA
    [soa] = reply.authority
    assert soa.rdtype == dns.rdatatype.SOA and soa[0].serial == 7 and soa[0].minimum == 60


def test_a_name_below_a_token_is_nxdomain():
    assert _ask("x.tok.dkim.openses.test", "TXT").rcode() == dns.rcode.NXDOMAIN


def test_names_outside_the_zone_are_refused_and_not_authoritative():
    reply = _ask("tok._domainkey.example.com", "TXT")
    assert reply.rcode() == dns.rcode.REFUSED and not reply.flags & dns.flags.AA and not reply.answer


def test_the_apex_has_soa_and_ns_and_other_types_get_nodata():
    soa = _ask(ZONE, "SOA")
    assert soa.answer[0][0].mname.to_text() == "ns1.openses.test."
    ns = _ask(ZONE, "NS")
    assert ns.answer[0][0].target.to_text() == "ns1.openses.test."
    nodata = _ask("tok.dkim.openses.test", "A")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA


def test_a_long_key_is_split_in_255_octet_strings():
    reply = _ask("big.dkim.openses.test", "TXT", _zone({"big": LONG_KEY}), udp=False)
    strings = reply.answer[0][0].strings
    assert [len(s) for s in strings] == [255, 255, len(LONG_KEY) - 510] and b"".join(strings) == LONG_KEY.encode()


def test_an_answer_too_big_for_plain_udp_is_truncated_but_fits_with_edns_or_tcp():
    zone = _zone({"big": LONG_KEY})
    truncated = _ask("big.dkim.openses.test", "TXT", zone)
    assert truncated.flags & dns.flags.TC and not truncated.answer
    assert _ask("big.dkim.openses.test", "TXT", zone, payload=1232).answer
    assert _ask("big.dkim.openses.test", "TXT", zone, udp=False).answer


def test_garbage_and_responses_get_no_answer():
    assert respond(b"\x00\x01garbage", _zone(), udp=True) is None
    query = dns.message.make_query("tok.dkim.openses.test", "TXT")
    response = dns.message.make_response(query)
    assert respond(response.to_wire(), _zone(), udp=True) is None


# --- the verifier's CNAME chain ------------------------------------------------------------------

CNAME = Publishing("cname", ZONE, "mail.openses.test")


async def test_a_cname_is_ok_only_when_its_target_serves_the_key():
    key = PublicKey("tok", "rsa-sha256", "QUJD")
    [expected] = dns_check.dkim_records("example.com", [key], "AWS_SES", CNAME)
    fake = FakeResolver({("tok._domainkey.example.com", "CNAME"): ["tok.dkim.openses.test"]})
    missing = await dns_check.check(fake, expected)
    assert missing.verdict == "missing" and "CNAME target tok.dkim.openses.test" in missing.note
    fake.set("tok.dkim.openses.test", "TXT", ["v=DKIM1; k=rsa; p=OTHER"])
    assert (await dns_check.check(fake, expected)).verdict == "wrong"
    fake.set("tok.dkim.openses.test", "TXT", ["v=DKIM1; k=rsa; p=QUJD"])
    assert (await dns_check.check(fake, expected)).verdict == "ok"


async def test_the_router_asks_the_zone_server_only_for_names_in_the_zone():
    default, zone = FakeResolver({("a.example.com", "TXT"): ["x"]}), FakeResolver({("t.dkim.openses.test", "TXT"): ["y"]})
    router = ZoneRouter(default, ZONE, zone)
    assert (await router.lookup("a.example.com", "TXT")).values == ("x",)
    assert (await router.lookup("T.dkim.openses.test.", "TXT")).values == ("y",)
    assert default.asked == [("a.example.com", "TXT")] and zone.asked == [("t.dkim.openses.test", "TXT")]


# --- rotation ------------------------------------------------------------------------------------


def test_the_next_key_goes_to_a_slot_neither_signing_nor_in_its_grace_period():
    assert rotation_slot({"signing": 0}) == 1
    assert rotation_slot({"signing": 1, "retiring": {"slot": 0, "until": 9}}) == 2
    assert rotation_slot({"signing": 2, "retiring": {"slot": 1, "until": 9}}) == 0
    assert rotation_slot({"signing": 0, "next": {"slot": 2, "since": 1}}) == 2


def test_switching_signs_with_the_next_key_and_keeps_the_old_one_for_the_grace_period():
    dkim = {"signing": 0, "next": {"slot": 1, "since": 5}, "current_length": "RSA_2048_BIT",
            "next_length": "RSA_1024_BIT"}
    after = switch_signing(dkim, 100.0, 50.0)
    assert after["signing"] == 1 and "next" not in after and after["current_length"] == "RSA_1024_BIT"
    assert after["retiring"] == {"slot": 0, "until": 150.0}
    assert "retiring" not in switch_signing(dkim, 100.0, None)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    s = Store.open(f"sqlite:///{tmp_path / 'unit.db'}")
    yield s
    s.close()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(os.urandom(32))


async def _publish(store: Store, fake: FakeResolver, service: IdentityService) -> list[str]:
    """The user's CNAMEs in `fake`, and the zone's TXT records as the responder would serve them."""
    identity = await service.require(ACCOUNT, "example.com")
    keys = ZoneKeys(store)
    await keys.refresh()
    for token in identity.dkim["tokens"]:
        fake.set(f"{token}._domainkey.example.com", "CNAME", [f"{token}.{ZONE}"])
        fake.set(f"{token}.{ZONE}", "TXT", [keys.record(token) or ""])
    return list(identity.dkim["tokens"])


async def test_cname_rotation_switches_once_the_zone_serves_the_key_then_retires_the_old_one(store, box):
    clock, fake = Clock(), FakeResolver()
    service = IdentityService(store, clock)
    await service.ensure(ACCOUNT, "example.com")
    await service.start_easy_dkim(box, ACCOUNT, "example.com", RSA_1024)
    verifier = DnsVerifier(store, fake, CNAME, clock=clock, box=box, grace=3600.0)
    tokens = await _publish(store, fake, service)
    identity = await verifier.check(await service.require(ACCOUNT, "example.com"))
    assert identity.dkim["status"] == "SUCCESS"
    [before] = await signing_keys(store, box, ACCOUNT, "example.com")
    assert before.selector == tokens[0]

    dkim = await dkim_keys.rotate(store, box, ACCOUNT, "example.com", "RSA_2048_BIT", keep_tokens=True, now=clock.now)
    assert dkim["tokens"] == tokens and dkim["next"]["slot"] == 1
    identity = await verifier.check(await service.require(ACCOUNT, "example.com"))  # zone not yet refreshed
    assert identity.dkim.get("next") and (await signing_keys(store, box, ACCOUNT, "example.com"))[0] == before

    await _publish(store, fake, service)
    identity = await verifier.check(await service.require(ACCOUNT, "example.com"))
    assert identity.dkim["signing"] == 1 and identity.dkim["current_length"] == "RSA_2048_BIT"
    assert identity.dkim["status"] == "SUCCESS" and identity.dkim["retiring"]["slot"] == 0
    [after] = await signing_keys(store, box, ACCOUNT, "example.com")
    assert after.selector == tokens[1] and after.private_key_pem != before.private_key_pem
    old_record = fake.records[(f"{tokens[0]}.{ZONE}", "TXT")]

    clock.now += 3601
    identity = await verifier.check(await service.require(ACCOUNT, "example.com"))
    assert "retiring" not in (await service.require(ACCOUNT, "example.com")).dkim
    keys = ZoneKeys(store)
    await keys.refresh()
    assert keys.record(tokens[0]) not in (None, old_record[0])  # a fresh spare under the same token


async def test_txt_rotation_asks_for_a_new_record_and_signs_with_the_old_key_until_it_appears(store, box):
    clock, fake = Clock(), FakeResolver()
    txt = Publishing("txt", ZONE, "mail.openses.test")
    service = IdentityService(store, clock)
    await service.ensure(ACCOUNT, "example.com")
    await service.start_easy_dkim(box, ACCOUNT, "example.com", RSA_1024)
    verifier = DnsVerifier(store, fake, txt, clock=clock, box=box)
    for key in await service.public_keys(ACCOUNT, "example.com"):
        fake.set(f"{key.selector}._domainkey.example.com", "TXT", [key.record()])
    await verifier.check(await service.require(ACCOUNT, "example.com"))
    [before] = await signing_keys(store, box, ACCOUNT, "example.com")

    dkim = await dkim_keys.rotate(store, box, ACCOUNT, "example.com", RSA_1024, keep_tokens=False, now=clock.now)
    new_token = dkim["tokens"][1]
    assert new_token not in [k.selector for k in [before]] and len(set(dkim["tokens"])) == 3
    identity = await verifier.check(await service.require(ACCOUNT, "example.com"))
    assert identity.dkim["status"] == "SUCCESS" and identity.dkim.get("next")
    assert (await signing_keys(store, box, ACCOUNT, "example.com"))[0] == before

    [new] = [k for k in await service.public_keys(ACCOUNT, "example.com") if k.selector == new_token]
    fake.set(f"{new_token}._domainkey.example.com", "TXT", [new.record()])
    identity = await verifier.check(await service.require(ACCOUNT, "example.com"))
    assert identity.dkim["signing"] == 1 and "retiring" not in identity.dkim
    assert (await signing_keys(store, box, ACCOUNT, "example.com"))[0].selector == new_token


async def test_a_domain_without_easy_dkim_cannot_rotate(store, box):
    from openses.errors import InvalidParameterValue

    await IdentityService(store).ensure(ACCOUNT, "example.com")
    with pytest.raises(InvalidParameterValue):
        await dkim_keys.rotate(store, box, ACCOUNT, "example.com", RSA_1024, keep_tokens=True, now=1.0)
