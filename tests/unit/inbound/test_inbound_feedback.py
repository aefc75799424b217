"""Reports become events (core/inbound_feedback.py), on SQLite and PostgreSQL: matched through
the bounce address or the original's headers, limited to the message's own recipients, stored
with the report in one transaction, and fed through the same feedback processor as the delivery
worker's events (suppression, reputation counters, event destinations)."""

from __future__ import annotations

import asyncio

import pytest

from openses.core.event_dispatch import FeedbackProcessor
from openses.core.inbound_feedback import InboundFeedback, classify
from openses.inbound.parse import parse
from openses.inbound.reports import Received, RecipientStatus
from openses.inbound.server import RELAY_DENIED, FeedbackReceiver
from openses.store import feedback_repo as frepo
from openses.store import inbound_repo as irepo
from openses.store.store import Store
from tests.support.delivery_queue import events, queue_message

BOUNCES = "bounces.example.com"
ACCOUNT = "111122223333"
NOW = 1_700_000_100.0


@pytest.fixture
def store(database_url: str):  # noqa: ANN201
    s = Store.open(database_url)
    yield s
    s.close()


def dsn(message_id: str, recipient: str, status: str, diagnostic: str, *, original_recipient: str = "") -> bytes:
    extra = f"Original-Recipient: rfc822; {original_recipient}\r\n" if original_recipient else ""
    return ("From: MAILER-DAEMON@mx.example.org\r\nTo: <{mid}@{b}>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=z\r\n\r\n"
            "--z\r\nContent-Type: text/plain\r\n\r\nbounced\r\n\r\n--z\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; {r}\r\n{extra}Action: failed\r\n"
            "Status: {s}\r\nRemote-MTA: dns; [192.0.2.9]\r\nDiagnostic-Code: smtp; {d}\r\n\r\n--z--\r\n").format(
        mid=message_id, b=BOUNCES, r=recipient, extra=extra, s=status, d=diagnostic).encode()


