"""Sending through the SES v1 and v2 APIs with boto3 and the AWS CLI, against a real server."""

from __future__ import annotations

import email
import json
from email import policy
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

SIMPLE = {"Simple": {"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "Hi there"}}}}


def captured(server, message_id: str) -> email.message.EmailMessage:
    raw = server.cli("messages", "raw", message_id).stdout.encode()
    return email.message_from_bytes(raw, policy=policy.default)


def test_v2_simple_send_is_captured_with_message_id_date_and_no_bcc(server):
    creds = server.new_account("acme")
    ses = server.client("sesv2", creds)
    out = ses.send_email(
        FromEmailAddress="Acme <noreply@example.com>",
        Destination={"ToAddresses": ["alice@example.org"], "CcAddresses": ["carol@example.org"],
                     "BccAddresses": ["bob@example.net"]},
        ReplyToAddresses=["help@example.com"],
        Content={"Simple": {"Subject": {"Data": "Grüße"}, "Body": {
            "Text": {"Data": "plain body"}, "Html": {"Data": "<p>html body</p>"}}}})
    mid = out["MessageId"]
    assert mid.startswith("0100") and mid.endswith("-000000")
    msg = captured(server, mid)
    assert msg["Subject"] == "Grüße"
    assert msg["From"] == "Acme <noreply@example.com>"
    assert msg["To"] == "alice@example.org"
    assert msg["Cc"] == "carol@example.org"
    assert msg["Reply-To"] == "help@example.com"
    assert msg["Bcc"] is None
    assert mid in msg["Message-ID"] and msg["Date"]
    assert msg.get_body(("plain",)).get_content().strip() == "plain body"
    assert msg.get_body(("html",)).get_content().strip() == "<p>html body</p>"
    listed = server.cli_json("messages", "list")
    assert listed[0]["Recipients"] == ["alice@example.org", "carol@example.org", "bob@example.net"]


def test_v2_simple_send_carries_attachments_and_custom_headers(server):
    creds = server.new_account("acme")
    ses = server.client("sesv2", creds)
    content = {"Simple": {"Subject": {"Data": "Report"}, "Body": {"Text": {"Data": "attached"}},
                          "Headers": [{"Name": "X-Campaign", "Value": "q4"}],
                          "Attachments": [{"RawContent": b"%PDF-1.4 fake", "FileName": "report.pdf",
                                           "ContentType": "application/pdf"}]}}
    mid = ses.send_email(FromEmailAddress="a@example.com", Destination={"ToAddresses": ["b@example.org"]},
                         Content=content)["MessageId"]
    msg = captured(server, mid)
    assert msg["X-Campaign"] == "q4"
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "report.pdf"
    assert att.get_content() == b"%PDF-1.4 fake"


def test_v1_send_raw_email_keeps_body_bytes_and_strips_bcc(server):
    creds = server.new_account("acme")
    ses = server.client("ses", creds)
    m = MIMEMultipart()
    m["From"] = "a@example.com"
    m["To"] = "x@example.org"
    m["Bcc"] = "hidden@example.org"
    m["Subject"] = "raw"
    m["Message-ID"] = "<mine@example.com>"
    m.attach(MIMEText("body text"))
    m.attach(MIMEApplication(b"\x00\x01binary", Name="data.bin"))
    mid = ses.send_raw_email(RawMessage={"Data": m.as_bytes()})["MessageId"]
    msg = captured(server, mid)
    assert msg["Bcc"] is None
    assert mid in msg["Message-ID"]
    assert [p.get_content() for p in msg.iter_attachments()] == [b"\x00\x01binary"]
    row = server.cli_json("messages", "show", mid)
    assert row["Recipients"] == ["x@example.org", "hidden@example.org"]
    assert [e["eventType"] for e in row["Events"]][0] == "Send"


def test_v1_send_raw_email_uses_destinations_over_headers(server):
    creds = server.new_account("acme")
    ses = server.client("ses", creds)
    raw = b"From: a@example.com\r\nTo: x@example.org\r\nSubject: s\r\n\r\nbody\r\n"
    mid = ses.send_raw_email(RawMessage={"Data": raw}, Destinations=["only@example.org"])["MessageId"]
    assert server.cli_json("messages", "show", mid)["Recipients"] == ["only@example.org"]


def test_send_of_a_ten_megabyte_class_raw_message_is_accepted(server):
    creds = server.new_account("acme")
    ses = server.client("ses", creds)
    body = (b"x" * 76 + b"\r\n") * (9_500_000 // 78)
    raw = b"From: a@example.com\r\nTo: x@example.org\r\nSubject: big\r\n\r\n" + body
    mid = ses.send_raw_email(RawMessage={"Data": raw})["MessageId"]
    assert server.cli_json("messages", "show", mid)["Size"] > 9_000_000


def test_message_is_delivered_in_capture_mode_with_a_delivery_event(server):
    creds = server.new_account("acme")
    ses = server.client("sesv2", creds)
    mid = ses.send_email(FromEmailAddress="a@example.com", Destination={"ToAddresses": ["b@example.org"]},
                         Content=SIMPLE)["MessageId"]
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        shown = server.cli_json("messages", "show", mid)
        if shown["Status"] == "delivered":
            break
        time.sleep(0.1)
    assert shown["Status"] == "delivered"
    types = [e["eventType"] for e in shown["Events"]]
    assert types == ["Send", "Delivery"]
    delivery = shown["Events"][1]["delivery"]
    assert delivery["recipients"] == ["b@example.org"] and delivery["smtpResponse"].startswith("250")
    assert shown["Events"][1]["mail"]["messageId"] == mid


def test_aws_cli_sends_with_ses_and_sesv2_and_reads_the_quota(server):
    creds = server.new_account("acme")
    out = server.aws(creds, "ses", "send-email", "--from", "a@example.com", "--destination",
                     "ToAddresses=b@example.org", "--message", "Subject={Data=cli},Body={Text={Data=hi}}")
    mid1 = json.loads(out.stdout)["MessageId"]
    out = server.aws(creds, "sesv2", "send-email", "--from-email-address", "a@example.com", "--destination",
                     "ToAddresses=b@example.org", "--content",
                     json.dumps({"Simple": {"Subject": {"Data": "cli2"}, "Body": {"Text": {"Data": "hi"}}}}))
    mid2 = json.loads(out.stdout)["MessageId"]
    assert captured(server, mid1)["Subject"] == "cli"
    assert captured(server, mid2)["Subject"] == "cli2"
    quota = json.loads(server.aws(creds, "ses", "get-send-quota").stdout)
    assert quota == {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 2.0}


def test_aws_cli_get_caller_identity_names_the_account_and_key_user(server):
    creds = server.new_account("acme")
    out = json.loads(server.aws(creds, "sts", "get-caller-identity").stdout)
    assert out["Account"] == creds.account_id
    assert out["Arn"] == f"arn:aws:iam::{creds.account_id}:user/openses"


def test_account_operations_round_trip(server):
    creds = server.new_account("acme", production=False)
    v1 = server.client("ses", creds)
    v2 = server.client("sesv2", creds)
    assert v1.get_send_quota()["Max24HourSend"] == 200.0
    account = v2.get_account()
    assert account["ProductionAccessEnabled"] is False
    assert account["SendQuota"] == {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 0.0}
    v2.put_account_details(MailType="TRANSACTIONAL", WebsiteURL="https://example.com",
                           UseCaseDescription="receipts", ContactLanguage="EN")
    assert v2.get_account()["Details"]["ReviewDetails"]["Status"] == "PENDING"
    server.cli("admin", "account", "set-production", "acme")
    account = v2.get_account()
    assert account["ProductionAccessEnabled"] is True
    assert account["Details"]["ReviewDetails"]["Status"] == "GRANTED"
    assert account["SendQuota"]["Max24HourSend"] == 50000.0
    assert v1.get_account_sending_enabled()["Enabled"] is True
    v1.update_account_sending_enabled(Enabled=False)
    assert v1.get_account_sending_enabled()["Enabled"] is False
    v2.put_account_sending_attributes(SendingEnabled=True)
    assert v2.get_account()["SendingEnabled"] is True


def test_send_statistics_count_delivery_attempts_per_recipient(server):
    creds = server.new_account("acme")
    v1 = server.client("ses", creds)
    v1.send_email(Source="a@example.com", Destination={"ToAddresses": ["x@example.org", "y@example.org"]},
                  Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})
    points = v1.get_send_statistics()["SendDataPoints"]
    assert sum(p["DeliveryAttempts"] for p in points) == 2


def test_identity_listing_shows_operator_verified_identities(server):
    creds = server.new_account("acme", verify=("example.com", "solo@example.net"))
    v1 = server.client("ses", creds)
    v2 = server.client("sesv2", creds)
    assert sorted(v1.list_identities()["Identities"]) == ["example.com", "solo@example.net"]
    assert v1.list_identities(IdentityType="Domain")["Identities"] == ["example.com"]
    attrs = v1.get_identity_verification_attributes(Identities=["example.com"])["VerificationAttributes"]
    assert attrs["example.com"]["VerificationStatus"] == "Success"
    names = {i["IdentityName"]: i for i in v2.list_email_identities()["EmailIdentities"]}
    assert names["solo@example.net"]["IdentityType"] == "EMAIL_ADDRESS"
    page = v1.list_identities(MaxItems=1)
    assert len(page["Identities"]) == 1 and page["NextToken"]


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_many_concurrent_sends_are_all_stored(server, api):
    from concurrent.futures import ThreadPoolExecutor

    creds = server.new_account("acme")
    server.cli("admin", "account", "set-quota", "acme", "--max-24h-send", "-1", "--max-send-rate", "-1")
    client = server.client("ses" if api == "v1" else "sesv2", creds)

    def send(i: int) -> str:
        if api == "v1":
            return client.send_email(Source="a@example.com", Destination={"ToAddresses": [f"r{i}@example.org"]},
                                     Message={"Subject": {"Data": f"n{i}"}, "Body": {"Text": {"Data": "b"}}})["MessageId"]
        return client.send_email(FromEmailAddress="a@example.com", Destination={"ToAddresses": [f"r{i}@example.org"]},
                                 Content=SIMPLE)["MessageId"]

    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(send, range(120)))
    listed = {m["MessageId"] for m in server.cli_json("messages", "list", "--limit", "500")}
    assert set(ids) <= listed and len(set(ids)) == 120
