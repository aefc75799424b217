"""What Publish accepts and what each subscription receives, and the attribute rules, as SNS has
them; plus the default key policy covering the SNS API."""

from __future__ import annotations

import json

import pytest

from openses.core import topic_attributes, topics
from openses.core.policy import parse_policy
from openses.errors import InvalidParameterValue

SUB = {"id": "s1", "topic_arn": "arn:aws:sns:us-east-1:1:t", "protocol": "https", "raw": False}


def test_an_envelope_carries_subject_and_attributes_only_when_given():
    plain = json.loads(topics.message_body(SUB, topics.message_from("hi"), "http://o", 0.0))
    assert "Subject" not in plain and "MessageAttributes" not in plain
    message = topics.message_from("hi", subject="S", attributes={"a": {"Type": "String", "Value": "x"}})
    full = json.loads(topics.message_body(SUB, message, "http://o", 0.0))
    assert (full["Subject"], full["MessageAttributes"], full["MessageId"]) == \
        ("S", {"a": {"Type": "String", "Value": "x"}}, message.id)
    assert full["UnsubscribeURL"].startswith("http://o/sns/unsubscribe?SubscriptionArn=arn%3Aaws%3Asns")


def test_a_json_structured_message_gives_each_protocol_its_own_text_or_the_default():
    message = topics.message_from(json.dumps({"default": "d", "https": "for https"}), structure="json")
    assert json.loads(topics.message_body(SUB, message, "", 0.0))["Message"] == "for https"
    assert topics.message_body({**SUB, "protocol": "http", "raw": True}, message, "", 0.0) == "d"


@pytest.mark.parametrize(("kwargs", "wording"), [
    ({"text": ""}, "Empty message"),
    ({"text": "x" * 262145}, "Message too long"),
    ({"text": "x", "subject": "line\nbreak"}, "Subject"),
    ({"text": "x", "subject": "é"}, "Subject"),
    ({"text": "{", "structure": "json"}, "JSON message body failed to parse"),
    ({"text": '{"http": "x"}', "structure": "json"}, "No default entry in JSON message body"),
])
def test_publish_refuses_what_sns_refuses_in_its_words(kwargs, wording):
    text = kwargs.pop("text")
    with pytest.raises(InvalidParameterValue) as e:
        topics.message_from(text, **kwargs)
    assert e.value.message.startswith("Invalid parameter: ") and wording in e.value.message


@pytest.mark.parametrize(("name", "value"), [("SignatureVersion", "3"), ("Policy", "[1]"), ("FifoTopic", "true"),
                                             ("DisplayName", "x" * 101), ("KmsMasterKeyId", "alias/aws/sns")])
def test_topic_attributes_openses_cannot_honour_are_refused(name, value):
    with pytest.raises(InvalidParameterValue):
        topic_attributes.checked({name: value})


def test_raw_message_delivery_is_the_only_subscription_attribute_and_webhooks_stay_raw():
    assert topic_attributes.raw_delivery("RawMessageDelivery", "TRUE", "https") is True
    with pytest.raises(InvalidParameterValue):
        topic_attributes.raw_delivery("FilterPolicy", "{}", "https")
    with pytest.raises(InvalidParameterValue):
        topic_attributes.raw_delivery("RawMessageDelivery", "false", "webhook")


def test_a_key_without_a_policy_may_call_the_sns_api_and_a_ses_only_policy_may_not():
    assert parse_policy(None).decide("sns:CreateTopic")
    ses_only = parse_policy({"Version": "2012-10-17",
                             "Statement": [{"Effect": "Allow", "Action": "ses:*", "Resource": "*"}]})
    assert not ses_only.decide("sns:Publish")
