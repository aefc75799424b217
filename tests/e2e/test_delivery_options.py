"""What a send's settings change in delivery. A configuration set's DeliveryOptions: TlsPolicy
REQUIRE keeps mail off a server that offers no STARTTLS (while mail without the set goes through in
the clear, as SES's OPTIONAL does), and MaxDeliverySeconds bounds how long delivery is tried. An
identity's verified custom MAIL FROM domain becomes the envelope sender's domain. A real server in
mx mode, a loopback DNS server and a real Postfix without TLS."""

from __future__ import annotations

import datetime as dt
import email
import time
from collections.abc import Iterator

import pytest

from openses.store.store import Store
from tests.support import postfix as pf
from tests.support.delivery_queue import of_type
from tests.support.dns_server import DnsServer
from tests.support.mail_dns import ZONES, point_mx
from tests.support.polling import wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not pf.available(), reason="needs Debian's postfix (apt-get install postfix)")]
SIMPLE = {"Simple": {"Subject": {"Data": "options"}, "Body": {"Text": {"Data": "hello"}}}}


@pytest.fixture
def zone() -> Iterator[DnsServer]:
    server = DnsServer()
    server.start(ZONES)
    point_mx(server)
    yield server
    server.stop()


@pytest.fixture
def plain_mta() -> Iterator[pf.PostfixServer]:
    server = pf.PostfixServer(domains=["example.org"], tls=False).start()
    yield server
    server.stop()


def test_configuration_set_requiring_tls_keeps_mail_off_a_server_without_starttls(
        server_factory, database_url, zone, plain_mta):
    server = server_factory(OPENSES_DELIVERY_MODE="mx", OPENSES_DNS_NAMESERVERS=zone.address,
                            OPENSES_MX_PORT=str(plain_mta.port)).start()
    ses = server.client("sesv2", server.new_account("acme"))
    ses.create_configuration_set(ConfigurationSetName="secure",
                                 DeliveryOptions={"TlsPolicy": "REQUIRE", "MaxDeliverySeconds": 600})
    secure = ses.send_email(FromEmailAddress="news@example.com", ConfigurationSetName="secure",
                            Destination={"ToAddresses": ["secret@example.org"]}, Content=SIMPLE)["MessageId"]
    sent_at = time.time()
    clear = ses.send_email(FromEmailAddress="news@example.com",
                           Destination={"ToAddresses": ["public@example.org"]}, Content=SIMPLE)["MessageId"]
    assert len(plain_mta.wait_for("public@example.org")) == 1
    store = Store.open(database_url)
    try:
        [delay] = wait_until(lambda: of_type(store, secure, "DeliveryDelay"))
        assert of_type(store, clear, "Delivery")
    finally:
        store.close()
    [rcpt] = delay["delayedRecipients"]
    assert rcpt["status"] == "4.7.10" and "does not offer STARTTLS" in rcpt["diagnosticCode"]
    # MaxDeliverySeconds, not the server's 14 hours, sets when SES gives up.
    expires = dt.datetime.fromisoformat(delay["expirationTime"].replace("Z", "+00:00")).timestamp()
    assert sent_at - 5 < expires - 600 < sent_at + 5
    assert plain_mta.messages("secret@example.org") == []


def test_envelope_sender_is_on_the_verified_custom_mail_from_domain(server_factory, zone, plain_mta):
    server = server_factory(OPENSES_DELIVERY_MODE="mx", OPENSES_DNS_NAMESERVERS=zone.address,
                            OPENSES_MX_PORT=str(plain_mta.port), OPENSES_DNS_CHECK_INTERVAL="0.2",
                            OPENSES_MAIL_HOST="feedback.openses.test").start()
    creds = server.new_account("acme")
    ses = server.client("ses", creds)
    zone.set_records("bounce.example.com", "MX", ["10 feedback.openses.test."])
    zone.set_records("bounce.example.com", "TXT", ["v=spf1 ip4:127.0.0.1 -all"])
    ses.set_identity_mail_from_domain(Identity="example.com", MailFromDomain="bounce.example.com")
    wait_until(lambda: ses.get_identity_mail_from_domain_attributes(Identities=["example.com"])
             ["MailFromDomainAttributes"]["example.com"]["MailFromDomainStatus"] == "Success")
    mid = ses.send_email(Source="news@example.com", Destination={"ToAddresses": ["alice@example.org"]},
                         Message={"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hello"}}})["MessageId"]
    [raw] = plain_mta.wait_for("alice@example.org")
    assert email.message_from_bytes(raw)["Return-Path"] == f"<{mid}@bounce.example.com>"
