"""The bounce domain's MX end to end (`python -m openses serve`, SQLite and PostgreSQL): a real
Postfix's DSN, an ARF complaint sent with smtplib, and the relay refusal; the Bounce and
Complaint events land on the original message and feed the suppression list (boto3)."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator

import pytest

from tests.support import postfix as pf
from tests.support.dns_server import DnsServer
from tests.support.mail_dns import ZONES, point_mx
from tests.support.ports import free_port, wait_for_port
from tests.support.polling import wait_until

pytestmark = [pytest.mark.e2e]
BOUNCE_DOMAIN = "bounces.example.com"
MAIL_FROM_DOMAIN = "mail.example.com"  # a custom MAIL FROM domain of the sender's identity
SIMPLE = {"Simple": {"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "hello"}}}}
FAST = {"OPENSES_EVENT_POLL_INTERVAL": "0.1", "OPENSES_BOUNCE_DOMAIN": BOUNCE_DOMAIN}
needs_postfix = pytest.mark.skipif(not pf.available(), reason="needs Debian's postfix (apt-get install postfix)")


@pytest.fixture
def zone() -> Iterator[DnsServer]:
    server = DnsServer()
    server.start(ZONES)
    point_mx(server)
    yield server
    server.stop()


@pytest.fixture
def inbound_port() -> int:
    return free_port()


@pytest.fixture
def mta(inbound_port: int) -> Iterator[pf.PostfixServer]:
    """Accepts doomed* and bounces it afterwards; sends mail for the bounce domain to openses."""
    server = pf.PostfixServer(domains=["example.org"], transports={
        "^doomed": "failer:", rf"@{BOUNCE_DOMAIN.replace('.', '[.]')}$": f"smtp:[127.0.0.1]:{inbound_port}",
        rf"@{MAIL_FROM_DOMAIN.replace('.', '[.]')}$": f"smtp:[127.0.0.1]:{inbound_port}"})
    yield server.start()
    server.stop()


@pytest.fixture
def mx_server(server_factory, zone, mta, inbound_port):  # noqa: ANN001, ANN201
    server = server_factory(OPENSES_DELIVERY_MODE="mx", OPENSES_DNS_NAMESERVERS=zone.address,
                            OPENSES_MX_PORT=str(mta.port), **FAST)
    server.inbound_port = inbound_port
    return server.start()


def events_of(server, message_id: str, kind: str) -> list[dict]:  # noqa: ANN001
    return [e for e in server.cli_json("messages", "show", message_id)["Events"] if e["eventType"] == kind]


def suppressed(ses, address: str) -> dict | None:  # noqa: ANN001
    try:
        return ses.get_suppressed_destination(EmailAddress=address)["SuppressedDestination"]
    except ses.exceptions.NotFoundException:
        return None


@needs_postfix
def test_a_postfix_dsn_after_acceptance_becomes_a_bounce_event_and_a_suppression_entry(mx_server, mta):
    ses = mx_server.client("sesv2", mx_server.new_account("acme"))
    doomed = f"doomed.{uuid.uuid4().hex[:6]}@example.org"
    mid = ses.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": [doomed]},
                         Content=SIMPLE)["MessageId"]
    [delivery] = wait_until(lambda: events_of(mx_server, mid, "Delivery"), what="Delivery to Postfix")
    [bounce] = wait_until(lambda: events_of(mx_server, mid, "Bounce"), what="Bounce from the DSN\n" + mta.log())
    detail = bounce["bounce"]
    assert (detail["bounceType"], detail["bounceSubType"]) == ("Permanent", "NoEmail")
    assert detail["reportingMTA"] == "dsn; mx.postfix.test"
    [recipient] = detail["bouncedRecipients"]
    assert recipient["emailAddress"] == doomed and recipient["action"] == "failed"
    assert recipient["status"] == "5.1.1" and "mailbox unavailable" in recipient["diagnosticCode"]
    assert bounce["mail"]["messageId"] == mid == delivery["mail"]["messageId"]
    entry = wait_until(lambda: suppressed(ses, doomed), what="suppression entry")
    assert entry["Reason"] == "BOUNCE"
    assert entry["Attributes"]["MessageId"] == mid


def takes(port: int, address: str) -> bool:
    """Whether the inbound MX accepts RCPT TO this address (it re-reads its domains periodically)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.ehlo()
        smtp.mail("")
        return smtp.rcpt(address)[0] == 250


@needs_postfix
def test_a_dsn_to_a_custom_mail_from_domain_is_matched_too(server_factory, zone, mta, inbound_port):
    server = server_factory(OPENSES_DELIVERY_MODE="mx", OPENSES_DNS_NAMESERVERS=zone.address,
                            OPENSES_MX_PORT=str(mta.port), OPENSES_DNS_CHECK_INTERVAL="0.2",
                            OPENSES_MAIL_HOST="feedback.openses.test", **FAST)
    server.inbound_port = inbound_port
    server.start()
    creds = server.new_account("acme")
    v1, ses = server.client("ses", creds), server.client("sesv2", creds)
    zone.set_records(MAIL_FROM_DOMAIN, "MX", ["10 feedback.openses.test."])
    zone.set_records(MAIL_FROM_DOMAIN, "TXT", ["v=spf1 ip4:127.0.0.1 -all"])
    v1.set_identity_mail_from_domain(Identity="example.com", MailFromDomain=MAIL_FROM_DOMAIN)
    wait_until(lambda: v1.get_identity_mail_from_domain_attributes(Identities=["example.com"])
               ["MailFromDomainAttributes"]["example.com"]["MailFromDomainStatus"] == "Success", what="MAIL FROM")
    wait_until(lambda: takes(inbound_port, f"anyone@{MAIL_FROM_DOMAIN}"), what="the MX taking the MAIL FROM domain")
    doomed = f"doomed.{uuid.uuid4().hex[:6]}@example.org"
    mid = ses.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": [doomed]},
                         Content=SIMPLE)["MessageId"]
    [bounce] = wait_until(lambda: events_of(server, mid, "Bounce"), what="Bounce from the DSN\n" + mta.log())
    assert bounce["bounce"]["bouncedRecipients"][0]["emailAddress"] == doomed
    assert f"from=<{mid}@{MAIL_FROM_DOMAIN}>" in mta.log()


