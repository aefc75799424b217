"""Identity feedback notifications and email feedback forwarding against a real server, with
boto3's SES v1 (and v2) clients, an SNS HTTP subscriber and the captured mail."""

from __future__ import annotations

import email
from email import policy

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_events_sns import FAST, confirmed, wait_until
from tests.support.ports import free_port
from tests.support.webhook_receiver import Receiver

BODY = {"Subject": {"Data": "Spring news"}, "Body": {"Text": {"Data": "hello"}}}
BOUNCE = "bounce@simulator.amazonses.com"


@pytest.fixture
def receiver():
    r = Receiver(free_port()).start()
    yield r
    r.stop()


def topic_for(server, account: str, name: str, url: str) -> str:
    arn = server.cli_json("topics", "create", account, name)["TopicArn"]
    confirmed(server, server.cli_json("topics", "subscribe", arn, url)["SubscriptionArn"])
    return arn


def feedback_mail_to(server, address: str) -> email.message.EmailMessage:
    """The captured feedback mail sent to `address` (polls until it is there)."""
    def find():
        return next((m["MessageId"] for m in server.cli_json("messages", "list") if m["Recipients"] == [address]),
                    None)

    mid = wait_until(find, timeout=30.0)
    return email.message_from_bytes(server.cli("messages", "raw", mid).stdout.encode(), policy=policy.default)


def send(ses, source: str, to: str, return_path: str | None = None) -> str:
    extra = {"ReturnPath": return_path} if return_path else {}
    return ses.send_email(Source=source, Destination={"ToAddresses": [to]}, Message=BODY, **extra)["MessageId"]


def test_a_bounce_topic_gets_an_ses_bounce_notification_and_the_bounce_is_mailed_to_the_return_path(
        server_factory, receiver):
    server = server_factory(**FAST).start()
    creds = server.new_account("acme")
    ses = server.client("ses", creds)
    arn = topic_for(server, "acme", "bounces", receiver.url)
    ses.set_identity_notification_topic(Identity="example.com", NotificationType="Bounce", SnsTopic=arn)
    ses.set_identity_headers_in_notifications_enabled(Identity="example.com", NotificationType="Bounce",
                                                      Enabled=True)
    mid = send(ses, "Acme <news@example.com>", BOUNCE, return_path="bounces@example.com")
    [item] = receiver.wait_for(lambda xs: len(xs) >= 1)
    note = item.event
    assert note["notificationType"] == "Bounce" and "eventType" not in note
    assert note["mail"]["messageId"] == mid and "tags" not in note["mail"]
    assert note["bounce"]["bouncedRecipients"][0]["emailAddress"] == BOUNCE
    assert {"name": "Subject", "value": "Spring news"} in note["mail"]["headers"]
    assert item.json["TopicArn"] == arn
    feedback = feedback_mail_to(server, "bounces@example.com")
    assert feedback["Subject"] == "Delivery Status Notification (Failure)"
    assert feedback["Auto-Submitted"] == "auto-replied"
    text = feedback.get_body(("plain",)).get_content()
    assert BOUNCE in text and mid in text


