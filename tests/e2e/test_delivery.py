"""MX and relay delivery end to end: the worker (in-process, on SQLite and PostgreSQL) resolves
MX records from a real DNS server on loopback and delivers to a real Postfix, which stores the
mail in a Maildir; DKIM signatures are verified by dkimpy against the zone's DNS."""

from __future__ import annotations

import email
import uuid
from collections.abc import AsyncIterator, Iterator

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from openses.delivery.dkim import DkimKey, public_key_record
from openses.delivery.mx import MxTransport
from openses.delivery.pool import SessionPool
from openses.delivery.prepare import Preparer
from openses.delivery.relay import RelayTransport
from openses.delivery.retry import RetryPolicy
from openses.delivery.worker import DeliveryWorker
from openses.protocol.dns import DnsResolver
from openses.store import repositories as repo
from openses.store.store import Store
from tests.support import postfix as pf
from tests.support.delivery_queue import of_type, queue_message
from tests.support.dns_server import DnsServer
from tests.support.mail_dns import ZONES, dkim_dns, point_mx

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not pf.available(), reason="needs Debian's postfix (apt-get install postfix)")]


def _pem(key) -> bytes:  # noqa: ANN001
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


KEYS = [DkimKey("example.com", "rsa2048", "rsa-sha256", _pem(rsa.generate_private_key(public_exponent=65537,
                                                                                         key_size=2048))),
        DkimKey("example.com", "ed", "ed25519-sha256", _pem(ed25519.Ed25519PrivateKey.generate()))]


@pytest.fixture(scope="module")
def zone() -> Iterator[DnsServer]:
    server = DnsServer()
    server.start(ZONES)
    for key in KEYS:
        server.set_records(f"{key.selector}._domainkey.{key.domain}", "TXT", [public_key_record(key.private_key_pem)])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mta() -> Iterator[pf.PostfixServer]:
    server = pf.PostfixServer(domains=["example.org", "example.net", "nomx.test"]).start()
    yield server
    server.stop()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store.open(database_url)
    yield s
    s.close()


class Clock:
    now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def _lookup(account_id: str, domain: str) -> list[DkimKey]:
    return [k for k in KEYS if k.domain == domain]


_OPEN: list[DeliveryWorker] = []


@pytest.fixture(autouse=True)
async def close_workers() -> AsyncIterator[None]:
    """Every worker's pooled connections are closed (QUIT) when its test ends."""
    yield
    while _OPEN:
        await _OPEN.pop().shutdown(grace=0)


def make_worker(store: Store, zone: DnsServer, port: int, clock: Clock, *, require_tls: bool = False,
                pool: SessionPool | None = None, per_domain: int = 20) -> DeliveryWorker:
    transport = MxTransport(DnsResolver([zone.address]), pool or SessionPool(helo_name="openses.test", timeout=10),
                            port=port, require_tls=require_tls, reporting_mta="openses.test")
    worker = DeliveryWorker(store, transport, clock=clock, per_domain=per_domain,
                            retry=RetryPolicy(first_delay=60, jitter=0, max_delivery_seconds=300),
                            preparer=Preparer(bounce_domain="bounces.example.com", key_lookup=_lookup))
    _OPEN.append(worker)
    return worker


def fresh(address: str) -> str:
    """A new address each time: the Postfix is shared by the tests of the module."""
    local, _, domain = address.partition("@")
    return f"{local}.{uuid.uuid4().hex[:8]}@{domain}"


def send(store: Store, clock: Clock, to: list[str], sender: str = "news@example.com") -> str:
    return queue_message(store, sender=sender, recipients=to, now=clock.now)


async def test_mail_arrives_over_starttls_with_dkim_signatures_that_verify_against_dns(store, zone, mta):
    point_mx(zone)
    clock = Clock()
    alice = fresh("alice@example.org")
    mid = send(store, clock, [alice])
    await make_worker(store, zone, mta.port, clock).run_once()
    [raw] = mta.wait_for(alice)
    msg = email.message_from_bytes(raw)
    assert msg["Return-Path"] == f"<{mid}@bounces.example.com>"
    assert "with ESMTPS" in msg["Received"]  # Postfix says so when the session used TLS
    d = dkim.DKIM(raw.replace(b"\n", b"\r\n"))
    assert d.verify(idx=0, dnsfunc=dkim_dns(zone)) and d.verify(idx=1, dnsfunc=dkim_dns(zone))
    [delivery] = of_type(store, mid, "Delivery")
    assert delivery["smtpResponse"].startswith("250 2.0.0 Ok: queued as")