@needs_postfix
def test_a_real_bounce_from_postfix_unknown_user_becomes_a_bounce_event_and_a_suppression_entry(mx_server):
    ses = mx_server.client("sesv2", mx_server.new_account("acme"))
    unknown = f"unknown.{uuid.uuid4().hex[:6]}@example.org"
    mid = ses.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": [unknown]},
                         Content=SIMPLE)["MessageId"]
    [bounce] = wait_until(lambda: events_of(mx_server, mid, "Bounce"), what="Bounce")
    assert bounce["bounce"]["bounceType"] == "Permanent"
    assert bounce["bounce"]["bounceSubType"] in ("General", "NoEmail")
    assert bounce["bounce"]["bouncedRecipients"][0]["status"] == "5.1.1"
    assert wait_until(lambda: suppressed(ses, unknown), what="suppression entry")["Reason"] == "BOUNCE"


def started(server_factory):  # noqa: ANN001, ANN201
    """A server in capture mode whose inbound MX is listening (it starts after the API)."""
    server = server_factory(**FAST).start()
    wait_for_port(server.inbound_port)
    return server


def arf_report(message_id: str, recipient: str, *, bounce_domain: str, message_id_domain: str) -> bytes:
    """An RFC 5965 report about our message, as a mailbox provider's feedback loop sends it."""
    return (f"From: fbl@isp.example\r\nTo: complaints@{bounce_domain}\r\nSubject: Abuse report\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=b\r\n"
            "\r\n--b\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n"
            "\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\n"
            "Feedback-Type: abuse\r\nUser-Agent: ISP-FBL/1.0\r\nVersion: 1\r\n"
            f"Original-Rcpt-To: <{recipient}>\r\nArrival-Date: Tue, 2 Jan 2024 10:00:00 +0000\r\n"
            "\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"Return-Path: <{message_id}@{bounce_domain}>\r\nFrom: news@example.com\r\nTo: {recipient}\r\n"
            f"Message-ID: <{message_id}@{message_id_domain}>\r\nSubject: Hello\r\n"
            "\r\n--b--\r\n").encode()


def test_an_arf_report_sent_to_the_inbound_mx_becomes_a_complaint_and_a_suppression_entry(server_factory):
    server = started(server_factory)
    ses = server.client("sesv2", server.new_account("acme"))
    mid = ses.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": ["reader@example.org"]},
                         Content=SIMPLE)["MessageId"]
    data = arf_report(mid, "reader@example.org", bounce_domain=BOUNCE_DOMAIN, message_id_domain="email.openses.local")
    with smtplib.SMTP("127.0.0.1", server.inbound_port, timeout=10) as smtp:
        code, reply = smtp.ehlo("mail.isp.example")
        assert code == 250 and b"AUTH" not in reply and b"STARTTLS" in reply
        refused = smtp.sendmail("", [f"complaints@{BOUNCE_DOMAIN}"], data)
    assert refused == {}
    [complaint] = wait_until(lambda: events_of(server, mid, "Complaint"), what="Complaint")
    detail = complaint["complaint"]
    assert detail["complaintFeedbackType"] == "abuse" and detail["userAgent"] == "ISP-FBL/1.0"
    assert detail["complainedRecipients"] == [{"emailAddress": "reader@example.org"}]
    assert detail["arrivalDate"] == "2024-01-02T10:00:00.000Z"
    entry = wait_until(lambda: suppressed(ses, "reader@example.org"), what="suppression entry")
    assert entry["Reason"] == "COMPLAINT"


def test_the_inbound_mx_refuses_to_relay_and_logs_mail_that_is_no_report(server_factory):
    server = started(server_factory)
    with smtplib.SMTP("127.0.0.1", server.inbound_port, timeout=10) as smtp:
        smtp.ehlo("relay.test")
        smtp.mail("spammer@example.net")
        code, reply = smtp.rcpt("victim@example.org")
        assert (code, reply) == (550, b"5.7.1 Relay access denied")
        assert smtp.rcpt(f"postmaster@{BOUNCE_DOMAIN.upper()}")[0] == 250
        code, reply = smtp.data(b"Subject: hello\r\n\r\nnot a report\r\n")
        assert code == 250 and b"unparsable report logged" in reply
    with smtplib.SMTP("127.0.0.1", server.inbound_port, timeout=10) as smtp:
        smtp.ehlo("relay.test")
        with pytest.raises(smtplib.SMTPSenderRefused) as too_big:
            smtp.sendmail("", [f"x@{BOUNCE_DOMAIN}"], b"x" * 10, mail_options=["SIZE=99999999"])
        assert too_big.value.smtp_code == 552
