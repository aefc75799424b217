"""The SES v2 rest-json codec against botocore itself: its serializer builds the requests, its
parser reads the responses, for every SES v2 operation."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import botocore.session
import orjson
import pytest
from botocore.model import ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from tests.support.fabricate import fabricate as make_sample
from openses import errors
from openses.protocol.restjson import ALTERNATE_ROUTES, RestJsonCodec

SESSION = botocore.session.get_session()
MODEL = SESSION.get_service_model("sesv2")
CODEC = RestJsonCodec()


def sdk_model(form: str) -> ServiceModel:
    """The installed model with the moved list routes in one `form` (newer botocore: "body",
    older botocore and AWS CLI v1: "query"), whichever of the two the installed model has."""
    raw = copy.deepcopy(SESSION.get_component("data_loader").load_service_model(
        "sesv2", "service-2"))
    for method, uri, operation, route_form, _ in ALTERNATE_ROUTES:
        if route_form != form:
            continue
        op = raw["operations"][operation]
        op["http"] = {"method": method, "requestUri": uri}
        members = raw["shapes"][op["input"]["shape"]]["members"]
        for name, member in list(members.items()):
            member.pop("location", None)
            member.pop("locationName", None)
            if form == "query":
                if name in ("PageSize", "NextToken"):
                    member.update(location="querystring", locationName=name)
                else:
                    del members[name]
    return ServiceModel(raw, service_name="sesv2")


def send(operation: str, params: dict, model: ServiceModel = MODEL) -> tuple[str, dict]:
    """Serialize with botocore, then route and parse the request the way the server does."""
    request = create_serializer("rest-json").serialize_to_request(
        params, model.operation_model(operation))
    query = []  # strings, as a server reads them off the URL (botocore keeps numbers until it encodes)
    for key, value in request["query_string"].items():
        query += [(key, str(v)) for v in value] if isinstance(value, list) else [(key, str(value))]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    body = request["body"] if isinstance(request["body"], bytes) else request["body"].encode()
    name, path_params = CODEC.route(request["method"], request["url_path"])
    return name, CODEC.parse(name, path_params, query, headers, body, request["method"])


def fabricate(shape, counter: list[int]):
    return make_sample(shape, counter, text="v{n} \"q\" <ü>\n", key="key {n}/é", micros=125000)


def parse_response(operation: str, status: int, headers: list, body: bytes) -> dict:
    shape = MODEL.operation_model(operation).output_shape if status < 300 else None
    return create_parser("rest-json").parse(
        {"body": body, "status_code": status,
         "headers": {k.decode(): v.decode() for k, v in headers}}, shape)


# --- routing -----------------------------------------------------------------------------------


def test_an_address_in_the_path_is_percent_decoded():
    assert CODEC.route("GET", "/v2/email/identities/user%40example.com") == (
        "GetEmailIdentity", {"EmailIdentity": "user@example.com"})


def test_an_encoded_slash_stays_inside_its_label():
    assert CODEC.route("DELETE", "/v2/email/templates/a%2Fb") == (
        "DeleteEmailTemplate", {"TemplateName": "a/b"})


def test_a_literal_segment_wins_over_a_label_and_yields_to_it_for_other_methods():
    assert CODEC.route("POST", "/v2/email/import-jobs/list") == ("ListImportJobs", {})
    assert CODEC.route("GET", "/v2/email/import-jobs/list") == ("GetImportJob", {"JobId": "list"})
    assert CODEC.route("POST", "/v2/email/account/details")[0] == "PutAccountDetails"
    assert CODEC.route("GET", "/v2/email/configuration-sets/cs1/event-destinations") == (
        "GetConfigurationSetEventDestinations", {"ConfigurationSetName": "cs1"})


def test_every_operation_is_routed_from_its_own_request_uri():
    for name in MODEL.operation_names:
        http = MODEL.operation_model(name).http
        path = http["requestUri"].split("?")[0]
        for label in ("{EmailIdentity}", "{ConfigurationSetName}"):
            path = path.replace(label, "x")
        path = "/".join("x" if part.startswith("{") else part for part in path.split("/"))
        assert CODEC.route(http["method"], path)[0] == name


def test_a_trailing_slash_and_a_query_string_do_not_change_the_route():
    assert CODEC.route("GET", "/v2/email/account/")[0] == "GetAccount"
    assert CODEC.route("GET", "/v2/email/identities?PageSize=3")[0] == "ListEmailIdentities"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v2/email/no-such-thing"), ("PATCH", "/v2/email/account"), ("GET", "/"),
])
def test_an_unknown_route_is_an_unknown_operation_404(method, path):
    with pytest.raises(errors.InvalidAction) as caught:
        CODEC.route(method, path)
    assert caught.value.code_for("sesv2") == "UnknownOperationException"
    assert caught.value.status_for("sesv2") == 404


# --- requests ----------------------------------------------------------------------------------


def test_send_email_with_simple_content_and_attachments_parses_into_the_documented_input():
    params = {
        "FromEmailAddress": "sender@example.com",
        "Destination": {"ToAddresses": ["a@example.com"], "CcAddresses": ["b@example.com"]},
        "ReplyToAddresses": ["r@example.com"],
        "Content": {"Simple": {
            "Subject": {"Data": "Hello", "Charset": "UTF-8"},
            "Body": {"Text": {"Data": "text"}, "Html": {"Data": "<b>html</b>"}},
            "Attachments": [{"RawContent": b"%PDF-\x00\xff", "FileName": "a.pdf",
                             "ContentType": "application/pdf"}],
        }},
        "EmailTags": [{"Name": "k", "Value": "v"}],
        "ConfigurationSetName": "cs",
    }
    name, parsed = send("SendEmail", params)
    assert (name, parsed) == ("SendEmail", params)


def test_get_email_identity_takes_the_address_from_the_path():
    assert send("GetEmailIdentity", {"EmailIdentity": "user@example.com"}) == (
        "GetEmailIdentity", {"EmailIdentity": "user@example.com"})


def test_list_email_identities_reads_paging_from_the_query_string():
    params = {"PageSize": 10, "NextToken": "tok/+="}
    assert send("ListEmailIdentities", params) == ("ListEmailIdentities", params)


@pytest.mark.parametrize("operation", sorted({route[2] for route in ALTERNATE_ROUTES}))
def test_both_forms_of_a_moved_list_route_read_their_paging(operation):
    for form in ("query", "body"):
        name, parsed = send(operation, {"PageSize": 10, "NextToken": "tok/+="}, sdk_model(form))
        assert (name, parsed) == (operation, {"PageSize": 10, "NextToken": "tok/+="})
    path = next(uri for method, uri, op, _, _ in ALTERNATE_ROUTES if op == operation and method == "POST")
    body = b'{"PageSize": 5, "Filter": {"IdentityName": "example"}}'
    assert CODEC.parse(*CODEC.route("POST", path), [], {}, body, "POST") == {
        "PageSize": 5, "Filter": {"IdentityName": "example"}}


def test_put_account_details_parses_booleans_and_lists():
    params = {"MailType": "TRANSACTIONAL", "WebsiteURL": "https://example.com",
              "ContactLanguage": "EN", "UseCaseDescription": "receipts",
              "AdditionalContactEmailAddresses": ["ops@example.com"],
              "ProductionAccessEnabled": True}
    assert send("PutAccountDetails", params) == ("PutAccountDetails", params)


def test_list_suppressed_destinations_reads_lists_and_timestamps_from_the_query():
    params = {"Reasons": ["BOUNCE", "COMPLAINT"],
              "StartDate": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
              "EndDate": datetime(2024, 2, 3, 4, 5, 6, tzinfo=timezone.utc),
              "PageSize": 20}
    assert send("ListSuppressedDestinations", params) == ("ListSuppressedDestinations", params)


def test_a_missing_required_body_member_is_a_bad_request_naming_it():
    with pytest.raises(errors.ValidationError) as caught:
        CODEC.parse("PutAccountDetails", {}, [], {}, b'{"WebsiteURL": "https://x"}')
    assert caught.value.code_for("sesv2") == "BadRequestException"
    assert caught.value.message == (
        "1 validation error detected: Value null at 'mailType' failed to satisfy constraint: "
        "Member must not be null")


def test_a_missing_nested_member_names_its_path():
    body = orjson.dumps({"Content": {"Simple": {"Body": {}}}})
    with pytest.raises(errors.ValidationError) as caught:
        CODEC.parse("SendEmail", {}, [], {}, body)
    assert "'content.simple.subject'" in caught.value.message


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_a_validation_error(body):
    with pytest.raises(errors.ValidationError):
        CODEC.parse("PutAccountDetails", {}, [], {}, body)


@pytest.mark.parametrize(("body", "field"), [
    (b'{"MailType": "MARKETING", "WebsiteURL": 5}', "websiteURL"),
    (b'{"MailType": "MARKETING", "WebsiteURL": "u", "ProductionAccessEnabled": "yes"}',
     "productionAccessEnabled"),
])
def test_a_value_of_the_wrong_json_type_is_a_validation_error_naming_the_field(body, field):
    with pytest.raises(errors.ValidationError) as caught:
        CODEC.parse("PutAccountDetails", {}, [], {}, body)
    assert f"at '{field}'" in caught.value.message


def test_a_non_integer_page_size_in_the_query_is_a_validation_error():
    with pytest.raises(errors.ValidationError) as caught:
        CODEC.parse("ListEmailIdentities", {}, [("PageSize", "ten")], {}, b"")
    assert "Value 'ten' at 'pageSize'" in caught.value.message


def test_bad_base64_in_an_attachment_is_a_validation_error():
    body = orjson.dumps({"Content": {"Simple": {
        "Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}},
        "Attachments": [{"RawContent": "%%%", "FileName": "f"}]}}})
    with pytest.raises(errors.ValidationError) as caught:
        CODEC.parse("SendEmail", {}, [], {}, body)
    assert "content.simple.attachments.1.member.rawContent" in caught.value.message


def test_unknown_body_members_are_ignored():
    assert CODEC.parse("PutAccountDedicatedIpWarmupAttributes", {}, [], {},
                       b'{"AutoWarmupEnabled": true, "Future": 1}') == {"AutoWarmupEnabled": True}


# --- responses ---------------------------------------------------------------------------------


def test_every_sesv2_operation_of_the_installed_model_is_routed():
    assert len(MODEL.operation_names) >= 110  # 110 in botocore 1.43, more in newer ones
    for name in MODEL.operation_names:
        op = MODEL.operation_model(name)
        path = op.http["requestUri"].split("?")[0].replace("+}", "}")
        for label in [p[1:-1] for p in path.split("/") if p.startswith("{")]:
            path = path.replace("{" + label + "}", "x")
        assert CODEC.route(op.http["method"], path)[0] == name


@pytest.mark.parametrize("operation", MODEL.operation_names)
def test_every_response_parses_into_the_documented_shape(operation):
    shape = MODEL.operation_model(operation).output_shape
    output = fabricate(shape, [0]) if shape is not None else {}
    status, headers, body = CODEC.serialize(operation, output)
    parsed = parse_response(operation, status, headers, body)
    parsed.pop("ResponseMetadata")
    assert parsed == output


def test_timestamps_are_sent_as_epoch_seconds_and_blobs_as_base64():
    moment = datetime(2024, 5, 1, 0, 0, 1, 500000, tzinfo=timezone.utc)
    _, _, body = CODEC.serialize("GetDomainStatisticsReport", {
        "OverallVolume": {}, "DailyVolumes": [{"StartDate": moment}]})
    assert json.loads(body)["DailyVolumes"][0]["StartDate"] == moment.timestamp()
    _, _, body = CODEC.serialize("GetEmailTemplate", {"TemplateName": "t",
                                                      "TemplateContent": {"Subject": "s"}})
    assert json.loads(body) == {"TemplateName": "t", "TemplateContent": {"Subject": "s"}}


def test_an_operation_with_an_empty_output_answers_an_empty_object():
    assert CODEC.serialize("DeleteEmailIdentity", {}) == (
        200, [(b"content-type", b"application/json")], b"{}")


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("error", "code", "status"), [
    (errors.MessageRejected("Email address is not verified."), "MessageRejected", 400),
    (errors.NotFound("Identity x does not exist."), "NotFoundException", 404),
    (errors.Throttling("Maximum sending rate exceeded."), "TooManyRequestsException", 429),
    (errors.ValidationError("1 validation error detected"), "BadRequestException", 400),
    (errors.InvalidAction("Unknown operation"), "UnknownOperationException", 404),
])
def test_errors_parse_back_into_their_code_and_message(error, code, status):
    got_status, headers, body = CODEC.serialize_error(error, "rid-7")
    parsed = parse_response("SendEmail", got_status, headers, body)
    assert got_status == status
    assert parsed["Error"] == {"Code": code, "Message": error.message}
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-7"


def test_a_modeled_error_code_maps_to_the_client_exception_class():
    client = SESSION.create_client("sesv2", region_name="us-east-1",
                                   aws_access_key_id="a", aws_secret_access_key="b")
    status, headers, body = CODEC.serialize_error(errors.MessageRejected("no"), "r")
    code = parse_response("SendEmail", status, headers, body)["Error"]["Code"]
    assert client.exceptions.from_code(code) is client.exceptions.MessageRejected
