"""The SNS API with boto3's `sns` client, end to end: topics and subscriptions, the confirmation
handshake, Publish, and signatures a receiver verifies from the SigningCertURL it fetched."""

from __future__ import annotations

import base64
import json
import urllib.request

import botocore.exceptions
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.support.ports import free_port
from tests.support.webhook_receiver import Receiver
from tests.support.polling import wait_until

FAST = {"OPENSES_WEBHOOK_ALLOW_PRIVATE": "1", "OPENSES_EVENT_POLL_INTERVAL": "0.1",
        "OPENSES_WEBHOOK_RETRY_FIRST_SECONDS": "0.2", "OPENSES_WEBHOOK_RETRY_MAX_SECONDS": "0.4"}
SIGNED = {"Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
          "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                                       "Type")}


@pytest.fixture
def receiver():
    r = Receiver(free_port()).start()
    yield r
    r.stop()


@pytest.fixture
def fast_server(server_factory):
    return server_factory(**FAST).start()


def verify(message: dict) -> None:
    """What a receiver does (docs: "Verifying the signatures of Amazon SNS messages"), except that it
    trusts the openses host instead of requiring *.amazonaws.com."""
    with urllib.request.urlopen(message["SigningCertURL"], timeout=10) as response:
        cert = x509.load_pem_x509_certificate(response.read())
    canonical = "".join(f"{k}\n{message[k]}\n" for k in SIGNED[message["Type"]] if k in message)
    algorithm = {"1": hashes.SHA1, "2": hashes.SHA256}[message["SignatureVersion"]]
    cert.public_key().verify(base64.b64decode(message["Signature"]), canonical.encode(), padding.PKCS1v15(),
                             algorithm())


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_receiver_verifies_the_confirmation_and_the_notification_from_the_signing_cert_url(
        fast_server, receiver, version):
    sns = fast_server.client("sns", fast_server.new_account("acme"))
    arn = sns.create_topic(Name="events", Attributes={"SignatureVersion": version})["TopicArn"]
    assert sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=receiver.url)["SubscriptionArn"] == \
        "pending confirmation"
    wait_until(lambda: sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsConfirmed"] == "1")
    message_id = sns.publish(TopicArn=arn, Message="hello\nthere", Subject="Greetings")["MessageId"]
    [notification] = receiver.wait_for(lambda xs: len(xs) >= 1)
    confirmation = next(r.json for r in receiver.received if r.json["Type"] == "SubscriptionConfirmation")
    for message in (confirmation, notification.json):
        assert message["SignatureVersion"] == version
        assert message["SigningCertURL"].startswith(fast_server.endpoint + "/sns/SimpleNotificationService-")
        verify(message)
    body = notification.json
    assert (body["MessageId"], body["Message"], body["Subject"], body["TopicArn"]) == \
        (message_id, "hello\nthere", "Greetings", arn)
    tampered = {**body, "Message": "hello there"}
    with pytest.raises(Exception):
        verify(tampered)
    urllib.request.urlopen(body["UnsubscribeURL"], timeout=10).read()
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []


def test_topics_are_created_idempotently_listed_described_changed_and_deleted(server):
    sns = server.client("sns", server.new_account("acme"))
    arn = sns.create_topic(Name="bounces", Tags=[{"Key": "team", "Value": "mail"}])["TopicArn"]
    assert arn.startswith("arn:aws:sns:us-east-1:") and arn.endswith(":bounces")
    assert sns.create_topic(Name="bounces")["TopicArn"] == arn
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sns.create_topic(Name="bounces", Attributes={"DisplayName": "other"})
    assert error_code(e) == "InvalidParameter"
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Bounces")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Bounces" and attributes["SignatureVersion"] == "2"
    assert attributes["Owner"] == arn.split(":")[4] and attributes["SubscriptionsPending"] == "0"
    assert json.loads(attributes["Policy"])["Statement"][0]["Resource"] == arn
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "mail"}]
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [arn]
    made = server.cli_json("topics", "create", "acme", "cli-made", "--signature-version", "2")["TopicArn"]
    assert sns.get_topic_attributes(TopicArn=made)["Attributes"]["SignatureVersion"] == "2"
    sns.delete_topic(TopicArn=made)
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # SNS: deleting a topic that is gone is not an error
    assert sns.list_topics()["Topics"] == []
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_topic_attributes(TopicArn=arn)


def test_list_topics_pages_with_next_token(server):
    sns = server.client("sns", server.new_account("acme"))
    made = sorted(sns.create_topic(Name=f"t{i:03d}")["TopicArn"] for i in range(105))
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and "NextToken" in first
    second = sns.list_topics(NextToken=first["NextToken"])
    assert "NextToken" not in second
    assert [t["TopicArn"] for t in first["Topics"] + second["Topics"]] == made


