"""The bounce domain's MX: an SMTP listener on smtp/'s machinery (no AUTH, STARTTLS offered)
that takes mail only for the bounce domain (and the verified custom MAIL FROM domains, whose MX
points here) and hands each message, parsed, to a sink that stores
it durably before the 250.

Not an open relay: RCPT to any other domain gets 550 5.7.1 (RFC 5321 §3.6.2, RFC 2505 §2).
Mail that is no report, or about no message of ours, is still accepted (250) once stored: a
refusal would only make the remote MTA retry it, or bounce it back to a null sender.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Protocol

from openses.inbound.parse import parse
from openses.inbound.reports import Received
from openses.smtp.server import SmtpServer

RELAY_DENIED = "550 5.7.1 Relay access denied"
RECORDED = "250 2.0.0 Ok: feedback recorded"


class FeedbackSink(Protocol):
    async def record(self, received: Received) -> str:
        """Store durably; returns the outcome (recorded, unmatched, ignored, unparsable)."""
        ...


class FeedbackReceiver:
    """The MX's decisions (smtp.backend.Receiver): which recipients, and what a message becomes."""

    def __init__(self, sink: FeedbackSink, *, bounce_domain: str,
                 mail_from_domains: Callable[[], frozenset[str]] = frozenset) -> None:
        self._sink = sink
        self._domain = bounce_domain.rstrip(".").lower()
        self._mail_from_domains = mail_from_domains  # identities' verified custom MAIL FROM domains

    def recipient_reply(self, address: str) -> str | None:
        domain = address.strip().strip("<>").rpartition("@")[2].rstrip(".").lower()
        return None if domain == self._domain or domain in self._mail_from_domains() else RELAY_DENIED

    async def receive(self, peer: str, mail_from: str, rcpt_tos: list[str], data: bytes) -> str:
        report = await asyncio.to_thread(parse, data)  # up to the size limit of MIME parsing: off the loop
        outcome = await self._sink.record(Received(peer, mail_from, tuple(rcpt_tos), data, report))
        return RECORDED if outcome == "recorded" else f"250 2.0.0 Ok: {outcome} report logged"


def inbound_server(receiver: FeedbackReceiver, *, host: str, port: int, ssl_context: ssl.SSLContext,
                   hostname: str, max_message_size: int) -> SmtpServer:
    return SmtpServer(None, host=host, starttls_ports=[port], tls_ports=[], ssl_context=ssl_context,
                      hostname=hostname, max_message_size=max_message_size, receiver=receiver)
