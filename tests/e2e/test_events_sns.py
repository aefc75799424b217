"""Events reach HTTP subscribers of openses topics in SNS's format, from the mailbox simulator."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from tests.support.ports import free_port
from tests.support.webhook_receiver import Receiver
from tests.support.polling import wait_until

FAST = {"OPENSES_WEBHOOK_ALLOW_PRIVATE": "1", "OPENSES_EVENT_POLL_INTERVAL": "0.1",
        "OPENSES_WEBHOOK_RETRY_FIRST_SECONDS": "0.2", "OPENSES_WEBHOOK_RETRY_MAX_SECONDS": "0.4"}
SIMPLE = {"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "hello"}}}}
ALL_TYPES = ["SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "DELIVERY_DELAY"]


@pytest.fixture
def receiver():
    r = Receiver(free_port()).start()
    yield r
    r.stop()


def subscribed(server, account: str, url: str, *extra: str) -> tuple[str, dict]:
    arn = server.cli_json("topics", "create", account, "events")["TopicArn"]
    sub = server.cli_json("topics", "subscribe", arn, url, *extra)
    return arn, sub


def confirmed(server, sub_arn: str) -> None:
    wait_until(lambda: any(s["SubscriptionArn"] == sub_arn and s["Status"] == "Confirmed"
                           for s in server.cli_json("topics", "subscriptions")))


def with_destination(ses, arn: str, config_set: str = "tracked", types=ALL_TYPES) -> None:
    ses.create_configuration_set(ConfigurationSetName=config_set)
    ses.create_configuration_set_event_destination(
        ConfigurationSetName=config_set, EventDestinationName="to-sns",
        EventDestination={"Enabled": True, "MatchingEventTypes": types, "SnsDestination": {"TopicArn": arn}})


def test_simulator_addresses_reach_an_sns_http_subscriber_as_ses_events(server_factory, receiver):
    server = server_factory(**FAST).start()
    creds = server.new_account("acme")
    arn, sub = subscribed(server, "acme", receiver.url)
    assert sub["Status"] == "PendingConfirmation"
    confirmed(server, sub["SubscriptionArn"])
    ses = server.client("sesv2", creds)
    with_destination(ses, arn)
    sent = {}
    for local in ("success", "bounce+x1", "ooto", "complaint", "suppressionlist"):
        sent[local] = ses.send_email(
            FromEmailAddress="a@example.com", Destination={"ToAddresses": [f"{local}@simulator.amazonses.com"]},
            Content=SIMPLE, ConfigurationSetName="tracked",
            EmailTags=[{"Name": "campaign", "Value": "spring"}])["MessageId"]
    items = receiver.wait_for(lambda xs: len(xs) >= 11)
    by_message: dict[str, list[dict]] = {}
    for item in items:
        by_message.setdefault(item.event["mail"]["messageId"], []).append(item.event)
    kinds = {k: sorted(e["eventType"] for e in by_message[mid]) for k, mid in sent.items()}
    assert kinds == {"success": ["Delivery", "Send"], "bounce+x1": ["Bounce", "Send"], "ooto": ["Delivery", "Send"],
                     "complaint": ["Complaint", "Delivery", "Send"], "suppressionlist": ["Bounce", "Send"]}
    bounce = next(e for e in by_message[sent["bounce+x1"]] if e["eventType"] == "Bounce")["bounce"]
    assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Permanent", "General")
    assert bounce["bouncedRecipients"][0]["status"] == "5.1.1"
    listed = next(e for e in by_message[sent["suppressionlist"]] if e["eventType"] == "Bounce")["bounce"]
    assert listed["bounceSubType"] == "OnAccountSuppressionList"
    complaint = next(e for e in by_message[sent["complaint"]] if e["eventType"] == "Complaint")["complaint"]
    assert complaint["complainedRecipients"] == [{"emailAddress": "complaint@simulator.amazonses.com"}]
    mail = by_message[sent["success"]][0]["mail"]
    assert mail["tags"]["ses:configuration-set"] == ["tracked"] and mail["tags"]["campaign"] == ["spring"]
    assert mail["commonHeaders"]["subject"] == "Hi"
    envelope = items[0].json
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == arn
    # the simulator neither counts against the quota nor goes to the suppression list
    assert server.client("ses", creds).get_send_quota()["SentLast24Hours"] == 0
    assert ses.list_suppressed_destinations()["SuppressedDestinationSummaries"] == []


def test_a_receiver_that_was_down_gets_every_event_exactly_once(server_factory):
    server = server_factory(**FAST).start()
    creds = server.new_account("acme")
    receiver = Receiver(free_port())  # not listening yet
    arn, sub = subscribed(server, "acme", receiver.url, "--protocol", "webhook")
    assert sub["Status"] == "Confirmed"
    ses = server.client("sesv2", creds)
    with_destination(ses, arn, types=["SEND", "DELIVERY"])
    ids = [ses.send_email(FromEmailAddress="a@example.com", ConfigurationSetName="tracked",
                          Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
                          Content=SIMPLE)["MessageId"] for _ in range(5)]
    wait_until(lambda: len([d for d in server.cli_json("topics", "deliveries") if len(d["Attempts"]) >= 2]) == 10)
    receiver.start()
    try:
        items = wait_until(lambda: len(receiver.received) >= 10 and receiver.received)
        time.sleep(1.0)  # anything sent twice would arrive within a few retry periods
        keys = [(r.event["mail"]["messageId"], r.event["eventType"]) for r in receiver.received]
        assert sorted(keys) == sorted((m, t) for m in ids for t in ("Send", "Delivery"))
        assert len(set(r.headers["x-openses-event-id"] for r in items)) == 10
        secret = sub["Secret"].encode()
        for r in receiver.received:
            ts = r.headers["x-openses-timestamp"]
            expected = hmac.new(secret, ts.encode() + b"." + r.body, hashlib.sha256).hexdigest()
            assert r.headers["x-openses-signature"] == "v1=" + expected
        failed = [a for d in server.cli_json("topics", "deliveries") for a in d["Attempts"] if a["Error"]]
        assert failed  # the attempts while it was down are logged
    finally:
        receiver.stop()


def test_subscriptions_to_loopback_are_refused_unless_the_operator_allows_them(server):
    server.new_account("acme")
    arn = server.cli_json("topics", "create", "acme", "events")["TopicArn"]
    result = server.cli("topics", "subscribe", arn, "http://127.0.0.1:9/hook", check=False)
    assert result.returncode != 0
    assert "OPENSES_WEBHOOK_ALLOW_PRIVATE" in result.stdout + result.stderr
