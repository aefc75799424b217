"""The Query codec against botocore itself: its serializer builds the requests, its parser reads
the responses, for every SES v1 and STS operation."""

from __future__ import annotations

import urllib.parse

import botocore.session
import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.fabricate import fabricate as make_sample
from openses import errors
from openses.protocol.query import QueryCodec

SESSION = botocore.session.get_session()
MODELS = {name: SESSION.get_service_model(name) for name in ("ses", "sts")}
CODECS = {name: QueryCodec(name) for name in ("ses", "sts")}


def wire_params(service: str, operation: str, params: dict) -> list[tuple[str, str]]:
    """What a server receives when botocore sends `params`: the form body, decoded."""
    request = create_serializer("query").serialize_to_request(
        params, MODELS[service].operation_model(operation))
    body = urllib.parse.urlencode(request["body"])
    return urllib.parse.parse_qsl(body, keep_blank_values=True)


def fabricate(shape, counter: list[int]):
    return make_sample(shape, counter, text="v{n} <a&b> \"ü\"\r\n", key="key-{n}&", micros=123000)


def parse_response(service: str, operation: str, body: bytes, status: int = 200) -> dict:
    shape = MODELS[service].operation_model(operation).output_shape if status < 300 else None
    return create_parser("query").parse(
        {"body": body, "headers": {}, "status_code": status}, shape)


# --- requests ----------------------------------------------------------------------------------


def test_send_email_parses_into_the_documented_input():
    params = {
        "Source": "Sender <sender@example.com>",
        "Destination": {"ToAddresses": ["a@example.com", "b@example.com"],
                        "BccAddresses": ["c@example.com"]},
        "Message": {"Subject": {"Data": "Hello & <welcome>", "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": "line 1\r\nline 2"}, "Html": {"Data": "<p>hi</p>"}}},
        "ReplyToAddresses": ["reply@example.com"],
        "Tags": [{"Name": "campaign", "Value": "spring"}, {"Name": "kind", "Value": "test"}],
        "ConfigurationSetName": "default",
    }
    assert CODECS["ses"].parse(wire_params("ses", "SendEmail", params)) == ("SendEmail", params)


def test_send_raw_email_decodes_the_base64_blob_into_bytes():
    raw = b"From: a@example.com\r\nSubject: x\r\n\r\n\x00\xff binary body"
    params = {"RawMessage": {"Data": raw}, "Destinations": ["b@example.com"]}
    operation, parsed = CODECS["ses"].parse(wire_params("ses", "SendRawEmail", params))
    assert (operation, parsed) == ("SendRawEmail", params)
    assert isinstance(parsed["RawMessage"]["Data"], bytes)


def test_set_identity_notification_topic_parses_enum_and_strings():
    params = {"Identity": "example.com", "NotificationType": "Bounce",
              "SnsTopic": "arn:aws:sns:us-east-1:123456789012:bounces"}
    assert CODECS["ses"].parse(wire_params("ses", "SetIdentityNotificationTopic", params)) == (
        "SetIdentityNotificationTopic", params)


def test_list_identities_paging_parameters_become_typed_values():
    params = {"IdentityType": "EmailAddress", "MaxItems": 25, "NextToken": "abc/+=="}
    operation, parsed = CODECS["ses"].parse(wire_params("ses", "ListIdentities", params))
    assert (operation, parsed) == ("ListIdentities", params)
    assert isinstance(parsed["MaxItems"], int)


def test_an_empty_list_is_sent_as_a_bare_name_and_parses_as_empty():
    params = {"Identities": []}
    wire = wire_params("ses", "GetIdentityVerificationAttributes", params)
    assert ("Identities", "") in wire
    assert CODECS["ses"].parse(wire) == ("GetIdentityVerificationAttributes", params)


