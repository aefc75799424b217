"""The delivery worker tracks mail of tracked configuration sets in its preparation step: the
bytes a transport sends (before signing) or, in capture mode, the stored copy."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from openses.core.events import MailInfo, send_event
from openses.core.tracking import Plan
from openses.core.tracking_tokens import TokenCodec
from openses.delivery.capture import CaptureTransport
from openses.delivery.outcome import Outcome, Verdict
from openses.delivery.parcel import Parcel
from openses.delivery.prepare import Preparer
from openses.delivery.worker import DeliveryWorker
from openses.store import repositories as repo
from openses.store.store import Store

ACCOUNT = "111122223333"
PLAN = Plan(TokenCodec(b"k" * 32), opens=True, clicks=True, public_url="http://track.test")
HTML = (b"From: a@example.com\r\nTo: b@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n<p><a href=\"https://a.example/\">a</a></p>\r\n")


class Sent:
    needs_data = True

    def __init__(self) -> None:
        self.parcels: list[Parcel] = []

    async def deliver(self, parcel: Parcel) -> Outcome:
        self.parcels.append(parcel)
        return Outcome(Verdict.DELIVERED, "250 ok", "worker.test")

    async def close(self) -> None:
        return None


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield s
    s.close()


def queued(store: Store, config_set: str | None) -> str:
    now = time.time()
    message_id = f"0100{int(now * 1000):012x}-tracking-{config_set}-000000"
    tags = {"ses:configuration-set": [config_set]} if config_set else {}
    mail = MailInfo(message_id, ACCOUNT, now, "a@example.com", "arn", ("b@example.org",), "a@example.com",
                    ("b@example.org",), "s", tags)
    message = {"id": message_id, "account_id": ACCOUNT, "source": "a@example.com", "from_header": "a@example.com",
               "subject": "s", "recipients": ["b@example.org"], "raw": HTML, "size": len(HTML), "channel": "api",
               "configuration_set": config_set, "tags": {}, "status": "queued", "created_at": now}
    entry = {"message_id": message_id, "account_id": ACCOUNT, "domain": "example.org", "recipients": ["b@example.org"],
             "attempts": 0, "next_attempt_at": now, "lease_owner": None, "lease_expires_at": None, "created_at": now}
    store.write_sync(lambda c: repo.insert_accepted(c, [message], [entry], [send_event(mail)], {}))
    return message_id


async def lookup(account_id: str, config_set: str) -> Plan | None:
    return PLAN if (account_id, config_set) == (ACCOUNT, "news") else None


def preparer() -> Preparer:
    return Preparer(bounce_domain="b.test", tracking=lookup)


async def test_the_bytes_sent_carry_tracking_for_a_tracked_configuration_set_only(store):
    tracked, plain = queued(store, "news"), queued(store, "other")
    transport = Sent()
    await DeliveryWorker(store, transport, preparer=preparer()).run_once()
    data = {p.message_id: p.data for p in transport.parcels}
    assert b"http://track.test/track/click/" in data[tracked] and b"/track/open/" in data[tracked]
    assert b"/track/" not in data[plain]


async def test_capture_mode_rewrites_the_stored_copy(store):
    tracked, plain = queued(store, "news"), queued(store, None)
    await DeliveryWorker(store, CaptureTransport("h"), preparer=preparer()).run_once()
    stored = {m: bytes(store.read_sync(lambda c: repo.get_message(c, m))["raw"]) for m in (tracked, plain)}
    assert b"/track/click/" in stored[tracked] and stored[plain] == HTML


async def test_a_failing_lookup_delivers_the_mail_untracked(store):
    async def broken(account_id: str, config_set: str) -> Plan | None:
        raise RuntimeError("database away")

    message_id = queued(store, "news")
    transport = Sent()
    await DeliveryWorker(store, transport, preparer=Preparer(bounce_domain="b.test", tracking=broken)).run_once()
    assert [p.data for p in transport.parcels if p.message_id == message_id] == [HTML]
