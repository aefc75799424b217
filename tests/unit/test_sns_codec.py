"""The Query codec speaks SNS (2010-03-31) as botocore does: its serializer builds the requests,
its parser reads every SNS response, and SNS's error codes come out for openses's errors."""

from __future__ import annotations

import urllib.parse

import botocore.session
import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import given, settings
from hypothesis import strategies as st

from openses import errors
from openses.protocol.query import QueryCodec
from tests.support.fabricate import fabricate as make_sample

SESSION = botocore.session.get_session()
MODEL = SESSION.get_service_model("sns")
CODEC = QueryCodec("sns")


def wire_params(operation: str, params: dict) -> list[tuple[str, str]]:
    request = create_serializer("query").serialize_to_request(params, MODEL.operation_model(operation))
    return urllib.parse.parse_qsl(urllib.parse.urlencode(request["body"]), keep_blank_values=True)


def parse_response(operation: str, body: bytes, status: int = 200) -> dict:
    shape = MODEL.operation_model(operation).output_shape if status < 300 else None
    return create_parser("query").parse({"body": body, "headers": {}, "status_code": status}, shape)


def test_create_topic_parses_its_attribute_map_and_tag_list():
    params = {"Name": "bounces", "Attributes": {"DisplayName": "B & <b>", "SignatureVersion": "2"},
              "Tags": [{"Key": "team", "Value": "mail"}]}
    assert CODEC.parse(wire_params("CreateTopic", params)) == ("CreateTopic", params)


def test_publish_parses_message_attributes_with_binary_values_as_bytes():
    params = {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "hi", "MessageAttributes": {
        "s": {"DataType": "String", "StringValue": "x"}, "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}}
    assert CODEC.parse(wire_params("Publish", params)) == ("Publish", params)


@settings(max_examples=100, deadline=None)
@given(message=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1),
       subject=st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_any_message_and_subject_survive_botocores_serializer(message, subject):
    params = {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": message, "Subject": subject}
    assert CODEC.parse(wire_params("Publish", params)) == ("Publish", params)


@pytest.mark.parametrize("operation", MODEL.operation_names)
def test_every_sns_response_parses_into_the_documented_shape(operation):
    shape = MODEL.operation_model(operation).output_shape
    output = make_sample(shape, [0], text="v{n} <a&b>", key="key-{n}&", micros=123000) if shape is not None else {}
    parsed = parse_response(operation, CODEC.serialize(operation, output, "req-1"))
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == output


def test_responses_use_the_sns_namespace():
    body = CODEC.serialize("CreateTopic", {"TopicArn": "arn"}, "r")
    assert body.startswith(b'<CreateTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">')


@pytest.mark.parametrize(("error", "code", "status", "exception"), [
    (errors.NotFound("Topic does not exist"), "NotFound", 404, "NotFoundException"),
    (errors.InvalidParameterValue("Invalid parameter: Topic Name"), "InvalidParameter", 400,
     "InvalidParameterException"),
    (errors.AccessDenied("User: x is not authorized to perform: sns:Publish"), "AuthorizationError", 403,
     "AuthorizationErrorException"),
])
def test_openses_errors_come_out_as_the_sns_models_exceptions(error, code, status, exception):
    got_status, body = CODEC.serialize_error(error, "rid")
    parsed = parse_response("Publish", body, got_status)
    assert (got_status, parsed["Error"]["Code"], parsed["Error"]["Message"]) == (status, code, error.message)
    client = SESSION.create_client("sns", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    assert client.exceptions.from_code(code) is getattr(client.exceptions, exception)


def test_the_same_errors_keep_their_ses_codes_for_ses():
    assert errors.NotFound("x").code_for("ses") == "NotFoundException"
    assert errors.AccessDenied("x").code_for("ses") == "AccessDenied"