def test_list_members_come_back_in_index_order_not_arrival_order():
    wire = [("Action", "GetIdentityVerificationAttributes"),
            ("Identities.member.10", "j"), ("Identities.member.2", "b"),
            ("Identities.member.1", "a")]
    assert CODECS["ses"].parse(wire)[1] == {"Identities": ["a", "b", "j"]}


def test_sts_get_caller_identity_has_an_empty_input():
    assert CODECS["sts"].parse(wire_params("sts", "GetCallerIdentity", {})) == (
        "GetCallerIdentity", {})


def test_sts_integer_members_are_typed():
    params = {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "session",
              "DurationSeconds": 900}
    assert CODECS["sts"].parse(wire_params("sts", "AssumeRole", params)) == ("AssumeRole", params)


def test_booleans_in_a_query_become_bool():
    params = {"Identity": "example.com", "DkimEnabled": False}
    assert CODECS["ses"].parse(wire_params("ses", "SetIdentityDkimEnabled", params)) == (
        "SetIdentityDkimEnabled", params)


def test_unknown_parameters_and_a_different_version_are_ignored():
    wire = [("Action", "ListIdentities"), ("Version", "1999-01-01"), ("Bogus.member.1", "x"),
            ("X-Amz-Signature", "abc")]
    assert CODECS["ses"].parse(wire) == ("ListIdentities", {})


def test_missing_action_is_reported_as_missing_action():
    with pytest.raises(errors.MissingAction):
        CODECS["ses"].parse([("Version", "2010-12-01")])


def test_unknown_action_is_reported_as_invalid_action():
    with pytest.raises(errors.InvalidAction):
        CODECS["ses"].parse([("Action", "SendPigeon")])


def test_missing_nested_required_member_uses_the_aws_validation_wording():
    params = wire_params("ses", "SendEmail", {
        "Source": "a@example.com", "Destination": {"ToAddresses": ["b@example.com"]},
        "Message": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}})
    params = [(k, v) for k, v in params if not k.startswith("Message.Subject")]
    with pytest.raises(errors.ValidationError) as caught:
        CODECS["ses"].parse(params)
    assert caught.value.message == (
        "1 validation error detected: Value null at 'message.subject' failed to satisfy "
        "constraint: Member must not be null")


def test_several_missing_members_are_counted_and_joined_with_semicolons():
    with pytest.raises(errors.ValidationError) as caught:
        CODECS["ses"].parse([("Action", "SendEmail"), ("Message.Body.Text.Data", "x")])
    message = caught.value.message
    assert message.startswith("3 validation errors detected: Value null at 'source' ")
    assert "; Value null at 'message.subject' failed" in message


def test_missing_member_inside_a_list_item_names_the_item():
    wire = [("Action", "SendEmail"), ("Source", "a@example.com"),
            ("Destination.ToAddresses.member.1", "b@example.com"),
            ("Message.Subject.Data", "s"), ("Message.Body.Text.Data", "t"),
            ("Tags.member.1.Name", "n")]
    with pytest.raises(errors.ValidationError) as caught:
        CODECS["ses"].parse(wire)
    assert "Value null at 'tags.1.member.value'" in caught.value.message


@pytest.mark.parametrize(("name", "value", "field"), [
    ("MaxItems", "ten", "maxItems"),
])
def test_a_non_integer_for_an_integer_is_a_validation_error_naming_the_field(name, value, field):
    with pytest.raises(errors.ValidationError) as caught:
        CODECS["ses"].parse([("Action", "ListIdentities"), (name, value)])
    assert f"Value '{value}' at '{field}'" in caught.value.message


def test_a_bad_boolean_is_a_validation_error():
    with pytest.raises(errors.ValidationError) as caught:
        CODECS["ses"].parse([("Action", "SetIdentityDkimEnabled"), ("Identity", "x"),
                             ("DkimEnabled", "maybe")])
    assert "Value 'maybe' at 'dkimEnabled'" in caught.value.message


def test_bad_base64_in_a_blob_is_a_validation_error():
    with pytest.raises(errors.ValidationError) as caught:
        CODECS["ses"].parse([("Action", "SendRawEmail"), ("RawMessage.Data", "not base64!")])
    assert "at 'rawMessage.data'" in caught.value.message


