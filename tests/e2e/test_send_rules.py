"""Each sending rule, with the exact error a boto3 user catches (v1 and v2)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

SIMPLE = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}


def v1_send(client, source="a@example.com", to=("b@example.org",), **kw):
    return client.send_email(Source=source, Destination={"ToAddresses": list(to)},
                             Message={"Subject": {"Data": kw.pop("subject", "s")}, "Body": {"Text": {"Data": "b"}}},
                             **kw)


def v2_send(client, source="a@example.com", to=("b@example.org",), **kw):
    return client.send_email(FromEmailAddress=source, Destination={"ToAddresses": list(to)},
                             Content=kw.pop("content", SIMPLE), **kw)


def error(exc: pytest.ExceptionInfo) -> tuple[str, str, int]:
    e = exc.value.response
    return e["Error"]["Code"], e["Error"]["Message"], e["ResponseMetadata"]["HTTPStatusCode"]


def test_unverified_sender_is_message_rejected_naming_the_identity(server):
    creds = server.new_account("acme")
    v1, v2 = server.client("ses", creds), server.client("sesv2", creds)
    with pytest.raises(v1.exceptions.MessageRejected) as e:
        v1_send(v1, source="x@other.example")
    assert error(e) == ("MessageRejected", "Email address is not verified. The following identities failed "
                        "the check in region US-EAST-1: x@other.example", 400)
    with pytest.raises(v2.exceptions.MessageRejected) as e:
        v2_send(v2, source="x@other.example")
    assert "x@other.example" in error(e)[1]


def test_subdomain_of_a_verified_domain_may_send(server):
    creds = server.new_account("acme")
    assert v1_send(server.client("ses", creds), source="a@mail.example.com")["MessageId"]


def test_sandbox_account_may_send_only_to_verified_recipients(server):
    creds = server.new_account("sandboxed", production=False, verify=("example.com", "ok@example.org"))
    server.cli("admin", "account", "set-quota", "sandboxed", "--max-24h-send", "200", "--max-send-rate", "-1")
    v1 = server.client("ses", creds)
    assert v1_send(v1, to=["ok@example.org"])["MessageId"]
    assert v1_send(v1, to=["success@simulator.amazonses.com"])["MessageId"]
    with pytest.raises(v1.exceptions.MessageRejected) as e:
        v1_send(v1, to=["ok@example.org", "stranger@example.org"])
    assert error(e)[1].endswith("region US-EAST-1: stranger@example.org")


def test_operator_pause_rejects_sends_until_resumed(server):
    creds = server.new_account("acme")
    v1, v2 = server.client("ses", creds), server.client("sesv2", creds)
    server.cli("admin", "account", "pause", "acme")
    with pytest.raises(v1.exceptions.MessageRejected) as e:
        v1_send(v1)
    assert error(e)[1].startswith("Sending paused for this account.")
    with pytest.raises(v2.exceptions.SendingPausedException):
        v2_send(v2)
    server.cli("admin", "account", "resume", "acme")
    assert v1_send(v1)["MessageId"]


def test_sending_disabled_by_the_account_answers_account_sending_paused(server):
    creds = server.new_account("acme")
    v1, v2 = server.client("ses", creds), server.client("sesv2", creds)
    v1.update_account_sending_enabled(Enabled=False)
    with pytest.raises(v1.exceptions.AccountSendingPausedException):
        v1_send(v1)
    with pytest.raises(v2.exceptions.SendingPausedException):
        v2_send(v2)


def test_rate_above_max_send_rate_is_throttled(server):
    creds = server.new_account("acme")
    server.cli("admin", "account", "set-quota", "acme", "--max-24h-send", "1000", "--max-send-rate", "1")
    v1, v2 = server.client("ses", creds), server.client("sesv2", creds)
    v1_send(v1)
    with pytest.raises(ClientError) as e:
        v1_send(v1)
    assert error(e) == ("Throttling", "Maximum sending rate exceeded.", 400)
    with pytest.raises(v2.exceptions.TooManyRequestsException) as e:
        v2_send(v2)
    assert error(e)[2] == 429


def test_daily_quota_counts_recipients_over_24_hours(server):
    creds = server.new_account("acme")
    server.cli("admin", "account", "set-quota", "acme", "--max-24h-send", "3", "--max-send-rate", "-1")
    v1 = server.client("ses", creds)
    v1_send(v1, to=["a@example.org", "b@example.org"])
    with pytest.raises(ClientError) as e:
        v1_send(v1, to=["c@example.org", "d@example.org"])
    assert error(e) == ("Throttling", "Daily message quota exceeded.", 400)
    v1_send(v1, to=["c@example.org"])
    assert v1.get_send_quota()["SentLast24Hours"] == 3.0


def test_daily_quota_survives_a_restart(server):
    creds = server.new_account("acme")
    server.cli("admin", "account", "set-quota", "acme", "--max-24h-send", "1", "--max-send-rate", "-1")
    v1_send(server.client("ses", creds))
    server.stop()
    server.start()
    with pytest.raises(ClientError) as e:
        v1_send(server.client("ses", creds))
    assert error(e)[1] == "Daily message quota exceeded."


def test_more_than_fifty_recipients_is_invalid(server):
    creds = server.new_account("acme")
    v1, v2 = server.client("ses", creds), server.client("sesv2", creds)
    many = [f"r{i}@example.org" for i in range(51)]
    with pytest.raises(ClientError) as e:
        v1_send(v1, to=many)
    assert error(e) == ("InvalidParameterValue", "Recipient count exceeds 50.", 400)
    with pytest.raises(v2.exceptions.BadRequestException):
        v2_send(v2, to=many)


def test_v1_raw_message_over_ten_megabytes_is_refused(server):
    creds = server.new_account("acme")
    v1 = server.client("ses", creds)
    raw = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: s\r\n\r\n" + b"x" * (10 * 1024 * 1024)
    with pytest.raises(ClientError) as e:
        v1.send_raw_email(RawMessage={"Data": raw})
    code, message, _ = error(e)
    assert code == "InvalidParameterValue" and message.startswith("Message length is more than 10485760 bytes")


@pytest.mark.parametrize("address,message", [
    ("no-at-sign", "Missing final '@domain'"),
    ("a b@example.org", "Local address contains control or whitespace"),
    ("a@-bad-.example", "Domain contains illegal character"),
    ("a@example.org.", "Domain ends with dot"),
])
def test_bad_recipient_address_is_invalid_parameter_value(server, address, message):
    creds = server.new_account("acme")
    with pytest.raises(ClientError) as e:
        v1_send(server.client("ses", creds), to=[address])
    assert error(e) == ("InvalidParameterValue", message, 400)


def test_unicode_domain_is_sent_as_punycode(server):
    creds = server.new_account("acme")
    mid = v1_send(server.client("ses", creds), to=["user@bücher.example"])["MessageId"]
    assert server.cli_json("messages", "show", mid)["Recipients"] == ["user@xn--bcher-kva.example"]


def test_line_break_in_subject_is_refused_as_header_injection(server):
    creds = server.new_account("acme")
    with pytest.raises(ClientError) as e:
        v1_send(server.client("ses", creds), subject="hi\r\nBcc: victim@example.org")
    assert error(e)[0] == "InvalidParameterValue"
    assert server.cli_json("messages", "list") == []


def test_raw_message_without_from_is_refused(server):
    creds = server.new_account("acme")
    with pytest.raises(ClientError) as e:
        server.client("ses", creds).send_raw_email(RawMessage={"Data": b"To: b@example.org\r\n\r\nbody"})
    assert error(e) == ("InvalidParameterValue", "Missing required header 'From'.", 400)


def test_raw_message_with_duplicate_subject_is_refused(server):
    creds = server.new_account("acme")
    raw = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: 1\r\nSubject: 2\r\n\r\nbody"
    with pytest.raises(ClientError) as e:
        server.client("ses", creds).send_raw_email(RawMessage={"Data": raw})
    assert error(e)[1] == "Duplicate header 'Subject'."


def test_missing_required_member_is_a_validation_error_naming_it(server):
    creds = server.new_account("acme")
    import botocore.config

    v1 = server.client("ses", creds, config=botocore.config.Config(parameter_validation=False,
                                                                    retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as e:
        v1.send_email(Source="a@example.com", Destination={"ToAddresses": ["b@example.org"]},
                      Message={"Body": {"Text": {"Data": "b"}}})
    code, message, status = error(e)
    assert (code, status) == ("ValidationError", 400) and "'message.subject'" in message


def test_unknown_configuration_set_is_refused(server):
    creds = server.new_account("acme")
    v1, v2 = server.client("ses", creds), server.client("sesv2", creds)
    with pytest.raises(v1.exceptions.ConfigurationSetDoesNotExistException):
        v1_send(v1, ConfigurationSetName="missing")
    with pytest.raises(v2.exceptions.NotFoundException):
        v2_send(v2, ConfigurationSetName="missing")


def test_template_content_is_answered_as_not_implemented_not_faked(server):
    creds = server.new_account("acme")
    v2 = server.client("sesv2", creds)
    try:
        v2_send(v2, content={"Template": {"TemplateName": "welcome", "TemplateData": "{}"}})
    except ClientError as e:
        assert e.response["Error"]["Code"] in ("NotImplemented", "NotFoundException")
    else:
        pytest.fail("a send with an unknown template must not succeed")


def test_unknown_access_key_is_invalid_client_token_id(server):
    from tests.support.server import Credentials

    v1 = server.client("ses", Credentials("AKIAUNKNOWNKEY000000", "x", "", ""))
    with pytest.raises(ClientError) as e:
        v1.get_send_quota()
    assert error(e) == ("InvalidClientTokenId", "The security token included in the request is invalid.", 403)


def test_wrong_secret_is_signature_does_not_match(server):
    from tests.support.server import Credentials

    creds = server.new_account("acme")
    bad = Credentials(creds.access_key_id, "wrong-secret", "", "")
    for service in ("ses", "sesv2"):
        with pytest.raises(ClientError) as e:
            c = server.client(service, bad)
            c.get_send_quota() if service == "ses" else c.get_account()
        assert error(e)[0] in ("SignatureDoesNotMatch", "InvalidSignatureException")
        assert error(e)[2] == 403


def test_request_signed_for_another_region_is_refused(server):
    creds = server.new_account("acme")
    with pytest.raises(ClientError) as e:
        server.client("ses", creds, region="eu-west-1").get_send_quota()
    code, message, status = error(e)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert "Credential should be scoped to a valid region" in message


def test_minimal_send_only_policy_denies_every_other_operation(server, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": "*"}]}))
    creds = server.new_account("acme", policy=policy)
    v1, v2 = server.client("ses", creds), server.client("sesv2", creds)
    assert v1_send(v1)["MessageId"]
    assert v2_send(v2)["MessageId"]
    with pytest.raises(ClientError) as e:
        v1.get_send_quota()
    code, message, status = error(e)
    assert (code, status) == ("AccessDenied", 403)
    assert "is not authorized to perform: ses:GetSendQuota" in message
    with pytest.raises(ClientError) as e:
        v2.get_account()
    assert error(e)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        v1.list_receipt_rule_sets()
    assert error(e)[0] == "AccessDenied"


def test_from_address_condition_limits_which_sender_a_key_may_use(server, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ses:Send*", "Resource": "*",
         "Condition": {"StringEquals": {"ses:FromAddress": "noreply@example.com"}}}]}))
    creds = server.new_account("acme", policy=policy)
    v1 = server.client("ses", creds)
    assert v1_send(v1, source="noreply@example.com")["MessageId"]
    with pytest.raises(ClientError) as e:
        v1_send(v1, source="ceo@example.com")
    assert error(e)[0] == "AccessDenied"


def test_operation_not_served_yet_says_so_instead_of_faking_success(server):
    creds = server.new_account("acme")
    with pytest.raises(ClientError) as e:
        server.client("ses", creds).list_receipt_rule_sets()
    code, message, status = error(e)
    assert (code, status) == ("NotImplemented", 501)
    assert "ListReceiptRuleSets" in message


def test_accounts_do_not_see_each_others_identities_or_mail(server):
    a = server.new_account("alpha", verify=("alpha.example",))
    b = server.new_account("beta", verify=("beta.example",))
    va, vb = server.client("ses", a), server.client("ses", b)
    assert va.list_identities()["Identities"] == ["alpha.example"]
    assert vb.list_identities()["Identities"] == ["beta.example"]
    with pytest.raises(va.exceptions.MessageRejected):
        v1_send(va, source="x@beta.example")