def arf(message_id: str, rcpt_line: str = "") -> bytes:
    return ("From: fbl@isp.example\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=z\r\n\r\n"
            "--z\r\nContent-Type: text/plain\r\n\r\nreport\r\n\r\n--z\r\nContent-Type: message/feedback-report\r\n\r\n"
            f"Feedback-Type: fraud\r\nUser-Agent: FBL/1\r\nVersion: 1\r\n{rcpt_line}\r\n"
            "--z\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"Message-ID: <{message_id}@email.openses.local>\r\nSubject: x\r\n\r\n--z--\r\n").encode()


def record(store: Store, data: bytes, rcpt: str) -> str:
    feedback = InboundFeedback(store, bounce_domain=BOUNCES, message_id_domain="email.openses.local",
                               clock=lambda: NOW)
    return asyncio.run(feedback.record(Received("192.0.2.9", "<>", (rcpt,), data, parse(data))))


def of_kind(store: Store, message_id: str, kind: str) -> list[dict]:
    return [e for e in events(store, message_id) if e["eventType"] == kind]


def test_a_dsn_to_the_bounce_address_becomes_a_bounce_that_suppresses_and_counts(store: Store) -> None:
    mid = queue_message(store, sender="news@example.com", recipients=["gone@example.org"], now=NOW - 60)
    assert record(store, dsn(mid, "gone@example.org", "5.1.1", "550 5.1.1 no such user"), f"{mid}@{BOUNCES}") \
        == "recorded"
    [bounce] = of_kind(store, mid, "Bounce")
    detail = bounce["bounce"]
    assert (detail["bounceType"], detail["bounceSubType"]) == ("Permanent", "NoEmail")
    assert detail["remoteMtaIp"] == "192.0.2.9" and detail["reportingMTA"] == "dsn; mx.example.org"
    assert detail["bouncedRecipients"] == [{"emailAddress": "gone@example.org", "action": "failed",
                                            "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 no such user"}]
    processor = FeedbackProcessor(public_url="http://h", clock=lambda: NOW)
    assert store.write_sync(processor.process).suppressed == 1
    assert store.read_sync(lambda c: frepo.get_suppressed(c, ACCOUNT, "gone@example.org"))["reason"] == "BOUNCE"
    assert store.read_sync(lambda c: frepo.counts_since(c, ACCOUNT, 0))["HardBounce"] == 1
    [report] = store.read_sync(irepo.recent_reports)
    assert (report["outcome"], report["kind"], report["message_id"], report["events"]) == \
        ("recorded", "bounce", mid, 1)


def test_a_bounce_naming_someone_else_is_attributed_only_when_the_message_had_one_recipient(store: Store) -> None:
    one = queue_message(store, sender="a@example.com", recipients=["list@example.org"], now=NOW)
    record(store, dsn(one, "member@example.net", "5.1.1", "550 5.1.1 unknown"), f"{one}@{BOUNCES}")
    assert of_kind(store, one, "Bounce")[0]["bounce"]["bouncedRecipients"][0]["emailAddress"] == "list@example.org"
    two = queue_message(store, sender="a@example.com", recipients=["x@example.org", "y@example.org"], now=NOW)
    assert record(store, dsn(two, "victim@example.net", "5.1.1", "550 5.1.1 unknown"), f"{two}@{BOUNCES}") \
        == "ignored"
    assert of_kind(store, two, "Bounce") == []


def test_an_arf_report_matched_by_message_id_complains_for_the_named_recipient(store: Store) -> None:
    mid = queue_message(store, sender="a@example.com", recipients=["x@example.org", "Y@example.org"], now=NOW)
    assert record(store, arf(mid, "Original-Rcpt-To: y@EXAMPLE.org\r\n"), f"fbl@{BOUNCES}") == "recorded"
    [complaint] = of_kind(store, mid, "Complaint")
    assert complaint["complaint"]["complainedRecipients"] == [{"emailAddress": "Y@example.org"}]
    assert complaint["complaint"]["complaintFeedbackType"] == "fraud"
    store.write_sync(FeedbackProcessor(public_url="http://h", clock=lambda: NOW).process)
    assert store.read_sync(lambda c: frepo.get_suppressed(c, ACCOUNT, "y@example.org"))["reason"] == "COMPLAINT"


def test_a_complaint_naming_no_recipient_concerns_every_recipient(store: Store) -> None:
    mid = queue_message(store, sender="a@example.com", recipients=["x@example.org", "y@example.org"], now=NOW)
    record(store, arf(mid), f"fbl@{BOUNCES}")
    [complaint] = of_kind(store, mid, "Complaint")
    assert [r["emailAddress"] for r in complaint["complaint"]["complainedRecipients"]] == \
        ["x@example.org", "y@example.org"]


def test_unmatched_and_unparsable_mail_is_kept_and_counted(store: Store) -> None:
    assert record(store, dsn("nope", "a@example.org", "5.1.1", "550"), f"nope@{BOUNCES}") == "unmatched"
    assert record(store, b"Subject: hi\r\n\r\nhello\r\n", f"x@{BOUNCES}") == "unparsable"
    assert store.read_sync(irepo.outcome_counts) == {"unmatched": 1, "unparsable": 1}
    [latest, _] = store.read_sync(irepo.recent_reports)
    assert latest["kind"] == "none" and latest["rcpt_to"] == [f"x@{BOUNCES}"]


@pytest.mark.parametrize(("status", "diagnostic", "expected"), [
    ("5.1.1", "550 5.1.1 user unknown", ("Permanent", "NoEmail")),
    ("5.0.0", "550 No such user here", ("Permanent", "NoEmail")),
    ("5.2.2", "552 5.2.2 Mailbox full", ("Transient", "MailboxFull")),
    ("5.3.4", "552 5.3.4 Message too big", ("Transient", "MessageTooLarge")),
    ("5.7.1", "550 5.7.1 Message rejected as spam", ("Transient", "ContentRejected")),
    ("5.7.1", "550 5.7.1 Relaying denied", ("Permanent", "General")),
    ("4.4.7", "Delivery time expired", ("Transient", "General")),
    ("4.2.2", "452 4.2.2 over quota", ("Transient", "MailboxFull")),
])
def test_failed_recipients_are_classified_as_ses_does(status: str, diagnostic: str,
                                                       expected: tuple[str, str]) -> None:
    assert classify(RecipientStatus("a@example.org", "failed", status, f"smtp; {diagnostic}")) == expected


class _Sink:
    def __init__(self) -> None:
        self.got: list[Received] = []

    async def record(self, received: Received) -> str:
        self.got.append(received)
        return "recorded" if received.report else "unparsable"


def test_the_receiver_takes_only_the_bounce_domain_and_answers_after_the_sink() -> None:
    sink = _Sink()
    receiver = FeedbackReceiver(sink, bounce_domain="Bounces.Example.com.")
    assert receiver.recipient_reply("<x@bounces.example.COM>") is None
    assert receiver.recipient_reply("x@example.com") == RELAY_DENIED
    assert receiver.recipient_reply("x@evil.bounces.example.com") == RELAY_DENIED
    reply = asyncio.run(receiver.receive("192.0.2.1", "<>", ["a@bounces.example.com"], b"Subject: x\r\n\r\n"))
    assert reply == "250 2.0.0 Ok: unparsable report logged" and sink.got[0].report is None
