"""AWS Signature Version 4: read what a request claims about its signature, then check it.

Sans-I/O. `parse_signature` reads the `Authorization` header (or the presigned `X-Amz-*` query
parameters) and fails on malformed input; the caller then looks up the secret for
`credential.access_key_id` and calls `SigV4Verifier.verify`, which checks the clock, the
credential scope and the signature itself.

The canonical request is built the way botocore's `SigV4Auth` builds it for non-S3 services, so
anything boto3 or the AWS CLI sign verifies here. Error codes and messages are those AWS returns;
the observed wire text is quoted next to each one.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote

from openses.errors import (
    IncompleteSignature,
    MissingAuthenticationToken,
    RequestExpired,
    SignatureDoesNotMatch,
)

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# botocore's presigner rejects more than a week; AWS answers the same for longer presigned URLs.
MAX_PRESIGN_EXPIRES = 604800

MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)

# Parameters of the Authorization header, in the order AWS lists them when they are missing.
_HEADER_PARAMS = ("Credential", "Signature", "SignedHeaders")
_QUERY_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
_QUERY_MARKERS = frozenset(("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"))
# AWS percent-encoding (SigV4 "UriEncode"): only A-Z a-z 0-9 - _ . ~ stay literal.
_UNRESERVED = "-_.~"
_SIGNING_KEY_CACHE_SIZE = 1024


@dataclass
class Credential:
    access_key_id: str
    date: str
    region: str
    service: str


@dataclass
class SignedRequest:
    credential: Credential
    amz_date: str
    signed_headers: tuple[str, ...]
    signature: str
    presigned: bool


# --- parsing --------------------------------------------------------------------------------


def parse_signature(headers: Mapping[str, str], query: list[tuple[str, str]]) -> SignedRequest:
    """Read the SigV4 claim from `headers` (lowercase keys) or, failing that, the query string."""
    authorization = headers.get("authorization")
    if authorization is not None:
        return _parse_authorization_header(authorization, headers)
    params = {key: value for key, value in query if key.startswith("X-Amz-")}
    if _QUERY_MARKERS.isdisjoint(params):
        raise MissingAuthenticationToken("Request is missing Authentication Token")
    return _parse_presigned_query(params)


def _parse_authorization_header(authorization: str, headers: Mapping[str, str]) -> SignedRequest:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        if algorithm.startswith("AWS4-"):
            raise IncompleteSignature(
                f"Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now). "
            )
        rest = ""  # not SigV4 at all (a bearer token, SigV2): every parameter is missing
    params = _authorization_params(rest, authorization)
    amz_date = _date_from_headers(headers)
    missing = [
        f"Authorization header requires '{name}' parameter. "
        for name in _HEADER_PARAMS
        if not params.get(name) and not (name == "SignedHeaders" and name in params)
    ]
    if amz_date is None:
        missing.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        )
    if missing or amz_date is None:  # no date: `missing` says so
        raise IncompleteSignature("".join(missing) + f"Authorization={authorization}")
    return _signed_request(
        params["Credential"], amz_date, params["SignedHeaders"], params["Signature"], False
    )


def _authorization_params(rest: str, authorization: str) -> dict[str, str]:
    # AWS accepts "k=v, k=v" and "k=v,k=v" alike.
    params: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, equals, value = part.partition("=")
        if not equals:
            raise IncompleteSignature(
                f"'{key}' not a valid key=value pair (missing equal-sign) in Authorization "
                f"header: '{authorization}'."
            )
        params[key] = value
    return params


def _date_from_headers(headers: Mapping[str, str]) -> str | None:
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        return amz_date
    http_date = headers.get("date")
    if http_date is None:
        return None
    # SigV4 allows an RFC 7231 Date header instead; the string to sign uses its ISO 8601 form.
    try:
        parsed = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return http_date  # rejected by the ISO 8601 check with AWS's message
    return _amz_date(calendar.timegm(parsed.utctimetuple()))


def _parse_presigned_query(params: Mapping[str, str]) -> SignedRequest:
    for name in _QUERY_PARAMS:
        if not params.get(name) and not (name == "X-Amz-SignedHeaders" and name in params):
            raise IncompleteSignature(
                f"AWS query-string parameters must include '{name}'. "
                "Re-examine the query-string parameters."
            )
    algorithm = params["X-Amz-Algorithm"]
    if algorithm != ALGORITHM:
        raise IncompleteSignature(
            f"Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now). "
        )
    return _signed_request(
        params["X-Amz-Credential"],
        params["X-Amz-Date"],
        params["X-Amz-SignedHeaders"],
        params["X-Amz-Signature"],
        True,
    )


def _signed_request(
    credential: str, amz_date: str, signed_headers: str, signature: str, presigned: bool
) -> SignedRequest:
    _check_amz_date(amz_date)
    names = tuple(signed_headers.split(";")) if signed_headers else ()
    if "host" not in names:
        raise SignatureDoesNotMatch("'Host' must be a 'SignedHeader' in the AWS Authorization.")
    return SignedRequest(
        credential=_parse_credential(credential),
        amz_date=amz_date,
        signed_headers=names,
        signature=signature,
        presigned=presigned,
    )


def _parse_credential(value: str) -> Credential:
    parts = value.split("/")
    if len(parts) != 5:
        raise IncompleteSignature(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{value}'"
        )
    access_key_id, date, region, service, terminator = parts
    if terminator != TERMINATOR:
        raise SignatureDoesNotMatch(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{terminator}'. "
        )
    return Credential(access_key_id=access_key_id, date=date, region=region, service=service)


def _check_amz_date(amz_date: str) -> None:
    # ISO 8601 basic format, always UTC: YYYYMMDD'T'HHMMSS'Z'.
    try:
        well_formed = (
            len(amz_date) == 16
            and amz_date.isascii()
            and amz_date[8] == "T"
            and amz_date[15] == "Z"
            and amz_date[:8].isdigit()
            and amz_date[9:15].isdigit()
            and _epoch(amz_date) >= 0
        )
    except ValueError:  # a month or hour out of range
        well_formed = False
    if not well_formed:
        raise IncompleteSignature(
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601"
        )


# --- verification ---------------------------------------------------------------------------


class SigV4Verifier:
    """Checks a parsed `SignedRequest` against the secret key; one instance serves all requests."""

    def __init__(
        self, clock: Callable[[], float] = time.time, max_skew_seconds: int = 900
    ) -> None:
        self._clock = clock
        self._max_skew = max_skew_seconds
        self._signing_keys: dict[tuple[str, str, str, str], bytes] = {}

    def verify(
        self,
        req: SignedRequest,
        *,
        secret_key: str,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body_sha256: str | None,
        body: bytes,
        expected_region: str,
        expected_services: tuple[str, ...],
    ) -> None:
        """Raise unless `req` was signed with `secret_key` over exactly this request.

        `path` is the raw, still percent-encoded path (ASGI `raw_path`, not `path`); `query` is
        the decoded pairs in any order; a header sent several times is joined with ",".
        """
        self._check_time(req, query)
        _check_scope(req, expected_region, expected_services)
        payload_hash = _payload_hash(body_sha256, body)
        canonical = _canonical_request(req, method, path, query, headers, payload_hash)
        string_to_sign = "\n".join(
            (
                ALGORITHM,
                req.amz_date,
                _scope(req.credential),
                hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
            )
        )
        key = self._signing_key(secret_key, req.credential)
        expected = hmac.digest(key, string_to_sign.encode("utf-8"), "sha256").hex()
        # isascii first: compare_digest refuses non-ASCII str, and a forged header may hold any.
        if not (req.signature.isascii() and hmac.compare_digest(expected, req.signature)):
            raise SignatureDoesNotMatch(MISMATCH_MESSAGE)

    def _check_time(self, req: SignedRequest, query: list[tuple[str, str]]) -> None:
        # Real SES sends these with code SignatureDoesNotMatch (v1, e.g. aws/aws-sdk-php#1669:
        # "Signature expired: 20181107T003842Z is now earlier than 20181107T005054Z
        # (20181107T005554Z - 5 min.)") and InvalidSignatureException (rest-json). We keep the
        # exact message and raise RequestExpired, whose v2 code is InvalidSignatureException.
        now = self._clock()
        signed_at = _epoch(req.amz_date)
        minutes = self._max_skew // 60
        if signed_at > now + self._max_skew:
            raise RequestExpired(
                f"Signature not yet current: {req.amz_date} is still later than "
                f"{_amz_date(now + self._max_skew)} ({_amz_date(now)} + {minutes} min.)"
            )
        if req.presigned:
            if now > signed_at + _presign_expires(query):
                raise RequestExpired("Request has expired")
        elif signed_at < now - self._max_skew:
            raise RequestExpired(
                f"Signature expired: {req.amz_date} is now earlier than "
                f"{_amz_date(now - self._max_skew)} ({_amz_date(now)} - {minutes} min.)"
            )

    def _signing_key(self, secret_key: str, credential: Credential) -> bytes:
        # The key depends only on (secret, day, region, service), so one HMAC replaces four.
        cache_key = (secret_key, credential.date, credential.region, credential.service)
        key = self._signing_keys.get(cache_key)
        if key is None:
            key = derive_signing_key(
                secret_key, credential.date, credential.region, credential.service
            )
            if len(self._signing_keys) >= _SIGNING_KEY_CACHE_SIZE:
                # Clearing beats LRU bookkeeping: live keys come back after one miss each.
                self._signing_keys.clear()
            self._signing_keys[cache_key] = key
        return key


def derive_signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC chain over date, region, service and "aws4_request" (SigV4 task 3)."""
    key = ("AWS4" + secret_key).encode("utf-8")
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def _check_scope(
    req: SignedRequest, expected_region: str, expected_services: tuple[str, ...]
) -> None:
    # AWS reports every scope problem at once, in this order, in one message.
    credential = req.credential
    problems: list[str] = []
    if credential.region != expected_region:
        problems.append(
            f"Credential should be scoped to a valid region, not '{credential.region}'. "
        )
    if credential.service not in expected_services:
        problems.append(
            f"Credential should be scoped to correct service: '{expected_services[0]}'. "
        )
    if credential.date != req.amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            f"HTTP: '{credential.date}' != '{req.amz_date[:8]}', from '{req.amz_date}'."
        )
    if problems:
        raise SignatureDoesNotMatch("".join(problems))


