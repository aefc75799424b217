"""RFC 3464 delivery status notifications: multipart/report; report-type=delivery-status.

The message/delivery-status part holds one per-message block (Reporting-MTA, Arrival-Date)
and one block per recipient (Final-Recipient, Action, Status, Remote-MTA, Diagnostic-Code).
"""

from __future__ import annotations

import ipaddress
import re
from email.message import Message

from openses.inbound import fields as f
from openses.inbound.reports import BounceReport, RecipientStatus

STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY_CODE = re.compile(r"(?:^|;\s*)([245])\d\d\b")


def parse_dsn(msg: Message) -> BounceReport | None:
    """The report in a DSN, or None when the message has no delivery-status part."""
    part = f.part_of(msg, f.STATUS_TYPES)
    if part is None:
        return None
    blocks = f.field_blocks(part)
    per_message = blocks[0] if blocks and not _is_recipient(blocks[0]) else []
    text = human_text(msg)
    recipients = tuple(r for b in blocks if _is_recipient(b) and (r := _recipient(b, text)) is not None)
    if not recipients:
        return None
    return BounceReport(recipients, f.untyped(f.first(per_message, "reporting-mta")),
                        f.timestamp(f.first(per_message, "arrival-date")), f.original_headers(msg))


def human_text(msg: Message) -> str:
    """The human-readable part (RFC 6522 §3: the first part of a multipart/report)."""
    part = f.part_of(msg, ("text/plain",))
    return f.text_payload(part) if part is not None else ""


def _is_recipient(block: f.Fields) -> bool:
    return any(k in ("final-recipient", "original-recipient") for k, _ in block)


def _recipient(block: f.Fields, text: str) -> RecipientStatus | None:
    address = f.bare_address(f.first(block, "original-recipient")) or f.bare_address(
        f.first(block, "final-recipient"))
    if address is None:
        return None
    action = ((f.first(block, "action") or "failed").split() or ["failed"])[0].lower()
    diagnostic = f.first(block, "diagnostic-code")
    remote = f.untyped(f.first(block, "remote-mta"))
    return RecipientStatus(address, action, status_of(f.first(block, "status"), diagnostic, action),
                           diagnostic, remote, remote_ip(remote, text))


def status_of(status: str | None, diagnostic: str | None, action: str = "failed") -> str:
    """The RFC 3463 code: the Status field's, else the diagnostic's, else one from the reply code."""
    for source in (status, diagnostic):
        if source and (m := STATUS.search(source)):
            return m.group(0)
    if diagnostic and (m := _REPLY_CODE.search(diagnostic.strip())):
        return f"{m.group(1)}.0.0"
    return "5.0.0" if action == "failed" else "4.0.0"


def remote_ip(remote: str | None, text: str) -> str | None:
    """The remote MTA's address: the Remote-MTA itself when it is one ("[192.0.2.1]"), else
    where the human-readable text names the host with its address ("host mx.x[192.0.2.1] said")."""
    if not remote:
        return None
    literal = _ip(remote.strip("[]").removeprefix("IPv6:"))
    if literal is not None:
        return literal
    m = re.search(re.escape(remote) + r"\.?\s*\[([0-9A-Fa-f:.]{2,45})\]", text)
    return _ip(m.group(1)) if m else None


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
