"""SES event records: the `mail` object and one builder per event type, in SES's JSON shape."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from dataclasses import dataclass
from typing import Any


def iso(ts: float) -> str:
    """SES timestamps: ISO 8601 UTC with milliseconds, e.g. 2024-01-02T03:04:05.678Z."""
    second = int(ts)
    return f"{_iso_second(second)}.{int((ts - second) * 1000):03d}Z"


@lru_cache(maxsize=4)
def _iso_second(second: int) -> str:
    return dt.datetime.fromtimestamp(second, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class MailInfo:
    """What every event repeats about its message (SES's `mail` object)."""

    message_id: str
    account_id: str
    timestamp: float
    source: str
    source_arn: str
    destination: tuple[str, ...]
    from_header: str | None
    to: tuple[str, ...]
    subject: str | None
    tags: dict[str, list[str]]

    def as_json(self) -> dict[str, Any]:
        common: dict[str, Any] = {"from": [self.from_header] if self.from_header else [],
                                  "messageId": self.message_id}
        if self.to:
            common["to"] = list(self.to)
        if self.subject is not None:
            common["subject"] = self.subject
        return {
            "timestamp": iso(self.timestamp),
            "source": self.source,
            "sourceArn": self.source_arn,
            "sendingAccountId": self.account_id,
            "messageId": self.message_id,
            "destination": list(self.destination),
            "headersTruncated": False,
            "commonHeaders": common,
            "tags": self.tags,
        }


def event_row(event_type: str, mail: dict[str, Any], detail: dict[str, Any], *, at: float,
              recipients: int) -> dict[str, Any]:
    """A row of the events table; `mail` is SES's mail object, frozen when the mail was sent."""
    key = event_type[0].lower() + event_type[1:]
    payload = {"eventType": event_type, "mail": mail, key: detail}
    return {"account_id": mail["sendingAccountId"], "message_id": mail["messageId"],
            "event_type": event_type, "recipients": recipients, "created_at": at, "payload": payload}


def send_event(mail: MailInfo) -> dict[str, Any]:
    return event_row("Send", mail.as_json(), {}, at=mail.timestamp, recipients=len(mail.destination))


def delivery_event(mail: dict[str, Any], sent_at: float, recipients: list[str], *, at: float,
                   smtp_response: str, reporting_mta: str) -> dict[str, Any]:
    detail = {"timestamp": iso(at), "processingTimeMillis": int((at - sent_at) * 1000),
              "recipients": recipients, "smtpResponse": smtp_response, "reportingMTA": reporting_mta}
    return event_row("Delivery", mail, detail, at=at, recipients=len(recipients))


# --- delivery outcomes (added by the delivery work, issue 4) ----------------------------------


def bounce_event(mail: dict[str, Any], recipients: list[dict[str, str]], *, at: float, bounce_type: str,
                 bounce_sub_type: str, feedback_id: str, reporting_mta: str) -> dict[str, Any]:
    """recipients: [{emailAddress, action, status, diagnosticCode}] as SES's bouncedRecipients."""
    detail = {"bounceType": bounce_type, "bounceSubType": bounce_sub_type, "bouncedRecipients": recipients,
              "timestamp": iso(at), "feedbackId": feedback_id, "reportingMTA": f"dsn; {reporting_mta}"}
    return event_row("Bounce", mail, detail, at=at, recipients=len(recipients))


def delivery_delay_event(mail: dict[str, Any], recipients: list[dict[str, str]], *, at: float,
                         delay_type: str, expires_at: float, reporting_mta: str) -> dict[str, Any]:
    """recipients: [{emailAddress, status, diagnosticCode}] as SES's delayedRecipients."""
    detail = {"timestamp": iso(at), "delayType": delay_type, "expirationTime": iso(expires_at),
              "delayedRecipients": recipients, "reportingMTA": reporting_mta}
    return event_row("DeliveryDelay", mail, detail, at=at, recipients=len(recipients))


# --- the feedback loop (issue 6): complaints and suppression bounces ---------------------------

SUPPRESSION_DIAGNOSTIC = ("Amazon SES did not send the message to this address because it is on the suppression "
                          "list for your account. For more information about removing addresses from the "
                          "suppression list, see the Amazon SES Developer Guide.")


def complaint_event(mail: dict[str, Any], recipients: list[str], *, at: float, feedback_id: str,
                    feedback_type: str | None = "abuse", user_agent: str | None = None,
                    arrival: float | None = None) -> dict[str, Any]:
    """SES's complaint object; feedback_type is the ARF Feedback-Type (RFC 5965 §3.1) when known."""
    detail: dict[str, Any] = {"complainedRecipients": [{"emailAddress": r} for r in recipients],
                              "timestamp": iso(at), "feedbackId": feedback_id, "complaintSubType": None}
    if user_agent:
        detail["userAgent"] = user_agent
    if feedback_type:
        detail["complaintFeedbackType"] = feedback_type
    if arrival is not None:
        detail["arrivalDate"] = iso(arrival)
    return event_row("Complaint", mail, detail, at=at, recipients=len(recipients))


def suppression_bounce_event(mail: dict[str, Any], recipients: list[str], *, at: float,
                             feedback_id: str) -> dict[str, Any]:
    """The Bounce SES records for recipients on the account-level suppression list."""
    bounced = [{"emailAddress": r, "action": "failed", "status": "5.1.1",
                "diagnosticCode": SUPPRESSION_DIAGNOSTIC} for r in recipients]
    detail = {"bounceType": "Permanent", "bounceSubType": "OnAccountSuppressionList",
              "bouncedRecipients": bounced, "timestamp": iso(at), "feedbackId": feedback_id,
              "reportingMTA": "dns; amazonses.com"}
    return event_row("Bounce", mail, detail, at=at, recipients=len(recipients))
