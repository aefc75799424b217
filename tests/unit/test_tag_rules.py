"""Resource tags: ARNs and SES's limits (core/tags.py), without a server."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openses.core.tags import MAX_TAGS, Resource, merged, parse_arn, without
from openses.errors import InvalidParameterValue, NotFound

ACCOUNT, REGION = "111111111111", "us-east-1"


def test_arns_of_the_callers_identities_configuration_sets_and_contact_lists_are_understood():
    assert parse_arn(f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/Example.COM", ACCOUNT, REGION) == \
        Resource("identity", ACCOUNT, "example.com")
    assert parse_arn(f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/cs1", ACCOUNT, REGION).kind == \
        "configuration-set"
    assert parse_arn(f"arn:aws:ses:{REGION}:{ACCOUNT}:contact-list/news", ACCOUNT, REGION).name == "news"


def test_another_accounts_or_regions_arn_or_an_unknown_type_is_not_found():
    for arn in (f"arn:aws:ses:{REGION}:222222222222:identity/example.com",
                f"arn:aws:ses:eu-west-1:{ACCOUNT}:identity/example.com",
                f"arn:aws:ses:{REGION}:{ACCOUNT}:dedicated-ip-pool/p"):
        with pytest.raises(NotFound):
            parse_arn(arn, ACCOUNT, REGION)


@given(st.text(max_size=80))
def test_anything_that_is_not_an_ses_arn_is_a_bad_request(text):
    if text.startswith("arn:"):
        return
    with pytest.raises(InvalidParameterValue):
        parse_arn(text, ACCOUNT, REGION)


def test_tags_merge_by_key_and_stop_at_fifty():
    tags = merged([{"Key": "a", "Value": "1"}], [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}])
    assert tags == [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}]
    full = [{"Key": f"k{i}", "Value": "v"} for i in range(MAX_TAGS)]
    assert len(merged(full, [{"Key": "k0", "Value": "again"}])) == MAX_TAGS
    with pytest.raises(InvalidParameterValue, match="at most 50"):
        merged(full, [{"Key": "one-more", "Value": "v"}])


@pytest.mark.parametrize("tag", [{"Key": "", "Value": "v"}, {"Key": "k" * 129, "Value": "v"},
                                 {"Key": "k", "Value": "v" * 257}, {"Key": "aws:owner", "Value": "v"},
                                 {"Key": "AWS:owner", "Value": "v"}, {"Key": "k", "Value": "aws:x"},
                                 {"Key": "bad<char>", "Value": "v"}])
def test_tags_outside_ses_rules_are_refused(tag):
    with pytest.raises(InvalidParameterValue):
        merged([], [tag])


def test_untagging_removes_the_keys_and_never_an_aws_one():
    assert without([{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}], ["a", "zz"]) == [{"Key": "b", "Value": "2"}]
    with pytest.raises(InvalidParameterValue):
        without([], ["aws:x"])
