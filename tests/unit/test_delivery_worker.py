"""The delivery worker over a real (SQLite file) store with a fake transport and a fake clock:
leasing, recording outcomes as SES events, retries, bounces, lost leases, limits, shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openses.delivery.bounce import failed_outcome, outcome_of
from openses.delivery.dkim import DkimKey
from openses.delivery.outcome import Outcome
from openses.delivery.parcel import Parcel
from openses.delivery.prepare import Preparer, message_id_of
from openses.delivery.retry import RetryPolicy
from openses.delivery.worker import DeliveryWorker
from openses.store import repositories as repo
from openses.store.store import Store
from tests.support.delivery_queue import of_type, queue_message


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeTransport:
    """Answers each recipient from `replies` (default 250); records every parcel."""

    needs_data = True

    def __init__(self, replies: dict[str, str] | None = None) -> None:
        self.replies = replies or {}
        self.parcels: list[Parcel] = []
        self.gate: asyncio.Event | None = None
        self.in_flight = 0
        self.most_in_flight = 0
        self.closed = False

    async def deliver(self, parcel: Parcel) -> Outcome:
        self.parcels.append(parcel)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
        finally:
            self.in_flight -= 1
        return outcome_of({r: self.replies.get(r, "250 2.0.0 Ok") for r in parcel.recipients},
                          reporting_mta="worker.test", remote_mta="mx.example.org")

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield s
    s.close()


def worker(store: Store, transport, clock: Clock, **kw) -> DeliveryWorker:  # noqa: ANN001
    kw.setdefault("retry", RetryPolicy(first_delay=60, jitter=0, max_delivery_seconds=600))
    return DeliveryWorker(store, transport, clock=clock, preparer=kw.pop("preparer", None)
                          or Preparer(bounce_domain="bounces.example.com"), **kw)


def queue_depth(store: Store) -> int:
    return store.read_sync(repo.queue_depth)


async def test_delivered_mail_gets_a_delivery_event_and_leaves_the_queue(store):
    clock = Clock()
    mid = queue_message(store, sender="a@example.com", recipients=["b@example.org", "c@example.org"], now=clock.now)
    clock.now += 1.5
    assert await worker(store, FakeTransport(), clock).run_once() == 1
    [delivery] = of_type(store, mid, "Delivery")
    assert delivery["recipients"] == ["b@example.org", "c@example.org"]
    assert delivery["smtpResponse"] == "250 2.0.0 Ok" and delivery["reportingMTA"] == "worker.test"
    assert delivery["processingTimeMillis"] == 1500
    assert queue_depth(store) == 0
    assert store.read_sync(lambda c: repo.get_message(c, mid))["status"] == "delivered"


async def test_one_entry_per_domain_one_transaction_for_its_recipients(store):
    clock = Clock()
    queue_message(store, sender="a@example.com", recipients=["b@example.org", "c@example.net", "d@example.org"],
                  now=clock.now)
    transport = FakeTransport()
    await worker(store, transport, clock).run_once()
    assert sorted((p.domain, p.recipients) for p in transport.parcels) == [
        ("example.net", ("c@example.net",)), ("example.org", ("b@example.org", "d@example.org"))]


async def test_envelope_sender_is_the_per_message_bounce_address(store):
    clock = Clock()
    mid = queue_message(store, sender="a@example.com", recipients=["b@example.org"], now=clock.now)
    transport = FakeTransport()
    await worker(store, transport, clock).run_once()
    assert transport.parcels[0].mail_from == f"{mid}@bounces.example.com"
    assert message_id_of(f"<{mid}@BOUNCES.example.com>", "bounces.example.com") == mid
    assert message_id_of("x@elsewhere.com", "bounces.example.com") is None


async def test_mail_from_a_dkim_domain_is_signed_with_the_looked_up_keys(store):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    asked = []

    async def lookup(account_id: str, domain: str) -> list[DkimKey]:
        asked.append((account_id, domain))
        return [DkimKey(domain, "sel", "ed25519-sha256", pem)] if domain == "example.com" else []

    clock = Clock()
    queue_message(store, sender="a@example.com", recipients=["b@example.org", "c@example.net"], now=clock.now)
    queue_message(store, sender="a@other.com", recipients=["b@example.org"], now=clock.now)
    transport = FakeTransport()
    await worker(store, transport, clock, preparer=Preparer(bounce_domain="b.test", key_lookup=lookup)).run_once()
    signed = [p for p in transport.parcels if p.data.startswith(b"DKIM-Signature:")]
    assert {p.recipients for p in signed} == {("b@example.org",), ("c@example.net",)}
    assert sorted(asked) == [("111122223333", "example.com"), ("111122223333", "other.com")]


async def test_temporary_failure_records_a_delay_and_retries_after_the_back_off(store):
    clock = Clock()
    mid = queue_message(store, sender="a@example.com", recipients=["b@example.org"], now=clock.now)
    transport = FakeTransport({"b@example.org": "450 4.7.1 Try again later"})
    w = worker(store, transport, clock)
    await w.run_once()
    [delay] = of_type(store, mid, "DeliveryDelay")
    assert delay["delayType"] == "RecipientServerError"
    assert delay["delayedRecipients"] == [{"emailAddress": "b@example.org", "status": "4.7.1",
                                           "diagnosticCode": "smtp; 450 4.7.1 Try again later"}]
    assert delay["expirationTime"] == "2023-11-14T22:23:20.000Z"
    assert await w.run_once() == 0  # not due yet
    clock.now += 60
    transport.replies = {}
    assert await w.run_once() == 1
    assert len(of_type(store, mid, "Delivery")) == 1 and queue_depth(store) == 0


async def test_unknown_user_is_a_permanent_no_email_bounce(store):
    clock = Clock()
    mid = queue_message(store, sender="a@example.com", recipients=["ok@example.org", "gone@example.org"],
                        now=clock.now)
    await worker(store, FakeTransport({"gone@example.org": "550 5.1.1 <gone@example.org>: User unknown"}),
                 clock).run_once()
    [bounce] = of_type(store, mid, "Bounce")
    assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Permanent", "NoEmail")
    assert bounce["bouncedRecipients"] == [{"emailAddress": "gone@example.org", "action": "failed",
                                            "status": "5.1.1",
                                            "diagnosticCode": "smtp; 550 5.1.1 <gone@example.org>: User unknown"}]
    assert bounce["reportingMTA"] == "dsn; worker.test" and bounce["feedbackId"].endswith("-000000")
    assert of_type(store, mid, "Delivery")[0]["recipients"] == ["ok@example.org"]
    assert store.read_sync(lambda c: repo.get_message(c, mid))["status"] == "partial"


async def test_retries_stop_at_the_maximum_delivery_time_with_a_transient_bounce(store):
    clock = Clock()
    mid = queue_message(store, sender="a@example.com", recipients=["b@example.org"], now=clock.now)
    w = worker(store, FakeTransport({"b@example.org": "421 4.4.1 Unable to connect"}), clock)
    for _ in range(12):
        await w.run_once()
        clock.now += 60
    [bounce] = of_type(store, mid, "Bounce")
    assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Transient", "General")
    assert len(of_type(store, mid, "DeliveryDelay")) == 4  # at 0, 60, 180, 420 s; the bounce at 600 s
    assert queue_depth(store) == 0
    assert store.read_sync(lambda c: repo.get_message(c, mid))["status"] == "bounced"


async def test_a_worker_that_lost_its_lease_records_nothing(store):
    clock = Clock()
    mid = queue_message(store, sender="a@example.com", recipients=["b@example.org"], now=clock.now)
    slow = FakeTransport()
    slow.gate = asyncio.Event()
    first = worker(store, slow, clock, lease_seconds=10)
    running = asyncio.create_task(first.run_once())
    while not slow.parcels:
        await asyncio.sleep(0.01)
    clock.now += 11  # the first worker's lease ran out: it looks dead
    assert await worker(store, FakeTransport(), clock).run_once() == 1
    slow.gate.set()
    await running
    assert len(of_type(store, mid, "Delivery")) == 1


async def test_no_more_than_the_per_domain_limit_are_delivered_at_once(store):
    clock = Clock()
    for _ in range(6):
        queue_message(store, sender="a@example.com", recipients=["b@example.org"], now=clock.now)
    transport = FakeTransport()
    transport.gate = asyncio.Event()
    w = worker(store, transport, clock, per_domain=2)
    running = asyncio.create_task(w.run_once())
    while len(transport.parcels) < 2:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert transport.most_in_flight == 2
    transport.gate.set()
    assert await running == 6


async def test_graceful_shutdown_hands_back_entries_not_yet_tried(store):
    clock = Clock()
    for _ in range(3):
        queue_message(store, sender="a@example.com", recipients=["b@example.org"], now=clock.now)
    transport = FakeTransport()
    transport.gate = asyncio.Event()
    w = worker(store, transport, clock, per_domain=1, poll_interval=0.01)
    runner = asyncio.create_task(w.run())
    while not transport.parcels:
        await asyncio.sleep(0.01)
    asyncio.get_running_loop().call_later(0.05, transport.gate.set)
    await w.shutdown(grace=0.01)
    await runner
    from openses.store.delivery_repo import leased_entries

    assert len(store.read_sync(leased_entries)) == 1  # the one under way keeps its lease until it expires; the others are free
    assert queue_depth(store) == 3 and transport.closed


async def test_a_transport_that_raises_is_a_temporary_failure(store):
    class Broken(FakeTransport):
        async def deliver(self, parcel: Parcel) -> Outcome:
            raise RuntimeError("bug")

    clock = Clock()
    mid = queue_message(store, sender="a@example.com", recipients=["b@example.org"], now=clock.now)
    await worker(store, Broken(), clock).run_once()
    assert of_type(store, mid, "DeliveryDelay")[0]["delayType"] == "RecipientServerError"
    assert failed_outcome("421 4.4.1 x", reporting_mta="m").verdict.value == "temporary"
