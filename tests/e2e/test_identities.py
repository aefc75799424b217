"""Identities end to end: a real server, a real DNS server on loopback, boto3 v1 and v2."""

from __future__ import annotations

import email
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email import policy
from typing import Any

import pytest

from tests.support.dns_server import DnsServer
from tests.support.polling import eventually


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    server = DnsServer()
    server.start(["example.com", "example.org"])
    yield server
    server.stop()


@pytest.fixture
def live(server_factory, dns):  # type: ignore[no-untyped-def]
    """A server that is not in development mode, checking DNS every 0.2 s against `dns`."""
    return server_factory(OPENSES_DNS_NAMESERVERS=dns.address, OPENSES_DNS_CHECK_INTERVAL="0.2",
                          OPENSES_MAIL_HOST="mail.openses.test").start()


def verification_mail(server, to: str) -> email.message.EmailMessage:  # type: ignore[no-untyped-def]
    def find() -> str | None:
        return next((m["MessageId"] for m in server.cli_json("messages", "list")
                     if m["Recipients"] == [to]), None)

    deadline = time.monotonic() + 10
    while (mid := find()) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mid is not None, "no verification mail was captured"
    raw = server.cli("messages", "raw", mid).stdout.encode()
    return email.message_from_bytes(raw, policy=policy.default)


