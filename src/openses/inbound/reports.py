"""What the inbound parsers find in a report: plain frozen values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OriginalHeaders:
    """What identifies the message a report is about (from the attached original)."""

    return_path: str | None = None
    message_id: str | None = None
    to: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient of a delivery status notification (RFC 3464 §2.3)."""

    address: str  # Original-Recipient when given (the address the sender used), else Final-Recipient
    action: str  # failed | delayed | delivered | relayed | expanded (RFC 3464 §2.3.3)
    status: str  # RFC 3463 enhanced status code, e.g. 5.1.1
    diagnostic_code: str | None = None  # "smtp; 550 5.1.1 …" (RFC 3464 §2.3.6)
    remote_mta: str | None = None  # host name, without the "dns;" type
    remote_mta_ip: str | None = None


@dataclass(frozen=True)
class BounceReport:
    """A delivery status notification, standard or in an MTA's own plain-text format."""

    recipients: tuple[RecipientStatus, ...]
    reporting_mta: str | None = None
    arrival: float | None = None
    original: OriginalHeaders = OriginalHeaders()
    format: str = "rfc3464"  # or postfix, exim, sendmail, qmail, exchange

    @property
    def failed(self) -> tuple[RecipientStatus, ...]:
        return tuple(r for r in self.recipients if r.action == "failed")


@dataclass(frozen=True)
class ComplaintReport:
    """An abuse feedback report (RFC 5965 ARF)."""

    feedback_type: str  # abuse | fraud | virus | not-spam | other | … (RFC 5965 §7.3)
    recipients: tuple[str, ...] = ()  # Original-Rcpt-To
    user_agent: str | None = None
    arrival: float | None = None
    original_mail_from: str | None = None
    reporting_mta: str | None = None
    original: OriginalHeaders = OriginalHeaders()


Report = BounceReport | ComplaintReport


@dataclass(frozen=True)
class Received:
    """One message taken by the inbound MX, with what the parsers made of it."""

    peer: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    report: Report | None
