"""IAM-style key policies."""

import pytest

from openses.core.policy import PolicyError, parse_policy


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_default_policy_allows_every_ses_action():
    p = parse_policy(None)
    assert p.decide("ses:SendEmail") and p.decide("ses:GetAccount")


def test_minimal_send_policy_allows_only_the_two_send_actions():
    p = parse_policy(doc({"Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": "*"}))
    assert p.decide("ses:SendEmail") and p.decide("ses:SendRawEmail")
    assert not p.decide("ses:GetSendQuota") and not p.decide("ses:SendBulkEmail")


def test_wildcards_match_actions_case_insensitively_and_sesv2_means_ses():
    p = parse_policy(doc({"Effect": "Allow", "Action": "SESV2:send*", "Resource": "*"}))
    assert p.decide("ses:SendEmail") and not p.decide("ses:GetAccount")


def test_explicit_deny_wins_over_allow():
    p = parse_policy(doc({"Effect": "Allow", "Action": "ses:*", "Resource": "*"},
                         {"Effect": "Deny", "Action": "ses:DeleteIdentity", "Resource": "*"}))
    assert p.decide("ses:ListIdentities") and not p.decide("ses:DeleteIdentity")


def test_resource_arns_limit_the_identity():
    p = parse_policy(doc({"Effect": "Allow", "Action": "ses:SendEmail",
                          "Resource": "arn:aws:ses:*:*:identity/example.com"}))
    assert p.decide("ses:SendEmail", "arn:aws:ses:us-east-1:1:identity/example.com")
    assert not p.decide("ses:SendEmail", "arn:aws:ses:us-east-1:1:identity/other.com")


@pytest.mark.parametrize("op,values,address,expected", [
    ("StringEquals", "a@example.com", "a@example.com", True),
    ("StringEquals", "a@example.com", "b@example.com", False),
    ("StringLike", "*@example.com", "b@example.com", True),
    ("StringNotLike", "*@example.com", "b@example.com", False),
])
def test_from_address_conditions(op, values, address, expected):
    p = parse_policy(doc({"Effect": "Allow", "Action": "ses:Send*", "Resource": "*",
                          "Condition": {op: {"ses:FromAddress": values}}}))
    assert p.decide("ses:SendEmail", "*", {"ses:FromAddress": [address]}) is expected


def test_for_all_values_requires_every_recipient_to_match():
    p = parse_policy(doc({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
                          "Condition": {"ForAllValues:StringLike": {"ses:Recipients": "*@example.org"}}}))
    assert p.decide("ses:SendEmail", "*", {"ses:Recipients": ["a@example.org", "b@example.org"]})
    assert not p.decide("ses:SendEmail", "*", {"ses:Recipients": ["a@example.org", "b@evil.test"]})


def test_condition_on_a_key_the_request_lacks_does_not_match():
    p = parse_policy(doc({"Effect": "Allow", "Action": "ses:*", "Resource": "*",
                          "Condition": {"StringEquals": {"ses:FromAddress": "a@example.com"}}}))
    assert not p.decide("ses:GetAccount")


@pytest.mark.parametrize("bad", ["{", "[]", '{"Statement": [{"Effect": "Maybe", "Action": "*"}]}',
                                 '{"Statement": [{"Effect": "Allow"}]}',
                                 '{"Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"NumericLessThan": {}}}]}'])
def test_policies_we_cannot_evaluate_are_refused(bad):
    with pytest.raises(PolicyError):
        parse_policy(bad)
