"""SES event records: the `mail` object and one builder per event type, in SES's JSON shape."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


def iso(ts: float) -> str:
    """SES timestamps: ISO 8601 UTC with milliseconds, e.g. 2024-01-02T03:04:05.678Z."""
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
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
