"""SigV4 verification against requests signed by botocore's own signers."""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import botocore.session
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from openses.errors import (
    IncompleteSignature,
    MissingAuthenticationToken,
    RequestExpired,
    SignatureDoesNotMatch,
)
from openses.protocol.sigv4 import (
    MISMATCH_MESSAGE,
    Credential,
    SignedRequest,
    SigV4Verifier,
    canonical_path,
    parse_signature,
)

ENDPOINT = "http://localhost:8025"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CREDENTIALS = Credentials(ACCESS_KEY, SECRET)
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@dataclasses.dataclass(frozen=True)
class Received:
    """A request as the server sees it: raw path, decoded query pairs, lowercase headers."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    @property
    def signed_at(self) -> float:
        amz_date = self.headers.get("x-amz-date") or dict(self.query)["X-Amz-Date"]
        return calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))

    def with_header(self, name: str, value: str) -> Received:
        return dataclasses.replace(self, headers={**self.headers, name: value})


def receive(request: AWSRequest) -> Received:
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    headers = {name.lower(): value for name, value in prepared.headers.items()}
    headers.setdefault("host", url.netloc)  # what an HTTP client puts on the wire
    body = prepared.body or b""
    return Received(
        method=prepared.method,
        path=url.path,
        query=parse_qsl(url.query, keep_blank_values=True),
        headers=headers,
        body=body.encode() if isinstance(body, str) else body,
    )


def signed(
    method: str,
    path: str,
    *,
    service: str = "ses",
    region: str = "us-east-1",
    data: str | bytes | None = None,
    params: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Received:
    request = AWSRequest(
        method=method, url=ENDPOINT + path, data=data, params=params, headers=headers or {}
    )
    SigV4Auth(CREDENTIALS, service, region).add_auth(request)
    return receive(request)


def presigned(path: str, params: list[tuple[str, str]], *, expires: int = 3600) -> Received:
    request = AWSRequest(method="GET", url=ENDPOINT + path, params=params)
    SigV4QueryAuth(CREDENTIALS, "ses", "us-east-1", expires=expires).add_auth(request)
    return receive(request)


def verify(
    received: Received,
    *,
    secret: str = SECRET,
    region: str = "us-east-1",
    services: tuple[str, ...] = ("ses",),
    clock: Callable[[], float] | None = None,
    body_sha256: str | None = None,
) -> None:
    req = parse_signature(received.headers, received.query)
    verifier = SigV4Verifier(clock=clock or (lambda: received.signed_at))
    verifier.verify(
        req,
        secret_key=secret,
        method=received.method,
        path=received.path,
        query=received.query,
        headers=received.headers,
        body_sha256=body_sha256,
        body=received.body,
        expected_region=region,
        expected_services=services,
    )


def send_email_form() -> Received:
    body = (
        "Action=SendEmail&Version=2010-12-01&Source=sender%40example.com"
        "&Destination.ToAddresses.member.1=to%40example.com"
        "&Message.Subject.Data=Hello%20world&Message.Body.Text.Data=Hi%21"
    )
    return signed("POST", "/", data=body, headers=FORM)


# --- signatures botocore makes are accepted -----------------------------------------------


def test_signature_passes_for_a_ses_query_form_post():
    verify(send_email_form())


def test_signature_passes_for_an_sts_query_form_post():
    received = signed(
        "POST",
        "/",
        service="sts",
        data="Action=GetCallerIdentity&Version=2011-06-15",
        headers=FORM,
    )
    verify(received, services=("sts",))


def test_signature_passes_when_the_caller_passes_the_body_hash():
    received = send_email_form()
    verify(received, body_sha256=hashlib.sha256(received.body).hexdigest())


@pytest.mark.parametrize(
    "params",
    [
        [("Filter", "a b"), ("Plus", "1+1=2"), ("Slash", "a/b/c")],
        [("Name", "J\u00fcrgen \u2603 \U0001f4e7"), ("\u00e9", "key")],
        [("Tag", "b"), ("Tag", "a"), ("Tag", "a")],
        [("Empty", ""), ("Flag", ""), ("NextToken", "abc==")],
        [("~tilde-._", "*'()!@#$%^&;:,?")],
    ],
    ids=["spaces-plus-slash", "unicode", "repeated-keys", "empty-values", "reserved"],
)
def test_signature_passes_for_a_get_with_query_string(params):
    verify(signed("GET", "/v2/email/identities", params=params))


@pytest.mark.parametrize(
    "path",
    [
        "/v2/email/identities/user%40example.com",
        "/v2/email/templates/My%20Template/render",
        "/v2/email/identities/a%2Fb",
        "/v2/email/contact-lists/list%C3%A9/contacts",
        "/",
    ],
)
def test_signature_passes_for_a_rest_json_path_with_percent_encoded_segments(path):
    received = signed(
        "PUT",
        path,
        data=b'{"Enabled": true}',
        headers={"Content-Type": "application/json"},
    )
    verify(received)


def test_signature_passes_for_a_path_botocore_normalizes_dot_segments_in():
    verify(signed("GET", "/v2/email/./identities//x/../user%40example.com"))


def test_signature_passes_when_signed_header_values_have_runs_of_spaces():
    verify(signed("POST", "/", data="Action=X", headers={**FORM, "X-Custom": "  a   b  c "}))


def test_signature_passes_when_the_content_sha256_header_matches_the_body():
    body = b"Action=ListIdentities"
    headers = {**FORM, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    verify(signed("POST", "/", data=body, headers=headers))


def test_signature_passes_for_a_session_token():
    request = AWSRequest(method="POST", url=ENDPOINT + "/", data="Action=X", headers=dict(FORM))
    SigV4Auth(Credentials(ACCESS_KEY, SECRET, "token/+="), "ses", "us-east-1").add_auth(request)
    received = receive(request)
    assert received.headers["x-amz-security-token"] == "token/+="
    verify(received)


def test_signature_passes_for_a_botocore_presigned_url():
    received = presigned("/", [("Action", "GetSendQuota"), ("Version", "2010-12-01")])
    req = parse_signature(received.headers, received.query)
    assert req.presigned
    verify(received)


class _Captured(Exception):
    def __init__(self, request: object) -> None:
        super().__init__("captured")
        self.request = request


def _sent_by_client(service: str, call: Callable[[object], object]) -> Received:
    session = botocore.session.get_session()
    client = session.create_client(
        service,
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
    )

    def capture(request: object, **_: object) -> None:
        raise _Captured(request)

    client.meta.events.register("before-send", capture)
    with pytest.raises(_Captured) as captured:
        call(client)
    prepared = captured.value.request
    url = urlsplit(prepared.url)
    headers = {
        k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()
    }
    headers.setdefault("host", url.netloc)
    body = prepared.body or b""
    return Received(
        prepared.method,
        url.path,
        parse_qsl(url.query, keep_blank_values=True),
        headers,
        body.encode() if isinstance(body, str) else body,
    )


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("ses", lambda c: c.send_email(
            Source="a@example.com",
            Destination={"ToAddresses": ["b@example.com"]},
            Message={"Subject": {"Data": "Hi \u2603"}, "Body": {"Text": {"Data": "x + y"}}},
        )),
        ("sesv2", lambda c: c.get_email_identity(EmailIdentity="user+tag@example.com")),
        ("sesv2", lambda c: c.list_email_identities(PageSize=5, NextToken="a/b+c= d")),
        ("sts", lambda c: c.get_caller_identity()),
    ],
    ids=["ses-send-email", "sesv2-path-label", "sesv2-query", "sts"],
)
def test_signature_passes_for_what_a_botocore_client_sends(service, call):
    received = _sent_by_client(service, call)
    verify(received, services=("sts",) if service == "sts" else ("ses",))


# --- tampering fails ----------------------------------------------------------------------


def _assert_mismatch(received: Received, **kwargs: object) -> None:
    with pytest.raises(SignatureDoesNotMatch) as raised:
        verify(received, **kwargs)  # type: ignore[arg-type]
    assert raised.value.message == MISMATCH_MESSAGE


def test_signature_fails_when_body_is_tampered():
    received = send_email_form()
    _assert_mismatch(dataclasses.replace(received, body=received.body.replace(b"Hi", b"Ho")))


def test_signature_fails_when_the_passed_body_hash_is_of_another_body():
    _assert_mismatch(send_email_form(), body_sha256=hashlib.sha256(b"other").hexdigest())


def test_signature_fails_when_content_sha256_header_does_not_match_the_body():
    body = b"Action=ListIdentities"
    headers = {**FORM, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    received = signed("POST", "/", data=body, headers=headers)
    _assert_mismatch(dataclasses.replace(received, body=b"Action=DeleteIdentity"))


def test_signature_fails_for_an_unsigned_payload():
    headers = {**FORM, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    received = signed("POST", "/", data="Action=X", headers=headers)
    _assert_mismatch(received)


def test_signature_fails_when_a_signed_header_is_tampered():
    _assert_mismatch(send_email_form().with_header("content-type", "text/plain"))


def test_signature_fails_when_the_host_header_is_tampered():
    _assert_mismatch(send_email_form().with_header("host", "evil.example.com"))


def test_signature_fails_when_a_signed_header_is_missing():
    received = send_email_form()
    headers = {k: v for k, v in received.headers.items() if k != "content-type"}
    _assert_mismatch(dataclasses.replace(received, headers=headers))


def test_signature_still_passes_when_an_unsigned_header_changes():
    verify(send_email_form().with_header("user-agent", "something else"))


@pytest.mark.parametrize(
    "query",
    [
        [("Filter", "a b"), ("Plus", "1 1=2")],
        [("Filter", "a b")],
        [("Filter", "a b"), ("Plus", "1+1=2"), ("Extra", "")],
    ],
)
def test_signature_fails_when_the_query_is_tampered(query):
    received = signed("GET", "/v2/email/identities", params=[("Filter", "a b"), ("Plus", "1+1=2")])
    _assert_mismatch(dataclasses.replace(received, query=query))


def test_signature_fails_when_the_method_is_tampered():
    _assert_mismatch(dataclasses.replace(send_email_form(), method="PUT"))


def test_signature_fails_when_the_path_is_tampered():
    received = signed("GET", "/v2/email/identities/user%40example.com")
    _assert_mismatch(dataclasses.replace(received, path="/v2/email/identities/user%40example.org"))


def test_signature_fails_when_the_path_is_passed_decoded_instead_of_raw():
    received = signed("GET", "/v2/email/identities/user%40example.com")
    _assert_mismatch(dataclasses.replace(received, path="/v2/email/identities/user@example.com"))


def test_signature_fails_when_the_secret_is_wrong():
    _assert_mismatch(send_email_form(), secret=SECRET[:-1] + "X")


def test_signature_fails_when_the_signature_is_not_ascii():
    received = send_email_form()
    auth = received.headers["authorization"]
    forged = auth[: auth.index("Signature=") + 10] + "\u00e9" * 64
    _assert_mismatch(received.with_header("authorization", forged))


def test_presigned_signature_fails_when_a_parameter_is_tampered():
    received = presigned("/", [("Action", "GetSendQuota")])
    query = [(k, "DeleteIdentity" if k == "Action" else v) for k, v in received.query]
    _assert_mismatch(dataclasses.replace(received, query=query))


# --- scope ----------------------------------------------------------------------------------


def test_signature_fails_when_scoped_to_another_region():
    received = signed("POST", "/", region="us-west-2", data="Action=X", headers=FORM)
    with pytest.raises(SignatureDoesNotMatch) as raised:
        verify(received, region="us-east-1")
    assert raised.value.message == (
        "Credential should be scoped to a valid region, not 'us-west-2'. "
    )


def test_signature_fails_when_scoped_to_another_service():
    received = signed("POST", "/", service="sqs", data="Action=X", headers=FORM)
    with pytest.raises(SignatureDoesNotMatch) as raised:
        verify(received, services=("ses",))
    assert raised.value.message == "Credential should be scoped to correct service: 'ses'. "


def test_scope_errors_are_reported_together():
    received = signed("POST", "/", service="sqs", region="eu-west-1", data="Action=X", headers=FORM)
    with pytest.raises(SignatureDoesNotMatch) as raised:
        verify(received)
    assert raised.value.message == (
        "Credential should be scoped to a valid region, not 'eu-west-1'. "
        "Credential should be scoped to correct service: 'ses'. "
    )


def test_signature_fails_when_the_scope_date_is_not_the_request_day():
    received = send_email_form()
    amz_date = received.headers["x-amz-date"]
    auth = received.headers["authorization"].replace(f"/{amz_date[:8]}/", "/19990101/")
    with pytest.raises(SignatureDoesNotMatch) as raised:
        verify(received.with_header("authorization", auth))
    assert raised.value.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        f"HTTP: '19990101' != '{amz_date[:8]}', from '{amz_date}'."
    )


def test_signature_fails_when_the_terminator_is_wrong():
    received = send_email_form()
    auth = received.headers["authorization"].replace("/aws4_request", "/aws5_request")
    expected = "valid terminator: 'aws4_request', not 'aws5_request'"
    with pytest.raises(SignatureDoesNotMatch, match=expected):
        parse_signature(received.with_header("authorization", auth).headers, [])


# --- time -----------------------------------------------------------------------------------


def test_request_expired_when_signed_more_than_the_skew_ago():
    received = send_email_form()
    with pytest.raises(RequestExpired) as raised:
        verify(received, clock=lambda: received.signed_at + 901)
    amz_date = received.headers["x-amz-date"]
    assert raised.value.message.startswith(f"Signature expired: {amz_date} is now earlier than ")
    assert raised.value.message.endswith(" - 15 min.)")


def test_request_expired_when_signed_more_than_the_skew_ahead():
    received = send_email_form()
    with pytest.raises(RequestExpired) as raised:
        verify(received, clock=lambda: received.signed_at - 901)
    assert raised.value.message.startswith("Signature not yet current: ")
    assert raised.value.message.endswith(" + 15 min.)")


def test_expired_message_names_both_instants():
    received = send_email_form()
    now = calendar.timegm((2024, 1, 1, 0, 30, 0))
    verifier = SigV4Verifier(clock=lambda: now, max_skew_seconds=300)
    req = dataclasses.replace(
        parse_signature(received.headers, []), amz_date="20240101T000000Z"
    )
    with pytest.raises(RequestExpired) as raised:
        verifier.verify(
            req, secret_key=SECRET, method="POST", path="/", query=[], headers=received.headers,
            body_sha256=None, body=received.body, expected_region="us-east-1",
            expected_services=("ses",),
        )
    assert raised.value.message == (
        "Signature expired: 20240101T000000Z is now earlier than 20240101T002500Z "
        "(20240101T003000Z - 5 min.)"
    )


@pytest.mark.parametrize("offset", [-900, -1, 0, 1, 900])
def test_signature_passes_within_the_skew_either_way(offset):
    received = send_email_form()
    verify(received, clock=lambda: received.signed_at + offset)


def test_presigned_url_passes_until_it_expires_then_fails():
    received = presigned("/", [("Action", "GetSendQuota")], expires=60)
    verify(received, clock=lambda: received.signed_at + 60)
    with pytest.raises(RequestExpired):
        verify(received, clock=lambda: received.signed_at + 61)


def test_presigned_url_with_expires_over_a_week_is_refused():
    received = presigned("/", [("Action", "GetSendQuota")])
    query = [(k, "604801" if k == "X-Amz-Expires" else v) for k, v in received.query]
    with pytest.raises(IncompleteSignature):
        verify(dataclasses.replace(received, query=query))


# --- parsing --------------------------------------------------------------------------------


def test_parse_reads_every_part_of_the_authorization_header():
    received = send_email_form()
    req = parse_signature(received.headers, [])
    amz_date = received.headers["x-amz-date"]
    assert req == SignedRequest(
        credential=Credential(ACCESS_KEY, amz_date[:8], "us-east-1", "ses"),
        amz_date=amz_date,
        signed_headers=("content-type", "host", "x-amz-date"),
        signature=received.headers["authorization"].rsplit("=", 1)[1],
        presigned=False,
    )


def test_parse_accepts_commas_without_spaces():
    received = send_email_form()
    compact = received.headers["authorization"].replace(", ", ",")
    verify(received.with_header("authorization", compact))


def test_missing_authentication_when_there_is_no_auth_at_all():
    with pytest.raises(MissingAuthenticationToken) as raised:
        parse_signature({"host": "localhost"}, [("Action", "SendEmail")])
    assert raised.value.message == "Request is missing Authentication Token"


def test_incomplete_signature_lists_every_missing_parameter():
    auth = "AWS4-HMAC-SHA256 SignedHeaders=host"
    with pytest.raises(IncompleteSignature) as raised:
        parse_signature({"authorization": auth}, [])
    assert raised.value.message == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={auth}"
    )


def test_incomplete_signature_for_a_bearer_token():
    with pytest.raises(IncompleteSignature) as raised:
        parse_signature({"authorization": "Bearer abc", "x-amz-date": "20240101T000000Z"}, [])
    assert raised.value.message == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization=Bearer abc"
    )


SIGNED_HOST = "SignedHeaders=host, Signature=x"


@pytest.mark.parametrize(
    ("authorization", "amz_date", "message"),
    [
        (
            "AWS4-HMAC-SHA1 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=x",
            "20240101T000000Z",
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1' (only AWS4-HMAC-SHA256 for now). ",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ses, {SIGNED_HOST}",
            "20240101T000000Z",
            "Credential must have exactly 5 slash-delimited elements, "
            "e.g. keyid/date/region/service/term, got 'AKID/20240101/us-east-1/ses'",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, {SIGNED_HOST}",
            "2024-01-01T00:00:00Z",
            "Date must be in ISO-8601 'basic format'. Got '2024-01-01T00:00:00Z'. "
            "See http://en.wikipedia.org/wiki/ISO_8601",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=a/20241301/r/s/aws4_request, {SIGNED_HOST}",
            "20241301T000000Z",
            "Date must be in ISO-8601 'basic format'. Got '20241301T000000Z'. "
            "See http://en.wikipedia.org/wiki/ISO_8601",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders, Signature=x",
            "20240101T000000Z",
            "'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization "
            "header: 'AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders, "
            "Signature=x'.",
        ),
    ],
    ids=["algorithm", "credential-parts", "date-format", "date-month", "missing-equals"],
)
def test_incomplete_signature_for_a_malformed_header(authorization, amz_date, message):
    with pytest.raises(IncompleteSignature) as raised:
        parse_signature({"authorization": authorization, "x-amz-date": amz_date}, [])
    assert raised.value.message == message


def test_host_must_be_a_signed_header():
    auth = (
        "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, "
        "SignedHeaders=x-amz-date, Signature=x"
    )
    with pytest.raises(SignatureDoesNotMatch, match="'Host' must be a 'SignedHeader'"):
        parse_signature({"authorization": auth, "x-amz-date": "20240101T000000Z"}, [])


def test_presigned_query_missing_a_parameter_is_incomplete():
    received = presigned("/", [("Action", "GetSendQuota")])
    query = [(k, v) for k, v in received.query if k != "X-Amz-Credential"]
    with pytest.raises(IncompleteSignature, match="must include 'X-Amz-Credential'"):
        parse_signature(received.headers, query)


def test_the_date_header_stands_in_for_x_amz_date():
    request = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data="Action=X",
        headers={**FORM, "Date": "Mon, 01 Jan 2024 00:00:00 GMT"},
    )
    SigV4Auth(CREDENTIALS, "ses", "us-east-1").add_auth(request)
    received = receive(request)
    assert "x-amz-date" not in received.headers
    req = parse_signature(received.headers, [])
    verify(received, clock=lambda: calendar.timegm(time.strptime(req.amz_date, "%Y%m%dT%H%M%SZ")))


def test_canonical_path_encodes_an_already_encoded_path_again():
    assert canonical_path("/v2/email/identities/user%40example.com") == (
        "/v2/email/identities/user%2540example.com"
    )
    assert canonical_path("") == "/"
    assert canonical_path("/a//b/./c/../d/") == "/a/b/d/"


def test_a_long_path_is_made_canonical_as_a_short_one():
    # Short paths are remembered (clients repeat them); long ones, which could fill memory, are not.
    tail = "/x%40y/./z"
    assert canonical_path("/a" * 200 + tail) == "/a" * 200 + "/x%2540y/z"
    assert canonical_path("/a" * 5 + tail) == "/a" * 5 + "/x%2540y/z"
    assert canonical_path("/a" * 5 + tail) == "/a" * 5 + "/x%2540y/z"  # from the cache


def test_signing_key_cache_stays_bounded():
    verifier = SigV4Verifier()
    for day in range(2000):
        verifier._signing_key(SECRET, Credential(ACCESS_KEY, f"{day:08d}", "r", "ses"))
    assert len(verifier._signing_keys) <= 1024


# --- property -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=6))
def test_any_query_pairs_round_trip_through_botocore_signing(pairs):
    received = signed("GET", "/v2/email/identities", params=pairs)
    assert sorted(received.query) == sorted(pairs)
    verify(received)
