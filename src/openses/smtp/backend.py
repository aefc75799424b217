"""What the SMTP door needs from the rest of openses, and a fake of it for tests.

The real backend (wired by the application) checks the SMTP password against the key's secret,
checks that the key's policy allows ses:SendRawEmail, and runs the sending pipeline; it returns
only once the message is durably committed, so a 250 reply is a promise kept.
"""

from __future__ import annotations

import hmac
import itertools
from dataclasses import dataclass, field
from typing import Protocol

from openses.protocol.smtp_password import smtp_password


class SmtpBackend(Protocol):
    async def authenticate(self, username: str, password: str) -> object | None:
        """The principal behind these SMTP credentials, or None if they are wrong."""
        ...

    async def submit(
        self, principal: object, mail_from: str, rcpt_tos: list[str], data: bytes
    ) -> str:
        """Accept one message (raw RFC 5322 bytes) and return its SES MessageId.

        Raises `openses.errors.SESError` subclasses to refuse it."""
        ...


class Receiver(Protocol):
    """What an MX listener (no AUTH; see session.ReceivingHandler) needs from the rest of openses."""

    def recipient_reply(self, address: str) -> str | None:
        """None to take this recipient, else the refusal reply (e.g. "550 5.7.1 …")."""
        ...

    async def receive(self, peer: str, mail_from: str, rcpt_tos: list[str], data: bytes) -> str:
        """Store one message durably, then return the reply to give ("250 …")."""
        ...


@dataclass(frozen=True)
class FakePrincipal:
    access_key_id: str


@dataclass(frozen=True)
class Submission:
    principal: object
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class FakeBackend:
    """Accepts SES-style SMTP credentials for `keys` (access key id -> secret access key) and
    records every submission. Set `fail_with` to make `submit` raise it."""

    keys: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    fail_with: BaseException | None = None
    submissions: list[Submission] = field(default_factory=list)
    auth_attempts: int = 0
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def password_for(self, access_key_id: str) -> str:
        return smtp_password(self.keys[access_key_id], self.region)

    async def authenticate(self, username: str, password: str) -> object | None:
        self.auth_attempts += 1
        secret = self.keys.get(username)
        if secret is None:
            return None
        expected = smtp_password(secret, self.region).encode()
        if not hmac.compare_digest(expected, password.encode("utf-8", "surrogateescape")):
            return None
        return FakePrincipal(username)

    async def submit(
        self, principal: object, mail_from: str, rcpt_tos: list[str], data: bytes
    ) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.submissions.append(Submission(principal, mail_from, list(rcpt_tos), data))
        # The shape of an SES MessageId: hex time-ish prefix, a UUID-like middle, "-000000".
        n = next(self._ids)
        return f"{n:016x}-{n:08x}-0000-0000-0000-{n:012x}-000000"
