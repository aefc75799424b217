"""Errors named after SES error codes, raised anywhere and rendered once per protocol.

Each class knows its wire code for SES v1 (Query/XML), SES v2 (rest-json) and STS, its HTTP
status and whether the caller is at fault. The protocol codecs are the only place that turns one
into bytes, so a client raises the exception class it expects (botocore maps on the code).
"""

from __future__ import annotations

from typing import ClassVar


class SESError(Exception):
    """Base of every error a client can receive. `code` is the v1/STS wire code."""

    code: ClassVar[str] = "InternalFailure"
    v2_code: ClassVar[str | None] = None  # None: same as `code`
    status: ClassVar[int] = 400
    v2_status: ClassVar[int | None] = None
    sender_fault: ClassVar[bool] = True
    sns_code: ClassVar[str | None] = None  # the SNS API's code when it differs (api/sns.py)

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def code_for(self, service: str) -> str:
        if service == "sesv2" and self.v2_code:
            return self.v2_code
        if service == "sns" and self.sns_code:
            return self.sns_code
        return self.code

    def status_for(self, service: str) -> int:
        if service == "sesv2" and self.v2_status is not None:
            return self.v2_status
        return self.status


# --- authentication and authorization (common to every AWS service) ---------------------------


class MissingAuthenticationToken(SESError):
    code = "MissingAuthenticationToken"
    status = 403


class IncompleteSignature(SESError):
    code = "IncompleteSignature"
    v2_code = "IncompleteSignatureException"
    status = 403


class InvalidClientTokenId(SESError):
    code = "InvalidClientTokenId"
    v2_code = "UnrecognizedClientException"
    status = 403


class SignatureDoesNotMatch(SESError):
    code = "SignatureDoesNotMatch"
    v2_code = "InvalidSignatureException"
    status = 403


class RequestExpired(SESError):
    """SigV4 timestamp outside the allowed window. SES v1 answers it as SignatureDoesNotMatch
    ("Signature expired: …", HTTP 403, seen in real SES replies); rest-json services as
    InvalidSignatureException."""

    code = "SignatureDoesNotMatch"
    v2_code = "InvalidSignatureException"
    status = 403


class AccessDenied(SESError):
    code = "AccessDenied"
    v2_code = "AccessDeniedException"
    sns_code = "AuthorizationError"
    status = 403


# --- request shape --------------------------------------------------------------------------


class ValidationError(SESError):
    code = "ValidationError"
    v2_code = "BadRequestException"


class InvalidParameterValue(SESError):
    code = "InvalidParameterValue"
    v2_code = "BadRequestException"
    sns_code = "InvalidParameter"


class InvalidAction(SESError):
    code = "InvalidAction"
    v2_code = "UnknownOperationException"
    status = 400
    v2_status = 404


class MissingAction(SESError):
    code = "MissingAction"


class MalformedQueryString(SESError):
    code = "MalformedQueryString"
    v2_code = "SerializationException"


class RequestEntityTooLarge(SESError):
    code = "RequestEntityTooLarge"
    status = 413


class NotImplementedOperation(SESError):
    """An operation SES has and openses does not serve yet: said plainly, never a fake success."""

    code = "NotImplemented"
    status = 501
    sender_fault = False


class InternalFailure(SESError):
    code = "InternalFailure"
    v2_code = "InternalServiceErrorException"
    status = 500
    sender_fault = False


class ServiceUnavailable(SESError):
    code = "ServiceUnavailable"
    status = 503
    sender_fault = False


# --- sending ----------------------------------------------------------------------------------


class MessageRejected(SESError):
    code = "MessageRejected"


class Throttling(SESError):
    """Rate or daily quota exceeded: v1 `Throttling`, v2 `TooManyRequestsException`."""

    code = "Throttling"
    v2_code = "TooManyRequestsException"
    v2_status = 429


class AccountSendingPausedException(SESError):
    code = "AccountSendingPausedException"
    v2_code = "SendingPausedException"


class SendingPausedByOperator(SESError):
    """The operator (or the reputation rules) paused the account: SES answers v1 with
    MessageRejected here, and AccountSendingPausedException only for UpdateAccountSendingEnabled."""

    code = "MessageRejected"
    v2_code = "SendingPausedException"


class MailFromDomainNotVerifiedException(SESError):
    code = "MailFromDomainNotVerifiedException"


class ConfigurationSetDoesNotExist(SESError):
    code = "ConfigurationSetDoesNotExist"
    v2_code = "NotFoundException"
    v2_status = 404


class ConfigurationSetSendingPausedException(SESError):
    code = "ConfigurationSetSendingPausedException"
    v2_code = "SendingPausedException"


# --- resources --------------------------------------------------------------------------------


class NotFound(SESError):
    code = "NotFoundException"
    v2_code = "NotFoundException"
    sns_code = "NotFound"
    status = 404


class AlreadyExists(SESError):
    code = "AlreadyExists"
    v2_code = "AlreadyExistsException"


class LimitExceeded(SESError):
    code = "LimitExceeded"
    v2_code = "LimitExceededException"


class ConflictException(SESError):
    code = "Conflict"
    v2_code = "ConflictException"
    status = 409


# --- templates (added by the templates issue) --------------------------------------------------


class TemplateDoesNotExist(SESError):
    code = "TemplateDoesNotExist"
    v2_code = "NotFoundException"
    v2_status = 404


class InvalidTemplate(SESError):
    code = "InvalidTemplate"
    v2_code = "BadRequestException"


class MissingRenderingAttribute(SESError):
    code = "MissingRenderingAttribute"
    v2_code = "BadRequestException"


class InvalidRenderingParameter(SESError):
    code = "InvalidRenderingParameter"
    v2_code = "BadRequestException"


# --- identities (added by the identities issue) -------------------------------------------------


class InvalidPolicy(SESError):
    code = "InvalidPolicy"
    v2_code = "BadRequestException"


class CustomVerificationEmailTemplateAlreadyExists(SESError):
    code = "CustomVerificationEmailTemplateAlreadyExists"
    v2_code = "AlreadyExistsException"


class CustomVerificationEmailTemplateDoesNotExist(SESError):
    code = "CustomVerificationEmailTemplateDoesNotExist"
    v2_code = "NotFoundException"
    v2_status = 404


class FromEmailAddressNotVerified(SESError):
    code = "FromEmailAddressNotVerified"
    v2_code = "BadRequestException"


class CustomVerificationEmailInvalidContent(SESError):
    code = "CustomVerificationEmailInvalidContent"
    v2_code = "BadRequestException"


# --- configuration sets and event destinations (added by the feedback issue) -------------------


class ConfigurationSetAlreadyExists(SESError):
    code = "ConfigurationSetAlreadyExists"
    v2_code = "AlreadyExistsException"


class InvalidConfigurationSet(SESError):
    code = "InvalidConfigurationSet"
    v2_code = "BadRequestException"


class EventDestinationAlreadyExists(SESError):
    code = "EventDestinationAlreadyExists"
    v2_code = "AlreadyExistsException"


class EventDestinationDoesNotExist(SESError):
    code = "EventDestinationDoesNotExist"
    v2_code = "NotFoundException"
    v2_status = 404


class InvalidSNSDestination(SESError):
    code = "InvalidSNSDestination"
    v2_code = "BadRequestException"


class TrackingOptionsAlreadyExists(SESError):
    code = "TrackingOptionsAlreadyExistsException"
    v2_code = "AlreadyExistsException"


class TrackingOptionsDoesNotExist(SESError):
    code = "TrackingOptionsDoesNotExistException"
    v2_code = "NotFoundException"
    v2_status = 404