def test_notification_attributes_round_trip_and_forwarding_rules(server):
    creds = server.new_account("acme", verify=("example.com", "owner@example.net"))
    ses = server.client("ses", creds)
    bounces = server.cli_json("topics", "create", "acme", "bounces")["TopicArn"]
    complaints = server.cli_json("topics", "create", "acme", "complaints")["TopicArn"]
    with pytest.raises(ClientError) as refused:
        ses.set_identity_feedback_forwarding_enabled(Identity="example.com", ForwardingEnabled=False)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    ses.set_identity_notification_topic(Identity="example.com", NotificationType="Bounce", SnsTopic=bounces)
    ses.set_identity_notification_topic(Identity="example.com", NotificationType="Complaint", SnsTopic=complaints)
    ses.set_identity_headers_in_notifications_enabled(Identity="example.com", NotificationType="Complaint",
                                                      Enabled=True)
    ses.set_identity_feedback_forwarding_enabled(Identity="example.com", ForwardingEnabled=False)
    got = ses.get_identity_notification_attributes(Identities=["example.com", "owner@example.net", "nobody.org"])
    attrs = got["NotificationAttributes"]
    assert set(attrs) == {"example.com", "owner@example.net"}
    assert attrs["example.com"] == {
        "BounceTopic": bounces, "ComplaintTopic": complaints, "ForwardingEnabled": False,
        "HeadersInBounceNotificationsEnabled": False, "HeadersInComplaintNotificationsEnabled": True,
        "HeadersInDeliveryNotificationsEnabled": False}
    assert attrs["owner@example.net"]["ForwardingEnabled"] is True
    v2 = server.client("sesv2", creds)
    assert v2.get_email_identity(EmailIdentity="example.com")["FeedbackForwardingStatus"] is False
    ses.set_identity_notification_topic(Identity="example.com", NotificationType="Bounce")  # omitted: cleared
    after = ses.get_identity_notification_attributes(Identities=["example.com"])["NotificationAttributes"]
    assert "BounceTopic" not in after["example.com"] and after["example.com"]["ForwardingEnabled"] is True
    v2.put_email_identity_feedback_attributes(EmailIdentity="owner@example.net", EmailForwardingEnabled=False)
    assert v2.get_email_identity(EmailIdentity="owner@example.net")["FeedbackForwardingStatus"] is False
    for bad in ({"Identity": "nobody.org", "SnsTopic": bounces}, {"Identity": "example.com", "SnsTopic": "arn:x"}):
        with pytest.raises(ClientError) as invalid:
            ses.set_identity_notification_topic(NotificationType="Bounce", **bad)
        assert invalid.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_no_feedback_mail_when_forwarding_is_disabled_and_topics_report_the_feedback(server_factory, receiver):
    server = server_factory(**FAST).start()
    creds = server.new_account("acme", verify=("example.com", "other.example.org"))
    ses = server.client("ses", creds)
    arn = topic_for(server, "acme", "feedback", receiver.url)
    for kind in ("Bounce", "Complaint"):
        ses.set_identity_notification_topic(Identity="example.com", NotificationType=kind, SnsTopic=arn)
    ses.set_identity_feedback_forwarding_enabled(Identity="example.com", ForwardingEnabled=False)
    quiet = send(ses, "news@example.com", BOUNCE, return_path="bounces@example.com")
    receiver.wait_for(lambda xs: any(x.event["mail"]["messageId"] == quiet for x in xs))
    # A later bounce from an identity that forwards: the forwarder sends in order, so once its
    # mail is there, a feedback mail for the first bounce would have been sent before it.
    send(ses, "news@other.example.org", BOUNCE, return_path="bounces@other.example.org")
    feedback_mail_to(server, "bounces@other.example.org")
    recipients = [m["Recipients"] for m in server.cli_json("messages", "list")]
    assert ["bounces@example.com"] not in recipients


def test_v2_feedback_forwarding_address_gets_the_bounce_mail(server_factory):
    server = server_factory(**FAST).start()
    ses = server.client("sesv2", server.new_account("acme"))
    mid = ses.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": [BOUNCE]},
                         FeedbackForwardingEmailAddress="feedback@example.com",
                         Content={"Simple": BODY})["MessageId"]
    feedback = feedback_mail_to(server, "feedback@example.com")
    assert mid in feedback.get_body(("plain",)).get_content()


def test_the_simulators_ooto_address_answers_the_sender_with_an_auto_reply(server_factory):
    server = server_factory(**FAST).start()
    ses = server.client("ses", server.new_account("acme"))
    mid = send(ses, "news@example.com", "ooto+holiday@simulator.amazonses.com")
    reply = feedback_mail_to(server, "news@example.com")
    assert reply["From"] == "ooto@simulator.amazonses.com" and reply["Auto-Submitted"] == "auto-replied"
    assert reply["Subject"] == "Out of the office: Spring news"
    assert mid in reply.get_body(("plain",)).get_content()
    events = [e["eventType"] for e in server.cli_json("messages", "show", mid)["Events"]]
    assert events == ["Send", "Delivery"]