@settings(max_examples=200, deadline=None)
@given(subject=st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
       body=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1),
       to=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",))), max_size=4))
def test_any_string_survives_the_round_trip_through_botocores_query_serializer(subject, body, to):
    params = {"Source": "a@example.com", "Destination": {"ToAddresses": to},
              "Message": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": body}}}}
    assert CODECS["ses"].parse(wire_params("ses", "SendEmail", params)) == ("SendEmail", params)


# --- responses ---------------------------------------------------------------------------------

ALL_OPERATIONS = [(service, op) for service, model in MODELS.items()
                  for op in model.operation_names]


def test_every_ses_and_sts_operation_is_covered():
    assert len([1 for service, _ in ALL_OPERATIONS if service == "ses"]) == 71
    assert len([1 for service, _ in ALL_OPERATIONS if service == "sts"]) >= 10


@pytest.mark.parametrize(("service", "operation"), ALL_OPERATIONS)
def test_every_response_parses_into_the_documented_shape(service, operation):
    shape = MODELS[service].operation_model(operation).output_shape
    output = fabricate(shape, [0]) if shape is not None else {}
    body = CODECS[service].serialize(operation, output, "req-1")
    parsed = parse_response(service, operation, body)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == output


def test_send_email_response_is_byte_for_byte_what_aws_sends():
    body = CODECS["ses"].serialize("SendEmail", {"MessageId": "0000-1"}, "rid-1")
    assert body == (
        b'<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
        b"<SendEmailResult><MessageId>0000-1</MessageId></SendEmailResult>"
        b"<ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata>"
        b"</SendEmailResponse>")


def test_an_operation_without_output_members_still_has_its_result_element():
    body = CODECS["ses"].serialize("DeleteIdentity", {}, "rid")
    assert b"<DeleteIdentityResult/>" in body
    assert parse_response("ses", "DeleteIdentity", body)["ResponseMetadata"]["RequestId"] == "rid"


def test_sts_responses_use_the_sts_namespace():
    body = CODECS["sts"].serialize("GetCallerIdentity", {"Account": "123456789012"}, "r")
    assert body.startswith(b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">')


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(
    blacklist_categories=("Cs", "Cc"), whitelist_characters="\t\n\r")))
def test_any_xml_legal_string_survives_the_response_round_trip(text):
    body = CODECS["ses"].serialize("SendEmail", {"MessageId": text}, "r")
    assert parse_response("ses", "SendEmail", body)["MessageId"] == text


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "error", "code", "status"), [
    ("ses", errors.MessageRejected("Email address is not verified. <x@y>"), "MessageRejected", 400),
    ("ses", errors.Throttling("Maximum sending rate exceeded."), "Throttling", 400),
    ("ses", errors.InternalFailure("boom"), "InternalFailure", 500),
    ("sts", errors.InvalidClientTokenId("The security token is invalid."),
     "InvalidClientTokenId", 403),
])
def test_errors_parse_back_into_their_code_and_message(service, error, code, status):
    got_status, body = CODECS[service].serialize_error(error, "rid-9")
    parsed = parse_response(service, "GetCallerIdentity" if service == "sts" else "SendEmail",
                            body, got_status)
    assert got_status == status
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == error.message
    assert parsed["Error"]["Type"] == ("Sender" if error.sender_fault else "Receiver")
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"


def test_a_modeled_error_code_maps_to_the_client_exception_class():
    client = SESSION.create_client("ses", region_name="us-east-1",
                                   aws_access_key_id="a", aws_secret_access_key="b")
    _, body = CODECS["ses"].serialize_error(errors.MessageRejected("no"), "r")
    code = parse_response("ses", "SendEmail", body, 400)["Error"]["Code"]
    assert client.exceptions.from_code(code) is client.exceptions.MessageRejected
