"""Configuration sets through SES v1 and v2 with boto3, and how sends use them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

SIMPLE = {"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "hello"}}}}


def code(err: pytest.ExceptionInfo) -> str:
    return err.value.response["Error"]["Code"]


def test_v2_configuration_set_crud_keeps_every_option_group(server):
    ses = server.client("sesv2", server.new_account("acme"))
    ses.create_configuration_set(
        ConfigurationSetName="marketing", DeliveryOptions={"TlsPolicy": "REQUIRE", "MaxDeliverySeconds": 600},
        SendingOptions={"SendingEnabled": True}, SuppressionOptions={"SuppressedReasons": ["COMPLAINT"]},
        TrackingOptions={"CustomRedirectDomain": "track.example.com"}, Tags=[{"Key": "team", "Value": "growth"}])
    got = ses.get_configuration_set(ConfigurationSetName="marketing")
    assert got["DeliveryOptions"] == {"TlsPolicy": "REQUIRE", "MaxDeliverySeconds": 600}
    assert got["SuppressionOptions"] == {"SuppressedReasons": ["COMPLAINT"]}
    assert got["TrackingOptions"]["CustomRedirectDomain"] == "track.example.com"
    assert got["Tags"] == [{"Key": "team", "Value": "growth"}]
    ses.put_configuration_set_sending_options(ConfigurationSetName="marketing", SendingEnabled=False)
    ses.put_configuration_set_reputation_options(ConfigurationSetName="marketing", ReputationMetricsEnabled=True)
    got = ses.get_configuration_set(ConfigurationSetName="marketing")
    assert got["SendingOptions"] == {"SendingEnabled": False}
    assert got["ReputationOptions"]["ReputationMetricsEnabled"] is True
    with pytest.raises(ClientError) as err:
        ses.create_configuration_set(ConfigurationSetName="marketing")
    assert code(err) == "AlreadyExistsException"
    for name in ("b", "c", "d"):
        ses.create_configuration_set(ConfigurationSetName=name)
    first = ses.list_configuration_sets(PageSize=2)
    rest = ses.list_configuration_sets(PageSize=2, NextToken=first["NextToken"])
    assert first["ConfigurationSets"] + rest["ConfigurationSets"] == ["b", "c", "d", "marketing"]
    ses.delete_configuration_set(ConfigurationSetName="marketing")
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.get_configuration_set(ConfigurationSetName="marketing")


def test_v1_configuration_sets_and_event_destinations(server):
    creds = server.new_account("acme")
    arn = server.cli_json("topics", "create", "acme", "bounces")["TopicArn"]
    ses = server.client("ses", creds)
    ses.create_configuration_set(ConfigurationSet={"Name": "v1set"})
    with pytest.raises(ses.exceptions.ConfigurationSetAlreadyExistsException):
        ses.create_configuration_set(ConfigurationSet={"Name": "v1set"})
    ses.create_configuration_set_event_destination(ConfigurationSetName="v1set", EventDestination={
        "Name": "sns", "Enabled": True, "MatchingEventTypes": ["bounce", "complaint"],
        "SNSDestination": {"TopicARN": arn}})
    with pytest.raises(ses.exceptions.InvalidSNSDestinationException):
        ses.create_configuration_set_event_destination(ConfigurationSetName="v1set", EventDestination={
            "Name": "bad", "Enabled": True, "MatchingEventTypes": ["send"],
            "SNSDestination": {"TopicARN": arn + "-missing"}})
    ses.put_configuration_set_delivery_options(ConfigurationSetName="v1set", DeliveryOptions={"TlsPolicy": "Require"})
    ses.update_configuration_set_sending_enabled(ConfigurationSetName="v1set", Enabled=False)
    out = ses.describe_configuration_set(ConfigurationSetName="v1set", ConfigurationSetAttributeNames=[
        "eventDestinations", "deliveryOptions", "reputationOptions"])
    assert out["EventDestinations"] == [{"Name": "sns", "Enabled": True, "MatchingEventTypes": ["bounce", "complaint"],
                                         "SNSDestination": {"TopicARN": arn}}]
    assert out["ReputationOptions"]["SendingEnabled"] is False
    assert server.client("sesv2", creds).get_configuration_set_event_destinations(
        ConfigurationSetName="v1set")["EventDestinations"][0]["MatchingEventTypes"] == ["BOUNCE", "COMPLAINT"]
    ses.delete_configuration_set_event_destination(ConfigurationSetName="v1set", EventDestinationName="sns")
    with pytest.raises(ses.exceptions.EventDestinationDoesNotExistException):
        ses.delete_configuration_set_event_destination(ConfigurationSetName="v1set", EventDestinationName="sns")
    assert ses.list_configuration_sets()["ConfigurationSets"] == [{"Name": "v1set"}]
    ses.delete_configuration_set(ConfigurationSetName="v1set")
    with pytest.raises(ses.exceptions.ConfigurationSetDoesNotExistException):
        ses.describe_configuration_set(ConfigurationSetName="v1set")


def test_sends_name_existing_configuration_sets_only_and_paused_sets_refuse(server):
    creds = server.new_account("acme")
    v1, v2 = server.client("ses", creds), server.client("sesv2", creds)
    with pytest.raises(v1.exceptions.ConfigurationSetDoesNotExistException):
        v1.send_email(Source="a@example.com", Destination={"ToAddresses": ["b@example.org"]},
                      Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}, ConfigurationSetName="nope")
    v2.create_configuration_set(ConfigurationSetName="paused", SendingOptions={"SendingEnabled": False})
    with pytest.raises(ClientError) as err:
        v2.send_email(FromEmailAddress="a@example.com", Destination={"ToAddresses": ["b@example.org"]},
                      Content=SIMPLE, ConfigurationSetName="paused")
    assert code(err) == "SendingPausedException"
    with pytest.raises(v1.exceptions.ConfigurationSetSendingPausedException):
        v1.send_email(Source="a@example.com", Destination={"ToAddresses": ["b@example.org"]},
                      Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
                      ConfigurationSetName="paused")


def test_the_header_identity_default_and_account_default_name_the_configuration_set(server):
    creds = server.new_account("acme", verify=("example.com", "other.example"))
    v1, v2 = server.client("ses", creds), server.client("sesv2", creds)
    for name in ("from-header", "identity-default", "account-default"):
        v2.create_configuration_set(ConfigurationSetName=name)
    raw = (b"From: a@example.com\r\nTo: b@example.org\r\nSubject: s\r\nX-SES-CONFIGURATION-SET: from-header\r\n"
           b"X-SES-MESSAGE-TAGS: campaign=fall, tier=gold\r\n\r\nbody\r\n")
    mid = v1.send_raw_email(RawMessage={"Data": raw})["MessageId"]
    shown = server.cli_json("messages", "show", mid)
    tags = shown["Events"][0]["mail"]["tags"]
    assert tags["ses:configuration-set"] == ["from-header"] and tags["campaign"] == ["fall"]
    assert tags["tier"] == ["gold"]
    assert b"X-SES-CONFIGURATION-SET" not in server.cli("messages", "raw", mid).stdout.encode()
    v2.put_email_identity_configuration_set_attributes(EmailIdentity="example.com",
                                                       ConfigurationSetName="identity-default")
    server.cli("feedback", "default-configuration-set", "acme", "account-default")

    def config_set_of(source: str) -> list[str]:
        mid = v2.send_email(FromEmailAddress=source, Destination={"ToAddresses": ["b@example.org"]},
                            Content=SIMPLE)["MessageId"]
        return server.cli_json("messages", "show", mid)["Events"][0]["mail"]["tags"]["ses:configuration-set"]

    assert config_set_of("a@example.com") == ["identity-default"]
    assert config_set_of("a@other.example") == ["account-default"]