def link_in(message: email.message.EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(r"http://\S+/verify/\S+", text)
    assert found, text
    return found.group(0)


def publish(dns: DnsServer, server, account: str, domain: str) -> None:  # type: ignore[no-untyped-def]
    for record in server.cli_json("dns", "records", account, domain):
        if record["required"]:
            dns.set_records(record["name"], record["type"], [record["value"]])


def test_address_is_verified_by_following_the_link_of_the_captured_mail(live):
    creds = live.new_account("acme", verify=())
    ses = live.client("ses", creds)
    ses.verify_email_identity(EmailAddress="alice@example.org")
    attrs = ses.get_identity_verification_attributes(Identities=["alice@example.org"])["VerificationAttributes"]
    assert attrs["alice@example.org"]["VerificationStatus"] == "Pending"
    mail = verification_mail(live, "alice@example.org")
    assert "Verification Request" in mail["Subject"]
    link = link_in(mail)
    with urllib.request.urlopen(link) as page:
        assert page.status == 200 and b"successfully verified" in page.read()
    attrs = ses.get_identity_verification_attributes(Identities=["alice@example.org"])["VerificationAttributes"]
    assert attrs["alice@example.org"]["VerificationStatus"] == "Success"
    assert ses.list_verified_email_addresses()["VerifiedEmailAddresses"] == ["alice@example.org"]
    out = live.client("sesv2", creds).send_email(
        FromEmailAddress="alice@example.org", Destination={"ToAddresses": ["bob@example.net"]},
        Content={"Simple": {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hi"}}}})
    assert out["MessageId"]
    with pytest.raises(urllib.error.HTTPError) as used:
        urllib.request.urlopen(link)
    used.value.close()
    assert used.value.code == 400


def test_v2_address_identity_starts_pending_and_refuses_a_second_create(live):
    creds = live.new_account("acme", verify=())
    v2 = live.client("sesv2", creds)
    out = v2.create_email_identity(EmailIdentity="carol@example.org")
    assert out["IdentityType"] == "EMAIL_ADDRESS" and out["VerifiedForSendingStatus"] is False
    got = v2.get_email_identity(EmailIdentity="carol@example.org")
    assert got["VerificationStatus"] == "PENDING"
    with pytest.raises(v2.exceptions.AlreadyExistsException):
        v2.create_email_identity(EmailIdentity="carol@example.org")
    urllib.request.urlopen(link_in(verification_mail(live, "carol@example.org"))).close()
    assert v2.get_email_identity(EmailIdentity="carol@example.org")["VerifiedForSendingStatus"] is True


def test_domain_with_easy_dkim_is_verified_when_its_records_appear_and_noticed_when_removed(live, dns):
    creds = live.new_account("acme", verify=())
    v2 = live.client("sesv2", creds)
    out = v2.create_email_identity(EmailIdentity="example.com")
    assert out["IdentityType"] == "DOMAIN" and out["VerifiedForSendingStatus"] is False
    tokens = out["DkimAttributes"]["Tokens"]
    assert len(tokens) == 3 and out["DkimAttributes"]["Status"] == "PENDING"
    assert out["DkimAttributes"]["CurrentSigningKeyLength"] == "RSA_2048_BIT"
    records = live.cli("dns", "records", "acme", "example.com").stdout
    for token in tokens:
        assert f"{token}._domainkey.example.com. 3600 IN TXT \"v=DKIM1; k=rsa; p=" in records
    publish(dns, live, "acme", "example.com")

    def status() -> tuple[str, str]:
        got = v2.get_email_identity(EmailIdentity="example.com")
        return got["VerificationStatus"], got["DkimAttributes"]["Status"]

    eventually(status, ("SUCCESS", "SUCCESS"))
    v1 = live.client("ses", creds)
    dkim = v1.get_identity_dkim_attributes(Identities=["example.com"])["DkimAttributes"]["example.com"]
    assert dkim == {"DkimEnabled": True, "DkimVerificationStatus": "Success", "DkimTokens": tokens}
    v2.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": ["x@example.net"]},
                  Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})
    for token in tokens:
        dns.remove(f"{token}._domainkey.example.com")
    eventually(status, ("SUCCESS", "TEMPORARY_FAILURE"))  # the _amazonses token still verifies it
    dns.remove("_amazonses.example.com")
    eventually(status, ("TEMPORARY_FAILURE", "TEMPORARY_FAILURE"))
    info = v2.get_email_identity(EmailIdentity="example.com")["VerificationInfo"]
    assert info["ErrorType"] == "HOST_NOT_FOUND" and "LastSuccessTimestamp" in info


def test_v1_domain_is_verified_by_its_amazonses_token_and_dkim_can_follow(live, dns):
    creds = live.new_account("acme", verify=())
    ses = live.client("ses", creds)
    token = ses.verify_domain_identity(Domain="example.org")["VerificationToken"]
    attrs = ses.get_identity_verification_attributes(Identities=["example.org"])["VerificationAttributes"]
    assert attrs["example.org"] == {"VerificationStatus": "Pending", "VerificationToken": token}
    dkim = ses.get_identity_dkim_attributes(Identities=["example.org"])["DkimAttributes"]["example.org"]
    assert dkim["DkimVerificationStatus"] == "NotStarted"
    dns.set_records("_amazonses.example.org", "TXT", ["unrelated", token])

    def status() -> str:
        got = ses.get_identity_verification_attributes(Identities=["example.org"])["VerificationAttributes"]
        return got["example.org"]["VerificationStatus"]

    eventually(status, "Success")
    tokens = ses.verify_domain_dkim(Domain="example.org")["DkimTokens"]
    assert len(tokens) == 3
    dkim = ses.get_identity_dkim_attributes(Identities=["example.org"])["DkimAttributes"]["example.org"]
    assert dkim["DkimVerificationStatus"] == "Pending" and dkim["DkimTokens"] == tokens
    assert ses.list_identities(IdentityType="Domain")["Identities"] == ["example.org"]
    ses.delete_identity(Identity="example.org")
    assert ses.list_identities()["Identities"] == []


def test_custom_mail_from_domain_succeeds_once_its_mx_record_is_published(live, dns):
    creds = live.new_account("acme", verify=("example.com",))
    ses = live.client("ses", creds)
    ses.set_identity_mail_from_domain(Identity="example.com", MailFromDomain="bounce.example.com",
                                      BehaviorOnMXFailure="RejectMessage")

    def attrs() -> dict[str, str]:
        out = ses.get_identity_mail_from_domain_attributes(Identities=["example.com"])
        return out["MailFromDomainAttributes"]["example.com"]

    assert attrs() == {"MailFromDomain": "bounce.example.com", "MailFromDomainStatus": "Pending",
                       "BehaviorOnMXFailure": "RejectMessage"}
    dns.set_records("bounce.example.com", "MX", ["10 mail.openses.test."])
    eventually(lambda: attrs()["MailFromDomainStatus"], "Success")
    got = live.client("sesv2", creds).get_email_identity(EmailIdentity="example.com")["MailFromAttributes"]
    assert got == {"MailFromDomain": "bounce.example.com", "MailFromDomainStatus": "SUCCESS",
                   "BehaviorOnMxFailure": "REJECT_MESSAGE"}
    with pytest.raises(ses.exceptions.ClientError, match="not a subdomain"):
        ses.set_identity_mail_from_domain(Identity="example.com", MailFromDomain="bounce.example.org")


def test_dns_audit_gives_a_verdict_per_record(live, dns):
    creds = live.new_account("acme", verify=())
    live.client("sesv2", creds).create_email_identity(EmailIdentity="example.com")
    dns.set_records("_dmarc.example.com", "TXT", ["v=DMARC1; p=quarantine"])
    dns.set_records("example.com", "TXT", ["v=spf1 include:elsewhere.test ~all"])
    verdicts = {(r["purpose"], r["name"]): r for r in live.cli_json("dns", "audit", "acme", "example.com")}
    assert verdicts[("dmarc", "_dmarc.example.com")]["verdict"] == "ok"
    assert verdicts[("dmarc", "_dmarc.example.com")]["note"] == "policy p=quarantine"
    assert verdicts[("spf", "example.com")]["verdict"] == "wrong"
    assert {r["verdict"] for k, r in verdicts.items() if k[0] == "dkim"} == {"missing"}


def test_identity_policies_through_v1_and_v2(live):
    creds = live.new_account("acme", verify=("example.com",))
    ses, v2 = live.client("ses", creds), live.client("sesv2", creds)
    arn = f"arn:aws:ses:us-east-1:{creds.account_id}:identity/example.com"
    doc = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},'
           f'"Action":["ses:SendEmail","ses:SendRawEmail"],"Resource":"{arn}"}}]}}')
    ses.put_identity_policy(Identity="example.com", PolicyName="partner", Policy=doc)
    assert ses.list_identity_policies(Identity="example.com")["PolicyNames"] == ["partner"]
    assert ses.get_identity_policies(Identity="example.com", PolicyNames=["partner"])["Policies"] == {"partner": doc}
    with pytest.raises(v2.exceptions.AlreadyExistsException):
        v2.create_email_identity_policy(EmailIdentity="example.com", PolicyName="partner", Policy=doc)
    assert v2.get_email_identity_policies(EmailIdentity="example.com")["Policies"] == {"partner": doc}
    bad = doc.replace("example.com", "other.com")
    with pytest.raises(ses.exceptions.InvalidPolicyException):
        ses.put_identity_policy(Identity="example.com", PolicyName="bad", Policy=bad)
    v2.delete_email_identity_policy(EmailIdentity="example.com", PolicyName="partner")
    assert ses.list_identity_policies(Identity="example.com")["PolicyNames"] == []


