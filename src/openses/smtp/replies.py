"""Every SMTP reply the submission server sends, and the one place where SES errors and aiosmtpd's
own reply texts are turned into them.

Pipeline outcomes use Amazon SES's reply texts verbatim ("SMTP response codes returned by Amazon
SES", docs.aws.amazon.com/ses/latest/dg/smtp-response-codes.html, and "Errors related to the
sending quotas", .../manage-sending-quotas-errors.html): clients and operators grep for
"454 Throttling failure" and parse the MessageId after "250 Ok ". Protocol-level replies carry
RFC 3463 enhanced status codes, since we advertise ENHANCEDSTATUSCODES (RFC 2034).
"""

from __future__ import annotations

import re

from openses import errors

GREETING_IDENT = "ESMTP openses"
MAIL_OK = "250 2.1.0 Ok"
RCPT_OK = "250 2.1.5 Ok"
OK = "250 2.0.0 Ok"
BYE = "221 2.0.0 Bye"
STARTTLS_FIRST = "530 5.7.0 Must issue a STARTTLS command first"  # RFC 3207 §4
AUTH_REQUIRED = "530 5.7.0 Authentication required"  # RFC 4954 §6
AUTH_INVALID = "535 5.7.8 Authentication Credentials Invalid"  # RFC 4954 §6; SES's wording
AUTH_TEMPORARY = "454 4.7.0 Temporary authentication failure"  # RFC 4954 §6
AUTH_LOCKED_OUT = "421 4.7.0 Too many failed authentication attempts, try again later"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"  # RFC 5321 §4.5.3.1.10
LINE_TOO_LONG = "500 5.5.2 Line too long"  # RFC 5321 §4.5.3.1.6: 1000 octets with CRLF
MESSAGE_TOO_BIG = "552 5.3.4 Message size exceeds fixed maximum message size"  # RFC 1870 §6
# RFC 5321 §2.3.8 allows CR and LF only as CRLF; a bare one is how SMTP smuggling starts.
# Rejected like Postfix's smtpd_forbid_bare_newline, never "repaired".
BARE_NEWLINE = "554 5.5.2 Bare CR or LF in message data is not allowed; use CRLF"
LOCAL_ERROR = "451 4.3.0 Local error"
SERVICE_FAILURE = "451 4.3.0 Temporary service failure"


def message_accepted(message_id: str) -> str:
    return f"250 Ok {message_id}"


# SES error -> reply prefix, first match wins (subclasses before their bases).
_ERROR_REPLIES: tuple[tuple[type[errors.SESError], str], ...] = (
    (errors.Throttling, "454 Throttling failure"),
    (errors.AccessDenied, "554 Access denied"),
    (errors.MessageRejected, "554 Message rejected"),
    (errors.SendingPausedByOperator, "554 Message rejected"),
    (errors.AccountSendingPausedException, "554 Message rejected"),
    (errors.ConfigurationSetSendingPausedException, "554 Message rejected"),
    (errors.MailFromDomainNotVerifiedException, "554 Message rejected"),
    (errors.ConfigurationSetDoesNotExist, "554 Transaction failed"),
    (errors.InvalidParameterValue, "554 Transaction failed"),
    (errors.ValidationError, "554 Transaction failed"),
    (errors.RequestEntityTooLarge, "552 Message is too long"),
)


def for_error(error: errors.SESError) -> str:
    """The reply for an SES error raised by the backend."""
    text = _one_line(error.message or error.code)
    for kind, prefix in _ERROR_REPLIES:
        if isinstance(error, kind):
            return f"{prefix}: {text}"
    if error.sender_fault:
        return f"554 Transaction failed: {text}"
    return SERVICE_FAILURE


def _one_line(text: str) -> str:
    # A reply line must not contain CR or LF (RFC 5321 §4.2); a multi-line error message
    # would otherwise inject extra reply lines into the client's stream.
    return " ".join(text.split())


# aiosmtpd's own reply texts that we replace outright.
_AIOSMTPD_REPLIES = {
    "530 Must issue a STARTTLS command first": STARTTLS_FIRST,
    "500 Command line too long": LINE_TOO_LONG,
    "500 Line too long (see RFC5321 4.5.3.1.6)": LINE_TOO_LONG,
    "552 Error: Too much mail data": MESSAGE_TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": MESSAGE_TOO_BIG,
    "220 Ready to start TLS": "220 2.0.0 Ready to start TLS",
}
# RFC 3463 codes for the rest of aiosmtpd's (error) replies, by basic reply code.
_ENHANCED_BY_CODE = {
    "421": "4.0.0", "451": "4.3.0", "454": "4.7.0", "500": "5.5.2", "501": "5.5.4",
    "502": "5.5.1", "503": "5.5.1", "504": "5.5.4", "530": "5.7.0", "535": "5.7.8",
    "538": "5.7.11", "552": "5.3.4", "553": "5.1.3", "554": "5.0.0", "555": "5.5.4",
}
_HAS_ENHANCED = re.compile(r"\d{3}[ -][245]\.\d{1,3}\.\d{1,3}( |$)")
_VERBATIM_SES = tuple({prefix for _, prefix in _ERROR_REPLIES}) + ("250 Ok ",)


def translate(reply: str) -> str:
    """Give a reply line about to be sent its RFC 3463 code (RFC 2034 §3) if it lacks one."""
    if reply in _AIOSMTPD_REPLIES:
        return _AIOSMTPD_REPLIES[reply]
    if not reply[:1] in ("4", "5") or reply.startswith(_VERBATIM_SES):
        return reply
    if _HAS_ENHANCED.match(reply):
        return reply
    enhanced = _ENHANCED_BY_CODE.get(reply[:3], f"{reply[0]}.0.0")
    return f"{reply[:3]} {enhanced} {reply[4:]}"
