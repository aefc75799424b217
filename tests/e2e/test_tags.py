"""Resource tags end to end with boto3 v2: identities, configuration sets, contact lists."""

from __future__ import annotations

import pytest


def test_tags_are_added_listed_and_removed_on_every_taggable_resource(server):
    creds = server.new_account("acme", verify=())
    v2 = server.client("sesv2", creds)
    v2.create_email_identity(EmailIdentity="example.com", Tags=[{"Key": "team", "Value": "mail"}])
    v2.create_configuration_set(ConfigurationSetName="cs1")
    v2.create_contact_list(ContactListName="news")
    arn = f"arn:aws:ses:us-east-1:{creds.account_id}:"
    for resource in ("identity/example.com", "configuration-set/cs1", "contact-list/news"):
        v2.tag_resource(ResourceArn=arn + resource, Tags=[{"Key": "env", "Value": "prod"},
                                                          {"Key": "cost", "Value": "42"}])
        v2.untag_resource(ResourceArn=arn + resource, TagKeys=["cost"])
        tags = v2.list_tags_for_resource(ResourceArn=arn + resource)["Tags"]
        assert {"Key": "env", "Value": "prod"} in tags and {"Key": "cost", "Value": "42"} not in tags
    assert {"Key": "team", "Value": "mail"} in v2.get_email_identity(EmailIdentity="example.com")["Tags"]
    assert v2.get_configuration_set(ConfigurationSetName="cs1")["Tags"] == [{"Key": "env", "Value": "prod"}]


def test_tagging_follows_ses_limits_and_hides_other_accounts_resources(server):
    creds, other = server.new_account("acme", verify=()), server.new_account("other", verify=())
    v2 = server.client("sesv2", creds)
    v2.create_configuration_set(ConfigurationSetName="cs1")
    arn = f"arn:aws:ses:us-east-1:{creds.account_id}:configuration-set/cs1"
    with pytest.raises(v2.exceptions.BadRequestException):
        v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    with pytest.raises(v2.exceptions.BadRequestException):
        v2.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.list_tags_for_resource(ResourceArn=f"arn:aws:ses:us-east-1:{creds.account_id}:configuration-set/none")
    v2_other = server.client("sesv2", other)
    with pytest.raises(v2_other.exceptions.NotFoundException):
        v2_other.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == []
