"""Sending authorization: one account sends as another's identity when its policy allows."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


def _policy(owner: str, delegate: str, domain: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "delegate", "Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{delegate}:root"]},
        "Action": ["ses:SendEmail", "ses:SendRawEmail"],
        "Resource": f"arn:aws:ses:us-east-1:{owner}:identity/{domain}"}]})


def test_delegate_sends_with_source_arn_only_when_the_identity_policy_allows(server):
    owner = server.new_account("owner", verify=("brand.example",))
    delegate = server.new_account("agency", verify=())
    arn = f"arn:aws:ses:us-east-1:{owner.account_id}:identity/brand.example"
    agency = server.client("ses", delegate)
    message = {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}
    with pytest.raises(ClientError) as e:
        agency.send_email(Source="news@brand.example", SourceArn=arn,
                          Destination={"ToAddresses": ["x@example.org"]}, Message=message)
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    server.client("ses", owner).put_identity_policy(
        Identity="brand.example", PolicyName="agency", Policy=_policy(owner.account_id, delegate.account_id,
                                                                      "brand.example"))
    mid = agency.send_email(Source="news@brand.example", SourceArn=arn,
                            Destination={"ToAddresses": ["x@example.org"]}, Message=message)["MessageId"]
    assert server.cli_json("messages", "show", mid)["AccountId"] == delegate.account_id
    with pytest.raises(agency.exceptions.MessageRejected):  # without the ARN it is not theirs
        agency.send_email(Source="news@brand.example", Destination={"ToAddresses": ["x@example.org"]},
                          Message=message)
