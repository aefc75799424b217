"""The account-level suppression list, automatic suppression from feedback, and reputation."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from botocore.exceptions import ClientError

from openses.core.events import bounce_event, complaint_event
from openses.store import repositories as repo
from openses.store.store import Store
from tests.support.polling import wait_until

SIMPLE = {"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "hello"}}}}
FAST = {"OPENSES_EVENT_POLL_INTERVAL": "0.1", "OPENSES_REPUTATION_MIN_VOLUME": "10"}


def test_suppressed_destinations_put_get_list_with_filters_and_pages_delete(server):
    ses = server.client("sesv2", server.new_account("acme"))
    for i in range(5):
        ses.put_suppressed_destination(EmailAddress=f"user{i}@example.org", Reason="BOUNCE" if i % 2 else "COMPLAINT")
    got = ses.get_suppressed_destination(EmailAddress="USER1@example.org")["SuppressedDestination"]
    assert (got["EmailAddress"], got["Reason"]) == ("user1@example.org", "BOUNCE")
    bounces = ses.list_suppressed_destinations(Reasons=["BOUNCE"])["SuppressedDestinationSummaries"]
    assert [b["EmailAddress"] for b in bounces] == ["user1@example.org", "user3@example.org"]
    page = ses.list_suppressed_destinations(PageSize=3)
    rest = ses.list_suppressed_destinations(PageSize=3, NextToken=page["NextToken"])
    assert len(page["SuppressedDestinationSummaries"]) == 3 and "NextToken" not in rest
    assert len(rest["SuppressedDestinationSummaries"]) == 2
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    assert ses.list_suppressed_destinations(StartDate=future)["SuppressedDestinationSummaries"] == []
    ses.delete_suppressed_destination(EmailAddress="user1@example.org")
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.get_suppressed_destination(EmailAddress="user1@example.org")
    assert ses.get_account()["SuppressionAttributes"]["SuppressedReasons"] == ["BOUNCE", "COMPLAINT"]
    ses.put_account_suppression_attributes(SuppressedReasons=["COMPLAINT"])
    assert ses.get_account()["SuppressionAttributes"]["SuppressedReasons"] == ["COMPLAINT"]


def test_a_send_to_a_suppressed_address_bounces_and_is_never_delivered(server):
    ses = server.client("sesv2", server.new_account("acme"))
    ses.put_suppressed_destination(EmailAddress="gone@example.org", Reason="BOUNCE")
    mid = ses.send_email(FromEmailAddress="a@example.com", Content=SIMPLE,
                         Destination={"ToAddresses": ["gone@example.org"]})["MessageId"]
    shown = server.cli_json("messages", "show", mid)
    assert shown["Status"] == "bounced"
    [send, bounce] = shown["Events"]
    assert send["eventType"] == "Send" and bounce["bounce"]["bounceSubType"] == "OnAccountSuppressionList"
    assert bounce["bounce"]["bouncedRecipients"][0]["emailAddress"] == "gone@example.org"
    # a configuration set that suppresses nothing overrides the account's list
    ses.create_configuration_set(ConfigurationSetName="no-suppression", SuppressionOptions={"SuppressedReasons": []})
    mid = ses.send_email(FromEmailAddress="a@example.com", Content=SIMPLE, ConfigurationSetName="no-suppression",
                         Destination={"ToAddresses": ["gone@example.org"]})["MessageId"]
    assert [e["eventType"] for e in server.cli_json("messages", "show", mid)["Events"]][:1] == ["Send"]
    assert "Bounce" not in [e["eventType"] for e in server.cli_json("messages", "show", mid)["Events"]]


def _feedback(server, message_id: str, kind: str, address: str) -> None:
    """Record a bounce or complaint as the delivery worker or the inbound MX would."""
    store = Store.open(server.database_url)
    try:
        mail = server.cli_json("messages", "show", message_id)["Events"][0]["mail"]
        now = time.time()
        row = (bounce_event(mail, [{"emailAddress": address, "action": "failed", "status": "5.1.1",
                                    "diagnosticCode": "smtp; 550 5.1.1 no such user"}], at=now,
                            bounce_type="Permanent", bounce_sub_type="General", feedback_id="fb-1",
                            reporting_mta="mx.example.org")
               if kind == "Bounce" else complaint_event(mail, [address], at=now, feedback_id="fb-2"))
        store.write_sync(lambda c: repo.insert_events(c, [row]))
    finally:
        store.close()


def test_hard_bounces_and_complaints_add_to_the_list_and_high_rates_pause_the_account(server_factory):
    server = server_factory(**FAST).start()
    creds = server.new_account("acme")
    ses, v1 = server.client("sesv2", creds), server.client("ses", creds)
    ids = [ses.send_email(FromEmailAddress="a@example.com", Content=SIMPLE,
                          Destination={"ToAddresses": [f"r{i}@example.org"]})["MessageId"] for i in range(10)]
    _feedback(server, ids[0], "Complaint", "r0@example.org")
    wait_until(lambda: ses.list_suppressed_destinations()["SuppressedDestinationSummaries"])
    got = ses.get_suppressed_destination(EmailAddress="r0@example.org")["SuppressedDestination"]
    assert got["Reason"] == "COMPLAINT" and got["Attributes"]["MessageId"] == ids[0]
    # one complaint in ten sends is far above SES's 0.5 %: sending is paused
    wait_until(lambda: ses.get_account()["EnforcementStatus"] == "SHUTDOWN")
    assert ses.get_account()["SendingEnabled"] is False
    with pytest.raises(ClientError) as err:
        ses.send_email(FromEmailAddress="a@example.com", Content=SIMPLE, Destination={"ToAddresses": ["x@example.org"]})
    assert err.value.response["Error"]["Code"] == "SendingPausedException"
    with pytest.raises(v1.exceptions.MessageRejected):
        v1.send_email(Source="a@example.com", Destination={"ToAddresses": ["x@example.org"]},
                      Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})
    _feedback(server, ids[1], "Bounce", "r1@example.org")
    wait_until(lambda: len(ses.list_suppressed_destinations(Reasons=["BOUNCE"])["SuppressedDestinationSummaries"]))
    server.cli("admin", "account", "resume", "acme")  # the operator reinstates the account
    assert ses.get_account()["EnforcementStatus"] == "HEALTHY"
    ses.send_email(FromEmailAddress="a@example.com", Content=SIMPLE, Destination={"ToAddresses": ["x@example.org"]})
    assert server.cli_json("feedback", "reputation", "acme")["enforcement_status"] == "HEALTHY"


def test_metrics_count_events_by_type(server):
    import urllib.request

    ses = server.client("sesv2", server.new_account("acme"))
    ses.send_email(FromEmailAddress="a@example.com", Content=SIMPLE, Destination={"ToAddresses": ["b@example.org"]})
    text = wait_until(lambda: (t := urllib.request.urlopen(f"{server.endpoint}/metrics").read().decode())
                      and 'type="Send"' in t and t)
    assert "openses_event_recipients_total" in text and "openses_webhook_outbox" in text


def test_a_configuration_set_with_reputation_metrics_reports_its_own_rates(server_factory):
    import urllib.request

    server = server_factory(**FAST).start()
    creds = server.new_account("acme")
    ses = server.client("sesv2", creds)
    ses.create_configuration_set(ConfigurationSetName="newsletter",
                                 ReputationOptions={"ReputationMetricsEnabled": True})
    ids = [ses.send_email(FromEmailAddress="a@example.com", Content=SIMPLE, ConfigurationSetName="newsletter",
                          Destination={"ToAddresses": [f"n{i}@example.org"]})["MessageId"] for i in range(4)]
    ses.send_email(FromEmailAddress="a@example.com", Content=SIMPLE, Destination={"ToAddresses": ["o@example.org"]})
    _feedback(server, ids[0], "Bounce", "n0@example.org")
    # one hard bounce in the set's four sends: 25 %, while the account's five sends give 20 %
    line = f'openses_reputation_bounce_rate{{account="{creds.account_id}",configuration_set="newsletter"}} 0.25'
    wait_until(lambda: line in urllib.request.urlopen(f"{server.endpoint}/metrics").read().decode())
