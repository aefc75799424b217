"""Reply texts: SES errors mapped to SES's own SMTP wording; aiosmtpd's texts given RFC 3463 codes."""

from __future__ import annotations

import pytest

from openses import errors
from openses.smtp import replies


@pytest.mark.parametrize(
    ("error", "reply"),
    [
        (errors.MessageRejected("Email address is not verified."),
         "554 Message rejected: Email address is not verified."),
        (errors.SendingPausedByOperator("Sending paused for this account."),
         "554 Message rejected: Sending paused for this account."),
        (errors.ConfigurationSetSendingPausedException("paused"), "554 Message rejected: paused"),
        (errors.Throttling("Daily message quota exceeded."),
         "454 Throttling failure: Daily message quota exceeded."),
        (errors.AccessDenied("not authorized"), "554 Access denied: not authorized"),
        (errors.InvalidParameterValue("Missing final '@domain'"),
         "554 Transaction failed: Missing final '@domain'"),
        (errors.ConfigurationSetDoesNotExist("Configuration set <x> does not exist."),
         "554 Transaction failed: Configuration set <x> does not exist."),
        (errors.LimitExceeded("too many"), "554 Transaction failed: too many"),
        (errors.ServiceUnavailable("down"), "451 4.3.0 Temporary service failure"),
        (errors.InternalFailure("bug"), "451 4.3.0 Temporary service failure"),
    ],
)
def test_ses_errors_map_to_ses_smtp_replies(error: errors.SESError, reply: str) -> None:
    assert replies.for_error(error) == reply


def test_an_error_message_with_newlines_stays_one_reply_line() -> None:
    reply = replies.for_error(errors.MessageRejected("bad\r\n250 Ok injected"))
    assert reply == "554 Message rejected: bad 250 Ok injected"


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        ("530 Must issue a STARTTLS command first", "530 5.7.0 Must issue a STARTTLS command first"),
        ("500 Line too long (see RFC5321 4.5.3.1.6)", "500 5.5.2 Line too long"),
        ("552 Error: Too much mail data", replies.MESSAGE_TOO_BIG),
        ("503 Error: need RCPT command", "503 5.5.1 Error: need RCPT command"),
        ("501 Syntax: MAIL FROM: <address>", "501 5.5.4 Syntax: MAIL FROM: <address>"),
        ("535 5.7.8 Authentication Credentials Invalid", "535 5.7.8 Authentication Credentials Invalid"),
        ("554 Message rejected: x", "554 Message rejected: x"),
        ("250-PIPELINING", "250-PIPELINING"),
        ("220 smtp.example ESMTP openses", "220 smtp.example ESMTP openses"),
    ],
)
def test_translate_adds_enhanced_codes_only_where_missing(raw: str, sent: str) -> None:
    assert replies.translate(raw) == sent
