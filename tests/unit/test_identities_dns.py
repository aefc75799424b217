"""DNS checks and verification statuses, with the fake resolver (no sockets)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from openses.core import dns_check
from openses.core.dkim_keys import PublicKey
from openses.core.dns_check import Expected, Publishing
from openses.core.dns_verifier import DOMAIN_WINDOW, next_status
from openses.protocol.dns import FakeResolver

PUB = Publishing("txt", "dkim.openses.test", "mail.openses.test")
HOUR = 3600.0


def test_found_record_makes_any_status_success():
    for current in ("PENDING", "TEMPORARY_FAILURE", "FAILED", "SUCCESS"):
        assert next_status(current, True, False, 1.0, 2.0) == ("SUCCESS", None)


def test_pending_domain_fails_after_72_hours_without_its_record():
    assert next_status("PENDING", False, False, 0.0, 71 * HOUR) == ("PENDING", 0.0)
    assert next_status("PENDING", False, False, 0.0, DOMAIN_WINDOW) == ("FAILED", 0.0)


def test_verified_domain_whose_record_disappears_is_a_temporary_failure_then_fails():
    assert next_status("SUCCESS", False, False, None, 10.0) == ("TEMPORARY_FAILURE", 10.0)
    assert next_status("TEMPORARY_FAILURE", False, False, 10.0, 20.0) == ("TEMPORARY_FAILURE", 10.0)
    assert next_status("TEMPORARY_FAILURE", False, False, 10.0, 10.0 + DOMAIN_WINDOW) == ("FAILED", 10.0)


def test_dns_server_error_while_pending_is_a_temporary_failure():
    assert next_status("PENDING", False, True, 0.0, 5.0) == ("TEMPORARY_FAILURE", 0.0)


def test_failed_stays_failed_until_verification_restarts():
    assert next_status("FAILED", False, False, 0.0, 10 * DOMAIN_WINDOW) == ("FAILED", 0.0)


async def test_dkim_txt_record_matches_on_its_public_key_whatever_the_spacing():
    key = PublicKey("sel", "rsa-sha256", "QUJD")
    [expected] = dns_check.dkim_records("example.com", [key], "AWS_SES", PUB)
    assert expected.name == "sel._domainkey.example.com" and expected.value == "v=DKIM1; k=rsa; p=QUJD"
    fake = FakeResolver({("sel._domainkey.example.com", "TXT"): ["v=DKIM1;k=rsa; p=QU JD"]})
    assert (await dns_check.check(fake, expected)).verdict == "ok"
    fake.set("sel._domainkey.example.com", "TXT", ["v=DKIM1; k=rsa; p=WRONG"])
    check = await dns_check.check(fake, expected)
    assert check.verdict == "wrong" and check.error_type == "INVALID_VALUE"


async def test_cname_mode_expects_a_cname_into_the_dkim_zone_but_byodkim_keeps_txt():
    key = PublicKey("tok", "rsa-sha256", "QUJD")
    cname = Publishing("cname", "dkim.openses.test", "mail.openses.test")
    [easy] = dns_check.dkim_records("example.com", [key], "AWS_SES", cname)
    assert (easy.type, easy.value) == ("CNAME", "tok.dkim.openses.test")
    assert easy.zone_line() == "tok._domainkey.example.com. 3600 IN CNAME tok.dkim.openses.test."
    [byo] = dns_check.dkim_records("example.com", [key], "EXTERNAL", cname)
    assert byo.type == "TXT"


async def test_missing_and_failing_lookups_have_ses_error_types():
    fake = FakeResolver({("example.com", "MX"): ["10 mx.example.com"]})
    fake.failing.add("broken.example.com")
    missing = await dns_check.check(fake, Expected("verification", "_amazonses.example.com", "TXT", "t"))
    assert (missing.verdict, missing.error_type) == ("missing", "HOST_NOT_FOUND")
    broken = await dns_check.check(fake, Expected("mx", "broken.example.com", "MX", "10 x"))
    assert (broken.verdict, broken.error_type) == ("error", "DNS_SERVER_ERROR")


async def test_mail_from_needs_an_mx_naming_this_servers_mail_host_and_spf_allowing_it():
    mx, spf = dns_check.mail_from_records("bounce.example.com", PUB)
    fake = FakeResolver({("bounce.example.com", "MX"): ["10 mail.openses.test"],
                         ("bounce.example.com", "TXT"): ["v=spf1 a:mail.openses.test -all"]})
    assert [c.verdict for c in await dns_check.check_all(fake, [mx, spf])] == ["ok", "ok"]
    fake.set("bounce.example.com", "MX", ["10 elsewhere.test"])
    assert (await dns_check.check(fake, mx)).verdict == "wrong"


async def test_dmarc_verdict_notes_the_policy():
    [dmarc, _mx] = [r for r in dns_check.advisory_records("example.com", PUB, has_mail_from=True)]
    fake = FakeResolver({("_dmarc.example.com", "TXT"): ["v=DMARC1; p=reject; pct=100"]})
    check = await dns_check.check(fake, dmarc)
    assert check.verdict == "ok" and check.note == "policy p=reject"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789=;+/ \"\\", max_size=700))
def test_long_txt_values_are_split_in_255_octet_strings_that_join_back(value):
    import dns.rdata

    line = Expected("dkim", "s._domainkey.example.com", "TXT", value).zone_line()
    rdata = dns.rdata.from_text("IN", "TXT", line.split(" IN TXT ", 1)[1])
    assert all(len(s) <= 255 for s in rdata.strings)
    assert b"".join(rdata.strings).decode() == value