async def test_greylisted_recipient_is_delayed_then_delivered_on_retry(store, zone, mta):
    point_mx(zone)
    clock = Clock()
    grey = fresh("grey@example.org")
    mta.set_access({grey: "450 4.7.1 Try again later"})
    try:
        mid = send(store, clock, [grey])
        w = make_worker(store, zone, mta.port, clock)
        await w.run_once()
        [delay] = of_type(store, mid, "DeliveryDelay")
        assert delay["delayType"] == "RecipientServerError"
        assert delay["delayedRecipients"][0]["status"] == "4.7.1"
    finally:
        mta.set_access({})
    clock.now += 60
    # A fresh worker: Postfix's reload does not reach a session already open (our pooled one).
    assert await make_worker(store, zone, mta.port, clock).run_once() == 1
    assert len(mta.wait_for(grey)) == 1
    assert of_type(store, mid, "Delivery")[0]["recipients"] == [grey]


async def test_unknown_recipient_bounces_as_permanent_no_email(store, zone, mta):
    point_mx(zone)
    clock = Clock()
    unknown, bob = fresh("unknown.user@example.org"), fresh("bob@example.org")
    mid = send(store, clock, [unknown, bob])
    await make_worker(store, zone, mta.port, clock).run_once()
    [bounce] = of_type(store, mid, "Bounce")
    assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Permanent", "NoEmail")
    [rcpt] = bounce["bouncedRecipients"]
    assert rcpt["emailAddress"] == unknown and rcpt["status"] == "5.1.1"
    assert rcpt["action"] == "failed" and rcpt["diagnosticCode"].startswith("smtp; 550 5.1.1")
    assert len(mta.wait_for(bob)) == 1


async def test_unreachable_mail_host_is_delayed_then_bounces_when_time_is_up(store, zone, mta):
    point_mx(zone, "example.net", "127.0.0.9")  # nothing listens there
    clock = Clock()
    mid = send(store, clock, ["carol@example.net"])
    w = make_worker(store, zone, mta.port, clock)
    await w.run_once()
    [delay] = of_type(store, mid, "DeliveryDelay")
    assert delay["delayType"] == "TransientCommunicationFailure"
    assert delay["delayedRecipients"][0]["diagnosticCode"].startswith("smtp; 421 4.4.1 Unable to connect")
    clock.now += 300
    await w.run_once()
    [bounce] = of_type(store, mid, "Bounce")
    assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Transient", "General")
    assert store.read_sync(repo.queue_depth) == 0


async def test_tls_required_but_not_offered_sends_nothing_in_clear(store, zone):
    plain = pf.PostfixServer(domains=["example.org"], tls=False).start()
    try:
        point_mx(zone)
        clock = Clock()
        mid = send(store, clock, ["secret@example.org"])
        await make_worker(store, zone, plain.port, clock, require_tls=True).run_once()
        [delay] = of_type(store, mid, "DeliveryDelay")
        assert delay["delayedRecipients"][0]["status"] == "4.7.10"
        assert "does not offer STARTTLS" in delay["delayedRecipients"][0]["diagnosticCode"]
        assert plain.all_messages() == [] and "MAIL FROM" not in plain.log()
    finally:
        plain.stop()


async def test_domain_without_mx_gets_mail_at_its_address_record(store, zone, mta):
    zone.remove("nomx.test")
    zone.set_records("nomx.test", "A", ["127.0.0.1"])
    clock = Clock()
    dave = fresh("dave@nomx.test")
    send(store, clock, [dave])
    await make_worker(store, zone, mta.port, clock).run_once()
    assert len(mta.wait_for(dave)) == 1


async def test_one_connection_carries_many_messages_to_one_destination(store, zone, mta):
    point_mx(zone)
    clock = Clock()
    addresses = [fresh("reuse@example.org") for _ in range(5)]
    for a in addresses:
        send(store, clock, [a])
    pool = SessionPool(helo_name="openses.test", timeout=10)
    await make_worker(store, zone, mta.port, clock, pool=pool, per_domain=1).run_once()
    for a in addresses:
        mta.wait_for(a)
    assert pool.opened == 1


async def test_relay_mode_sends_everything_through_the_smarthost(store, mta):
    clock = Clock()
    erin, frank = fresh("erin@example.org"), fresh("frank@example.net")
    mid = send(store, clock, [erin, frank])
    transport = RelayTransport(SessionPool(helo_name="openses.test"), host="127.0.0.1", port=mta.port,
                               tls="starttls", username=None, password=None, verify_certificate=False,
                               reporting_mta="openses.test")
    w = DeliveryWorker(store, transport, clock=clock, preparer=Preparer(bounce_domain="bounces.example.com"))
    _OPEN.append(w)
    await w.run_once()
    assert len(mta.wait_for(erin)) == 1 and len(mta.wait_for(frank)) == 1
    assert len(of_type(store, mid, "Delivery")) == 2