def test_subscriptions_are_listed_described_set_raw_and_unsubscribed(fast_server, receiver):
    sns = fast_server.client("sns", fast_server.new_account("acme"))
    arn = sns.create_topic(Name="events")["TopicArn"]
    receiver.confirm = False
    sub_arn = sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=receiver.url,
                            ReturnSubscriptionArn=True)["SubscriptionArn"]
    assert sns.list_subscriptions()["Subscriptions"] == [
        {"SubscriptionArn": "PendingConfirmation", "Owner": arn.split(":")[4], "Protocol": "http",
         "Endpoint": receiver.url, "TopicArn": arn}]
    token = wait_until(lambda: [r.json["Token"] for r in receiver.received])[0]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sns.confirm_subscription(TopicArn=arn, Token="not-the-token")
    assert error_code(e) == "InvalidParameter"
    assert sns.confirm_subscription(TopicArn=arn, Token=token)["SubscriptionArn"] == sub_arn
    sns.set_subscription_attributes(SubscriptionArn=sub_arn, AttributeName="RawMessageDelivery",
                                    AttributeValue="true")
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub_arn)["Attributes"]
    assert attributes["RawMessageDelivery"] == "true" and attributes["PendingConfirmation"] == "false"
    sns.publish(TopicArn=arn, Message='{"plain": true}')
    [raw] = wait_until(lambda: [r for r in receiver.received if r.headers.get("x-amz-sns-rawdelivery")])
    assert raw.body == b'{"plain": true}'
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]] == \
        [sub_arn]
    sns.unsubscribe(SubscriptionArn=sub_arn)
    assert sns.list_subscriptions()["Subscriptions"] == []
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsDeleted"] == "1"


def test_protocols_other_than_http_and_https_are_refused_as_sns_words_it(fast_server):
    sns = fast_server.client("sns", fast_server.new_account("acme"))
    arn = sns.create_topic(Name="events")["TopicArn"]
    for protocol, endpoint in (("email", "a@example.com"), ("sqs", "arn:aws:sqs:us-east-1:1:q"),
                               ("webhook", "http://127.0.0.1:9/x"), ("https", "http://127.0.0.1:9/x")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            sns.subscribe(TopicArn=arn, Protocol=protocol, Endpoint=endpoint)
        assert error_code(e) == "InvalidParameter"
        assert e.value.response["Error"]["Message"].startswith("Invalid parameter: ")


def test_another_accounts_topics_and_subscriptions_are_not_found(fast_server, receiver):
    owner = fast_server.client("sns", fast_server.new_account("acme"))
    other = fast_server.client("sns", fast_server.new_account("rival"))
    arn = owner.create_topic(Name="events")["TopicArn"]
    sub_arn = owner.subscribe(TopicArn=arn, Protocol="http", Endpoint=receiver.url,
                              ReturnSubscriptionArn=True)["SubscriptionArn"]
    calls = [lambda: other.get_topic_attributes(TopicArn=arn), lambda: other.publish(TopicArn=arn, Message="x"),
             lambda: other.subscribe(TopicArn=arn, Protocol="http", Endpoint=receiver.url),
             lambda: other.delete_topic(TopicArn=arn), lambda: other.list_subscriptions_by_topic(TopicArn=arn),
             lambda: other.get_subscription_attributes(SubscriptionArn=sub_arn),
             lambda: other.unsubscribe(SubscriptionArn=sub_arn)]
    for call in calls:
        with pytest.raises(other.exceptions.NotFoundException):
            call()
    assert other.list_topics()["Topics"] == [] and other.list_subscriptions()["Subscriptions"] == []
    assert owner.get_topic_attributes(TopicArn=arn)["Attributes"]["TopicArn"] == arn


def test_a_key_whose_policy_lacks_sns_gets_authorization_error_and_other_operations_are_not_implemented(
        server, tmp_path):
    policy = tmp_path / "ses-only.json"
    policy.write_text(json.dumps({"Version": "2012-10-17",
                                  "Statement": [{"Effect": "Allow", "Action": "ses:*", "Resource": "*"}]}))
    limited = server.client("sns", server.new_account("limited", policy=policy))
    with pytest.raises(limited.exceptions.AuthorizationErrorException):
        limited.list_topics()
    sns = server.client("sns", server.new_account("acme"))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sns.add_permission(TopicArn=sns.create_topic(Name="t")["TopicArn"], Label="x", AWSAccountId=["1"],
                           ActionName=["Publish"])
    assert error_code(e) == "NotImplemented"
    assert server.client("ses", server.new_account("mail")).get_send_quota()["Max24HourSend"] >= 0
