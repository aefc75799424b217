"""RFC 5965 abuse feedback reports (ARF): multipart/report; report-type=feedback-report.

Part two, message/feedback-report, holds Feedback-Type (required, §3.1), User-Agent, Version,
Original-Mail-From, Original-Rcpt-To (may repeat), Arrival-Date, Reporting-MTA; part three is the
original message (message/rfc822) or its headers (text/rfc822-headers).
"""

from __future__ import annotations

import re
from email.message import Message

from openses.inbound import fields as f
from openses.inbound.reports import ComplaintReport

FEEDBACK_TYPES = ("abuse", "auth-failure", "fraud", "not-spam", "other", "virus")  # RFC 5965 §7.3, RFC 6591
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


def parse_arf(msg: Message) -> ComplaintReport | None:
    """The complaint in an ARF report, or None when the message has no feedback-report part."""
    part = f.part_of(msg, ("message/feedback-report",))
    if part is None:
        return None
    fields = [item for block in f.field_blocks(part) for item in block]
    recipients = tuple(dict.fromkeys(a for v in f.every(fields, "original-rcpt-to") if (a := f.bare_address(v))))
    arrival = f.first(fields, "arrival-date") or f.first(fields, "received-date")  # Received-Date: draft ARF
    return ComplaintReport(
        feedback_type(f.first(fields, "feedback-type")), recipients, f.first(fields, "user-agent"),
        f.timestamp(arrival), f.bare_address(f.first(fields, "original-mail-from")),
        f.untyped(f.first(fields, "reporting-mta")), f.original_headers(msg))


def feedback_type(value: str | None) -> str:
    """The Feedback-Type token (lower case); "other" when missing or not a token."""
    token = (value or "").strip().lower()
    return token if _TOKEN.match(token) else "other"