def _presign_expires(query: Iterable[tuple[str, str]]) -> int:
    for key, value in query:
        if key == "X-Amz-Expires":
            if not value.isdigit():
                raise IncompleteSignature("X-Amz-Expires should be a number")
            expires = int(value)
            if expires > MAX_PRESIGN_EXPIRES:
                raise IncompleteSignature(
                    "X-Amz-Expires must be less than a week (in seconds) that is 604800"
                )
            return expires
    return MAX_PRESIGN_EXPIRES


def _payload_hash(body_sha256: str | None, body: bytes) -> str:
    # botocore signs the x-amz-content-sha256 header's value when the header is there, and for
    # every SES/STS operation that value is the body's hash. Signing the hash of the body we
    # actually received, never the header's claim, keeps a valid signature from carrying a
    # swapped body, and refuses UNSIGNED-PAYLOAD (S3 only) without a special case.
    return body_sha256 if body_sha256 is not None else hashlib.sha256(body).hexdigest()


# --- canonical request (SigV4 task 1) --------------------------------------------------------


def _canonical_request(
    req: SignedRequest,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: Mapping[str, str],
    payload_hash: str,
) -> str:
    return "\n".join(
        (
            method.upper(),
            canonical_path(path),
            canonical_query(query, drop_signature=req.presigned),
            _canonical_headers(req.signed_headers, headers),
            "",  # the header block ends with its own newline
            ";".join(req.signed_headers),
            payload_hash,
        )
    )


