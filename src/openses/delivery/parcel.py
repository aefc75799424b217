"""What a transport delivers: one message, its envelope, to the recipients at one domain."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Parcel:
    entry_id: int
    message_id: str
    account_id: str
    domain: str
    mail_from: str  # the envelope sender (the per-message bounce address)
    recipients: tuple[str, ...]
    data: bytes  # the message as sent: CRLF line ends, DKIM signatures on top
    require_tls: bool = False  # the configuration set's TlsPolicy is REQUIRE
