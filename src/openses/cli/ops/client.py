"""The one module creating boto3 clients; botocore's exceptions become one line here and nowhere else.

`connect(profile)` gives a `Connection` whose `call("ses"|"sesv2"|"sts", "OperationName", **params)`
returns the response dict or raises an `OpsError` subclass: `Unsupported` when the endpoint does not
implement the operation (openses answers `NotImplemented`, HTTP 501), `ApiError` for other errors
the endpoint answered, plain `OpsError` for credentials, connection and configuration problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions as bx
from botocore import xform_name
from botocore.config import Config
from botocore.parsers import ResponseParserError

from openses.cli.ops.errors import ApiError, OpsError, Unsupported
from openses.cli.ops.profiles import Profile, load

# Codes meaning "who you say you are was not accepted" (STS/SES v1 and rest-json spellings).
AUTH_CODES = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
              "InvalidSignatureException", "IncompleteSignature", "IncompleteSignatureException",
              "MissingAuthenticationToken", "ExpiredToken", "ExpiredTokenException"}
# Codes other SES stand-ins use for an operation they lack.
UNSUPPORTED_CODES = {"NotImplemented", "InvalidAction", "UnknownOperationException"}


def _config() -> Config:
    # One attempt: a wrong endpoint or bad key should fail now, not after back-off; send-bulk
    # handles throttling itself.
    return Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def _session(profile: Profile) -> boto3.Session:
    try:
        if profile.access_key_id:
            return boto3.Session(aws_access_key_id=profile.access_key_id,
                                 aws_secret_access_key=profile.secret_access_key,
                                 aws_session_token=profile.session_token, region_name=profile.region)
        return boto3.Session(profile_name=profile.aws_profile, region_name=profile.region)
    except bx.ProfileNotFound:
        raise OpsError(f"profile {profile.name}: AWS profile {profile.aws_profile!r} does not exist") from None


def translate(profile: Profile, operation: str, error: Exception) -> OpsError:
    """Map a botocore exception to the one line a person reads."""
    if isinstance(error, bx.ClientError):
        return _client_error(profile, operation, error)
    if isinstance(error, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return OpsError(f"cannot reach {profile.target} (profile {profile.name}): {error}")
    if isinstance(error, bx.NoCredentialsError):
        return OpsError(f"profile {profile.name} has no credentials: set aws_access_key_id and "
                        "aws_secret_access_key, or aws_profile, in the config file")
    if isinstance(error, bx.PartialCredentialsError):
        return OpsError(f"profile {profile.name} has incomplete credentials: {error}")
    if isinstance(error, bx.NoRegionError):
        return OpsError(f"profile {profile.name} has no region")
    if isinstance(error, bx.ParamValidationError):
        return OpsError(f"{operation}: invalid parameters: {error}")
    return OpsError(f"{operation} against {profile.target} failed: {error}")


def _one_line(message: str, limit: int = 300) -> str:
    """An error message fit for one line: HTML pages dropped, whitespace folded, length capped."""
    if message.lstrip().startswith("<"):
        return ""
    text = " ".join(message.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _client_error(profile: Profile, operation: str, error: bx.ClientError) -> OpsError:
    err = error.response.get("Error", {})
    code = str(err.get("Code") or "Unknown")
    message = _one_line(str(err.get("Message") or ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    # A bare HTTP 404/405 (no SES error code): a rest-json route the endpoint does not have.
    if code in UNSUPPORTED_CODES or status == 501 or (code.isdigit() and status in (404, 405)):
        who = "openses" if code == "NotImplemented" else profile.target
        return Unsupported(f"{who} does not implement {operation} yet", operation=operation, code=code,
                           status=status)
    if code in AUTH_CODES:
        return ApiError(f"the credentials of profile {profile.name} were rejected by {profile.target} ({code})",
                        operation=operation, code=code, status=status)
    return ApiError(f"{operation}: {code}: {message}" if message else f"{operation}: {code}",
                    operation=operation, code=code, status=status)


@dataclass
class Connection:
    profile: Profile
    _session: boto3.Session
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            try:
                self._clients[service] = self._session.client(service, endpoint_url=self.profile.endpoint_url,
                                                              config=_config())
            except bx.BotoCoreError as e:
                raise translate(self.profile, service, e) from None
            except ValueError as e:  # a malformed endpoint URL
                raise OpsError(f"profile {self.profile.name}: bad endpoint_url: {e}") from None
        return self._clients[service]

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(self.client(service), xform_name(operation))
        try:
            response = method(**params)
        except (bx.BotoCoreError, bx.ClientError) as e:
            raise translate(self.profile, operation, e) from None
        except ResponseParserError:  # not an SES reply at all (an HTML error page, a proxy)
            raise ApiError(f"{operation}: {self.profile.target} answered something that is not an SES "
                           "response", operation=operation, code="UnparsableResponse", status=0) from None
        response.pop("ResponseMetadata", None)
        return response

    def collect(self, service: str, operation: str, items: str, token: str = "NextToken",
                **params: Any) -> list[Any]:
        """Every page of a listing: the `items` member of each, following `token`."""
        out: list[Any] = []
        while True:
            page = self.call(service, operation, **params)
            out.extend(page.get(items, []))
            next_token = page.get(token)
            if not next_token:
                return out
            params[token] = next_token


def connect(profile: Profile) -> Connection:
    return Connection(profile, _session(profile))


def open_profile(account: str | None, config: Path | None) -> Connection:
    """The connection of a named profile: what every command starts with."""
    return connect(load(account, config))
