"""Identity feedback notifications without a server: the notification JSON, the settings rules,
which identity a message was sent with, and the events processor's publishing (on SQLite and
PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from openses.core import identity_notifications as notes
from openses.core import topics
from openses.core.event_dispatch import FeedbackProcessor
from openses.core.events import MailInfo, bounce_event, complaint_event, delivery_event, send_event
from openses.core.feedback_forwarding import feedback_mail, sender_of
from openses.core.identities import new_row
from openses.core.identity_notifications import NotificationSettings
from openses.errors import InvalidParameterValue
from openses.store import feedback_repo as frepo
from openses.store import identities_repo as irepo
from openses.store import notifications_repo as nrepo
from openses.store import repositories as repo
from openses.store.store import Store

ACCOUNT = "111122223333"
RAW = (b"From: Acme <news@mail.example.com>\r\nTo: x@example.org\r\nSubject: Hello\r\n"
       b"X-Long: one\r\n two\r\n\r\nbody\r\n")


def _mail(source: str = "news@mail.example.com", tags: dict | None = None) -> dict:
    info = MailInfo("m1", ACCOUNT, 1000.0, source, f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/news@mail.example.com",
                    ("x@example.org",), "Acme <news@mail.example.com>", ("x@example.org",), "Hello",
                    {"ses:caller-identity": ["alice"], **(tags or {})})
    return send_event(info)["payload"]["mail"]


def _bounce(mail: dict) -> dict:
    return bounce_event(mail, [{"emailAddress": "x@example.org", "action": "failed", "status": "5.1.1",
                                "diagnosticCode": "smtp; 550 5.1.1 unknown"}], at=1001.0, bounce_type="Permanent",
                        bounce_sub_type="General", feedback_id="f1", reporting_mta="mx.example.org")


# --- the notification JSON ----------------------------------------------------------------------


def test_a_bounce_notification_has_notification_type_and_no_tags_or_headers_when_headers_are_off():
    body = notes.notification(_bounce(_mail())["payload"], None)
    assert body["notificationType"] == "Bounce" and "eventType" not in body
    assert body["bounce"]["bouncedRecipients"][0]["status"] == "5.1.1"
    assert body["bounce"]["bounceType"] == "Permanent" and body["bounce"]["feedbackId"] == "f1"
    mail = body["mail"]
    assert {"tags", "headers", "headersTruncated", "commonHeaders"}.isdisjoint(mail)
    assert mail["callerIdentity"] == "alice" and mail["sendingAccountId"] == ACCOUNT
    assert mail["destination"] == ["x@example.org"] and mail["messageId"] == "m1"


def test_headers_are_listed_in_order_and_unfolded_when_enabled():
    headers = notes.header_list(RAW)
    assert [h["name"] for h in headers] == ["From", "To", "Subject", "X-Long"]
    assert headers[3]["value"] == "one two"
    body = notes.notification(_bounce(_mail())["payload"], headers)
    assert body["mail"]["headersTruncated"] is False and body["mail"]["headers"] == headers
    assert body["mail"]["commonHeaders"]["subject"] == "Hello"


def test_complaint_and_delivery_notifications_carry_their_own_objects():
    complaint = complaint_event(_mail(), ["x@example.org"], at=1002.0, feedback_id="f2")
    body = notes.notification(complaint["payload"], None)
    assert body["notificationType"] == "Complaint"
    assert body["complaint"]["complainedRecipients"] == [{"emailAddress": "x@example.org"}]
    assert body["complaint"]["complaintFeedbackType"] == "abuse"
    delivery = delivery_event(_mail(), 1000.0, ["x@example.org"], at=1000.5, smtp_response="250 ok",
                              reporting_mta="a.example")
    body = notes.notification(delivery["payload"], None)
    assert body["notificationType"] == "Delivery"
    assert body["delivery"]["processingTimeMillis"] == 500 and body["delivery"]["recipients"] == ["x@example.org"]
    assert set(body) == {"notificationType", "mail", "delivery"}


# --- the settings -------------------------------------------------------------------------------


def test_defaults_are_forwarding_on_no_topics_and_no_headers():
    v1 = NotificationSettings().as_v1()
    assert v1 == {"ForwardingEnabled": True, "HeadersInBounceNotificationsEnabled": False,
                  "HeadersInComplaintNotificationsEnabled": False, "HeadersInDeliveryNotificationsEnabled": False}


def test_forwarding_cannot_be_turned_off_in_v1_unless_bounce_and_complaint_topics_are_set():
    only_bounce = NotificationSettings().with_topic("Bounce", "arn:b")
    with pytest.raises(InvalidParameterValue, match="both Bounce and Complaint"):
        only_bounce.with_forwarding(False)
    both = only_bounce.with_topic("Complaint", "arn:c").with_forwarding(False)
    assert both.as_v1()["ForwardingEnabled"] is False
    assert only_bounce.with_forwarding(False, strict=False).forwarding is False  # SES v2 allows it


def test_clearing_a_feedback_topic_while_forwarding_is_off_turns_forwarding_back_on():
    off = NotificationSettings().with_topic("Bounce", "arn:b").with_topic("Complaint", "arn:c").with_forwarding(False)
    assert off.with_topic("Delivery", None).forwarding is False
    cleared = off.with_topic("Complaint", None)
    assert cleared.forwarding is True and cleared.as_v1().get("ComplaintTopic") is None


def test_settings_round_trip_through_identity_attributes():
    s = NotificationSettings().with_topic("Delivery", "arn:d").with_headers("Delivery", True)
    again = NotificationSettings.from_attributes({"other": 1, **s.as_attributes()})
    assert again == s and again.as_v1()["HeadersInDeliveryNotificationsEnabled"] is True
    assert again.with_headers("Delivery", False).headers == frozenset()


def test_an_unknown_notification_type_is_invalid():
    with pytest.raises(InvalidParameterValue):
        notes.check_type("Open")


# --- which identity a message was sent with ----------------------------------------------------


def test_the_address_identity_comes_first_then_its_domain_then_parent_domains():
    assert notes.candidate_keys("News@Mail.Example.com") == ["News@mail.example.com", "mail.example.com",
                                                             "example.com"]
    assert notes.sender_address(_mail(source="bounces@example.com")) == "news@mail.example.com"
    assert notes.sender_address({"source": "a@example.com", "commonHeaders": {"from": []}}) == "a@example.com"


def test_forwarded_feedback_mail_reads_like_a_delivery_status_notification():
    body = notes.notification(_bounce(_mail())["payload"], None, common=True)
    content = feedback_mail("Bounce", body)
    assert content.subject == "Delivery Status Notification (Failure)"
    assert "x@example.org" in content.text and "smtp; 550 5.1.1 unknown" in content.text
    assert ("Auto-Submitted", "auto-replied") in content.headers
    assert sender_of("Bounce", "openses.local") == "MAILER-DAEMON@openses.local"
    complaint = notes.notification(complaint_event(_mail(), ["x@example.org"], at=1.0, feedback_id="f")["payload"],
                                   None, common=True)
    assert feedback_mail("Complaint", complaint).subject == "Complaint about your message: Hello"


# --- the processor publishes and queues forwards ------------------------------------------------


@pytest.fixture
def store(database_url):
    s = Store.open(database_url)
    yield s
    s.close()


def _identity(conn, name: str, settings: NotificationSettings, status: str = "SUCCESS") -> None:
    row = new_row(ACCOUNT, name, status, 1.0)
    row["attributes"].update(settings.as_attributes())
    irepo.insert_identity(conn, row)


def _topic_with_subscriber(conn, name: str) -> tuple[str, str]:
    arn = topics.create_topic(conn, "us-east-1", ACCOUNT, name)
    sub = topics.subscribe(conn, arn, "webhook", "http://127.0.0.1:9/x", raw=True, public_url="http://h",
                           allow_private=True)
    return arn, sub.id


def _process(store, *events) -> None:
    store.write_sync(lambda c: repo.insert_events(c, list(events)))
    store.write_sync(FeedbackProcessor(public_url="http://h", clock=lambda: 2000.0).process)


def test_the_domain_identity_topic_gets_a_bounce_notification_and_the_bounce_is_forwarded(store):
    def setup(conn):
        arn, sub_id = _topic_with_subscriber(conn, "bounces")
        _identity(conn, "example.com", NotificationSettings().with_topic("Bounce", arn))
        return sub_id

    sub_id = store.write_sync(setup)
    _process(store, _bounce(_mail(source="rp@example.com")))
    [row] = store.read_sync(lambda c: frepo.list_outbox(c, [sub_id]))
    body = json.loads(row["body"])
    assert body["notificationType"] == "Bounce" and "headers" not in body["mail"]
    [forward] = store.read_sync(lambda c: nrepo.list_forwards(c, ACCOUNT))
    assert (forward["kind"], forward["recipient"], forward["status"]) == ("Bounce", "rp@example.com", "pending")
    assert forward["notification"]["notificationType"] == "Bounce"


def test_a_verified_address_identity_wins_over_its_domain_and_carries_headers_when_enabled(store):
    def setup(conn):
        domain_arn, domain_sub = _topic_with_subscriber(conn, "domain")
        address_arn, address_sub = _topic_with_subscriber(conn, "address")
        _identity(conn, "example.com", NotificationSettings().with_topic("Delivery", domain_arn))
        _identity(conn, "news@mail.example.com",
                  NotificationSettings().with_topic("Delivery", address_arn).with_headers("Delivery", True))
        repo.insert_accepted(conn, [{"id": "m1", "account_id": ACCOUNT, "source": "news@mail.example.com",
                                     "from_header": None, "subject": "Hello", "recipients": ["x@example.org"],
                                     "raw": RAW, "size": len(RAW), "channel": "api", "configuration_set": None,
                                     "tags": {}, "status": "delivered", "created_at": 1000.0}], [], [], {})
        return domain_sub, address_sub

    domain_sub, address_sub = store.write_sync(setup)
    _process(store, delivery_event(_mail(), 1000.0, ["x@example.org"], at=1001.0, smtp_response="250 ok",
                                   reporting_mta="a"))
    assert store.read_sync(lambda c: frepo.list_outbox(c, [domain_sub])) == []
    [row] = store.read_sync(lambda c: frepo.list_outbox(c, [address_sub]))
    assert json.loads(row["body"])["mail"]["headers"][2] == {"name": "Subject", "value": "Hello"}
    assert store.read_sync(lambda c: nrepo.list_forwards(c)) == []  # deliveries are never forwarded


def test_forwarding_off_with_both_topics_set_queues_no_feedback_mail(store):
    def setup(conn):
        b, _ = _topic_with_subscriber(conn, "b")
        c, _ = _topic_with_subscriber(conn, "c")
        _identity(conn, "example.com", NotificationSettings().with_topic("Bounce", b).with_topic("Complaint", c)
                  .with_forwarding(False))

    store.write_sync(setup)
    _process(store, _bounce(_mail()))
    assert store.read_sync(lambda c: nrepo.list_forwards(c)) == []


def test_feedback_about_feedback_mail_or_system_mail_is_never_forwarded(store):
    feedback = _bounce(_mail(source="MAILER-DAEMON@openses.local", tags={notes.FEEDBACK_TAG: ["Bounce"]}))
    verification = _bounce(_mail(tags={"ses:caller-identity": ["openses-verification"]}))
    _process(store, feedback, verification, _bounce(_mail()))
    [forward] = store.read_sync(lambda c: nrepo.list_forwards(c))
    assert forward["event_id"] == 3  # only the customer's own bounce


def test_forwarding_off_without_any_other_report_still_forwards_as_ses_does(store):
    store.write_sync(lambda c: _identity(c, "example.com", NotificationSettings().with_forwarding(False,
                                                                                                  strict=False)))
    _process(store, complaint_event(_mail(), ["x@example.org"], at=1002.0, feedback_id="f2"))
    [forward] = store.read_sync(lambda c: nrepo.list_forwards(c))
    assert forward["kind"] == "Complaint" and forward["recipient"] == "news@mail.example.com"
