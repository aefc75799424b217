"""The SMTP client: the one module that imports aiosmtplib, and maps its exceptions to replies.

Every failure comes back as an SMTP reply string (real, or made up with the right RFC 3463 status
for failures that have none: a refused connection is "421 4.4.1 …"), so the rest of delivery
classifies one kind of thing. A `Session` is one open connection; `transaction` sends one
message to many recipients (RFC 5321 §3.3) and answers per recipient.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import aiosmtplib

TlsMode = Literal["none", "starttls", "tls"]


class SessionFailed(Exception):
    """The connection could not be opened or set up; `reply` says why, as an SMTP reply."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


@dataclass(frozen=True)
class Endpoint:
    """Where to connect and how: the same values share pooled connections."""

    host: str  # the name (MX host or relay), used for TLS SNI and in messages
    address: str  # the IP address (or name) to connect to
    port: int
    tls: TlsMode = "starttls"  # starttls: when offered (required if require_tls)
    require_tls: bool = False
    verify_certificate: bool = False  # opportunistic TLS to MX hosts does not verify (RFC 7435)
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class TransactionResult:
    """Per recipient, the reply that decided it; `connection_ok` False: drop the session."""

    replies: dict[str, str]
    connection_ok: bool = True


_CONTEXTS: dict[bool, ssl.SSLContext] = {}


def _context(verify: bool) -> ssl.SSLContext:
    """One context per kind, made once: loading the CA store costs ≈ 20 ms."""
    context = _CONTEXTS.get(verify)
    if context is None:
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        _CONTEXTS[verify] = context
    return context


def _reply_of(error: BaseException, host: str) -> str:
    """The one place aiosmtplib's (and the socket's) exceptions become replies."""
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{error.code} {error.message}".strip()
    if isinstance(error, (aiosmtplib.SMTPConnectTimeoutError, aiosmtplib.SMTPConnectError)):
        return f"421 4.4.1 Unable to connect to {host}: {error}"
    if isinstance(error, aiosmtplib.SMTPTimeoutError):
        return f"421 4.4.2 Timed out talking to {host}"
    if isinstance(error, aiosmtplib.SMTPServerDisconnected):
        return f"421 4.4.2 {host} closed the connection"
    if isinstance(error, ssl.SSLError):
        return f"421 4.7.0 TLS with {host} failed: {error.reason or error}"
    if isinstance(error, OSError):
        return f"421 4.4.1 Unable to connect to {host}: {error.strerror or error}"
    return f"451 4.3.0 Local error talking to {host}: {type(error).__name__}: {error}"


_ERRORS = (aiosmtplib.SMTPException, OSError, ssl.SSLError)


class Session:
    def __init__(self, endpoint: Endpoint, smtp: aiosmtplib.SMTP) -> None:
        self.endpoint = endpoint
        self._smtp = smtp
        self.tls = False
        self.used = 0

    @classmethod
    async def open(cls, endpoint: Endpoint, *, helo_name: str, timeout: float) -> Session:
        tls = {"tls_context": _context(endpoint.verify_certificate)} if endpoint.tls != "none" else {}
        smtp = aiosmtplib.SMTP(hostname=endpoint.address, port=endpoint.port, local_hostname=helo_name,
                               timeout=timeout, use_tls=endpoint.tls == "tls", start_tls=False,
                               validate_certs=endpoint.verify_certificate, **tls)
        session = cls(endpoint, smtp)
        try:
            await session._setup()
        except SessionFailed:
            await session.close()
            raise
        except _ERRORS as e:
            await session.close()
            raise SessionFailed(_reply_of(e, endpoint.host)) from None
        return session

    async def _setup(self) -> None:
        ep, smtp = self.endpoint, self._smtp
        await smtp.connect()
        await smtp.ehlo()
        self.tls = ep.tls == "tls"
        if ep.tls == "starttls" and smtp.supports_extension("starttls"):
            await smtp.starttls(server_hostname=ep.host, tls_context=_context(ep.verify_certificate))
            await smtp.ehlo()
            self.tls = True
        if ep.require_tls and not self.tls:
            # RFC 3207 §4: a client that requires TLS must not send mail in the clear.
            raise SessionFailed(f"451 4.7.10 {ep.host} does not offer STARTTLS, and TLS is required")
        if ep.username is not None:
            await smtp.login(ep.username, ep.password or "")

    async def transaction(self, mail_from: str, recipients: Sequence[str], data: bytes) -> TransactionResult:
        smtp = self._smtp
        self.used += 1
        options = ["BODY=8BITMIME"] if smtp.supports_extension("8bitmime") and not data.isascii() else []
        host = self.endpoint.host
        try:
            await smtp.mail(mail_from, options=options)
        except _ERRORS as e:
            return await self._failed_all(recipients, e)
        replies: dict[str, str] = {}
        accepted: list[str] = []
        for rcpt in recipients:
            try:
                await smtp.rcpt(rcpt)
                accepted.append(rcpt)
            except aiosmtplib.SMTPResponseException as e:
                replies[rcpt] = _reply_of(e, host)
            except _ERRORS as e:
                return await self._failed_all(recipients, e)
        if not accepted:
            return TransactionResult(replies, await self._reset())
        try:
            response = await smtp.data(data)
        except _ERRORS as e:
            failed = await self._failed_all(accepted, e)
            return TransactionResult({**replies, **failed.replies}, failed.connection_ok)
        return TransactionResult({**replies, **{r: f"{response.code} {response.message}" for r in accepted}})

    async def _failed_all(self, recipients: Sequence[str], error: BaseException) -> TransactionResult:
        reply = _reply_of(error, self.endpoint.host)
        ok = isinstance(error, aiosmtplib.SMTPResponseException) and error.code != 421 and await self._reset()
        return TransactionResult({r: reply for r in recipients}, bool(ok))

    async def _reset(self) -> bool:
        """RSET after a refused transaction so the connection can carry the next one."""
        try:
            await self._smtp.rset()
            return True
        except _ERRORS:
            return False

    async def close(self) -> None:
        try:
            if self._smtp.is_connected:
                await self._smtp.quit()
        except _ERRORS:
            self._smtp.close()