def canonical_path(raw_path: str) -> str:
    """Dot segments and empty segments removed, then percent-encoded again (non-S3 services).

    The path arrives percent-encoded, so "%40" becomes "%2540": AWS, and botocore, sign the
    path encoded twice for every service but S3.
    """
    # Clients call a few paths over and over; a long one is not kept (the cache's memory stays small).
    return _canonical_path_cached(raw_path) if len(raw_path) <= 256 else _canonical_path(raw_path)


def _canonical_path(raw_path: str) -> str:
    if not raw_path:
        return "/"
    if "//" in raw_path or "/." in raw_path or raw_path[0] != "/":
        raw_path = _remove_dot_segments(raw_path)
    return quote(raw_path, safe="/~")


_canonical_path_cached = lru_cache(maxsize=1024)(_canonical_path)


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 §5.2.4, plus the AWS rule that consecutive slashes collapse into one.
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    leading = "/" if path.startswith("/") else ""
    trailing = "/" if path.endswith("/") and segments else ""
    return leading + "/".join(segments) + trailing


def canonical_query(query: list[tuple[str, str]], *, drop_signature: bool = False) -> str:
    """Pairs AWS-percent-encoded, then sorted by encoded key and, for repeated keys, value."""
    if not query:
        return ""
    encoded = sorted(
        (quote(key, safe=_UNRESERVED), quote(value, safe=_UNRESERVED))
        for key, value in query
        if not (drop_signature and key == "X-Amz-Signature")
    )
    return "&".join([f"{key}={value}" for key, value in encoded])


def _canonical_headers(names: tuple[str, ...], headers: Mapping[str, str]) -> str:
    lines = []
    for name in names:
        value = headers.get(name)
        if value is None:
            raise SignatureDoesNotMatch(MISMATCH_MESSAGE)  # signed a header it did not send
        # Trimall: strip the ends and collapse inner runs of whitespace to one space.
        lines.append(f"{name}:{' '.join(value.split())}")
    return "\n".join(lines)


def _scope(credential: Credential) -> str:
    return f"{credential.date}/{credential.region}/{credential.service}/{TERMINATOR}"


@lru_cache(maxsize=64)  # each request reads it twice, and the sends of one second share it
def _epoch(amz_date: str) -> int:
    return calendar.timegm(
        (
            int(amz_date[0:4]),
            int(amz_date[4:6]),
            int(amz_date[6:8]),
            int(amz_date[9:11]),
            int(amz_date[11:13]),
            int(amz_date[13:15]),
        )
    )


def _amz_date(epoch: float) -> str:
    return time.strftime(AMZ_DATE_FORMAT, time.gmtime(epoch))