def test_custom_verification_template_mail_redirects_to_its_success_url(live):
    creds = live.new_account("acme", verify=("example.com",))
    v2 = live.client("sesv2", creds)
    v2.create_custom_verification_email_template(
        TemplateName="welcome", FromEmailAddress="hello@example.com", TemplateSubject="Please confirm",
        TemplateContent="<p>Welcome to Acme</p>", SuccessRedirectionURL="https://acme.test/ok",
        FailureRedirectionURL="https://acme.test/failed")
    ses = live.client("ses", creds)
    got = ses.get_custom_verification_email_template(TemplateName="welcome")
    assert got["TemplateSubject"] == "Please confirm" and got["TemplateContent"] == "<p>Welcome to Acme</p>"
    assert [t["TemplateName"] for t in ses.list_custom_verification_email_templates()[
        "CustomVerificationEmailTemplates"]] == ["welcome"]
    with pytest.raises(ses.exceptions.CustomVerificationEmailTemplateAlreadyExistsException):
        ses.create_custom_verification_email_template(
            TemplateName="welcome", FromEmailAddress="hello@example.com", TemplateSubject="x",
            TemplateContent="x", SuccessRedirectionURL="https://a.test", FailureRedirectionURL="https://b.test")
    assert ses.send_custom_verification_email(EmailAddress="dora@example.com", TemplateName="welcome")["MessageId"]
    mail = verification_mail(live, "dora@example.com")
    assert mail["Subject"] == "Please confirm" and mail["From"] == "hello@example.com"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(link_in(mail))
    redirected.value.close()
    assert redirected.value.code == 302 and redirected.value.headers["Location"] == "https://acme.test/ok"
    assert v2.get_email_identity(EmailIdentity="dora@example.com")["VerificationStatus"] == "SUCCESS"
    v2.delete_custom_verification_email_template(TemplateName="welcome")
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.get_custom_verification_email_template(TemplateName="welcome")


def test_byodkim_key_is_accepted_and_published_under_its_selector(live, dns):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    creds = live.new_account("acme", verify=())
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    import base64

    v2 = live.client("sesv2", creds)
    out = v2.create_email_identity(EmailIdentity="example.com", DkimSigningAttributes={
        "DomainSigningSelector": "mysel", "DomainSigningPrivateKey": base64.b64encode(der).decode()})
    assert out["DkimAttributes"]["SigningAttributesOrigin"] == "EXTERNAL"
    assert out["DkimAttributes"]["Tokens"] == ["mysel"]
    publish(dns, live, "acme", "example.com")
    eventually(lambda: v2.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Status"], "SUCCESS")


def test_development_mode_still_verifies_at_once(server_factory):
    dev = server_factory(OPENSES_DEV_MODE="1").start()
    ses = dev.client("ses")
    ses.verify_email_identity(EmailAddress="dev@example.com")
    token = ses.verify_domain_identity(Domain="example.org")["VerificationToken"]
    attrs = ses.get_identity_verification_attributes(Identities=["dev@example.com", "example.org"])
    assert attrs["VerificationAttributes"] == {
        "dev@example.com": {"VerificationStatus": "Success"},
        "example.org": {"VerificationStatus": "Success", "VerificationToken": token}}
    out = dev.client("sesv2").create_email_identity(EmailIdentity="example.net")
    assert out["VerifiedForSendingStatus"] is True and out["DkimAttributes"]["Status"] == "SUCCESS"
